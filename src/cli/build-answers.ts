// From flags, environment, stemforge.json and user settings to the answers of a build:
// what is given, what is a default, and what is missing (an error naming the flag when no
// one can be asked). Also the one-line command that repeats a build without questions.
import { resolve } from 'node:path';
import { agentPin } from '../catalog/pins.js';
import { shellJoin } from '../machine/quote.js';
import { CommandSettings, missingSetting } from '../settings/sources.js';
import type { SettingValue } from '../settings/options.js';
import type { ResolvedSetting } from '../settings/resolve.js';
import { agentInput } from '../settings/validate.js';
import type { UsageError } from '../util/errors.js';
import type { AgentAnswer, BuildAnswers } from '../wizard/build-wizard.js';
import { machineAddress } from './machine-options.js';

export type Resolved = ReadonlyMap<string, ResolvedSetting>;

const value = (r: Resolved, key: string): SettingValue | undefined => r.get(key)?.value;
const given = (r: Resolved, key: string): boolean => ['flag', 'env'].includes(r.get(key)?.source ?? '');

/** The message for an answer nobody gave, where nobody can be asked. */
function missingAnswer(key: string): UsageError {
  return missingSetting(key);
}

function agentAnswer(r: Resolved): AgentAnswer {
  const agent = agentInput({
    file: value(r, 'agentFile') as string | undefined,
    url: value(r, 'agentUrl') as string | undefined,
    sha256: value(r, 'agentSha256') as string | undefined,
  });
  if (!agent) return { kind: 'pinned' };
  return 'file' in agent ? { kind: 'file', file: agent.file } : { kind: 'url', url: agent.url, sha256: agent.sha256 };
}

/** vagrant + provider → vagrant:PROVIDER; anything else as given. */
function machineAnswer(r: Resolved): string {
  return machineAddress(new CommandSettings(r));
}

/** Defaults for the wizard, and the keys it must not ask because a flag or variable answered them. */
export function wizardDefaults(r: Resolved, identity: string | undefined): { defaults: Partial<BuildAnswers>; fixed: Set<keyof BuildAnswers> } {
  const defaults: Partial<BuildAnswers> = {
    iaas: value(r, 'iaas') as string[] | undefined,
    diskFormat: value(r, 'diskFormat') as string | undefined,
    os: value(r, 'os') as string | undefined,
    machine: machineAnswer(r),
    identity,
    cpus: value(r, 'cpus') as number,
    memory: value(r, 'memory') as number,
    diskSize: value(r, 'diskSize') as number,
    version: value(r, 'version') as string | undefined,
    agent: agentAnswer(r),
    outputDir: value(r, 'outputDir') as string,
  };
  const fixed = new Set<keyof BuildAnswers>();
  for (const key of ['iaas', 'diskFormat', 'os', 'cpus', 'memory', 'diskSize', 'version', 'outputDir'] as const) if (given(r, key)) fixed.add(key);
  if (given(r, 'machine') || given(r, 'provider')) fixed.add('machine');
  if (['agentFile', 'agentUrl', 'agentSha256'].some((k) => given(r, k))) fixed.add('agent');
  return { defaults, fixed };
}

/** Answers without asking: defaults where there are some; a missing one is a usage error naming its flag. */
export function unattendedAnswers(r: Resolved, identity: string | undefined, proposeVersion: (os: string, iaas: readonly string[]) => string): BuildAnswers {
  const { defaults } = wizardDefaults(r, identity);
  if (!defaults.iaas) throw missingAnswer('iaas');
  if (!defaults.os) throw missingAnswer('os');
  return { ...defaults, version: defaults.version ?? proposeVersion(defaults.os, defaults.iaas) } as BuildAnswers;
}

/** The answers as flag groups of a build without questions (`--yes` first). */
export function answerFlags(a: BuildAnswers): string[][] {
  const groups = [['--yes'], ['--iaas', a.iaas.join(',')], ['--os', a.os], ['--machine', a.machine], ['--version', a.version], ['--out', a.outputDir]];
  if (a.diskFormat) groups.push(['--disk-format', a.diskFormat]);
  if (a.identity) groups.push(['--identity', a.identity]);
  if (a.machine.startsWith('vagrant')) groups.push(['--cpus', String(a.cpus)], ['--memory', String(a.memory)], ['--disk-size', String(a.diskSize)]);
  if (a.agent.kind === 'file') groups.push(['--agent-file', a.agent.file]);
  if (a.agent.kind === 'url') groups.push(['--agent-url', a.agent.url], ['--agent-sha256', a.agent.sha256]);
  return groups;
}

/** The command that builds the same thing with no questions: the answers, then `extra` (the other flags given). */
export function commandLine(a: BuildAnswers, extra: readonly string[] = []): string {
  return shellJoin(['stemforge', 'build', ...answerFlags(a).flat(), ...extra]);
}

function summarizeAgentAnswer(agent: AgentAnswer): string {
  if (agent.kind === 'file') return `local file ${agent.file}`;
  if (agent.kind === 'url') return `${agent.url} (sha256 ${agent.sha256.slice(0, 12)}…)`;
  return `pinned ${agentPin.name} ${agentPin.version} (sha256 checked)`;
}

export function summary(a: BuildAnswers, extra: readonly string[] = []): string {
  const vm = a.machine.startsWith('vagrant') ? `, ${a.cpus} CPUs, ${a.memory} MiB, ${a.diskSize} GiB` : '';
  return [
    'stemforge will build:',
    `  stemcell version  ${a.version}`,
    `  infrastructure    ${a.iaas.join(', ')}${a.diskFormat ? ` (${a.diskFormat})` : ''}`,
    `  OS line           ${a.os}`,
    `  build machine     ${a.machine}${vm}`,
    `  agent             ${summarizeAgentAnswer(a.agent)}`,
    `  output folder     ${resolve(a.outputDir)}`,
    `  without questions ${commandLine(a, extra)}`,
  ].join('\n');
}
