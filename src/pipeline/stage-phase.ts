// One build of stages in a build directory, as the OS-image phase and each stemcell build
// run it: the check for stages not written yet, the run list (with layers every stage up to
// --until, the reused ones shown as skipped), preparing the build directory and the
// settings, the configure pass, and each stage applied in place or on its own layer. What
// differs (the OS image's archive and fetch, a stemcell's packing) stays with the phase.
import type { Machine } from '../machine/machine.js';
import { keyedSettings } from '../cache/keys.js';
import { UsageError } from '../util/errors.js';
import { builderTree } from './artifact-cache.js';
import { phaseSummary, runStage, StoppedAfterFailure, type RunUi, type StageTaskHandle } from './common.js';
import type { BuildLayout } from './layout.js';
import { LayerChain, layerKeys } from './layers.js';
import type { SessionCtx } from './session.js';
import { renderSettings } from './settings-file.js';
import type { StageFiles } from './stage-files.js';
import { StageReads } from './stage-reads.js';
import { StageRunner, type StageRecord, type StageStep } from './stage-runner.js';
import type { Outcome, Step, StepTask } from './steps.js';

/** The user chose to keep the build as it is after a failed stage: mounts and build folders stay, for a look by hand. */
function keptAsItIs(outcome: Outcome): boolean {
  return outcome.state !== 'succeeded' && outcome.error instanceof StoppedAfterFailure && outcome.error.decision === 'keep';
}

/** What became of a stage job that a stemforge stopped mid-build (kill -9, a closed laptop) left on the build machine. */
export interface LeftJob {
  stage: string;
  step: StageStep;
  /** followed: still running, on the layer this run needs next; took: it finished well, its layer is kept; stopped: not this run's */
  action: 'followed' | 'took' | 'stopped';
}

export function describeLeftJob(job: LeftJob): string {
  const what = `${job.stage} (${job.step}.sh), left by a stemforge that was stopped`;
  if (job.action === 'followed') return `${what}: still running, followed again`;
  if (job.action === 'took') return `${what}: finished, its layer kept`;
  return `${what}: stopped, not the stage this run needs`;
}

/**
 * Settle the stage jobs of this build folder that no stemforge follows any more. A job still
 * running on the layer this run needs next is followed again (its index returned); one that
 * finished with exit 0 on that layer has its layer kept; any other running job is stopped
 * (its traps release its mounts). Runs before the build folder is prepared.
 */
async function settleLeftJobs(runner: StageRunner, chain: LayerChain | undefined, limit: number): Promise<{ follow?: number; events: LeftJob[] }> {
  const jobs = await runner.jobs();
  const events: LeftJob[] = [];
  let next = chain && jobs.length > 0 ? await chain.probe() : -1;
  let follow: number | undefined;
  for (const job of jobs) {
    const index = chain && job.step === 'apply' && job.tag ? chain.keys.indexOf(job.tag) : -1;
    const needed = index >= 0 && index === next && index < limit;
    if (job.state === 'running') {
      if (needed) {
        follow = index;
        events.push({ stage: job.stage, step: job.step, action: 'followed' });
        continue;
      }
      await runner.stopJob(job);
      events.push({ stage: job.stage, step: job.step, action: 'stopped' });
    } else if (job.state === 'finished' && job.exitCode === 0 && needed) {
      // its mounts (the chroot's, the layer's) go first: the layer is moved into place
      await runner.releaseMounts();
      if (await chain!.take(index, runner.jobDir(job.stage, job.step))) {
        events.push({ stage: job.stage, step: job.step, action: 'took' });
        next += 1;
      }
    }
  }
  return { follow, events };
}

/** Refuse a run with selected stages that are not written yet, unless --allow-unwritten. */
export function checkWritten(unwritten: readonly string[], allowUnwritten: boolean, of = ''): void {
  if (unwritten.length === 0 || allowUnwritten) return;
  throw new UsageError(
    `${unwritten.length} selected stage(s)${of ? ` of ${of}` : ''} are not written yet: ${unwritten.join(', ')}. ` +
      'Pass --allow-unwritten to build without them (they are skipped and listed), or stop earlier with --until STAGE.',
  );
}

export interface StagePhaseInput {
  /** the records' and the events' group: the OS line, or the infrastructure */
  group: string;
  layout: BuildLayout;
  logDir: string;
  /** the phase's stages in order, and those selected (--resume-from … --until) */
  stages: readonly string[];
  selected: readonly string[];
  /** which stages exist in the builder */
  files: readonly (StageFiles & { name: string })[];
  resumeFrom?: string;
  /** run each stage on its own layer; absent = in place */
  layers?: { maxMiB: number };
  /** the stages' environment beyond PATH and LANG */
  stageEnv: Record<string, string>;
  ui: RunUi;
  /** the settings file's values, asked for when the build directory is ready */
  settings(): Record<string, string>;
  /** the base of the layer keys (the phase, and what it starts from) */
  layerBase(): Record<string, unknown>;
  /** after the build directory is ready, before the settings are written */
  afterPrepare?(machine: Machine, task: StepTask): Promise<void>;
  /** on a stage's fresh layer, before the stage runs */
  onLayer?(machine: Machine): Promise<void>;
}

export interface StagePhase {
  /** the stages in the tree */
  runList: string[];
  layered: boolean;
  /** "27 stages, on layers": for the phase's title */
  summary: string;
  /** prepare the build directory (or check it for a resume) and the layers; its cleanup releases the mounts below it */
  prepare: Step<SessionCtx>;
  /** the config.sh of every stage that has one; returns their records */
  configure: Step<SessionCtx, StageRecord[]>;
  /** one step per stage of the run list; each returns its record (none when skipped) */
  apply: Step<SessionCtx, StageRecord>[];
  /** set once prepared */
  runner(): StageRunner | undefined;
  /** with layers, once prepared */
  chain(): LayerChain | undefined;
  records: () => StageRecord[];
}

export function stagePhase(input: StagePhaseInput): StagePhase {
  const { group, layout, stages, selected, ui } = input;
  const layered = input.layers !== undefined;
  // with layers every stage up to --until is in the tree: those whose layer is reused show as skipped
  const runList = layered ? stages.slice(0, stages.indexOf(selected.at(-1)!) + 1) : [...selected];
  const files = input.files.filter((s) => runList.includes(s.name));
  const written = new Set(files.filter((s) => s.written).map((s) => s.name));
  const configured = files.filter((s) => s.written && s.hasConfig).map((s) => s.name);
  const unwritten = input.files.filter((s) => selected.includes(s.name) && !s.written).length;
  const stageEnv = { LANG: 'C.UTF-8', ...input.stageEnv };
  let runner: StageRunner | undefined;
  let chain: LayerChain | undefined;
  /** the first stage that runs; the layers of the ones before it are reused */
  let start = 0;

  /** the stage whose job a stopped stemforge left running: followed, not started */
  let adopted: number | undefined;

  const prepare: Step<SessionCtx> = {
    title: input.resumeFrom && !layered ? `Resume build in ${layout.buildDir} from ${input.resumeFrom}` : `Prepare a fresh build in ${layout.buildDir}`,
    undo: `release the mounts below ${layout.buildDir}`,
    cleanup: async (outcome) => {
      // a left job never followed (the run stopped before its stage): stopped, not left to write under released mounts
      if (runner && adopted !== undefined) await runner.stopJob({ stage: runList[adopted]!, step: 'apply' });
      if (runner && !keptAsItIs(outcome)) await runner.releaseMounts();
    },
    run: async (c, task) => {
      runner = new StageRunner(c.machine!, layout, input.logDir, stageEnv, group);
      const settings = input.settings();
      if (layered) {
        const keys = layerKeys(input.layerBase(), stages, await builderTree(), keyedSettings(settings), new StageReads());
        chain = new LayerChain(c.machine!, layout, stages, keys);
      }
      const from = input.resumeFrom ? stages.indexOf(input.resumeFrom) : Number.POSITIVE_INFINITY;
      // before anything is unmounted or removed: a job at work there keeps its folder and mounts
      const left = await settleLeftJobs(runner, chain, Math.min(from, runList.length));
      adopted = left.follow;
      for (const event of left.events) {
        task.output = describeLeftJob(event);
        ui.emit?.({ type: 'left-job', group, ...event });
      }
      // with layers the work folder is rebuilt from them: nothing of the last build folder is needed
      await runner.prepare({ resume: !!input.resumeFrom && !layered, keep: adopted !== undefined });
      await input.afterPrepare?.(c.machine!, task);
      await runner.writeSettings(renderSettings(settings));
      if (!chain) return;
      const reusable = await chain.probe();
      start = Math.min(reusable, from, runList.length);
      const leftNote = left.events.map((e) => `; ${describeLeftJob(e)}`).join('');
      task.title = `Prepared ${layout.buildDir}: ${start} of ${runList.length} stage layers reused${start < runList.length ? `, running from ${runList[start]}` : ''}${leftNote}`;
    },
  };

  const applyStage = async (machine: Machine, index: number, task: StageTaskHandle): Promise<StageRecord> => {
    const stage = runList[index]!;
    if (!chain) return runStage(runner!, group, stage, 'apply', task, ui);
    const layers = chain;
    const following = index === adopted;
    adopted = undefined;
    // a retry starts from a fresh layer, not from what the failed attempt left
    const layerUi: RunUi = {
      ...ui,
      beforeRetry: async () => {
        await ui.beforeRetry?.();
        await layers.reset(index);
      },
    };
    return layers.run(
      index,
      async () => {
        if (!following) await input.onLayer?.(machine);
        return runStage(runner!, group, stage, 'apply', task, layerUi, { tag: layers.keys[index], adopt: following });
      },
      { mounted: following },
    );
  };

  return {
    runList,
    layered,
    summary: `${phaseSummary(runList.length, stages.length, unwritten)}${layered ? ', on layers' : ''}`,
    prepare,
    configure: {
      title: `configure (${configured.length} stages with config.sh)`,
      run: async (_c, task) => {
        const records: StageRecord[] = [];
        for (const stage of configured) records.push(await runStage(runner!, group, stage, 'config', task, ui));
        return records;
      },
    },
    apply: runList.map((stage, index): Step<SessionCtx, StageRecord> => ({
      title: stage,
      skip: () => (!written.has(stage) ? 'not written yet' : index < start ? `layer reused (${chain!.keys[index]!.slice(0, 12)})` : false),
      // the tree's timer shows the time; the duration report has it to 0.1 s
      run: (c, task) => applyStage(c.machine!, index, task),
    })),
    runner: () => runner,
    chain: () => chain,
    records: () => runner?.records ?? [],
  };
}
