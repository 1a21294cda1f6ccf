// `stemforge build` as one task tree: check this machine → connect (a VM comes up) → root
// or sudo → sync the builder → OS-image phase (or reuse an OS image) → send the inputs →
// one stemcell per infrastructure → record the versions. The phases are the same task lists
// `os-image` and `stemcell` run, so a later phase (or a cache in front of one) slots in here.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { agentPin } from '../catalog/pins.js';
import { findOperatingSystem, planOsImage, planStemcell, type StemcellPlan } from '../catalog/planner.js';
import { ArtifactCache } from '../cache/store.js';
import { describeSpec } from '../machine/spec.js';
import { stemcellFileName, stemcellName } from '../stemcell/naming.js';
import { sha256File } from '../stemcell/os-image-file.js';
import { describeHit, handOut, lookup, lookupOsImage, osImageKey, stemcellKey, store, type CacheKey, type CacheOptions } from './artifact-cache.js';
import { runChecked } from '../machine/machine.js';
import { HintedError, UsageError } from '../util/errors.js';
import { StoppedAfterFailure, type RunEvent, type RunUi } from './common.js';
import { osImagePhase, type OsImageRequest } from './os-image.js';
import { RunLog } from './run-log.js';
import { sessionSteps, syncTo, type SessionCtx } from './session.js';
import { withSteps, type Step } from './steps.js';
import type { StageRecord } from './stage-runner.js';
import { stemcellPhase, type AgentSource, type BuiltStemcell, type StemcellRequest } from './stemcell.js';

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

/** The agent's sha256, for the stemcell key: a local file's digest, a URL's given one, or the pin's. */
async function agentDigest(agent: AgentSource | undefined): Promise<string> {
  if (!agent) return agentPin.sha256;
  return 'file' in agent ? sha256File(agent.file) : agent.sha256;
}

export async function build(request: BuildRequest, ui: RunUi, logDir: string): Promise<BuildResult> {
  const os = findOperatingSystem(request.os);
  const phase = resumePhase(request);
  const imagePath = request.osImage ? resolve(request.osImage) : osImagePath(request.outDir, os.name);
  let reuse = !!request.osImage || phase === 'stemcell';
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
  const machineLabel = describeSpec(request.machine);
  const cacheOptions = request.cache;
  const cache = cacheOptions?.enabled ? new ArtifactCache(cacheOptions.dir) : undefined;

  return withSteps({ renderer: ui.renderer, signal: ui.signal, emit, taskEvents: true }, async (run) => {
    // --- the OS image: given, cached, or built (and then stored)
    let osSkip = reuse ? `reusing ${imagePath}` : '';
    let osKey: CacheKey | undefined;
    let osDigest: string | undefined;
    /** the cache's lock of the OS image's key: freed once the image is stored, or when the run ends */
    let osLock: (() => void) | undefined;
    if (!reuse && cache && cacheOptions) {
      osKey = await osImageKey(request, machineLabel);
      const policy = { maxAgeDays: request.buildTime ? undefined : cacheOptions.osImageMaxAgeDays, refresh: cacheOptions.refreshOsImage || phase === 'os-image' };
      const found = await lookupOsImage(cache, osKey, cacheOptions, policy, emit);
      if (found.release) {
        const release = found.release;
        let held = true;
        osLock = () => {
          if (held) release();
          held = false;
        };
        run.defer(`release the cache's lock of the ${osKey.label} OS image`, osLock);
      }
      if (found.entry) {
        await handOut(cache, found.entry, imagePath);
        reuse = true;
        osDigest = found.entry.digest;
        osSkip = `${describeHit(found.entry)} → ${imagePath}`;
      }
    }
    // --- stemcells: with a known OS image each may be cached already
    const agentSha = await agentDigest(request.agent);
    const keyRequest = { ...request, agentSha256: agentSha };
    const plans = request.iaas.map((iaas) => planStemcell({ os: os.name, iaas, diskFormat: request.diskFormat, hypervisor: request.hypervisor }));
    const fileOf = (plan: StemcellPlan): string => stemcellFileName({ os, infrastructure: plan.infrastructure, diskFormat: plan.diskFormat }, request.version);
    const cached: BuiltStemcell[] = [];
    const cachedNotes = new Map<string, string>();
    if (reuse && cache && cacheOptions && phase !== 'stemcell') {
      osDigest ??= await sha256File(imagePath);
      for (const plan of plans) {
        const key = await stemcellKey(keyRequest, plan, osDigest, fileOf(plan), machineLabel);
        const found = await lookup(cache, key, cacheOptions);
        emit({ type: 'cache', artifact: 'stemcell', label: key.label, key: key.key, hit: !!found.entry, why: found.why });
        if (!found.entry) continue;
        const out = join(resolve(request.outDir), fileOf(plan));
        await handOut(cache, found.entry, out);
        cached.push({ infrastructure: plan.infrastructure.name, diskFormat: plan.diskFormat, name: stemcellName({ os, infrastructure: plan.infrastructure, diskFormat: plan.diskFormat }), out, sha256: found.entry.digest, bytes: found.entry.size });
        cachedNotes.set(plan.infrastructure.name, describeHit(found.entry));
        emit({ type: 'artifact', kind: 'stemcell', path: out, sha256: found.entry.digest, bytes: found.entry.size });
      }
    }
    const toBuild = request.iaas.filter((iaas) => !cachedNotes.has(iaas));
    const osImage: BuildResult['osImage'] = { path: imagePath, reused: reuse };
    if (toBuild.length === 0) {
      // everything was cached: no machine is needed
      for (const [iaas, note] of cachedNotes) emit({ type: 'task', title: `stemcell ${iaas}`, state: 'skipped', reason: note });
      if (osDigest) Object.assign(osImage, { sha256: osDigest });
      return { osImage, stemcells: cached, records: [], logDir, runLog: runLog.path };
    }

    const osPhase = reuse
      ? undefined
      : osImagePhase({ ...request, out: imagePath, resumeFrom: phase === 'os-image' ? request.resumeFrom : undefined, allowUnwritten: false }, phaseUi, join(logDir, 'os-image'));
    const stemcellRequest: StemcellRequest = {
      ...request,
      iaas: toBuild,
      os,
      osImage: imagePath,
      resumeFrom: phase === 'stemcell' ? request.resumeFrom : undefined,
      allowUnwritten: false,
    };
    const scPhase = stemcellPhase(stemcellRequest, phaseUi, join(logDir, 'stemcell'));

    const top: Step<SessionCtx, any>[] = [];
    if (request.preflight) {
      const preflight = request.preflight;
      top.push({
        title: 'Check this machine (stemforge doctor)',
        run: async (_c, task) => {
          const report = await preflight();
          for (const line of report.lines) runLog.write({ type: 'note', text: line });
          if (!report.ok) throw new HintedError(`this machine cannot build yet:\n${report.blocking.join('\n')}`, 'fix the checks above; `stemforge doctor` shows the full report (--skip-doctor skips the checks)');
          task.title = `Check this machine (${report.lines.length} checks passed${report.lines.some((l) => l.startsWith('[!]')) ? ', with warnings' : ''})`;
        },
      });
    }
    top.push(...sessionSteps<SessionCtx>(request, phaseUi, logDir));
    // unseen: its place in the order makes it run after the phases released their mounts, before the connection closes
    const dirs = [...(osPhase ? [osPhase.buildDir] : []), ...scPhase.buildDirs];
    top.push({
      undo: `remove this build's folders on the build machine (${dirs.join(', ')})`,
      cleanup: async (outcome, c) => {
        if (outcome.state === 'succeeded' || !(outcome.error instanceof StoppedAfterFailure) || outcome.error.decision !== 'cleanup' || !c.machine) return;
        await runChecked(c.machine, ['rm', '-rf', '--one-file-system', '--', ...dirs], { sudo: true });
        runLog.write({ type: 'note', text: `cleaned up: removed ${dirs.join(', ')}` });
        outcome.error.cleanedUp = true;
      },
    });
    if (osPhase) {
      top.push({ title: `OS image ${os.name}${phase === 'os-image' ? ` (resume from ${request.resumeFrom})` : ''}`, steps: osPhase.steps });
      if (cache && osKey) {
        const key = osKey;
        top.push({
          title: 'Store the OS image in the cache',
          run: async (_c, task) => {
            const entry = await store(cache, key, 'os-image', imagePath, osPhase.result().sha256);
            // the image is there for the next build of it: no need to wait for this one's end
            osLock?.();
            task.title = `Stored the OS image in the cache (key ${entry.key.slice(0, 12)}…)`;
          },
        });
      }
    } else {
      top.push({ title: `OS image ${os.name}`, run: () => undefined, skip: () => osSkip });
    }
    for (const [iaas, note] of cachedNotes) top.push({ title: `stemcell ${iaas}`, run: () => undefined, skip: () => note });
    top.push(...scPhase.steps);
    if (cache) {
      top.push({
        title: 'Store the stemcells in the cache',
        run: async (_c, task) => {
          const digest = osPhase?.result().sha256 ?? osDigest ?? (await sha256File(imagePath));
          let stored = 0;
          for (const s of scPhase.built()) {
            const plan = plans.find((p) => p.infrastructure.name === s.infrastructure)!;
            await store(cache, await stemcellKey(keyRequest, plan, digest, fileOf(plan), machineLabel), 'stemcell', s.out!, s.sha256);
            stored += 1;
          }
          task.title = `Stored ${stored} stemcell(s) in the cache`;
        },
      });
    }

    await run.run(top, ctx);
    const osResult = osPhase?.result();
    if (osResult?.sha256) Object.assign(osImage, { sha256: osResult.sha256, bytes: osResult.bytes });
    else if (osDigest) Object.assign(osImage, { sha256: osDigest });
    const scResult = scPhase.result();
    return {
      osImage,
      stemcells: [...cached, ...scResult.stemcells],
      records: [...(osResult?.records ?? []), ...scResult.records],
      logDir,
      runLog: runLog.path,
    };
  });
}
