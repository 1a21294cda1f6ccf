// The questions of `stemforge build`, and only the questions. Choices come from the
// catalog and from what this machine has (the caller's doctor findings); defaults come from
// the settings' sources; an answer given as a flag is not asked again.
import { checkbox, confirm, input, number, select, Separator } from '@inquirer/prompts';
import { defaultVmSize, providerFacts } from '../catalog/builder-vm.js';
import { vmLimits } from '../settings/options.js';
import { infrastructures, tryItLocally } from '../catalog/infrastructures.js';
import { parseMachineSpec } from '../machine/spec.js';
import { checkSha256, checkUrl, checkVersion, downloadSchemes, promptCheck } from '../settings/validate.js';
import { infrastructureLines, osLines } from './choice-text.js';
import type { HostFacts } from './host.js';
import { expandHome, fileProblem, outputFolderProblem } from './paths.js';
import { providerChoiceTag, providerOffer, type ProviderChoice } from './providers.js';

export type { ProviderChoice } from './providers.js';

export type AgentAnswer = { kind: 'pinned' } | { kind: 'file'; file: string } | { kind: 'url'; url: string; sha256: string };

export interface BuildAnswers {
  iaas: string[];
  diskFormat?: string;
  os: string;
  /** vagrant:PROVIDER, local or ssh://user@host[:port] */
  machine: string;
  identity?: string;
  cpus: number;
  memory: number;
  diskSize: number;
  version: string;
  agent: AgentAnswer;
  outputDir: string;
}

export interface WizardInput {
  defaults: Partial<BuildAnswers>;
  /** answers given as flags: not asked */
  fixed: ReadonlySet<keyof BuildAnswers>;
  providers: ProviderChoice[];
  /** whether Vagrant itself is installed */
  vagrantInstalled: boolean;
  /** this host's system, architecture, CPUs and RAM (injected, so tests can be any host) */
  host: HostFacts;
  /** why --machine local is not possible here, when it is not */
  localUnavailable?: string;
  /** a plain word about this host, shown first (e.g. Apple Silicon) */
  hostNote?: string;
  proposeVersion: (os: string, iaas: readonly string[]) => string;
  /** the summary shown before the confirm, built by the caller from the answers */
  summary: (answers: BuildAnswers) => string;
  /** the time and disk estimate line shown under the summary */
  estimate?: (answers: BuildAnswers) => string;
  /** false for --dry-run: no summary and no "Build this?" here; the caller prints the plan once */
  confirm?: boolean;
  output?: NodeJS.WritableStream;
  /** the home folder `~` stands for */
  home?: string;
}

/** What a stemcell and an infrastructure are, and which one to pick to try it on this machine. */
export const stemcellIntro = [
  'A stemcell is the base image BOSH boots every VM from, made for one infrastructure: the cloud or hypervisor that runs the VMs.',
  `To try it on this machine, pick ${tryItLocally.iaas} (${tryItLocally.diskFormat}): ${tryItLocally.how}.`,
].join('\n');

export const versionIntro =
  "The version goes into the stemcell's file name and stemcell.MF; stemforge counts per OS line and infrastructure and proposes one past your last.";

// each choice answers with its short name: the explanation is for choosing, not for the answer line
function infrastructureChoices(checked: readonly string[]): { value: string; name: string; short: string; checked: boolean }[] {
  return infrastructureLines().map((l) => ({ value: l.name, name: l.text, short: l.name, checked: checked.includes(l.name) }));
}

function osChoices(): { value: string; name: string; short: string }[] {
  return osLines().map((l) => ({ value: l.name, name: l.text, short: l.name }));
}

/** A warning for a VM bigger than this host, or undefined. */
export function vmSizeWarning(what: 'cpus' | 'memory', value: number, host: HostFacts): string | undefined {
  if (what === 'cpus' && value > host.cpus)
    return `warning: ${value} CPUs is more than this machine's ${host.cpus}; the VM runs, but no faster than with ${host.cpus}`;
  if (what === 'memory' && value > host.memoryMiB)
    return `warning: ${value} MiB is more than this machine's ${host.memoryMiB} MiB of RAM; the VM may not start, or swap (${defaultVmSize.memoryMiB} is enough)`;
  return undefined;
}

/** A size answer within the builder VM's bounds (the option table's, which the build checks again), or the refusal. */
function vmAnswerCheck(what: keyof typeof vmLimits, unit: string, why: string): (value: number | undefined) => true | string {
  const { min, max } = vmLimits[what];
  return (value) => {
    if (value === undefined || !Number.isInteger(value)) return `type a whole number of ${unit}`;
    if (value < min) return `at least ${min} ${unit}${why}; type ${min} or more`;
    if (value > max) return `at most ${max} ${unit}; type a smaller number`;
    return true;
  };
}

/** The refusal of a memory size outside the builder VM's bounds, or true. */
export const checkVmMemory = vmAnswerCheck('memoryMiB', 'MiB', ": debootstrap and the kernel's initramfs need it");
const checkVmCpus = vmAnswerCheck('cpus', 'CPUs', '');
const checkVmDisk = vmAnswerCheck('diskGiB', 'GiB', ': the chroot, its layers and the disk images need it');

/** What every question needs: the wizard's input, where prompts write, and which answers to ask. */
interface Asking {
  w: WizardInput;
  ctx: { output: NodeJS.WritableStream };
  say: (line: string) => void;
  ask: (key: keyof BuildAnswers) => boolean;
}

async function askInfrastructures(a: Asking): Promise<string[]> {
  const d = a.w.defaults;
  if (!a.ask('iaas')) return d.iaas!;
  a.say(stemcellIntro);
  return checkbox(
    {
      message: 'Infrastructure(s) to build for (space selects, enter confirms)',
      choices: infrastructureChoices(d.iaas ?? []),
      required: true,
      pageSize: infrastructures.length,
    },
    a.ctx,
  );
}

/** Asked only for one infrastructure with several formats. */
async function askDiskFormat(a: Asking, iaas: readonly string[]): Promise<string | undefined> {
  const given = a.w.defaults.diskFormat;
  const formats = iaas.length === 1 ? infrastructures.find((i) => i.name === iaas[0])!.diskFormats : [];
  if (!a.ask('diskFormat') || formats.length < 2) return given;
  return select(
    {
      message: `Disk format for ${iaas[0]}`,
      choices: formats.map((f, n) => ({ value: f, name: n === 0 ? `${f} (default)` : f })),
      default: given ?? formats[0],
    },
    a.ctx,
  );
}

async function askOs(a: Asking): Promise<string> {
  const given = a.w.defaults.os;
  if (!a.ask('os')) return given!;
  return select({ message: 'OS line (the Linux release inside the stemcell)', choices: osChoices(), default: given }, a.ctx);
}

type MachineChoice = { value: string; name: string; disabled?: string | boolean } | Separator;

/**
 * The machine question's choices on this host: the Vagrant providers it has (on arm64 marked
 * as the recommended way: a native arm64 VM), one line of what to install for the others, an
 * SSH host, and this machine on Linux.
 */
export function machineChoices(w: Pick<WizardInput, 'host' | 'providers' | 'vagrantInstalled' | 'localUnavailable'>): MachineChoice[] {
  const offer = providerOffer(w.host, w.providers, w.vagrantInstalled);
  const tag = providerChoiceTag(w.host);
  const sshWhat = w.host.arch === 'arm64' ? 'a Linux machine (x86_64, or arm64 with qemu-user-static)' : 'an x86_64 Linux machine';
  return [
    ...offer.usable.map((p) => ({ value: `vagrant:${p.provider}`, name: `Vagrant VM, ${providerFacts[p.provider].label} (${p.note}${tag})` })),
    ...(offer.installHint ? [new Separator(offer.installHint)] : []),
    { value: 'ssh', name: `An SSH host (ssh://user@host[:port]), ${sshWhat}` },
    // this machine only where it can be one: a Linux host
    ...(w.host.platform === 'linux' ? [{ value: 'local', name: localChoiceName(w.host.arch), disabled: w.localUnavailable ?? false }] : []),
  ];
}

function localChoiceName(arch: string): string {
  return arch === 'arm64' ? "This machine (Linux, as root; the image's amd64 programs run emulated)" : 'This machine (Linux, as root)';
}

/** The build machine, and for an SSH host its key: a Vagrant provider this host has, an SSH host, or this Linux machine. */
async function askMachine(a: Asking): Promise<{ machine: string; identity?: string }> {
  const { w } = a;
  const d = w.defaults;
  const machine = d.machine ?? 'vagrant';
  if (!a.ask('machine')) return { machine, identity: d.identity };
  const choices = machineChoices(w);
  const enabled = choices.flatMap((c) => ('value' in c && !('disabled' in c && c.disabled) ? [c.value] : []));
  const firstVm = enabled.find((v) => v.startsWith('vagrant:'));
  const wanted = machine.startsWith('ssh://') ? 'ssh' : machine === 'vagrant' ? (firstVm ?? '') : machine;
  const preferred = enabled.includes(wanted) ? wanted : enabled[0];
  const kind = await select({ message: 'Build machine (where the build runs)', choices, default: preferred }, a.ctx);
  if (kind !== 'ssh') return { machine: kind, identity: d.identity };
  const checkMachine = promptCheck((v, subject) => parseMachineSpec(v, subject));
  const address = await input(
    {
      message: 'SSH address',
      default: d.machine?.startsWith('ssh://') ? d.machine : undefined,
      validate: (v) => (v.startsWith('ssh://') ? checkMachine(v) : 'form: ssh://user@host[:port]'),
    },
    a.ctx,
  );
  const key = await input(
    {
      message: 'Private key file (empty: ssh-agent, then ~/.ssh/id_*)',
      default: d.identity,
      validate: (v) =>
        v === '' ? true : (fileProblem(expandHome(v, w.home), 'give the private key of the SSH host, or leave it empty for ssh-agent') ?? true),
    },
    a.ctx,
  );
  return { machine: address, identity: key ? expandHome(key, w.home) : undefined };
}

/** The builder VM's size, asked only for a Vagrant machine; above this host's is a warning, outside the bounds a refusal. */
async function askVmSize(a: Asking, machine: string): Promise<{ cpus: number; memory: number; diskSize: number }> {
  const { w } = a;
  let { cpus = defaultVmSize.cpus, memory = defaultVmSize.memoryMiB, diskSize = defaultVmSize.diskGiB } = w.defaults;
  if (!machine.startsWith('vagrant')) return { cpus, memory, diskSize };
  const warn = (line: string | undefined): void => void (line && a.say(line));
  if (a.ask('cpus')) {
    cpus = (await number({ message: 'Builder VM CPUs', default: cpus, required: true, validate: checkVmCpus }, a.ctx))!;
    warn(vmSizeWarning('cpus', cpus, w.host));
  }
  if (a.ask('memory')) {
    memory = (await number({ message: 'Builder VM memory (MiB)', default: memory, required: true, validate: checkVmMemory }, a.ctx))!;
    warn(vmSizeWarning('memory', memory, w.host));
  }
  if (a.ask('diskSize')) diskSize = (await number({ message: 'Builder VM disk (GiB)', default: diskSize, required: true, validate: checkVmDisk }, a.ctx))!;
  return { cpus, memory, diskSize };
}

async function askVersion(a: Asking, os: string, iaas: readonly string[]): Promise<string> {
  const given = a.w.defaults.version;
  if (!a.ask('version')) return given!;
  a.say(versionIntro);
  return input({ message: 'Stemcell version', default: given ?? a.w.proposeVersion(os, iaas), validate: promptCheck(checkVersion) }, a.ctx);
}

async function askAgent(a: Asking): Promise<AgentAnswer> {
  const given: AgentAnswer = a.w.defaults.agent ?? { kind: 'pinned' };
  if (!a.ask('agent')) return given;
  const kind = await select(
    {
      message: 'BOSH agent',
      choices: [
        { value: 'pinned', name: 'the pinned release (downloaded, sha256 checked)' },
        { value: 'file', name: 'a binary on this machine' },
        { value: 'url', name: 'a URL with its sha256' },
      ],
      default: given.kind,
    },
    a.ctx,
  );
  if (kind === 'file') {
    const file = await input(
      {
        message: 'Agent binary',
        default: given.kind === 'file' ? given.file : undefined,
        required: true,
        validate: (v) => fileProblem(expandHome(v, a.w.home), 'give the path of a bosh-agent binary, or choose the pinned release') ?? true,
      },
      a.ctx,
    );
    return { kind, file: expandHome(file, a.w.home) };
  }
  if (kind === 'url') {
    const url = await input({ message: 'Agent URL', required: true, validate: promptCheck((v, subject) => checkUrl(v, subject, downloadSchemes)) }, a.ctx);
    const sha256 = await input({ message: 'Its sha256', required: true, validate: promptCheck(checkSha256) }, a.ctx);
    return { kind, url, sha256 };
  }
  return { kind: 'pinned' };
}

async function askOutputDir(a: Asking): Promise<string> {
  const given = a.w.defaults.outputDir;
  if (!a.ask('outputDir')) return given!;
  const home = a.w.home;
  const answer = await input(
    { message: 'Output folder', default: given ?? 'out', required: true, validate: (v) => outputFolderProblem(expandHome(v, home)) ?? true },
    a.ctx,
  );
  return expandHome(answer, home);
}

/** Ask what is missing; resolves to undefined when the user declines the summary. */
export async function askBuildAnswers(w: WizardInput): Promise<BuildAnswers | undefined> {
  const ctx = { output: w.output ?? process.stderr };
  const a: Asking = { w, ctx, say: (line) => void ctx.output.write(`${line}\n`), ask: (key) => !w.fixed.has(key) };
  if (w.hostNote) a.say(w.hostNote);

  const iaas = await askInfrastructures(a);
  const diskFormat = await askDiskFormat(a, iaas);
  const os = await askOs(a);
  const { machine, identity } = await askMachine(a);
  const { cpus, memory, diskSize } = await askVmSize(a, machine);
  const version = await askVersion(a, os, iaas);
  const agent = await askAgent(a);
  const outputDir = await askOutputDir(a);

  const answers: BuildAnswers = { iaas, diskFormat, os, machine, identity, cpus, memory, diskSize, version, agent, outputDir };
  if (w.confirm === false) return answers;
  a.say(`\n${w.summary(answers)}`);
  if (w.estimate) a.say(w.estimate(answers));
  return (await confirm({ message: 'Build this?', default: true }, ctx)) ? answers : undefined;
}
