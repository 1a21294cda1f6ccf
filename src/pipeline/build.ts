// `stemforge build` as one task tree: check this machine → connect (a VM comes up) → root
// or sudo → sync the builder → OS-image phase (or reuse an OS image) → send the inputs →
// one stemcell per infrastructure → record the versions. The phases are the same task lists
// `os-image` and `stemcell` run, so a later phase (or a cache in front of one) slots in here.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Listr, type ListrTask } from 'listr2';
import { findOperatingSystem, planOsImage, planStemcell } from '../catalog/planner.js';
import { runChecked } from '../machine/machine.js';
import { HintedError, UsageError } from '../util/errors.js';
import { StoppedAfterFailure, type RunEvent, type RunUi } from './common.js';
import { osImagePhase, type OsImageRequest } from './os-image.js';
import { RunLog } from './run-log.js';
import { sessionTasks, syncTo, type SessionCtx } from './session.js';
import type { StageRecord } from './stage-runner.js';
import { stemcellPhase, type AgentSource, type BuiltStemcell, type StemcellRequest } from './stemcell.js';
import { createTaskList } from './ui.js';

export interface PreflightReport {
  ok: boolean;
  /** one line per check, for the task's output and the run log */
  lines: string[];
  /** the checks that block the build, each with its fix */
  blocking: string[];
}

export interface BuildRequest extends Omit<OsImageRequest, 'out' | 'resumeFrom' | 'until' | 'allowUnwritten'> {
  iaas: string[];
  hypervisor?: string;
  diskFormat?: string;
  version: string;
  agent?: AgentSource;
  blobstoreClis: boolean;
  outDir: string;
  /** use this OS image instead of building one */
  osImage?: string;
  /** a stage of either phase: an OS-image stage resumes that phase; a stemcell stage reuses the OS image the last build wrote */
  resumeFrom?: string;
  /** the machine checks, run as the tree's first task; blocking ones stop the build */
  preflight?: () => Promise<PreflightReport>;
}

export interface BuildResult {
  osImage: { path: string; reused: boolean; sha256?: string; bytes?: number };
  stemcells: BuiltStemcell[];
  records: StageRecord[];
  logDir: string;
  runLog: string;
}

/** Where a build keeps its OS image, so a stemcell-stage resume (and the next build) finds it. */
export function osImagePath(outDir: string, os: string): string {
  return join(resolve(outDir), `os-image-${os}.tgz`);
}

/** Which phase --resume-from names a stage of. */
export function resumePhase(request: Pick<BuildRequest, 'os' | 'iaas' | 'diskFormat' | 'hypervisor' | 'resumeFrom'>): 'os-image' | 'stemcell' | undefined {
  const stage = request.resumeFrom;
  if (!stage) return undefined;
  if (planOsImage({ os: request.os }).phases[0]!.stages.includes(stage)) return 'os-image';
  const inStemcell = request.iaas.every((iaas) =>
    planStemcell({ os: request.os, iaas, diskFormat: request.diskFormat, hypervisor: request.hypervisor }).phases.some((p) => p.stages.includes(stage)),
  );
  if (inStemcell) {
    if (request.iaas.length > 1) throw new UsageError('--resume-from a stemcell stage works on one infrastructure at a time: pass a single --iaas');
    return 'stemcell';
  }
  throw new UsageError(`--resume-from ${stage}: not a stage of the ${request.os} OS image or of the ${request.iaas.join(', ')} stemcell; see the plan with --dry-run`);
}

/** Time the tree's top-level tasks into the event stream. */
function withEvents<Ctx>(tasks: ListrTask<Ctx>[], emit: (e: RunEvent) => void): ListrTask<Ctx>[] {
  type Wrapper = Parameters<ListrTask<Ctx>['task']>[1];
  return tasks.map((t) => ({
    ...t,
    skip: async (ctx: Ctx) => {
      const skip = typeof t.skip === 'function' ? await t.skip(ctx) : t.skip ?? false;
      if (skip) emit({ type: 'task', title: String(t.title), state: 'skipped', reason: typeof skip === 'string' ? skip : undefined });
      return skip;
    },
    task: async (ctx: Ctx, wrapper: Wrapper) => {
      const title = String(t.title);
      const started = Date.now();
      const done = (err?: unknown): void =>
        emit(err === undefined
          ? { type: 'task', title, state: 'completed', seconds: (Date.now() - started) / 1000 }
          : { type: 'task', title, state: 'failed', seconds: (Date.now() - started) / 1000, reason: err instanceof Error ? err.message : String(err) });
      emit({ type: 'task', title, state: 'started' });
      try {
        const out = await t.task(ctx, wrapper);
        if (out instanceof Listr) {
          // a group: listr2 runs the returned list after this function returns, so the group ends when its run does
          const run = out.run.bind(out);
          out.run = async (c?: Ctx) => {
            try {
              const r = await run(c);
              done();
              return r;
            } catch (err) {
              done(err);
              throw err;
            }
          };
          return out;
        }
        done();
        return out;
      } catch (err) {
        done(err);
        throw err;
      }
    },
  }));
}

export async function build(request: BuildRequest, ui: RunUi, logDir: string): Promise<BuildResult> {
  const os = findOperatingSystem(request.os);
  const phase = resumePhase(request);
  const imagePath = request.osImage ? resolve(request.osImage) : osImagePath(request.outDir, os.name);
  const reuse = !!request.osImage || phase === 'stemcell';
  if (reuse && !existsSync(imagePath)) {
    throw new UsageError(
      request.osImage ? `--os-image ${request.osImage}: no such file` : `--resume-from ${request.resumeFrom} needs the OS image of the last build, ${imagePath}, and it is not there; build again without --resume-from`,
    );
  }
  const runLog = new RunLog(logDir);
  const emit = (event: RunEvent): void => {
    runLog.write(event);
    ui.emit?.(event);
  };
  const ctx: SessionCtx = {};
  // a retried stage runs what is in the checkout now: the user may have just fixed it
  const phaseUi: RunUi = { ...ui, emit, beforeRetry: async () => void (ctx.machine && (await syncTo(ctx.machine, request.buildRoot))) };

  const osPhase = reuse
    ? undefined
    : osImagePhase({ ...request, out: imagePath, resumeFrom: phase === 'os-image' ? request.resumeFrom : undefined, allowUnwritten: false }, phaseUi, join(logDir, 'os-image'));
  const stemcellRequest: StemcellRequest = {
    ...request,
    os,
    osImage: imagePath,
    resumeFrom: phase === 'stemcell' ? request.resumeFrom : undefined,
    allowUnwritten: false,
  };
  const scPhase = stemcellPhase(stemcellRequest, phaseUi, join(logDir, 'stemcell'));
  const osImage: BuildResult['osImage'] = { path: imagePath, reused: reuse };

  const top: ListrTask<SessionCtx>[] = [];
  if (request.preflight) {
    const preflight = request.preflight;
    top.push({
      title: 'Check this machine (stemforge doctor)',
      task: async (_c, task) => {
        const report = await preflight();
        for (const line of report.lines) runLog.write({ type: 'note', text: line });
        if (!report.ok) throw new HintedError(`this machine cannot build yet:\n${report.blocking.join('\n')}`, 'fix the checks above; `stemforge doctor` shows the full report (--skip-doctor skips the checks)');
        task.title = `Check this machine (${report.lines.length} checks passed${report.lines.some((l) => l.startsWith('[!]')) ? ', with warnings' : ''})`;
      },
    });
  }
  top.push(...sessionTasks<SessionCtx>(request, phaseUi, logDir));
  if (osPhase) {
    top.push({
      title: `OS image ${os.name}${phase === 'os-image' ? ` (resume from ${request.resumeFrom})` : ''}`,
      task: (_c, task) => task.newListr(osPhase.tasks, { exitOnError: true }),
    });
  } else {
    top.push({
      title: `OS image ${os.name}`,
      task: () => undefined,
      skip: () => `reusing ${imagePath}`,
    });
  }
  top.push(...scPhase.tasks);

  const tasks = createTaskList<SessionCtx>(withEvents(top, emit), ui.renderer, ctx);
  let failure: unknown;
  try {
    await tasks.run();
  } catch (err) {
    failure = err;
    throw err;
  } finally {
    const keep = failure instanceof StoppedAfterFailure && failure.decision === 'keep';
    // keep: mounts and build folders stay as they are, for a look by hand
    if (!keep) {
      await osPhase?.release();
      await scPhase.release();
    }
    if (failure instanceof StoppedAfterFailure && failure.decision === 'cleanup' && ctx.machine) {
      const dirs = [...(osPhase ? [osPhase.buildDir] : []), ...scPhase.buildDirs];
      await runChecked(ctx.machine, ['rm', '-rf', '--one-file-system', '--', ...dirs], { sudo: true }).catch(() => undefined);
      runLog.write({ type: 'note', text: `cleaned up: removed ${dirs.join(', ')}` });
    }
    await ctx.machine?.close().catch(() => undefined);
  }
  if (osPhase?.result.sha256) Object.assign(osImage, { sha256: osPhase.result.sha256, bytes: osPhase.result.bytes });
  const result: BuildResult = {
    osImage,
    stemcells: scPhase.result.stemcells,
    records: [...(osPhase?.result.records ?? []), ...scPhase.result.records],
    logDir,
    runLog: runLog.path,
  };
  return result;
}
