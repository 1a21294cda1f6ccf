// `stemforge build`: flags (each also an environment variable and, where it makes sense, a
// setting) → answers (asked by the wizard on a terminal) → one build request.
import { resolve } from 'node:path';
import { providerFacts } from '../catalog/builder-vm.js';
import { Option, type Command } from 'commander';
import type * as DoctorChecks from '../doctor/checks.js';
import type * as Doctor from '../doctor/doctor.js';
import type * as DoctorProbe from '../doctor/probe.js';
import { shellCommand } from '../machine/shell-hint.js';
import { parseMachineSpec, type MachineSpec } from '../machine/spec.js';
import type { BuildRequest, PreflightReport } from '../pipeline/build.js';
import type * as BuildPipeline from '../pipeline/build.js';
import { runLogDir, StoppedAfterFailure, type RunEvent, type RunUi, type StageDecision } from '../pipeline/common.js';
import { durationReport } from '../pipeline/report.js';
import { readDurations, recordDurations } from '../pipeline/stage-durations.js';
import type { StageFailure } from '../pipeline/stage-runner.js';
import { describeShortage } from '../pipeline/space-shortage.js';
import type * as PipelineUi from '../pipeline/ui.js';
import type { SshOptions } from '../machine/open.js';
import type * as SettingSources from '../settings/sources.js';
import type { CommandSettings } from '../settings/sources.js';
import { optionSpecs } from '../settings/options.js';
import type * as Versions from '../settings/versions.js';
import { UsageError } from '../util/errors.js';
import type { BuildAnswers, ProviderChoice } from '../wizard/build-wizard.js';
import type * as BuildWizard from '../wizard/build-wizard.js';
import { catalogHelp } from '../wizard/choice-text.js';
import { estimateLine } from '../wizard/estimate.js';
import { thisHost, type HostFacts } from '../wizard/host.js';
import { expandHome, fileProblem } from '../wizard/paths.js';
import { possibleProviders } from '../wizard/providers.js';
import type { PromptingTask } from '../wizard/on-error.js';
import type * as OnError from '../wizard/on-error.js';
import type * as BuildAnswersModule from './build-answers.js';
import { exitCodes, reportError } from './errors.js';
import { cacheLines } from './layer-option.js';
import { proxyOptions, sshOptions } from './machine-options.js';
import { archiveSettings, buildTimeFromEnv, givenFlags, monitSource, ignoreSpaceHelp, noWaitHelp, resumeCommand } from './request.js';
import { addSettingOptions } from './setting-options.js';

// The modules that do the work, loaded when `build` runs (loadBuildModules), not when the CLI starts.
let { findVagrant, checkProvider } = {} as typeof DoctorChecks;
let { formatDoctorReport, runDoctor } = {} as typeof Doctor;
let { realProbe } = {} as typeof DoctorProbe;
let { build, checkBuildRequest, osImagePath } = {} as typeof BuildPipeline;
let { chooseRenderer } = {} as typeof PipelineUi;
let { commandSettings } = {} as typeof SettingSources;
let { VersionCounter } = {} as typeof Versions;
let { askBuildAnswers } = {} as typeof BuildWizard;
let { askAfterFailure } = {} as typeof OnError;
let { answerFlags, commandLine, summary, unattendedAnswers, wizardDefaults } = {} as typeof BuildAnswersModule;

async function loadBuildModules(): Promise<void> {
  ({ findVagrant, checkProvider } = await import('../doctor/checks.js'));
  ({ formatDoctorReport, runDoctor } = await import('../doctor/doctor.js'));
  ({ realProbe } = await import('../doctor/probe.js'));
  ({ build, checkBuildRequest, osImagePath } = await import('../pipeline/build.js'));
  ({ chooseRenderer } = await import('../pipeline/ui.js'));
  ({ commandSettings } = await import('../settings/sources.js'));
  ({ VersionCounter } = await import('../settings/versions.js'));
  ({ askBuildAnswers } = await import('../wizard/build-wizard.js'));
  ({ askAfterFailure } = await import('../wizard/on-error.js'));
  ({ answerFlags, commandLine, summary, unattendedAnswers, wizardDefaults } = await import('./build-answers.js'));
}

interface BuildFlags {
  [key: string]: unknown;
  yes?: boolean;
  dryRun?: boolean;
  json?: boolean;
  verbose?: boolean;
  quiet?: boolean;
  osImage?: string;
  resumeFrom?: string;
  skipBlobstoreClis?: boolean;
  skipDoctor?: boolean;
  ignoreSpace?: boolean;
  cache?: boolean;
  layers?: boolean;
  refreshOsImage?: boolean;
  explainCache?: boolean;
  wait?: boolean;
}

/** Prompts only on a terminal at both ends, outside CI, and when nobody said --yes or --json. */
function canPrompt(flags: { yes?: boolean; json?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return !flags.yes && !flags.json && !!process.stdin.isTTY && !!process.stdout.isTTY && !env.CI;
}

/** What the doctor says about each provider that can exist on this host, for the wizard's machine question. */
async function providerChoices(): Promise<{ providers: ProviderChoice[]; vagrantInstalled: boolean }> {
  const vagrant = await findVagrant(realProbe);
  const providers = await Promise.all(
    possibleProviders(thisHost()).map(async (provider) => {
      const check = await checkProvider(realProbe, provider, vagrant);
      const usable = vagrant.kind === 'found' && check.status !== 'fail';
      const note = vagrant.kind !== 'found' ? 'Vagrant is not installed' : check.detail;
      return { provider, usable, note };
    }),
  );
  return { providers, vagrantInstalled: vagrant.kind === 'found' };
}

/** A key file that is named but missing is an error before any question, not at connect time. */
function checkedIdentity(settings: CommandSettings): string | undefined {
  const given = settings.string('identity');
  if (given === undefined) return undefined;
  const path = expandHome(given);
  const source = settings.resolved.get('identity')?.source;
  const subject = source === 'flag' ? '--identity' : source === 'env' ? 'STEMFORGE_IDENTITY' : 'the identity setting';
  const problem = fileProblem(path, 'give the SSH private key file that exists, or leave it out to use ssh-agent');
  if (problem) throw new UsageError(`${subject}: ${problem}`);
  return path;
}

/**
 * A plain word for an arm64 host, shown before the questions: the builder VM is arm64 there
 * and the amd64 stemcell's programs run emulated; which providers do that, or where else to build.
 */
export function hostNote(host: Pick<HostFacts, 'platform' | 'arch'>): string | undefined {
  if (host.arch !== 'arm64') return undefined;
  const emulated =
    "the stemcell stays amd64: its programs run through Rosetta where the VM shares it, else qemu-user-static (installed in the VM), so the build's stages take longer than on an x86_64 machine";
  const natives = possibleProviders(host).map((p) => (p === 'virtualbox' ? 'VirtualBox 7.1 or newer' : providerFacts[p].label));
  if (host.platform === 'darwin') return `Note: this is Apple Silicon. The builder VM runs arm64 natively (${natives.join(', ')}); ${emulated}.`;
  const ssh = 'build over ssh:// on a Linux machine (x86_64, or arm64 with qemu-user-static)';
  if (host.platform === 'linux') {
    return `Note: this is an arm64 Linux host. libvirt runs an arm64 builder VM under KVM (name an arm64 box with --box), or build here as root with qemu-user-static installed, or ${ssh}; the stemcell stays amd64 and its programs run emulated, so the stages take longer.`;
  }
  return `Note: this is an arm64 ${host.platform === 'win32' ? 'Windows' : host.platform} host. No Vagrant provider here runs an arm64 builder VM that stemforge supports: ${ssh}.`;
}

function localUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `only on Linux, this is ${process.platform}`;
  if (process.getuid?.() !== 0) return 'needs root';
  return undefined;
}

function preflight(machine: MachineSpec, ssh: SshOptions, answers: BuildAnswers, cacheDir: string): () => Promise<PreflightReport> {
  return async () => {
    const report = await runDoctor({ machine, ssh, vm: { cpus: answers.cpus, memoryMiB: answers.memory }, cacheDir, outputDir: answers.outputDir });
    const lines = formatDoctorReport(report)
      .split('\n')
      .filter((l) => /^\[/.test(l));
    const blocking = report.checks.filter((c) => c.status === 'fail').map((c) => `  ${c.title}: ${c.detail}${c.fix ? `\n    what to do: ${c.fix}` : ''}`);
    return { ok: report.ok, lines, blocking };
  };
}

/** The run's answer to a failed stage, from --on-error (ask only where someone can answer). */
function failurePolicy(policy: string, interactive: boolean, shell: string): RunUi['onStageError'] {
  const retried = new Set<string>();
  switch (policy) {
    case 'abort':
      return undefined;
    case 'keep':
      return async () => 'keep';
    case 'retry':
      // once per stage: a second failure stops the run
      return async (failure: StageFailure, task) => {
        if (retried.has(failure.stage)) return 'abort';
        retried.add(failure.stage);
        task.output = `${failure.stage} failed (exit ${failure.exitCode}); --on-error=retry: running it once more`;
        return 'retry';
      };
    default:
      if (!interactive) return undefined;
      return async (failure: StageFailure, task, buildDir): Promise<StageDecision> =>
        askAfterFailure(task as unknown as PromptingTask, {
          stage: failure.stage,
          exitCode: failure.exitCode,
          logPath: failure.logPath,
          shell,
          buildDir,
          why: failure.space && describeShortage(failure.space),
        });
  }
}

/**
 * The answers and the settings → the build's request, checked as the build checks it before
 * it touches a machine (checkBuildRequest): the dry run and the run get the same errors.
 */
function buildRequest(flags: BuildFlags, answers: BuildAnswers, settings: CommandSettings, interactive: boolean): BuildRequest {
  const resolved = settings.resolved;
  const machine = parseMachineSpec(answers.machine);
  const chosen = (key: string): boolean => interactive || resolved.get(key)!.source !== 'built-in';
  const cacheDir = String(resolved.get('cacheDir')!.value);
  const proxyEnv = proxyOptions(settings);
  const buildTime = buildTimeFromEnv(process.env);
  const request: BuildRequest = {
    os: answers.os,
    iaas: answers.iaas,
    diskFormat: answers.diskFormat,
    hypervisor: resolved.get('hypervisor')!.value as string | undefined,
    version: answers.version,
    machine,
    ssh: { ...sshOptions(settings), identityFile: answers.identity },
    vm: {
      box: settings.string('box'),
      // a size nobody chose keeps what the VM was made with (vm.json), as for os-image
      cpus: chosen('cpus') ? answers.cpus : undefined,
      memoryMiB: chosen('memory') ? answers.memory : undefined,
      diskGiB: chosen('diskSize') ? answers.diskSize : undefined,
      libvirtDriver: settings.string('libvirtDriver') as 'kvm' | 'qemu' | undefined,
      upTimeoutMinutes: settings.number('vmTimeout'),
      proxy: proxyEnv,
    },
    agent:
      answers.agent.kind === 'file'
        ? { file: answers.agent.file }
        : answers.agent.kind === 'url'
          ? { url: answers.agent.url, sha256: answers.agent.sha256 }
          : undefined,
    blobstoreClis: !flags.skipBlobstoreClis,
    outputDir: answers.outputDir,
    osImage: flags.osImage,
    monit: monitSource(resolved.get('monitFile')!.value as string | undefined),
    resumeFrom: flags.resumeFrom,
    ...archiveSettings(settings),
    buildTime,
    buildRoot: settings.string('buildRoot')!,
    noWait: flags.wait === false,
    packageCache: settings.string('packageCache')!,
    stageEnv: { ...proxyEnv, ...(buildTime ? { BUILD_TIME: buildTime } : {}) },
    ignoreSpace: !!flags.ignoreSpace,
    preflight: flags.skipDoctor ? undefined : preflight(machine, { ...sshOptions(settings), identityFile: answers.identity }, answers, cacheDir),
    layers: flags.layers === false ? undefined : { maxMiB: Number(resolved.get('layerLimit')!.value) * 1024 },
    cache: {
      dir: cacheDir,
      enabled: flags.cache !== false,
      refreshOsImage: !!flags.refreshOsImage,
      osImageMaxAgeDays: Number(resolved.get('osImageMaxAge')!.value),
      explain: !!flags.explainCache,
    },
  };
  checkBuildRequest(request);
  return request;
}

/**
 * Reserve the build's version as it starts: a proposal is taken afresh past the builds under
 * way (another may have reserved it since it was proposed), a version the user gave is kept.
 */
async function reserveVersion(counter: Versions.VersionCounter, answers: BuildAnswers, given: string | undefined): Promise<string> {
  const version = await counter.reserve(answers.os, answers.iaas, given);
  if (version !== answers.version) {
    process.stderr.write(`stemforge: version ${answers.version} was taken by another build under way meanwhile; this build is ${version}\n`);
  }
  return version;
}

/** The build ended: its reservation goes; a failure to drop it only delays its expiry (a dead pid is ignored anyway). */
async function releaseVersion(counter: Versions.VersionCounter, answers: BuildAnswers): Promise<void> {
  try {
    await counter.release(answers.os, answers.iaas, answers.version);
  } catch (err) {
    process.stderr.write(`stemforge: warning: could not release the reservation of version ${answers.version}: ${(err as Error).message}\n`);
  }
}

async function runBuild(flags: BuildFlags, argv: readonly string[], onExit: (code: number) => void, signal: AbortSignal): Promise<void> {
  const json = !!flags.json;
  const settings = commandSettings(
    optionSpecs.map((s) => s.key),
    flags,
  );
  const resolved = settings.resolved;
  const counter = new VersionCounter();
  const interactive = canPrompt(flags);
  // what the counter proposed last: an answer equal to it is reserved afresh when the build starts
  let proposed: string | undefined;
  const propose = (os: string, iaas: readonly string[]): string => (proposed = counter.next(os, iaas));

  const identity = checkedIdentity(settings);
  const estimate = (a: BuildAnswers): string =>
    estimateLine(a, { osImageGiven: !!flags.osImage, libvirtDriver: settings.string('libvirtDriver'), hostArch: process.arch, recorded: readDurations() });

  let answers: BuildAnswers;
  if (interactive) {
    const { defaults, fixed } = wizardDefaults(resolved, identity);
    const asked = await askBuildAnswers({
      defaults,
      fixed,
      ...(await providerChoices()),
      host: thisHost(),
      localUnavailable: localUnavailable(),
      hostNote: hostNote(thisHost()),
      proposeVersion: propose,
      // the no-questions line repeats every flag given that the answers do not carry
      summary: (a) => summary(a, givenFlags(argv, { answers: answerFlags(a), drop: ['--dry-run'] })),
      estimate,
      confirm: !flags.dryRun,
    });
    if (!asked) {
      process.stderr.write('stemforge: nothing built (you said no)\n');
      return;
    }
    answers = asked;
  } else {
    answers = unattendedAnswers(resolved, identity, propose);
  }

  const request = buildRequest(flags, answers, settings, interactive);
  // every given flag the answers do not carry, for the no-questions and resume command lines
  const given = givenFlags(argv, { answers: answerFlags(answers), drop: ['--dry-run'] });

  if (flags.dryRun) {
    const plan = {
      command: 'build',
      answers,
      machine: answers.machine,
      osImage: flags.osImage ? resolve(flags.osImage) : osImagePath(answers.outputDir, answers.os),
      commandLine: commandLine(answers, given),
      sources: Object.fromEntries(
        [...resolved].map(([k, r]) => [k, r.source === 'unset' ? 'unset' : `${r.source}${r.origin && r.origin !== 'built-in' ? ` (${r.origin})` : ''}`]),
      ),
    };
    process.stdout.write(json ? `${JSON.stringify(plan)}\n` : `${summary(answers, given)}\n${estimate(answers)}\n`);
    return;
  }

  const version = await reserveVersion(counter, answers, answers.version === proposed ? undefined : answers.version);
  request.version = answers.version = version;
  const emit = json ? (e: RunEvent): void => void process.stdout.write(`${JSON.stringify(e)}\n`) : cacheLines(!!flags.explainCache, false);
  const shell = shellCommand(request.machine, request.ssh);
  // --yes is about the wizard's answers; a failed stage is still asked about on a terminal
  const onStageError = failurePolicy(String(resolved.get('onError')!.value), canPrompt({ json }), shell);
  const renderer = flags.verbose ? 'verbose' : chooseRenderer({ json, quiet: flags.quiet });
  const logDir = runLogDir(`build-${answers.os}`);
  try {
    const result = await build(request, { renderer, signal, onStageError, emit }, logDir);
    for (const iaas of answers.iaas) await counter.record(answers.os, iaas, answers.version);
    await releaseVersion(counter, answers);
    // a resumed build ran only part of its stages: no measure of the next one
    if (!flags.resumeFrom) {
      try {
        recordDurations(answers.os, result.records);
      } catch (err) {
        process.stderr.write(`stemforge: warning: could not record the stage times for the next estimate: ${(err as Error).message}\n`);
      }
    }
    process.stderr.write(`\n${durationReport(result.records)}\n`);
    const outputs = [...result.stemcells.filter((s) => s.out).map((s) => `${s.out} (${((s.bytes ?? 0) / 1048576).toFixed(1)} MiB)`)];
    emit?.({
      type: 'result',
      ok: true,
      version: answers.version,
      osImage: result.osImage,
      stemcells: result.stemcells,
      logDir: result.logDir,
      runLog: result.runLog,
    });
    if (!json) {
      process.stderr.write(`OS image: ${result.osImage.path}${result.osImage.reused ? ' (reused)' : ''}\nlogs: ${result.logDir}\n`);
      for (const line of outputs) process.stdout.write(`${line}\n`);
    }
  } catch (err) {
    await releaseVersion(counter, answers);
    const stopped = err instanceof StoppedAfterFailure ? err.decision : undefined;
    const code = reportError(err, {
      json: false,
      resume: stopped === 'cleanup' ? undefined : (stage) => resumeCommand(argv, stage, answerFlags(answers)),
    });
    process.stderr.write(`run log: ${logDir}/run.log\n`);
    if (stopped === 'keep') process.stderr.write(`kept as it is: open a shell with ${shell}\n`);
    if (stopped === 'cleanup' && (err as StoppedAfterFailure).cleanedUp)
      process.stderr.write("cleaned up: this build's folders on the build machine are gone; the next build starts fresh\n");
    else if (stopped === 'cleanup')
      process.stderr.write("not cleaned up: removing this build's folders failed (see the warning above); the next build starts fresh all the same\n");
    emit?.({ type: 'result', ok: false, error: err instanceof Error ? err.message : String(err), exitCode: code, runLog: `${logDir}/run.log` });
    onExit(signal.aborted ? exitCodes.interrupted : code);
  }
}

export function addBuildCommand(program: Command, argv: readonly string[], onExit: (code: number) => void, signal: AbortSignal): void {
  const command = program
    .command('build')
    .description(
      'the whole job: check this machine, bring up the builder, build the OS image and the stemcell(s), leave them in the output folder; asks what is missing on a terminal',
    );
  addSettingOptions(
    command,
    optionSpecs.map((s) => s.key),
  );
  command
    .option('-y, --yes', 'ask nothing: take the default of every answer that has one')
    .option('--os-image <file>', 'use this OS image instead of building one')
    .option('--resume-from <stage>', 'keep the existing build and run from this stage on (an OS-image or a stemcell stage)')
    .option('--skip-blobstore-clis', 'leave the blobstore CLIs out (recorded in stemcell.MF)')
    .option('--skip-doctor', 'do not check this machine first')
    .option('--ignore-space', ignoreSpaceHelp)
    .option('--no-cache', 'neither use nor fill the local artifact cache')
    .option('--no-layers', 'run the stages in place instead of one overlay layer each (no reuse of unchanged stages)')
    .option('--refresh-os-image', 'build the OS image even when a cached one is fresh')
    .option('--explain-cache', 'on a cache miss, say which input changed')
    .option('--no-wait', noWaitHelp)
    .option('--dry-run', 'ask (or resolve) the answers, print what would be built, build nothing')
    .option('--json', 'NDJSON events on stdout (the progress UI stays on stderr); never asks')
    .option('-v, --verbose', 'one timestamped line per event instead of the live tree')
    .addOption(new Option('--quiet', 'no progress output').conflicts(['json', 'verbose']))
    .addHelpText('after', catalogHelp())
    .action(async (flags: BuildFlags) => {
      try {
        await loadBuildModules();
        await runBuild(flags, argv, onExit, signal);
      } catch (err) {
        if (err instanceof Error && err.name === 'ExitPromptError') {
          process.stderr.write('\nstemforge: interrupted; nothing was built\n');
          onExit(exitCodes.interrupted);
          return;
        }
        onExit(reportError(err, { json: !!flags.json }));
      }
    });
}
