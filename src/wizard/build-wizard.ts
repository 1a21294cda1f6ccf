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
import { providerOffer, type ProviderChoice } from './providers.js';

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
function checkVmSize(what: keyof typeof vmLimits, unit: string, why: string): (value: number | undefined) => true | string {
  const { min, max } = vmLimits[what];
  return (value) => {
    if (value === undefined || !Number.isInteger(value)) return `type a whole number of ${unit}`;
    if (value < min) return `at least ${min} ${unit}${why}; type ${min} or more`;
    if (value > max) return `at most ${max} ${unit}; type a smaller number`;
    return true;
  };
}

/** The refusal of a memory size outside the builder VM's bounds, or true. */
export const checkVmMemory = checkVmSize('memoryMiB', 'MiB', ": debootstrap and the kernel's initramfs need it");
const checkVmCpus = checkVmSize('cpus', 'CPUs', '');
const checkVmDisk = checkVmSize('diskGiB', 'GiB', ': the chroot, its layers and the disk images need it');

/** Ask what is missing; resolves to undefined when the user declines the summary. */
export async function askBuildAnswers(w: WizardInput): Promise<BuildAnswers | undefined> {
  const ctx = { output: w.output ?? process.stderr };
  const d = w.defaults;
  const ask = <K extends keyof BuildAnswers>(key: K): boolean => !w.fixed.has(key);
  if (w.hostNote) ctx.output.write(`${w.hostNote}\n`);

  const say = (line: string): void => void ctx.output.write(`${line}\n`);
  const home = w.home;
  if (ask('iaas')) say(stemcellIntro);
  const iaas = ask('iaas')
    ? await checkbox(
        {
          message: 'Infrastructure(s) to build for (space selects, enter confirms)',
          choices: infrastructureChoices(d.iaas ?? []),
          required: true,
          pageSize: infrastructures.length,
        },
        ctx,
      )
    : d.iaas!;

  let diskFormat = d.diskFormat;
  const formats = iaas.length === 1 ? infrastructures.find((i) => i.name === iaas[0])!.diskFormats : [];
  if (ask('diskFormat') && formats.length > 1) {
    diskFormat = await select(
      {
        message: `Disk format for ${iaas[0]}`,
        choices: formats.map((f, n) => ({ value: f, name: n === 0 ? `${f} (default)` : f })),
        default: diskFormat ?? formats[0],
      },
      ctx,
    );
  }

  const os = ask('os') ? await select({ message: 'OS line (the Linux release inside the stemcell)', choices: osChoices(), default: d.os }, ctx) : d.os!;

  const checkMachine = promptCheck((v, subject) => parseMachineSpec(v, subject));
  let machine = d.machine ?? 'vagrant';
  let identity = d.identity;
  if (ask('machine')) {
    const offer = providerOffer(w.host, w.providers, w.vagrantInstalled);
    const linux = w.host.platform === 'linux';
    const choices = [
      ...offer.usable.map((p) => ({ value: `vagrant:${p.provider}`, name: `Vagrant VM, ${providerFacts[p.provider].label} (${p.note})` })),
      ...(offer.installHint ? [new Separator(offer.installHint)] : []),
      { value: 'ssh', name: 'An SSH host (ssh://user@host[:port]), an x86_64 Linux machine' },
      // this machine only where it can be one: a Linux host
      ...(linux ? [{ value: 'local', name: 'This machine (Linux, as root)', disabled: w.localUnavailable ?? false }] : []),
    ];
    const enabled = choices.flatMap((c) => ('value' in c && !('disabled' in c && c.disabled) ? [c.value] : []));
    const wanted = machine.startsWith('ssh://') ? 'ssh' : machine === 'vagrant' ? `vagrant:${offer.usable[0]?.provider}` : machine;
    const preferred = enabled.includes(wanted) ? wanted : enabled[0];
    const kind = await select({ message: 'Build machine (where the build runs)', choices, default: preferred }, ctx);
    if (kind === 'ssh') {
      machine = await input(
        {
          message: 'SSH address',
          default: d.machine?.startsWith('ssh://') ? d.machine : undefined,
          validate: (v) => (v.startsWith('ssh://') ? checkMachine(v) : 'form: ssh://user@host[:port]'),
        },
        ctx,
      );
      const key = await input(
        {
          message: 'Private key file (empty: ssh-agent, then ~/.ssh/id_*)',
          default: identity,
          validate: (v) =>
            v === '' ? true : (fileProblem(expandHome(v, home), 'give the private key of the SSH host, or leave it empty for ssh-agent') ?? true),
        },
        ctx,
      );
      identity = key ? expandHome(key, home) : undefined;
    } else {
      machine = kind;
    }
  }

  let { cpus = defaultVmSize.cpus, memory = defaultVmSize.memoryMiB, diskSize = defaultVmSize.diskGiB } = d;
  if (machine.startsWith('vagrant')) {
    const warn = (line: string | undefined): void => void (line && say(line));
    if (ask('cpus')) {
      cpus = (await number({ message: 'Builder VM CPUs', default: cpus, required: true, validate: checkVmCpus }, ctx))!;
      warn(vmSizeWarning('cpus', cpus, w.host));
    }
    if (ask('memory')) {
      memory = (await number({ message: 'Builder VM memory (MiB)', default: memory, required: true, validate: checkVmMemory }, ctx))!;
      warn(vmSizeWarning('memory', memory, w.host));
    }
    if (ask('diskSize')) diskSize = (await number({ message: 'Builder VM disk (GiB)', default: diskSize, required: true, validate: checkVmDisk }, ctx))!;
  }

  if (ask('version')) say(versionIntro);
  const version = ask('version')
    ? await input(
        {
          message: 'Stemcell version',
          default: d.version ?? w.proposeVersion(os, iaas),
          validate: promptCheck(checkVersion),
        },
        ctx,
      )
    : d.version!;

  let agent: AgentAnswer = d.agent ?? { kind: 'pinned' };
  if (ask('agent')) {
    const kind = await select(
      {
        message: 'BOSH agent',
        choices: [
          { value: 'pinned', name: 'the pinned release (downloaded, sha256 checked)' },
          { value: 'file', name: 'a binary on this machine' },
          { value: 'url', name: 'a URL with its sha256' },
        ],
        default: agent.kind,
      },
      ctx,
    );
    if (kind === 'file') {
      const file = await input(
        {
          message: 'Agent binary',
          default: agent.kind === 'file' ? agent.file : undefined,
          required: true,
          validate: (v) => fileProblem(expandHome(v, home), 'give the path of a bosh-agent binary, or choose the pinned release') ?? true,
        },
        ctx,
      );
      agent = { kind, file: expandHome(file, home) };
    } else if (kind === 'url') {
      const url = await input({ message: 'Agent URL', required: true, validate: promptCheck((v, subject) => checkUrl(v, subject, downloadSchemes)) }, ctx);
      const sha256 = await input({ message: 'Its sha256', required: true, validate: promptCheck(checkSha256) }, ctx);
      agent = { kind, url, sha256 };
    } else agent = { kind: 'pinned' };
  }

  const outputDir = ask('outputDir')
    ? expandHome(
        await input(
          {
            message: 'Output folder',
            default: d.outputDir ?? 'out',
            required: true,
            validate: (v) => outputFolderProblem(expandHome(v, home)) ?? true,
          },
          ctx,
        ),
        home,
      )
    : d.outputDir!;

  const answers: BuildAnswers = { iaas, diskFormat, os, machine, identity, cpus, memory, diskSize, version, agent, outputDir };
  if (w.confirm === false) return answers;
  say(`\n${w.summary(answers)}`);
  if (w.estimate) say(w.estimate(answers));
  return (await confirm({ message: 'Build this?', default: true }, ctx)) ? answers : undefined;
}
