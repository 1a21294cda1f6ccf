// The OS-image command as steps: connect → check privileges → sync the builder → prepare
// the build → configure pass → apply pass → archive the chroot → fetch it. Whatever
// happens, mounts below the build directory are released and the connection closed.
import { resolve } from 'node:path';
import { osImageLabel, planOsImage, type OsImagePlan } from '../catalog/planner.js';
import type { SshOptions, VmOptions } from '../machine/open.js';
import { describeSpec, type MachineSpec } from '../machine/spec.js';
import { checkOutputFile, checkOutputFolder } from '../settings/validate.js';
import { UsageError } from '../util/errors.js';
import { version } from '../util/version.js';
import { buildLayout, type BuildLayout } from './layout.js';
import { monitSourceRemote, osImageSettings, osSettingsInput, type MonitSource } from './settings-file.js';
import { stageFiles } from './stage-files.js';
import type { StageRecord } from './stage-runner.js';
import { fetchArtifact, runLogDir, sendInput, type RunUi } from './common.js';
import { withRunLog } from './run-log.js';
import { checkWritten, stagePhase } from './stage-phase.js';
import { runSession, type SessionCtx } from './session.js';
import { withSteps, type AnyStep } from './steps.js';
import { builderTree, describeHit, osImageThroughCache, type CacheOptions } from './artifact-cache.js';
import { keyedSettings } from '../cache/keys.js';
import { layerKeys } from './layers.js';
import { StageReads } from './stage-reads.js';
import { ArtifactCache } from '../cache/store.js';
import { osImageSpace, spaceCheckStep } from './space-check.js';

export type { RunUi } from './common.js';

export interface OsImageRequest {
  os: string;
  /** the image's architecture (--arch); amd64 when absent, as every stemcell */
  arch?: string;
  machine: MachineSpec;
  ssh: SshOptions;
  /** the builder VM's settings, for --machine vagrant */
  vm: VmOptions;
  /** local path of the OS image tarball; required unless --until stops early */
  out?: string;
  resumeFrom?: string;
  until?: string;
  /** --mirror: the archive, used as given */
  mirror?: string;
  /** --security-mirror: the archive of the SUITE-security pocket */
  securityMirror?: string;
  /** --snapshot-mirror: base of a dated snapshot archive, used with BUILD_TIME */
  snapshotMirror?: string;
  buildTime?: string;
  buildRoot: string;
  /** refuse at once when another build holds the build root (--no-wait) */
  noWait?: boolean;
  /** where the build machine keeps downloaded .deb files between builds */
  packageCache: string;
  /** build although some stages of the list are not written yet (they are skipped, visibly) */
  allowUnwritten: boolean;
  /** the stages' environment beyond PATH/LANG: proxy variables, BUILD_TIME */
  stageEnv: Record<string, string>;
  /** run each stage on its own overlay layer kept on the build machine (bounded to maxMiB); absent = in place */
  layers?: { maxMiB: number };
  /** the local artifact cache (whole images only); absent = not used */
  cache?: CacheOptions;
  /** monit's source as a local tarball (--monit-file); absent = the catalog's pinned download */
  monit?: MonitSource;
  /** build although the free space looks short (--ignore-space): the check only reports */
  ignoreSpace?: boolean;
}

export interface PlannedStage {
  name: string;
  selected: boolean;
  written: boolean;
  hasConfig: boolean;
}

export interface OsImageDescription {
  command: 'os-image';
  os: string;
  arch: string;
  machine: string;
  buildRoot: string;
  buildDir: string;
  out: string | null;
  settings: Record<string, string>;
  phases: { name: string; stages: PlannedStage[] }[];
  unwritten: string[];
}

export interface OsImageResult {
  out?: string;
  sha256?: string;
  bytes?: number;
  records: StageRecord[];
  logDir: string;
  skipped: string[];
  /** the image stops after an --until stage */
  partial: boolean;
  /** set when the image came from the cache: what was used */
  cached?: string;
}

function settingsFor(request: OsImageRequest, plan: OsImagePlan): Record<string, string> {
  return osImageSettings(osSettingsInput(plan.os, request, version));
}

/** The base of the OS-image phase's layer keys. */
const layerBase = { phase: 'os-image' } as const;

/** The phase's layer keys as its preparation makes them: the space check counts the layers already complete. */
export async function osImageLayerKeys(request: OsImageRequest): Promise<string[]> {
  const plan = planOsImage(request);
  return layerKeys(layerBase, plan.phases[0]!.stages, await builderTree(), keyedSettings(settingsFor(request, plan)), new StageReads());
}

/** What a run would do, unchecked. Secrets are redacted. */
function describePlan(request: OsImageRequest): OsImageDescription {
  const plan = planOsImage(request);
  const layout = buildLayout(request.buildRoot, `os-image-${osImageLabel(plan.os)}`);
  const settings = { ...settingsFor(request, plan), bosh_users_password: '<redacted>' };
  const phases = plan.phases.map((phase) => ({
    name: phase.name,
    stages: phase.stages.map((name) => ({ name, selected: phase.selected.includes(name), ...stageFiles(name) })),
  }));
  const unwritten = phases.flatMap((p) => p.stages.filter((s) => s.selected && !s.written).map((s) => s.name));
  return {
    command: 'os-image',
    os: plan.os.name,
    arch: plan.os.arch,
    machine: describeSpec(request.machine),
    buildRoot: request.buildRoot,
    buildDir: layout.buildDir,
    out: request.out ? resolve(request.out) : null,
    settings,
    phases,
    unwritten,
  };
}

/** The OS-image phase's steps, after the session steps: prepare, configure, stages, archive, fetch. Preparing pushes the release of the mounts below the build directory. */
export interface OsImagePhase {
  steps: AnyStep<SessionCtx>[];
  /** what the run made (so far: complete once it has ended) */
  result(): OsImageResult;
  buildDir: string;
}

/**
 * What a run would do, after every check an OS-image run makes before it touches a machine
 * (or the cache), for the dry run and the run alike: the OS line, the stage range, the stages written, --out (needed for
 * a whole image; a file, not a folder), the cache folder. Returns the plan's description.
 */
export function describeOsImage(request: OsImageRequest): OsImageDescription {
  const description = describePlan(request);
  const phase = planOsImage(request).phases[0]!;
  checkWritten(description.unwritten, request.allowUnwritten, description.os);
  const complete = phase.selected.at(-1) === phase.stages.at(-1);
  if (complete && !request.out) throw new UsageError('--out FILE is required: where to write the OS image (e.g. --out out/os-image.tgz)');
  if (request.out) checkOutputFile(request.out, '--out');
  if (request.cache?.enabled) checkOutputFolder(request.cache.dir, '--cache-dir');
  return description;
}

export function osImagePhase(request: OsImageRequest, ui: RunUi, logDir: string): OsImagePhase {
  const description = describeOsImage(request);
  const plan = planOsImage(request);
  const phase = plan.phases[0]!;
  const last = phase.selected.at(-1)!;
  const complete = last === phase.stages.at(-1);
  // With --until, an image is written only when asked for (--out): a partial one, for inspection.
  const archive = complete || !!request.out;
  const partialNote = complete ? '' : ` (partial: stopped after ${last})`;
  const out = request.out ? resolve(request.out) : undefined;
  const layout: BuildLayout = buildLayout(request.buildRoot, `os-image-${osImageLabel(plan.os)}`);
  const remoteImage = `${layout.buildDir}/os-image.tgz`;
  const stages = stagePhase({
    group: osImageLabel(plan.os),
    layout,
    logDir,
    stages: phase.stages,
    selected: phase.selected,
    // the description already looked at the builder's files: use its answer
    files: description.phases[0]!.stages,
    resumeFrom: request.resumeFrom,
    layers: request.layers,
    stageEnv: request.stageEnv,
    ui,
    settings: () => settingsFor(request, plan),
    layerBase: () => layerBase,
    afterPrepare: async (machine, task) => {
      if (!request.monit) return;
      const sent = await sendInput(machine, request.monit.file, monitSourceRemote(request.buildRoot, request.monit.sha256));
      task.output = `monit source ${request.monit.file}: ${sent}`;
    },
  });
  let fetched: { sha256: string; bytes: number } | undefined;

  const steps: AnyStep<SessionCtx>[] = [
    stages.prepare,
    {
      title: `OS image phase: ${osImageLabel(plan.os)} (${stages.summary})`,
      steps: [stages.configure, ...stages.apply],
    },
    {
      title: `Archive the chroot${partialNote}`,
      skip: () => (archive ? false : `stopped after ${last}; pass --out FILE to get the partial chroot`),
      run: async (_c, task) => {
        const chain = stages.chain();
        await stages.runner()!.releaseMounts();
        if (chain) await chain.view(stages.runList.length);
        await stages.runner()!.archiveChroot(remoteImage);
        if (chain) {
          await chain.unmount();
          const pruned = await chain.prune(request.layers!.maxMiB);
          if (pruned.length > 0) task.title = `Archive the chroot${partialNote} (pruned ${pruned.length} old layer(s))`;
        }
      },
    },
    {
      title: `Fetch the OS image to ${out ?? '-'}`,
      skip: () => (archive ? false : 'no OS image: the stage list was cut short'),
      run: async (c, task) => {
        const image = await fetchArtifact(c.machine!, remoteImage, out!, 'the OS image');
        ui.emit?.({ type: 'artifact', kind: 'os-image', path: out!, ...image });
        task.title = `Fetched the OS image${partialNote} to ${out} (${(image.bytes / 1048576).toFixed(1)} MiB, sha256 ${image.sha256.slice(0, 12)}…)`;
        fetched = image;
        return image;
      },
    },
  ];

  return {
    steps,
    buildDir: layout.buildDir,
    result: () => ({ ...(fetched ? { out, ...fetched } : {}), records: stages.records(), logDir, skipped: [...description.unwritten], partial: !complete }),
  };
}

export async function buildOsImage(request: OsImageRequest, outer: RunUi): Promise<OsImageResult> {
  describeOsImage(request);
  const plan = planOsImage(request);
  const logDir = runLogDir(osImageLabel(plan.os));
  const options = request.cache;
  const whole = !request.resumeFrom && !request.until && plan.phases[0]!.selected.length === plan.phases[0]!.stages.length;
  // the cache holds whole images only: a resumed or cut-short run neither reads nor fills it
  const cache = options?.enabled && whole && request.out ? new ArtifactCache(options.dir) : undefined;
  return withRunLog(logDir, outer, (ui) =>
    withSteps({ renderer: ui.renderer, signal: ui.signal, emit: ui.emit }, async (run) => {
      const out = request.out ? resolve(request.out) : undefined;
      const cached =
        cache && options && out
          ? await osImageThroughCache(run, cache, options, request, {
              machine: describeSpec(request.machine),
              out,
              refresh: options.refreshOsImage,
              emit: ui.emit,
            })
          : undefined;
      if (cached?.entry) {
        const entry = cached.entry;
        return { out, sha256: entry.digest, bytes: entry.size, records: [], logDir, skipped: [], partial: false, cached: describeHit(entry) };
      }
      const phase = osImagePhase(request, ui, logDir);
      const keys = request.layers ? () => osImageLayerKeys(request) : undefined;
      const space = spaceCheckStep(osImageSpace(plan, { ...request, cacheDir: cache && options?.dir }, keys));
      await runSession(run, request, ui, logDir, [space, ...phase.steps, ...(cached ? [cached.store(() => phase.result().sha256)] : [])]);
      return phase.result();
    }),
  );
}
