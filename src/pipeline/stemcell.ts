// The stemcell command as steps: connect → check privileges → sync the builder → send the
// inputs (OS image, agent file) once → per infrastructure: prepare the build, configure
// pass, stemcell stages, packaging stages, stemcell.MF and the tarball, fetch it. Mounts
// below each build directory are released and the connection closed, whatever happens.
import { stat } from 'node:fs/promises';
import { join, posix, resolve } from 'node:path';
import { keyedSettings } from '../cache/keys.js';
import { builderTree } from './artifact-cache.js';
import { layerKeys } from './layers.js';
import { StageReads } from './stage-reads.js';
import { agentPin } from '../catalog/pins.js';
import { planStemcell, type StemcellPlan } from '../catalog/planner.js';
import type { OperatingSystem } from '../catalog/operating-systems.js';
import { runChecked } from '../machine/machine.js';
import type { SshOptions, VmOptions } from '../machine/open.js';
import { describeSpec, type MachineSpec } from '../machine/spec.js';
import { stemcellManifest, renderManifest } from '../stemcell/manifest.js';
import { stemcellFileName, stemcellName } from '../stemcell/naming.js';
import { sha256File } from '../util/stream-hash.js';
import { checkInputFile, checkOutputFolder } from '../settings/validate.js';
import { UsageError } from '../util/errors.js';
import { builderCommit } from '../util/git-commit.js';
import { packageRoot } from '../util/paths.js';
import { version as stemforgeVersion } from '../util/version.js';
import { fetchArtifact, runLogDir, sendInput, type RunUi } from './common.js';
import { spaceCheckStep, stemcellSpace } from './space-check.js';
import { withRunLog } from './run-log.js';
import { runSession, type SessionCtx } from './session.js';
import { withSteps, type AnyStep, type Step } from './steps.js';
import { buildLayout, type BuildLayout } from './layout.js';
import { osSettingsInput, stemcellSettings } from './settings-file.js';
import { stageFiles } from './stage-files.js';
import { checkWritten, stagePhase } from './stage-phase.js';
import type { StageRecord } from './stage-runner.js';

export type AgentSource = { file: string } | { url: string; sha256: string };

export interface StemcellRequest {
  /** one or more infrastructures, built from one OS image in one run */
  iaas: string[];
  hypervisor?: string;
  diskFormat?: string;
  /** the OS line; read from the OS image's os-release by the caller when not given */
  os: OperatingSystem;
  /** local path of the OS image tarball; only a dry run may go without one (it plans from `os`) */
  osImage?: string;
  version: string;
  machine: MachineSpec;
  ssh: SshOptions;
  vm: VmOptions;
  /** a local agent binary, or a URL with its sha256; the catalog's pin when absent */
  agent?: AgentSource;
  blobstoreClis: boolean;
  /** the folder the stemcell tarballs are written to */
  outputDir: string;
  buildRoot: string;
  /** refuse at once when another build holds the build root (--no-wait) */
  noWait?: boolean;
  packageCache: string;
  mirror?: string;
  securityMirror?: string;
  snapshotMirror?: string;
  buildTime?: string;
  resumeFrom?: string;
  until?: string;
  allowUnwritten: boolean;
  /** the stages' environment beyond PATH/LANG: proxy variables, BUILD_TIME */
  stageEnv: Record<string, string>;
  /** run each stage on its own overlay layer kept on the build machine (bounded to maxMiB); absent = in place */
  layers?: { maxMiB: number };
  /** build although the free space looks short (--ignore-space): the check only reports */
  ignoreSpace?: boolean;
}

export interface PlannedStemcell {
  infrastructure: string;
  diskFormat: string;
  name: string;
  file: string;
  buildDir: string;
  phases: { name: string; stages: { name: string; selected: boolean; written: boolean; hasConfig: boolean }[] }[];
  unwritten: string[];
}

export interface StemcellDescription {
  command: 'stemcell';
  os: string;
  /** null: a dry run that planned from --os alone */
  osImage: string | null;
  version: string;
  machine: string;
  buildRoot: string;
  /** the output folder, resolved (named so in the --dry-run --json plan) */
  outDir: string;
  agent: string;
  blobstoreClis: 'install' | 'skip';
  stemcells: PlannedStemcell[];
}

export interface BuiltStemcell {
  infrastructure: string;
  diskFormat: string;
  name: string;
  out?: string;
  sha256?: string;
  bytes?: number;
}

export interface StemcellResult {
  stemcells: BuiltStemcell[];
  records: StageRecord[];
  logDir: string;
  skipped: string[];
  partial: boolean;
}

/** Where the inputs live on the build machine: named by digest, so a second run sends nothing. */
function inputsDir(buildRoot: string): string {
  return posix.join(buildRoot, 'inputs');
}

/** The plans of a run's infrastructures: each named once, and each with its disk format, hypervisor and stage range checked. */
export function planStemcells(request: Pick<StemcellRequest, 'iaas' | 'os' | 'diskFormat' | 'hypervisor' | 'resumeFrom' | 'until'>): StemcellPlan[] {
  if (request.iaas.length === 0) throw new UsageError('name at least one infrastructure with --iaas');
  if (new Set(request.iaas).size !== request.iaas.length)
    throw new UsageError(`--iaas names an infrastructure twice (${request.iaas.join(', ')}): name each once`);
  if (request.iaas.length > 1 && (request.resumeFrom || request.until)) {
    throw new UsageError('--resume-from and --until work on one infrastructure at a time: pass a single --iaas');
  }
  return request.iaas.map((iaas) =>
    planStemcell({
      os: request.os.name,
      iaas,
      diskFormat: request.diskFormat,
      hypervisor: request.hypervisor,
      resumeFrom: request.resumeFrom,
      until: request.until,
    }),
  );
}

function buildName(plan: StemcellPlan): string {
  return `stemcell-${plan.os.name}-${plan.infrastructure.name}-${plan.diskFormat}`;
}

function describeAgentSource(agent: AgentSource | undefined): string {
  if (!agent) return `${agentPin.name} ${agentPin.version} (pinned: ${agentPin.url}, sha256 ${agentPin.sha256})`;
  return 'file' in agent ? `local file ${agent.file}` : `${agent.url} (sha256 ${agent.sha256})`;
}

/** What a run would do, without touching anything. */
export function describeStemcell(request: StemcellRequest): StemcellDescription {
  const stemcells = planStemcells(request).map((plan) => {
    const id = { os: plan.os, infrastructure: plan.infrastructure, diskFormat: plan.diskFormat };
    const phases = plan.phases.map((phase) => ({
      name: phase.name,
      stages: phase.stages.map((name) => ({ name, selected: phase.selected.includes(name), ...stageFiles(name) })),
    }));
    return {
      infrastructure: plan.infrastructure.name,
      diskFormat: plan.diskFormat,
      name: stemcellName(id),
      file: stemcellFileName(id, request.version),
      buildDir: buildLayout(request.buildRoot, buildName(plan)).buildDir,
      phases,
      unwritten: phases.flatMap((p) => p.stages.filter((s) => s.selected && !s.written).map((s) => s.name)),
    };
  });
  return {
    command: 'stemcell',
    os: request.os.name,
    osImage: request.osImage ? resolve(request.osImage) : null,
    version: request.version,
    machine: describeSpec(request.machine),
    buildRoot: request.buildRoot,
    outDir: resolve(request.outputDir),
    agent: describeAgentSource(request.agent),
    blobstoreClis: request.blobstoreClis ? 'install' : 'skip',
    stemcells,
  };
}

/** What the inputs step sent, for the builds after it. */
interface Inputs {
  osImageRemote: string;
  osImageSha256: string;
  agentRemote: { file: string; sha256: string } | { url: string; sha256: string };
}

/** A local file's sha256, once while it is unchanged: the space check and the inputs step both need the OS image's. */
const digests = new Map<string, Promise<string>>();
async function digestOf(path: string): Promise<string> {
  const { size, mtimeMs } = await stat(path);
  const id = `${path}\0${size}\0${mtimeMs}`;
  let digest = digests.get(id);
  if (!digest) digests.set(id, (digest = sha256File(path)));
  return digest;
}

/** The inputs' names on the build machine, from the files' digests (named by digest, so known before they are sent). */
async function inputNames(request: StemcellRequest): Promise<Inputs> {
  const inputs = inputsDir(request.buildRoot);
  const imageSha = await digestOf(request.osImage!);
  const agent = request.agent;
  let agentRemote: Inputs['agentRemote'];
  if (agent && 'file' in agent) {
    const agentSha = await digestOf(agent.file);
    agentRemote = { file: posix.join(inputs, `agent-${agentSha}`), sha256: agentSha };
  } else {
    agentRemote = agent ?? { url: agentPin.url, sha256: agentPin.sha256 };
  }
  return { osImageRemote: posix.join(inputs, `os-image-${imageSha}.tgz`), osImageSha256: imageSha, agentRemote };
}

/** The settings file of one infrastructure's build. */
function buildSettings(request: StemcellRequest, plan: StemcellPlan, inputs: Inputs, commit: string): Record<string, string> {
  return stemcellSettings({
    ...osSettingsInput(plan.os, request, stemforgeVersion),
    infrastructure: plan.infrastructure,
    diskFormat: plan.diskFormat,
    version: request.version,
    osImageTgz: inputs.osImageRemote,
    agent: inputs.agentRemote,
    blobstoreClis: request.blobstoreClis,
    builderCommit: commit,
  });
}

function layerBaseOf(inputs: Inputs): Record<string, unknown> {
  return { phase: 'stemcell', osImage: inputs.osImageSha256 };
}

/** Each infrastructure's layer keys, as its preparation makes them: the space check counts the layers already complete. */
export async function stemcellLayerKeys(request: StemcellRequest): Promise<string[][]> {
  const inputs = await inputNames(request);
  const commit = builderCommit(packageRoot);
  const tree = await builderTree();
  return planStemcells(request).map((plan) =>
    layerKeys(
      layerBaseOf(inputs),
      plan.phases.flatMap((p) => p.stages),
      tree,
      keyedSettings(buildSettings(request, plan, inputs, commit)),
      new StageReads(),
    ),
  );
}

/** The stemcell phase's steps, after the session steps: send the inputs, then per infrastructure prepare, stages, pack, fetch. Each preparation pushes the release of its build directory's mounts. */
export interface StemcellPhase {
  steps: AnyStep<SessionCtx>[];
  /** what the run made (so far: complete once it has ended) */
  result(): StemcellResult;
  buildDirs: string[];
  /** the stemcells fetched so far */
  built(): BuiltStemcell[];
}

interface StemcellBuild {
  /** the infrastructure's group of steps */
  step: Step<SessionCtx>;
  /** the stemcell, with out/sha256/bytes once fetched */
  built: BuiltStemcell;
  complete: boolean;
  records(): StageRecord[];
  buildDir: string;
}

/** One infrastructure's build: the shared stage steps, then stemcell.MF, the tarball and its fetch. */
function stemcellBuild(
  request: StemcellRequest,
  ui: RunUi,
  logDir: string,
  plan: StemcellPlan,
  planned: PlannedStemcell,
  commit: string,
  inputs: () => Inputs,
): StemcellBuild {
  const layout: BuildLayout = buildLayout(request.buildRoot, buildName(plan));
  const [buildPhase, packPhase] = plan.phases as [StemcellPlan['phases'][0], StemcellPlan['phases'][0]];
  const complete = packPhase.selected.at(-1) === packPhase.stages.at(-1);
  const selectedAll = [...buildPhase.selected, ...packPhase.selected];
  const built: BuiltStemcell = { infrastructure: plan.infrastructure.name, diskFormat: plan.diskFormat, name: planned.name };
  const staging = posix.join(layout.workDir, 'stemcell');
  const outputDir = resolve(request.outputDir);
  const layered = request.layers !== undefined;
  const stages = stagePhase({
    group: plan.infrastructure.name,
    layout,
    logDir: join(logDir, plan.infrastructure.name),
    stages: [...buildPhase.stages, ...packPhase.stages],
    selected: selectedAll,
    files: planned.phases.flatMap((p) => p.stages),
    resumeFrom: request.resumeFrom,
    layers: request.layers,
    stageEnv: request.stageEnv,
    ui,
    settings: () => buildSettings(request, plan, inputs(), commit),
    layerBase: () => layerBaseOf(inputs()),
    // the stemcell's files folder: in place once, on layers in the first layer that needs it
    afterPrepare: async (machine) => void (layered || (await runChecked(machine, ['mkdir', '-p', '--', staging], { sudo: true }))),
    onLayer: async (machine) => void (await runChecked(machine, ['mkdir', '-p', '--', staging], { sudo: true })),
  });
  const pack: Step<SessionCtx> = {
    title: `Write stemcell.MF and pack ${planned.file}`,
    skip: () => (complete ? false : `stopped after ${selectedAll.at(-1)}: no stemcell`),
    run: async (c) => {
      // over every layer, on a scratch layer: the stemcell.MF and the tarball are not kept
      await stages.chain()?.scratch();
      const sha1 = (await runChecked(c.machine!, ['sha1sum', '--', posix.join(staging, 'image')], { sudo: true })).split(/\s+/)[0]!;
      const manifest = stemcellManifest({ os: plan.os, infrastructure: plan.infrastructure, diskFormat: plan.diskFormat }, request.version, sha1, {
        stemforge_version: stemforgeVersion,
        stemforge_commit: commit,
        agent_sha256: inputs().agentRemote.sha256,
        blobstore_clis: request.blobstoreClis ? 'installed' : 'skipped (--skip-blobstore-clis)',
      });
      await c.machine!.sendFile(Buffer.from(renderManifest(manifest)), posix.join(staging, 'stemcell.MF'), { sudo: true, mode: 0o644 });
      const script = posix.join(layout.builderDir, 'stages', 'lib', 'stemcell-tarball.bash');
      await runChecked(c.machine!, ['bash', script, staging, posix.join(layout.workDir, planned.file)], { sudo: true });
    },
  };
  const fetch: Step<SessionCtx, BuiltStemcell> = {
    title: `Fetch ${planned.file} to ${outputDir}`,
    skip: () => (complete ? false : 'no stemcell: the stage list was cut short'),
    run: async (c, task) => {
      const out = join(outputDir, planned.file);
      const fetched = await fetchArtifact(c.machine!, posix.join(layout.workDir, planned.file), out, 'the stemcell');
      Object.assign(built, { out, ...fetched });
      ui.emit?.({ type: 'artifact', kind: 'stemcell', path: out, ...fetched });
      const chain = stages.chain();
      if (chain) {
        await chain.drop();
        await chain.prune(request.layers!.maxMiB);
      }
      task.title = `Fetched ${out} (${(fetched.bytes / 1048576).toFixed(1)} MiB, sha256 ${fetched.sha256.slice(0, 12)}…)`;
      return built;
    },
  };
  const step: Step<SessionCtx> = {
    title: `${planned.name} ${request.version} (${stages.summary})`,
    steps: [stages.prepare, stages.configure, ...stages.apply, pack, fetch],
  };
  return { step, built, complete, records: stages.records, buildDir: layout.buildDir };
}

/** The selected stages of the plan that are not written yet. */
function unwrittenStages(description: StemcellDescription): string[] {
  return [...new Set(description.stemcells.flatMap((s) => s.unwritten))];
}

/**
 * Every check a stemcell run makes before it touches a machine, for the dry run and the run
 * alike: the plans (infrastructures, disk formats, hypervisors, stage ranges), the stages
 * written, the OS image and agent files, the output folder. Returns the plan's description.
 */
export function checkStemcellRequest(request: StemcellRequest, dryRun = false): StemcellDescription {
  const description = describeStemcell(request);
  checkWritten(unwrittenStages(description), request.allowUnwritten);
  if (request.osImage !== undefined) checkInputFile(request.osImage, '--os-image', 'name an OS image tarball (make one with stemforge os-image)');
  else if (!dryRun) throw new UsageError('missing --os-image FILE: the OS image to build the stemcells from (make one with stemforge os-image)');
  if (request.agent && 'file' in request.agent) checkInputFile(request.agent.file, '--agent-file', 'name the bosh-agent binary');
  checkOutputFolder(request.outputDir, '--out');
  return description;
}

/**
 * The stemcell phase's steps. Its request was checked where it entered (checkStemcellRequest for
 * `stemcell`, checkBuildRequest for `build`, whose OS image exists only once its own phase has
 * run): here only what the steps themselves need, the stages written.
 */
export function stemcellPhase(request: StemcellRequest, ui: RunUi, logDir: string): StemcellPhase {
  const description = describeStemcell(request);
  checkWritten(unwrittenStages(description), request.allowUnwritten);
  const osImage = request.osImage!;
  const unwritten = unwrittenStages(description);
  const inputs = inputsDir(request.buildRoot);
  const commit = builderCommit(packageRoot);
  let sent: Inputs | undefined;
  const builds = planStemcells(request).map((plan, index) => stemcellBuild(request, ui, logDir, plan, description.stemcells[index]!, commit, () => sent!));

  const steps: AnyStep<SessionCtx>[] = [
    {
      title: `Send the OS image and the agent to ${inputs}`,
      run: async (c, task) => {
        task.output = `sha256 of ${osImage}`;
        const names = await inputNames(request);
        const image = await sendInput(c.machine!, osImage, names.osImageRemote);
        let agent = 'pinned download';
        if (request.agent && 'file' in request.agent && 'file' in names.agentRemote) {
          agent = await sendInput(c.machine!, request.agent.file, names.agentRemote.file);
        }
        sent = names;
        task.title = `Inputs on the build machine (OS image ${image}, agent ${agent})`;
        return sent;
      },
    },
    ...builds.map((t) => t.step),
  ];

  return {
    steps,
    buildDirs: builds.map((t) => t.buildDir),
    built: () => builds.map((t) => t.built).filter((b) => b.out !== undefined),
    result: () => ({
      stemcells: builds.map((t) => t.built),
      records: builds.flatMap((t) => t.records()),
      logDir,
      skipped: unwritten,
      partial: builds.some((t) => !t.complete),
    }),
  };
}

export async function buildStemcells(request: StemcellRequest, outer: RunUi): Promise<StemcellResult> {
  checkStemcellRequest(request);
  const logDir = runLogDir(`stemcell-${request.os.name}`);
  return withRunLog(logDir, outer, (ui) => {
    const phase = stemcellPhase(request, ui, logDir);
    return withSteps({ renderer: ui.renderer, signal: ui.signal, emit: ui.emit }, async (run) => {
      const keys = request.layers ? { stemcellKeys: () => stemcellLayerKeys({ ...request, resumeFrom: undefined }) } : {};
      await runSession(run, request, ui, logDir, [spaceCheckStep(stemcellSpace(planStemcells(request), request, undefined, keys)), ...phase.steps]);
      return phase.result();
    });
  });
}
