// The stemcell command as steps: connect → check privileges → sync the builder → send the
// inputs (OS image, agent file) once → per infrastructure: prepare the build, configure
// pass, stemcell stages, packaging stages, stemcell.MF and the tarball, fetch it. Mounts
// below each build directory are released and the connection closed, whatever happens.
import { join, posix, resolve } from 'node:path';
import { agentPin } from '../catalog/pins.js';
import { planStemcell, type StemcellPlan } from '../catalog/planner.js';
import type { OperatingSystem } from '../catalog/operating-systems.js';
import { runChecked } from '../machine/machine.js';
import type { SshOptions, VmOptions } from '../machine/open.js';
import { describeSpec, type MachineSpec } from '../machine/spec.js';
import { buildManifest, renderManifest } from '../stemcell/manifest.js';
import { stemcellFileName, stemcellName } from '../stemcell/naming.js';
import { sha256File } from '../stemcell/os-image-file.js';
import { UsageError } from '../util/errors.js';
import { builderCommit } from '../util/git-commit.js';
import { packageRoot } from '../util/paths.js';
import { version as stemforgeVersion } from '../util/version.js';
import { fetchArtifact, keptAsItIs, phaseSummary, runLogDir, runStage, sendInput, type RunUi, type StageTaskHandle } from './common.js';
import { runSession, type SessionCtx } from './session.js';
import { withSteps, type Step } from './steps.js';
import { builderTree } from './artifact-cache.js';
import { LayerChain, layerKeys } from './layers.js';
import { StageReads } from './stage-reads.js';
import { keyedSettings } from '../cache/keys.js';
import { buildLayout, type BuildLayout } from './layout.js';
import { osSettingsInput, renderSettings, stemcellSettings } from './settings-file.js';
import { stageFiles } from './stage-files.js';
import { StageRunner, type StageRecord } from './stage-runner.js';

export type AgentSource = { file: string } | { url: string; sha256: string };

export interface StemcellRequest {
  /** one or more infrastructures, built from one OS image in one run */
  iaas: string[];
  hypervisor?: string;
  diskFormat?: string;
  /** the OS line; read from the OS image's os-release by the caller when not given */
  os: OperatingSystem;
  /** local path of the OS image tarball */
  osImage: string;
  version: string;
  machine: MachineSpec;
  ssh: SshOptions;
  vm: VmOptions;
  /** a local agent binary, or a URL with its sha256; the catalog's pin when absent */
  agent?: AgentSource;
  blobstoreClis: boolean;
  outDir: string;
  buildRoot: string;
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
  osImage: string;
  version: string;
  machine: string;
  buildRoot: string;
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

function plans(request: StemcellRequest): StemcellPlan[] {
  if (request.iaas.length === 0) throw new UsageError('name at least one infrastructure with --iaas');
  if (new Set(request.iaas).size !== request.iaas.length) throw new UsageError(`--iaas names an infrastructure twice: ${request.iaas.join(', ')}`);
  if (request.iaas.length > 1 && (request.resumeFrom || request.until)) {
    throw new UsageError('--resume-from and --until work on one infrastructure at a time: pass a single --iaas');
  }
  return request.iaas.map((iaas) => planStemcell({ os: request.os.name, iaas, diskFormat: request.diskFormat, hypervisor: request.hypervisor,
    resumeFrom: request.resumeFrom, until: request.until }));
}

function buildName(plan: StemcellPlan): string {
  return `stemcell-${plan.os.name}-${plan.infrastructure.name}-${plan.diskFormat}`;
}

function describeAgent(agent: AgentSource | undefined): string {
  if (!agent) return `${agentPin.name} ${agentPin.version} (pinned: ${agentPin.url}, sha256 ${agentPin.sha256})`;
  return 'file' in agent ? `local file ${agent.file}` : `${agent.url} (sha256 ${agent.sha256})`;
}

/** What a run would do, without touching anything. */
export function describeStemcell(request: StemcellRequest): StemcellDescription {
  const stemcells = plans(request).map((plan) => {
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
    osImage: resolve(request.osImage),
    version: request.version,
    machine: describeSpec(request.machine),
    buildRoot: request.buildRoot,
    outDir: resolve(request.outDir),
    agent: describeAgent(request.agent),
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

/** The stemcell phase's steps, after the session steps: send the inputs, then per infrastructure prepare, stages, pack, fetch. Each preparation pushes the release of its build directory's mounts. */
export interface StemcellPhase {
  steps: Step<SessionCtx, any>[];
  /** what the run made (so far: complete once it has ended) */
  result(): StemcellResult;
  buildDirs: string[];
  /** the stemcells fetched so far */
  built(): BuiltStemcell[];
}

export function stemcellPhase(request: StemcellRequest, ui: RunUi, logDir: string): StemcellPhase {
  const description = describeStemcell(request);
  const stemcellPlans = plans(request);
  const unwritten = [...new Set(description.stemcells.flatMap((s) => s.unwritten))];
  if (unwritten.length > 0 && !request.allowUnwritten) {
    throw new UsageError(
      `${unwritten.length} selected stage(s) are not written yet: ${unwritten.join(', ')}. ` +
        'Pass --allow-unwritten to build without them (they are skipped and listed), or stop earlier with --until STAGE.',
    );
  }
  const outDir = resolve(request.outDir);
  const stageEnv = { LANG: 'C.UTF-8', ...request.stageEnv };
  const commit = builderCommit(packageRoot);
  const inputs = inputsDir(request.buildRoot);
  const runners: StageRunner[] = [];
  let sent: Inputs | undefined;

  const stemcellTasks = stemcellPlans.map((plan, index) => {
    const planned = description.stemcells[index]!;
    const layout: BuildLayout = buildLayout(request.buildRoot, buildName(plan));
    const [buildPhase, packPhase] = plan.phases as [StemcellPlan['phases'][0], StemcellPlan['phases'][0]];
    const complete = packPhase.selected.at(-1) === packPhase.stages.at(-1);
    const allStages = [...buildPhase.stages, ...packPhase.stages];
    const selectedAll = [...buildPhase.selected, ...packPhase.selected];
    // with layers every stage up to --until is in the tree: those whose layer is reused show as skipped
    const layered = request.layers !== undefined;
    const runList = layered ? allStages.slice(0, allStages.indexOf(selectedAll.at(-1)!) + 1) : selectedAll;
    const stageInfo = planned.phases.flatMap((p) => p.stages).filter((s) => runList.includes(s.name));
    const written = new Set(stageInfo.filter((s) => s.written).map((s) => s.name));
    const configured = stageInfo.filter((s) => s.written && s.hasConfig).map((s) => s.name);
    const built: BuiltStemcell = { infrastructure: plan.infrastructure.name, diskFormat: plan.diskFormat, name: planned.name };
    const group = plan.infrastructure.name;
    const staging = posix.join(layout.workDir, 'stemcell');
    let chain: LayerChain | undefined;
    let start = 0;
    const applyStage = async (c: SessionCtx, i: number, task: StageTaskHandle): Promise<void> => {
      const stage = runList[i]!;
      const runner = runners[index]!;
      if (!chain) return void (await runStage(runner, group, stage, 'apply', task, ui));
      const layers = chain;
      const layerUi: RunUi = { ...ui, beforeRetry: async () => { await ui.beforeRetry?.(); await layers.reset(i); } };
      await layers.run(i, async () => {
        // the stemcell's files folder, in the first layer that needs it
        await runChecked(c.machine!, ['mkdir', '-p', '--', staging], { sudo: true });
        return runStage(runner, group, stage, 'apply', task, layerUi);
      });
    };
    const step: Step<SessionCtx> = {
      title: `${planned.name} ${request.version} (${phaseSummary(runList.length, allStages.length, planned.unwritten.length)}${layered ? ', on layers' : ''})`,
      steps: [
            {
              title: request.resumeFrom && !layered ? `Resume build in ${layout.buildDir} from ${request.resumeFrom}` : `Prepare a fresh build in ${layout.buildDir}`,
              undo: `release the mounts below ${layout.buildDir}`,
              cleanup: async (outcome) => {
                if (runners[index] && !keptAsItIs(outcome)) await runners[index].releaseMounts();
              },
              run: async (c, task) => {
                const runner = new StageRunner(c.machine!, layout, join(logDir, plan.infrastructure.name), stageEnv, plan.infrastructure.name);
                runners[index] = runner;
                // with layers the work folder is rebuilt from them: nothing of the last build folder is needed
                await runner.prepare({ resume: !!request.resumeFrom && !layered });
                if (!layered) await runChecked(c.machine!, ['mkdir', '-p', '--', staging], { sudo: true });
                const settings = stemcellSettings({
                  ...osSettingsInput(plan.os, request, stemforgeVersion),
                  infrastructure: plan.infrastructure,
                  diskFormat: plan.diskFormat,
                  version: request.version,
                  osImageTgz: sent!.osImageRemote,
                  agent: sent!.agentRemote,
                  blobstoreClis: request.blobstoreClis,
                  builderCommit: commit,
                });
                await runner.writeSettings(renderSettings(settings));
                if (!layered) return;
                const base = { phase: 'stemcell', osImage: sent!.osImageSha256 };
                chain = new LayerChain(c.machine!, layout, allStages, layerKeys(base, allStages, await builderTree(), keyedSettings(settings), new StageReads()));
                const reusable = await chain.probe();
                const from = request.resumeFrom ? allStages.indexOf(request.resumeFrom) : Number.POSITIVE_INFINITY;
                start = Math.min(reusable, from, runList.length);
                task.title = `Prepared ${layout.buildDir}: ${start} of ${runList.length} stage layers reused${start < runList.length ? `, running from ${runList[start]}` : ''}`;
              },
            },
            {
              title: `configure (${configured.length} stages with config.sh)`,
              run: async (_c, task) => {
                for (const stage of configured) await runStage(runners[index]!, group, stage, 'config', task, ui);
              },
            },
            ...runList.map((stage, i): Step<SessionCtx> => ({
              title: stage,
              skip: () => (!written.has(stage) ? 'not written yet' : i < start ? `layer reused (${chain!.keys[i]!.slice(0, 12)})` : false),
              run: (c, task) => applyStage(c, i, task),
            })),
            {
              title: `Write stemcell.MF and pack ${planned.file}`,
              skip: () => (complete ? false : `stopped after ${selectedAll.at(-1)}: no stemcell`),
              run: async (c) => {
                // over every layer, on a scratch layer: the stemcell.MF and the tarball are not kept
                if (chain) await chain.scratch();
                const sha1 = (await runChecked(c.machine!, ['sha1sum', '--', posix.join(staging, 'image')], { sudo: true })).split(/\s+/)[0]!;
                const manifest = buildManifest({ os: plan.os, infrastructure: plan.infrastructure, diskFormat: plan.diskFormat }, request.version, sha1, {
                  stemforge_version: stemforgeVersion,
                  stemforge_commit: commit,
                  agent_sha256: sent!.agentRemote.sha256,
                  blobstore_clis: request.blobstoreClis ? 'installed' : 'skipped (--skip-blobstore-clis)',
                });
                await c.machine!.sendFile(Buffer.from(renderManifest(manifest)), posix.join(staging, 'stemcell.MF'), { sudo: true, mode: 0o644 });
                const script = posix.join(layout.builderDir, 'stages', 'lib', 'stemcell-tarball.bash');
                await runChecked(c.machine!, ['bash', script, staging, posix.join(layout.workDir, planned.file)], { sudo: true });
              },
            },
            {
              title: `Fetch ${planned.file} to ${outDir}`,
              skip: () => (complete ? false : 'no stemcell: the stage list was cut short'),
              run: async (c, task) => {
                const out = join(outDir, planned.file);
                const fetched = await fetchArtifact(c.machine!, posix.join(layout.workDir, planned.file), out, 'the stemcell');
                Object.assign(built, { out, ...fetched });
                ui.emit?.({ type: 'artifact', kind: 'stemcell', path: out, ...fetched });
                if (chain) {
                  await chain.drop();
                  await chain.prune(request.layers!.maxMiB);
                }
                task.title = `Fetched ${out} (${(fetched.bytes / 1048576).toFixed(1)} MiB, sha256 ${fetched.sha256.slice(0, 12)}…)`;
              },
            },
      ],
    };
    return { step, built, complete };
  });

  const steps: Step<SessionCtx, any>[] = [
    {
      title: `Send the OS image and the agent to ${inputs}`,
      run: async (c, task) => {
        task.output = `sha256 of ${request.osImage}`;
        const imageSha = await sha256File(request.osImage);
        const osImageRemote = posix.join(inputs, `os-image-${imageSha}.tgz`);
        const image = await sendInput(c.machine!, request.osImage, osImageRemote);
        let agent = 'pinned download';
        let agentRemote: Inputs['agentRemote'];
        if (request.agent && 'file' in request.agent) {
          const agentSha = await sha256File(request.agent.file);
          const remote = posix.join(inputs, `agent-${agentSha}`);
          agent = await sendInput(c.machine!, request.agent.file, remote);
          agentRemote = { file: remote, sha256: agentSha };
        } else {
          agentRemote = request.agent ?? { url: agentPin.url, sha256: agentPin.sha256 };
        }
        sent = { osImageRemote, osImageSha256: imageSha, agentRemote };
        task.title = `Inputs on the build machine (OS image ${image}, agent ${agent})`;
        return sent;
      },
    },
    ...stemcellTasks.map((t) => t.step),
  ];

  return {
    steps,
    buildDirs: stemcellPlans.map((plan) => buildLayout(request.buildRoot, buildName(plan)).buildDir),
    built: () => stemcellTasks.map((t) => t.built).filter((b) => b.out !== undefined),
    result: () => ({
      stemcells: stemcellTasks.map((t) => t.built),
      records: runners.flatMap((r) => r?.records ?? []),
      logDir,
      skipped: unwritten,
      partial: stemcellTasks.some((t) => !t.complete),
    }),
  };
}

export async function buildStemcells(request: StemcellRequest, ui: RunUi): Promise<StemcellResult> {
  const logDir = runLogDir(`stemcell-${request.os.name}`);
  const phase = stemcellPhase(request, ui, logDir);
  return withSteps({ renderer: ui.renderer, signal: ui.signal, emit: ui.emit }, async (run) => {
    await runSession(run, request, ui, logDir, phase.steps);
    return phase.result();
  });
}
