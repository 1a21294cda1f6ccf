// `stemforge build` as one task tree: check this machine → connect (a VM comes up) → root
// or sudo → sync the builder → OS-image phase (or reuse an OS image) → send the inputs →
// one stemcell per infrastructure → record the versions. The phases are the same task lists
// `os-image` and `stemcell` run, so a later phase (or a cache in front of one) slots in here.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { agentPin } from '../catalog/pins.js';
import type { OperatingSystem } from '../catalog/operating-systems.js';
import { findOperatingSystem, planOsImage, planStemcell, type StemcellPlan } from '../catalog/planner.js';
import { ArtifactCache } from '../cache/store.js';
import { describeSpec } from '../machine/spec.js';
import { stemcellFileName, stemcellName } from '../stemcell/naming.js';
import { sha256File } from '../util/stream-hash.js';
import { describeHit, handOut, lookup, osImageThroughCache, stemcellKey, store, type CacheKey, type CacheOptions } from './artifact-cache.js';
import { runChecked } from '../machine/machine.js';
import { vmLimits } from '../settings/options.js';
import { checkInputFile, checkOutputFolder, checkVersion, positiveInteger } from '../settings/validate.js';
import { HintedError, UsageError } from '../util/errors.js';
import { StoppedAfterFailure, type RunEvent, type RunUi } from './common.js';
import { osImageLayerKeys, osImagePhase, type OsImageRequest } from './os-image.js';
import { noteFailure, RunLog } from './run-log.js';
import { sessionSteps, syncTo, type SessionCtx } from './session.js';
import { spaceCheckStep, stemcellSpace } from './space-check.js';
import { withSteps, type AnyStep, type Step } from './steps.js';
import type { StageRecord } from './stage-runner.js';
import { planStemcells, stemcellLayerKeys, stemcellPhase, type AgentSource, type BuiltStemcell, type StemcellRequest } from './stemcell.js';

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
  /** the folder the OS image and the stemcells are written to */
  outputDir: string;
  /** use this OS image instead of building one */
  osImage?: string;
  /** a stage of either phase: an OS-image stage resumes that phase; a stemcell stage reuses the OS image the last build wrote */
  resumeFrom?: string;
  /** the machine checks, run as the tree's first task; blocking ones stop the build */
  preflight?: () => Promise<PreflightReport>;
  /** the local artifact cache; absent = not used */
  cache?: CacheOptions;
}

export interface BuildResult {
  osImage: { path: string; reused: boolean; sha256?: string; bytes?: number };
  stemcells: BuiltStemcell[];
  records: StageRecord[];
  logDir: string;
  runLog: string;
}

/** Where a build keeps its OS image, so a stemcell-stage resume (and the next build) finds it. */
export function osImagePath(outputDir: string, os: string): string {
  return join(resolve(outputDir), `os-image-${os}.tgz`);
}

/** Which phase --resume-from names a stage of. */
function resumePhase(request: Pick<BuildRequest, 'os' | 'iaas' | 'diskFormat' | 'hypervisor' | 'resumeFrom'>): 'os-image' | 'stemcell' | undefined {
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
  throw new UsageError(
    `--resume-from ${stage}: not a stage of the ${request.os} OS image or of the ${request.iaas.join(', ')} stemcell; see the plan with --dry-run`,
  );
}

/** The agent's sha256, for the stemcell key: a local file's digest, a URL's given one, or the pin's. */
async function agentDigest(agent: AgentSource | undefined): Promise<string> {
  if (!agent) return agentPin.sha256;
  return 'file' in agent ? sha256File(agent.file) : agent.sha256;
}

interface StemcellCache {
  /** look every stemcell up; a hit is handed out to the output folder */
  lookUp(cache: ArtifactCache, options: CacheOptions, osDigest: string, emit: (e: RunEvent) => void): Promise<{ built: BuiltStemcell; note: string }[]>;
  /** the step that stores the stemcells the run built */
  store(cache: ArtifactCache, built: () => BuiltStemcell[], osDigest: () => Promise<string>): Step<SessionCtx>;
}

/** The stemcells' side of the cache: their keys (they need the OS image's digest), the lookups, and the store step. */
function stemcellCache(request: BuildRequest, os: OperatingSystem, machine: string): StemcellCache {
  const plans = request.iaas.map((iaas) => planStemcell({ os: os.name, iaas, diskFormat: request.diskFormat, hypervisor: request.hypervisor }));
  const fileOf = (plan: StemcellPlan): string => stemcellFileName({ os, infrastructure: plan.infrastructure, diskFormat: plan.diskFormat }, request.version);
  let agentSha: Promise<string> | undefined;
  const keyOf = async (plan: StemcellPlan, osDigest: string): Promise<CacheKey> =>
    stemcellKey({ ...request, agentSha256: await (agentSha ??= agentDigest(request.agent)) }, plan, osDigest, fileOf(plan), machine);
  return {
    async lookUp(
      cache: ArtifactCache,
      options: CacheOptions,
      osDigest: string,
      emit: (e: RunEvent) => void,
    ): Promise<{ built: BuiltStemcell; note: string }[]> {
      const hits: { built: BuiltStemcell; note: string }[] = [];
      for (const plan of plans) {
        const key = await keyOf(plan, osDigest);
        const found = await lookup(cache, key, options);
        emit({ type: 'cache', artifact: 'stemcell', label: key.label, key: key.key, hit: !!found.entry, why: found.why });
        if (!found.entry) continue;
        const out = join(resolve(request.outputDir), fileOf(plan));
        await handOut(cache, found.entry, out);
        const name = stemcellName({ os, infrastructure: plan.infrastructure, diskFormat: plan.diskFormat });
        hits.push({
          built: { infrastructure: plan.infrastructure.name, diskFormat: plan.diskFormat, name, out, sha256: found.entry.digest, bytes: found.entry.size },
          note: describeHit(found.entry),
        });
        emit({ type: 'artifact', kind: 'stemcell', path: out, sha256: found.entry.digest, bytes: found.entry.size });
      }
      return hits;
    },
    store: (cache: ArtifactCache, built: () => BuiltStemcell[], osDigest: () => Promise<string>): Step<SessionCtx> => ({
      title: 'Store the stemcells in the cache',
      run: async (_c, task) => {
        const digest = await osDigest();
        let stored = 0;
        for (const s of built()) {
          const plan = plans.find((p) => p.infrastructure.name === s.infrastructure)!;
          await store(cache, await keyOf(plan, digest), 'stemcell', s.out!, s.sha256);
          stored += 1;
        }
        task.title = `Stored ${stored} stemcell(s) in the cache`;
      },
    }),
  };
}

/** The doctor's checks as the tree's first step: blocking ones stop the build before anything else. */
function preflightStep(preflight: () => Promise<PreflightReport>, runLog: RunLog): Step<SessionCtx> {
  return {
    title: 'Check this machine (stemforge doctor)',
    run: async (_c, task) => {
      const report = await preflight();
      for (const line of report.lines) runLog.write({ type: 'note', text: line });
      if (!report.ok)
        throw new HintedError(
          `this machine cannot build yet:\n${report.blocking.join('\n')}`,
          'fix the checks above; `stemforge doctor` shows the full report (--skip-doctor skips the checks)',
        );
      task.title = `Check this machine (${report.lines.length} checks passed${report.lines.some((l) => l.startsWith('[!]')) ? ', with warnings' : ''})`;
    },
  };
}

/**
 * Unseen, after the session: the user's "clean up" after a failed stage removes the build's
 * folders. Its place in the order makes it run after the phases released their mounts and
 * before the connection closes.
 */
function removeOnCleanup(dirs: string[], runLog: RunLog): Step<SessionCtx> {
  return {
    undo: `remove this build's folders on the build machine (${dirs.join(', ')})`,
    cleanup: async (outcome, c) => {
      if (outcome.state === 'succeeded' || !(outcome.error instanceof StoppedAfterFailure) || outcome.error.decision !== 'cleanup' || !c.machine) return;
      await runChecked(c.machine, ['rm', '-rf', '--one-file-system', '--', ...dirs], { sudo: true });
      runLog.write({ type: 'note', text: `cleaned up: removed ${dirs.join(', ')}` });
      outcome.error.cleanedUp = true;
    },
  };
}

/** The builder VM's size within the option table's bounds, however it was answered. */
function checkVmSize(vm: BuildRequest['vm']): void {
  const sizes = [
    [vm.cpus, '--cpus', vmLimits.cpus],
    [vm.memoryMiB, '--memory', vmLimits.memoryMiB],
    [vm.diskGiB, '--disk-size', vmLimits.diskGiB],
  ] as const;
  for (const [value, flag, range] of sizes) if (value !== undefined) positiveInteger(value, flag, range);
}

/** What the checks of a build found: the OS line, which phase --resume-from names, and where the OS image is. */
export interface CheckedBuild {
  os: OperatingSystem;
  phase: 'os-image' | 'stemcell' | undefined;
  imagePath: string;
  /** the OS image is given (--os-image) or a stemcell-stage resume reuses the last one */
  given: boolean;
}

/**
 * Every check a build makes before it touches a machine (or the cache, or the output folder),
 * for the dry run and the run alike: the OS line, each infrastructure's plan (named once, its
 * disk format and hypervisor), --resume-from's stage, the OS image, agent and output paths.
 */
export function checkBuildRequest(request: BuildRequest): CheckedBuild {
  const os = findOperatingSystem(request.os);
  // the counter's proposal and the wizard's answers are checked as the flags are
  checkVersion(request.version, '--version');
  checkVmSize(request.vm);
  planStemcells({ ...request, os, resumeFrom: undefined });
  const phase = resumePhase(request);
  if (phase === 'os-image') planOsImage({ os: os.name, resumeFrom: request.resumeFrom });
  if (phase === 'stemcell') planStemcells({ ...request, os });
  const imagePath = request.osImage ? resolve(request.osImage) : osImagePath(request.outputDir, os.name);
  const given = !!request.osImage || phase === 'stemcell';
  if (request.osImage) checkInputFile(request.osImage, '--os-image', 'name an OS image tarball (make one with stemforge os-image)');
  else if (given && !existsSync(imagePath))
    throw new UsageError(
      `--resume-from ${request.resumeFrom} needs the OS image of the last build, ${imagePath}, and it is not there; build again without --resume-from`,
    );
  if (request.agent && 'file' in request.agent) checkInputFile(request.agent.file, '--agent-file', 'name the bosh-agent binary');
  checkOutputFolder(request.outputDir, '--out');
  if (request.cache?.enabled) checkOutputFolder(request.cache.dir, '--cache-dir');
  return { os, phase, imagePath, given };
}

export async function build(request: BuildRequest, ui: RunUi, logDir: string): Promise<BuildResult> {
  const { os, phase, imagePath, given } = checkBuildRequest(request);
  const runLog = new RunLog(logDir);
  const emit = (event: RunEvent): void => {
    runLog.write(event);
    ui.emit?.(event);
  };
  const ctx: SessionCtx = {};
  // a retried stage runs what is in the checkout now: the user may have just fixed it
  const phaseUi: RunUi = { ...ui, emit, beforeRetry: async () => void (ctx.machine && (await syncTo(ctx.machine, request.buildRoot))) };
  const machineLabel = describeSpec(request.machine);
  const cacheOptions = request.cache?.enabled ? request.cache : undefined;
  const cache = cacheOptions ? new ArtifactCache(cacheOptions.dir) : undefined;
  const stemcells = stemcellCache(request, os, machineLabel);

  const finished = withSteps({ renderer: ui.renderer, signal: ui.signal, emit, taskEvents: true }, async (run) => {
    // --- the OS image: given, cached, or built by the os-image phase (and then stored)
    const cachedOs =
      !given && cache && cacheOptions
        ? await osImageThroughCache(run, cache, cacheOptions, request, {
            machine: machineLabel,
            out: imagePath,
            refresh: cacheOptions.refreshOsImage || phase === 'os-image',
            emit,
          })
        : undefined;
    const reuse = given || !!cachedOs?.entry;
    const osSkip = cachedOs?.entry ? `${describeHit(cachedOs.entry)} → ${imagePath}` : `reusing ${imagePath}`;
    let osDigest = cachedOs?.entry?.digest;

    // --- stemcells: with a known OS image each may be cached already
    const hits =
      reuse && cache && cacheOptions && phase !== 'stemcell'
        ? await stemcells.lookUp(cache, cacheOptions, (osDigest ??= await sha256File(imagePath)), emit)
        : [];
    const toBuild = request.iaas.filter((iaas) => !hits.some((h) => h.built.infrastructure === iaas));
    const osImage: BuildResult['osImage'] = { path: imagePath, reused: reuse };
    if (toBuild.length === 0) {
      // everything was cached: no machine is needed
      for (const { built, note } of hits) emit({ type: 'task', title: `stemcell ${built.infrastructure}`, state: 'skipped', reason: note });
      if (osDigest) Object.assign(osImage, { sha256: osDigest });
      return { osImage, stemcells: hits.map((h) => h.built), records: [], logDir, runLog: runLog.path };
    }

    const osPhase = reuse
      ? undefined
      : osImagePhase(
          { ...request, out: imagePath, resumeFrom: phase === 'os-image' ? request.resumeFrom : undefined, allowUnwritten: false },
          phaseUi,
          join(logDir, 'os-image'),
        );
    const stemcellRequest: StemcellRequest = {
      ...request,
      iaas: toBuild,
      os,
      osImage: imagePath,
      resumeFrom: phase === 'stemcell' ? request.resumeFrom : undefined,
      allowUnwritten: false,
    };
    const scPhase = stemcellPhase(stemcellRequest, phaseUi, join(logDir, 'stemcell'));

    const osSteps: AnyStep<SessionCtx>[] = osPhase
      ? [
          { title: `OS image ${os.name}${phase === 'os-image' ? ` (resume from ${request.resumeFrom})` : ''}`, steps: osPhase.steps },
          ...(cachedOs ? [cachedOs.store(() => osPhase.result().sha256)] : []),
        ]
      : [{ title: `OS image ${os.name}`, run: () => undefined, skip: () => osSkip }];
    const osDigestNow = async (): Promise<string> => osPhase?.result().sha256 ?? osDigest ?? (await sha256File(imagePath));
    await run.run<SessionCtx>(
      [
        ...(request.preflight ? [preflightStep(request.preflight, runLog)] : []),
        ...sessionSteps<SessionCtx>(request, phaseUi, logDir),
        spaceCheckStep(
          stemcellSpace(
            planStemcells(stemcellRequest),
            { ...request, cacheDir: cacheOptions?.dir },
            osPhase ? planOsImage({ os: os.name, resumeFrom: phase === 'os-image' ? request.resumeFrom : undefined }) : undefined,
            // layers complete on the build machine are not written again: their keys, where the inputs are known now
            request.layers
              ? osPhase
                ? { osImageKeys: () => osImageLayerKeys({ ...request, resumeFrom: undefined, allowUnwritten: false }) }
                : { stemcellKeys: () => stemcellLayerKeys({ ...stemcellRequest, resumeFrom: undefined }) }
              : {},
          ),
          (text) => runLog.write({ type: 'note', text }),
        ),
        removeOnCleanup([...(osPhase ? [osPhase.buildDir] : []), ...scPhase.buildDirs], runLog),
        ...osSteps,
        ...hits.map(({ built, note }): Step<SessionCtx> => ({ title: `stemcell ${built.infrastructure}`, run: () => undefined, skip: () => note })),
        ...scPhase.steps,
        ...(cache ? [stemcells.store(cache, () => scPhase.built(), osDigestNow)] : []),
      ],
      ctx,
    );
    const osResult = osPhase?.result();
    if (osResult?.sha256) Object.assign(osImage, { sha256: osResult.sha256, bytes: osResult.bytes });
    else if (osDigest) Object.assign(osImage, { sha256: osDigest });
    const scResult = scPhase.result();
    return {
      osImage,
      stemcells: [...hits.map((h) => h.built), ...scResult.stemcells],
      records: [...(osResult?.records ?? []), ...scResult.records],
      logDir,
      runLog: runLog.path,
    };
  });
  return finished.catch((err: unknown) => {
    noteFailure(runLog, err);
    throw err;
  });
}
