// One log file per run (run.log beside the stage logs): every event, one JSON line each,
// with a time stamp. Its path is printed when a run fails.
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RunEvent, RunUi } from './common.js';

export class RunLog {
  readonly path: string;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.path = join(dir, 'run.log');
    appendFileSync(this.path, '', { mode: 0o600 });
  }

  write(event: RunEvent | { type: 'note'; text: string }): void {
    appendFileSync(this.path, `${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
  }
}

/** Record in the run log why the run ended early. */
export function noteFailure(log: RunLog, err: unknown): void {
  log.write({ type: 'note', text: `failed: ${err instanceof Error ? err.message : String(err)}` });
}

/** The run log an error escaped from, when one was kept (reportError prints its path). */
export function runLogOf(err: unknown): string | undefined {
  const path = typeof err === 'object' && err !== null ? (err as { runLog?: unknown }).runLog : undefined;
  return typeof path === 'string' ? path : undefined;
}

/**
 * Run a phase command with a run log in `dir` that records every event the UI sees; an error
 * that escapes is noted in the log and carries its path, so that the user is told where it is
 * whatever failed (a stage, the connection, a check).
 */
export async function withRunLog<T>(dir: string, ui: RunUi, body: (ui: RunUi) => Promise<T>): Promise<T> {
  const log = new RunLog(dir);
  const emit = (event: RunEvent): void => {
    log.write(event);
    ui.emit?.(event);
  };
  try {
    return await body({ ...ui, emit });
  } catch (err) {
    noteFailure(log, err);
    if (typeof err === 'object' && err !== null && runLogOf(err) === undefined) Object.defineProperty(err, 'runLog', { value: log.path, enumerable: false });
    throw err;
  }
}
