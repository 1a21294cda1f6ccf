// How failures reach the user: one clear message (what, why, what to do) and an exit code;
// never a stack trace unless STEMFORGE_DEBUG=1 asks for it.
import { inspect } from 'node:util';
import { runLogOf } from '../pipeline/run-log.js';
import { pruneHint } from '../pipeline/space-shortage.js';
import { StageFailure } from '../pipeline/stage-runner.js';
import { HintedError, UsageError } from '../util/errors.js';

export const exitCodes = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

export interface ReportOptions {
  json: boolean;
  /** the command that resumes the run at a stage */
  resume?: (stage: string) => string;
}

function write(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** What was thrown, as one message: an Error's message, or any other value as it reads. */
export function thrownMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  if (typeof err === 'string') return err;
  return inspect(err, { depth: 2, breakLength: Infinity });
}

/** The stack, for whoever debugs stemforge itself. */
function debugStack(err: unknown): void {
  if (process.env.STEMFORGE_DEBUG === '1' && err instanceof Error && err.stack) write(err.stack);
}

export function reportError(err: unknown, options: ReportOptions): number {
  let code: number = exitCodes.failed;
  const json: Record<string, unknown> = { ok: false };
  if (err instanceof StageFailure) {
    code = err.cancelled ? exitCodes.interrupted : exitCodes.failed;
    const resume = options.resume?.(err.stage);
    write('');
    write(`stemforge: ${err.message}`);
    if (!err.cancelled) {
      write(`--- last ${err.tail.length} lines of ${err.logPath} ---`);
      for (const line of err.tail) write(line);
      write('---');
    }
    write(`log:    ${err.logPath}`);
    if (err.space) write(`what to do: ${pruneHint(err.space.buildRoot)}; then resume`);
    if (resume) write(`resume: ${resume}`);
    Object.assign(json, { error: err.message, stage: err.stage, step: err.step, exitCode: err.exitCode, log: err.logPath, resume });
    if (err.space) Object.assign(json, { space: err.space });
  } else if (err instanceof UsageError) {
    code = exitCodes.usage;
    write(`stemforge: error: ${err.message}`);
    Object.assign(json, { error: err.message, usage: true });
  } else if (err instanceof HintedError) {
    write(`stemforge: error: ${err.message}`);
    write(`  what to do: ${err.hint}`);
    Object.assign(json, { error: err.message, hint: err.hint });
  } else {
    const message = thrownMessage(err);
    write(`stemforge: error: ${message}`);
    Object.assign(json, { error: message });
  }
  const runLog = runLogOf(err);
  if (runLog) {
    write(`run log: ${runLog}`);
    json.runLog = runLog;
  }
  debugStack(err);
  if (options.json) process.stdout.write(`${JSON.stringify(json)}\n`);
  return code;
}
