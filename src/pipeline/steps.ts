// A run as steps over listr2. A step is a task of the tree: it runs (or holds sub-steps),
// returns what it made, and may leave something to undo: a connection, mounts, a cache
// lock, a build folder. Its cleanup is pushed on a stack as the step starts; when the run
// ends (success, a failure, Ctrl-C) the stack is unwound, last pushed first. A cleanup
// that fails is reported as a warning, the others still run, and the run's own error is
// what the caller gets.
import { Listr, type ListrTask } from 'listr2';
import { throwIfAborted, type RunEvent } from './common.js';
import { createTaskList, type RendererChoice } from './ui.js';

/** How the run ended, as the cleanups see it. */
export type Outcome = { state: 'succeeded' } | { state: 'failed' | 'aborted'; error: unknown };

/** The run's outcome, and what the step's own run returned (absent when it did not finish). */
export type StepOutcome<R> = Outcome & { result?: R };

/** The tree's task a step runs in: its title and its output line. */
export interface StepTask {
  title: string;
  output: string;
}

export interface Step<Ctx, R = unknown> {
  /** shown in the tree; a step without one runs unseen (it only holds a cleanup's place in the order) */
  title?: string;
  /** a reason to skip the step, shown beside its title */
  skip?: (ctx: Ctx) => string | false | Promise<string | false>;
  run?: (ctx: Ctx, task: StepTask) => R | Promise<R>;
  /** sub-steps, run as a group under the title (instead of run) */
  steps?: AnyStep<Ctx>[];
  /** what the cleanup does, for its warning: "release the mounts below …" */
  undo?: string;
  /** undo what the step did; pushed as the step starts, so it also runs when the step fails */
  cleanup?: (outcome: StepOutcome<R>, ctx: Ctx) => unknown;
}

/**
 * A step of any result, for lists of steps: each step's cleanup takes its own result, and parameters are
 * contravariant, so with `unknown` a step returning a string would not fit a list of them.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the one escape for heterogeneous step lists (see above)
export type AnyStep<Ctx> = Step<Ctx, any>;

export interface CleanupFailure {
  what: string;
  error: unknown;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The warning of a cleanup that failed: it never claims the thing was undone. */
function cleanupWarning(failure: CleanupFailure): string {
  return `could not ${failure.what}: ${messageOf(failure.error)}`;
}

/** The cleanups of a run, last pushed first. */
export class CleanupStack {
  private readonly entries: { what: string; run: (outcome: Outcome) => unknown }[] = [];

  constructor(private readonly report: (failure: CleanupFailure) => void) {}

  push(what: string, run: (outcome: Outcome) => unknown): void {
    this.entries.push({ what, run });
  }

  get size(): number {
    return this.entries.length;
  }

  /** Run every cleanup once, in reverse; each failure is reported and the rest still run. Returns the failures. */
  async unwind(outcome: Outcome): Promise<CleanupFailure[]> {
    const failures: CleanupFailure[] = [];
    for (let entry = this.entries.pop(); entry; entry = this.entries.pop()) {
      try {
        await entry.run(outcome);
      } catch (error) {
        const failure = { what: entry.what, error };
        failures.push(failure);
        try {
          this.report(failure);
        } catch {
          // a broken reporter must not stop the other cleanups
        }
      }
    }
    return failures;
  }
}

export interface StepRunOptions {
  renderer: RendererChoice;
  /** Ctrl-C: no further step starts, and the outcome is "aborted" */
  signal: AbortSignal;
  /** the run's events: a cleanup's warning, and with taskEvents the top-level steps */
  emit?: (event: RunEvent) => void;
  /** time the top-level steps into emit: started, completed, failed, skipped */
  taskEvents?: boolean;
  /** where a warning line goes; stderr by default */
  warn?: (line: string) => void;
}

/** One run: its cleanup stack and the steps it turns into listr tasks. */
export class StepRun {
  readonly cleanups: CleanupStack;

  constructor(private readonly options: StepRunOptions) {
    const warn = options.warn ?? ((line: string) => void process.stderr.write(`${line}\n`));
    this.cleanups = new CleanupStack((failure) => {
      const text = cleanupWarning(failure);
      warn(`stemforge: warning: ${text}`);
      options.emit?.({ type: 'warning', text });
    });
  }

  /** A cleanup for something taken outside the tree (a cache lock): unwound with the steps' cleanups, after those pushed later. */
  defer(what: string, cleanup: (outcome: Outcome) => unknown): void {
    this.cleanups.push(what, cleanup);
  }

  /** Run the steps as one task tree over ctx. */
  async run<Ctx extends object>(steps: AnyStep<Ctx>[], ctx: Ctx): Promise<void> {
    await createTaskList<Ctx>(this.tasks(steps, 0), this.options.renderer, ctx).run();
  }

  private tasks<Ctx>(steps: AnyStep<Ctx>[], level: number): ListrTask<Ctx>[] {
    return steps.map((step) => this.task(step, level));
  }

  private task<Ctx>(step: Step<Ctx>, level: number): ListrTask<Ctx> {
    const title = step.title;
    const emit = level === 0 && this.options.taskEvents && title !== undefined ? this.options.emit : undefined;
    const skip = step.skip;
    return {
      title,
      skip: skip
        ? async (ctx: Ctx) => {
            const why = await skip(ctx);
            if (why && emit) emit({ type: 'task', title: title!, state: 'skipped', reason: why });
            return why;
          }
        : undefined,
      task: async (ctx, task) => {
        const started = Date.now();
        const done = (err?: unknown): void =>
          emit?.(
            err === undefined
              ? { type: 'task', title: title!, state: 'completed', seconds: (Date.now() - started) / 1000 }
              : { type: 'task', title: title!, state: 'failed', seconds: (Date.now() - started) / 1000, reason: messageOf(err) },
          );
        emit?.({ type: 'task', title: title!, state: 'started' });
        try {
          throwIfAborted(this.options.signal);
          // what the step returned, once it finished: its cleanup sees it
          const ran: { result?: unknown } = {};
          const cleanup = step.cleanup;
          if (cleanup) {
            this.cleanups.push(step.undo ?? `clean up after "${title ?? 'a step'}"`, (outcome) =>
              cleanup('result' in ran ? { ...outcome, result: ran.result } : outcome, ctx),
            );
          }
          if (step.steps) {
            const group = task.newListr(this.tasks(step.steps, level + 1), { exitOnError: true });
            if (emit) endsWithGroup(group, done);
            return group;
          }
          ran.result = await step.run?.(ctx, task);
          done();
          return undefined;
        } catch (err) {
          done(err);
          throw err;
        }
      },
    };
  }
}

/** listr2 runs a returned group after the task function returns: the group's step ends when its run does. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any renderer: only run() is wrapped
function endsWithGroup<Ctx>(group: Listr<Ctx, any, any>, done: (err?: unknown) => void): void {
  const run = group.run.bind(group);
  group.run = async (c?: Ctx) => {
    try {
      const r = await run(c);
      done();
      return r;
    } catch (err) {
      done(err);
      throw err;
    }
  };
}

/**
 * Give `body` a run, then unwind its cleanups whatever happened: the outcome is "succeeded"
 * when body returns, "aborted" after Ctrl-C, else "failed". body's result or error is
 * passed on as it was; cleanup failures are warnings.
 */
export async function withSteps<T>(options: StepRunOptions, body: (run: StepRun) => Promise<T>): Promise<T> {
  const run = new StepRun(options);
  let value: T;
  try {
    value = await body(run);
  } catch (error) {
    await run.cleanups.unwind({ state: options.signal.aborted ? 'aborted' : 'failed', error });
    throw error;
  }
  await run.cleanups.unwind({ state: 'succeeded' });
  return value;
}
