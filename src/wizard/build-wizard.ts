// The questions of `stemforge build`, and only the questions. Choices come from the
// catalog and from what this machine has (the caller's doctor findings); defaults come from
// the settings' sources; an answer given as a flag is not asked again.
import { checkbox, confirm, input, number, select } from '@inquirer/prompts';
import { defaultVmSize, type VagrantProvider } from '../catalog/builder-vm.js';
import { infrastructures } from '../catalog/infrastructures.js';
import { operatingSystems } from '../catalog/operating-systems.js';
import { parseMachineSpec } from '../machine/spec.js';
import { checkSha256, checkUrl, checkVersion, downloadSchemes, promptCheck } from '../settings/validate.js';

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

export interface ProviderChoice {
  provider: VagrantProvider;
  /** vagrant and the provider are installed and fit this host */
  usable: boolean;
  /** what the doctor found, e.g. "VirtualBox 7.1.4" or why not */
  note: string;
}

export interface WizardInput {
  defaults: Partial<BuildAnswers>;
  /** answers given as flags: not asked */
  fixed: ReadonlySet<keyof BuildAnswers>;
  providers: ProviderChoice[];
  /** why --machine local is not possible here, when it is not */
  localUnavailable?: string;
  /** a plain word about this host, shown first (e.g. Apple Silicon) */
  hostNote?: string;
  proposeVersion: (os: string, iaas: readonly string[]) => string;
  /** the summary shown before the confirm, built by the caller from the answers */
  summary: (answers: BuildAnswers) => string;
  output?: NodeJS.WritableStream;
}

/** Ask what is missing; resolves to undefined when the user declines the summary. */
export async function askBuildAnswers(w: WizardInput): Promise<BuildAnswers | undefined> {
  const ctx = { output: w.output ?? process.stderr };
  const d = w.defaults;
  const ask = <K extends keyof BuildAnswers>(key: K): boolean => !w.fixed.has(key);
  if (w.hostNote) ctx.output.write(`${w.hostNote}\n`);

  const iaas = ask('iaas')
    ? await checkbox(
        {
          message: 'Infrastructure(s) to build for (space selects, enter confirms)',
          choices: infrastructures.map((i) => ({
            value: i.name,
            name: `${i.name} (${i.hypervisor}, ${i.diskFormats.join('/')})`,
            checked: (d.iaas ?? []).includes(i.name),
          })),
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

  const os = ask('os')
    ? await select({ message: 'OS line', choices: operatingSystems.map((o) => ({ value: o.name, name: o.name })), default: d.os }, ctx)
    : d.os!;

  const checkMachine = promptCheck((v, subject) => parseMachineSpec(v, subject));
  let machine = d.machine ?? 'vagrant';
  let identity = d.identity;
  if (ask('machine')) {
    // providers that are usable here first, then the rest, marked
    const sorted = [...w.providers].sort((a, b) => Number(b.usable) - Number(a.usable));
    const choices = [
      ...sorted.map((p) => ({
        value: `vagrant:${p.provider}`,
        name: p.usable ? `Vagrant VM, ${p.provider} (${p.note})` : `Vagrant VM, ${p.provider}`,
        disabled: p.usable ? false : `not usable here: ${p.note}`,
      })),
      { value: 'ssh', name: 'An SSH host (ssh://user@host[:port])' },
      { value: 'local', name: 'This machine (Linux, as root)', disabled: w.localUnavailable ?? false },
    ];
    const preferred = machine.startsWith('ssh://') ? 'ssh' : machine === 'vagrant' ? `vagrant:${sorted[0]?.provider ?? 'virtualbox'}` : machine;
    const kind = await select({ message: 'Build machine', choices, default: preferred }, ctx);
    if (kind === 'ssh') {
      machine = await input(
        {
          message: 'SSH address',
          default: d.machine?.startsWith('ssh://') ? d.machine : undefined,
          validate: (v) => (v.startsWith('ssh://') ? checkMachine(v) : 'form: ssh://user@host[:port]'),
        },
        ctx,
      );
      identity = (await input({ message: 'Private key file (empty: ssh-agent, then ~/.ssh/id_*)', default: identity }, ctx)) || undefined;
    } else {
      machine = kind;
    }
  }

  let { cpus = defaultVmSize.cpus, memory = defaultVmSize.memoryMiB, diskSize = defaultVmSize.diskGiB } = d;
  if (machine.startsWith('vagrant')) {
    const size = { required: true, min: 1 } as const;
    if (ask('cpus')) cpus = (await number({ message: 'Builder VM CPUs', default: cpus, ...size }, ctx))!;
    if (ask('memory')) memory = (await number({ message: 'Builder VM memory (MiB)', default: memory, ...size, min: 2048 }, ctx))!;
    if (ask('diskSize')) diskSize = (await number({ message: 'Builder VM disk (GiB)', default: diskSize, ...size, min: 20 }, ctx))!;
  }

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
    if (kind === 'file')
      agent = { kind, file: await input({ message: 'Agent binary', default: agent.kind === 'file' ? agent.file : undefined, required: true }, ctx) };
    else if (kind === 'url') {
      const url = await input({ message: 'Agent URL', required: true, validate: promptCheck((v, subject) => checkUrl(v, subject, downloadSchemes)) }, ctx);
      const sha256 = await input({ message: 'Its sha256', required: true, validate: promptCheck(checkSha256) }, ctx);
      agent = { kind, url, sha256 };
    } else agent = { kind: 'pinned' };
  }

  const outputDir = ask('outputDir') ? await input({ message: 'Output folder', default: d.outputDir ?? 'out', required: true }, ctx) : d.outputDir!;

  const answers: BuildAnswers = { iaas, diskFormat, os, machine, identity, cpus, memory, diskSize, version, agent, outputDir };
  ctx.output.write(`\n${w.summary(answers)}\n`);
  return (await confirm({ message: 'Build this?', default: true }, ctx)) ? answers : undefined;
}
