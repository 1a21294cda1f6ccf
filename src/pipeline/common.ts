// Pieces every build command shares: the UI options, abort checks, fetching an artifact.
import { createWriteStream } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { basename, join, posix } from 'node:path';
import { runChecked, type Machine } from '../machine/machine.js';
import { writeViaPart } from '../util/part-file.js';
import { userPaths } from '../util/paths.js';
import { StageFailure, type StageRecord, type StageRunner, type StageStep, type StepOptions } from './stage-runner.js';
import type { RendererChoice } from './ui.js';

/** What to do after a stage failed: run it again, or stop (leaving the build for --resume-from, keeping the machine as it is, or cleaning up). */
export type StageDecision = 'retry' | 'abort' | 'keep' | 'cleanup';

/** The listr task a stage runs in, as far as the failure handler needs it. */
export interface StageTaskHandle {
  output: string;
  title: string;
}

/** One line of the machine-readable event stream (--json on build, and the run log). */
export type RunEvent =
  | { type: 'task'; title: string; state: 'started' | 'completed' | 'failed' | 'skipped'; seconds?: number; reason?: string }
  | {
      type: 'stage';
      stage: string;
      step: StageStep;
      group: string;
      state: 'started' | 'completed' | 'failed';
      seconds?: number;
      exitCode?: number;
      log?: string;
    }
  | { type: 'decision'; stage: string; decision: StageDecision }
  | { type: 'artifact'; kind: 'os-image' | 'stemcell'; path: string; sha256: string; bytes: number }
  | { type: 'cache'; artifact: 'os-image' | 'stemcell'; label: string; key: string; hit: boolean; why: string[] }
  /** something the run could not undo (a cleanup that failed); the run's result stands */
  | { type: 'warning'; text: string }
  /** a stage job a stopped stemforge left on the build machine, and what this run did with it */
  | { type: 'left-job'; group: string; stage: string; step: StageStep; action: 'followed' | 'took' | 'stopped' }
  | { type: 'result'; ok: boolean; [key: string]: unknown };

export interface RunUi {
  renderer: RendererChoice;
  signal: AbortSignal;
  /** asked when a stage fails (not when it is interrupted); without it a failure stops the run */
  onStageError?: (failure: StageFailure, task: StageTaskHandle, buildDir: string) => Promise<StageDecision>;
  /** before a stage is retried: e.g. sync the builder again, so an edited stage is what runs */
  beforeRetry?: () => Promise<void>;
  /** machine-readable events, for --json and the run log */
  emit?: (event: RunEvent) => void;
}

/** A stage failure and what the user decided about it. */
export class StoppedAfterFailure extends StageFailure {
  constructor(
    failure: StageFailure,
    readonly decision: Exclude<StageDecision, 'retry'>,
    /** Ctrl-C at the question: reported as an interrupt (exit 130), the build kept for --resume-from */
    interrupted = false,
  ) {
    super(failure.stage, failure.step, failure.exitCode, failure.logPath, failure.tail, failure.cancelled || interrupted, failure.space);
  }

  /** with "cleanup": set once the build's folders were removed (a removal that failed leaves it false) */
  cleanedUp = false;
}

/** Run one stage step in a task: its output on the task's line, events, and the failure policy of the run. */
export async function runStage(
  runner: StageRunner,
  group: string,
  stage: string,
  step: StageStep,
  task: StageTaskHandle,
  ui: RunUi,
  options: StepOptions = {},
): Promise<StageRecord> {
  // only the first attempt follows a job left running; a retry starts the stage afresh
  let adopt = options.adopt;
  for (;;) {
    throwIfAborted(ui.signal);
    ui.emit?.({ type: 'stage', stage, step, group, state: 'started' });
    try {
      const record = await runner.runStep(
        stage,
        step,
        (line) => (task.output = step === 'config' && !line.startsWith(`${stage}:`) ? `${stage}: ${line}` : line),
        ui.signal,
        { ...options, adopt },
      );
      ui.emit?.({ type: 'stage', stage, step, group, state: 'completed', seconds: record.durationMs / 1000 });
      return record;
    } catch (err) {
      if (err instanceof StageFailure) {
        ui.emit?.({ type: 'stage', stage, step, group, state: 'failed', exitCode: err.exitCode, log: err.logPath });
      }
      adopt = false;
      if (!(err instanceof StageFailure) || err.cancelled || !ui.onStageError) throw err;
      let decision: StageDecision;
      try {
        decision = await ui.onStageError(err, task, runner.layout.buildDir);
      } catch (asking) {
        // Ctrl-C at the question (the prompt's ExitPromptError): stop as after "abort"
        if (asking instanceof Error && asking.name === 'ExitPromptError') throw new StoppedAfterFailure(err, 'abort', true);
        throw asking;
      }
      ui.emit?.({ type: 'decision', stage, decision });
      if (decision !== 'retry') throw new StoppedAfterFailure(err, decision);
      await ui.beforeRetry?.();
    }
  }
}

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new Error('interrupted');
}

export function phaseSummary(selected: number, total: number, unwritten: number): string {
  const parts = [selected === total ? `${total} stages` : `${selected} of ${total} stages`];
  if (unwritten > 0) parts.push(`${unwritten} not written yet`);
  return parts.join(', ');
}

/** Fetch a file of the build machine to OUT (streamed, via a .part file), checked against the build machine's own sha256, with OUT.sha256 beside it. */
export async function fetchArtifact(machine: Machine, remote: string, out: string, what: string): Promise<{ sha256: string; bytes: number }> {
  // the build machine's own digest, to check what arrived against
  const expected = (await runChecked(machine, ['sha256sum', '--', remote], { sudo: true })).split(/\s+/)[0];
  const fetched = await writeViaPart(out, async (part) => {
    const got = await machine.fetchFile(remote, createWriteStream(part, { mode: 0o644 }), { sudo: true });
    if (got.sha256 !== expected) throw new Error(`${what} arrived damaged: sha256 ${got.sha256}, the build machine has ${expected}`);
    return got;
  });
  await writeFile(`${out}.sha256`, `${fetched.sha256}  ${basename(out)}\n`);
  return fetched;
}

/** A new folder for one run's logs (stage logs, the run log), named by time and what runs. */
export function runLogDir(what: string): string {
  const runId = `${new Date().toISOString().replace(/[:.]/g, '-')}-${what}`;
  return join(userPaths.log, 'runs', runId);
}

/** Send a local file to the build machine's inputs, unless a file of that digest and size is there already. */
export async function sendInput(machine: Machine, local: string, remote: string): Promise<'sent' | 'present'> {
  const size = (await stat(local)).size;
  // names carry the sha256 and files arrive through a temp name: same size = same file
  const remoteSize = await runChecked(machine, ['sh', '-c', 'stat -c %s -- "$1" 2>/dev/null || echo none', 'sh', remote], { sudo: true });
  if (remoteSize.trim() === String(size)) return 'present';
  await runChecked(machine, ['mkdir', '-p', '--', posix.dirname(remote)], { sudo: true });
  await machine.sendFile(local, remote, { sudo: true, mode: 0o644 });
  return 'sent';
}
