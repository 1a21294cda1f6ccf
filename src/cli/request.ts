// Helpers that turn the process's flags and environment into parts of a request.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { shellJoin } from '../machine/quote.js';
import type { MonitSource } from '../pipeline/settings-file.js';
import { optionSpecs } from '../settings/options.js';
import type { CommandSettings } from '../settings/sources.js';
import { checkInputFile } from '../settings/validate.js';
import { UsageError } from '../util/errors.js';

export interface ArchiveSettings {
  mirror?: string;
  securityMirror?: string;
  snapshotMirror?: string;
}

/** --mirror, --security-mirror, --snapshot-mirror (checked by the option table as URLs). */
export function archiveSettings(settings: CommandSettings): ArchiveSettings {
  return { mirror: settings.string('mirror'), securityMirror: settings.string('securityMirror'), snapshotMirror: settings.string('snapshotMirror') };
}

/** The help of --no-wait, on every command that builds. */
export const noWaitHelp = 'when another build holds the build root, refuse at once (exit 1) instead of waiting for it';

/** The help of --ignore-space, on every command that builds. */
export const ignoreSpaceHelp = 'build even when the free space looks short of the estimate (it is only reported)';

const buildTimePattern = /^\d{8}T\d{6}Z$/;

/** BUILD_TIME from the environment, checked: the apt snapshot's date. */
export function buildTimeFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  const buildTime = env.BUILD_TIME || undefined;
  if (buildTime && !buildTimePattern.test(buildTime)) {
    throw new UsageError(`BUILD_TIME '${buildTime}' is not of the form YYYYMMDDTHHMMSSZ (e.g. 20241023T185803Z)`);
  }
  return buildTime;
}

const proxyNames = ['http_proxy', 'https_proxy', 'no_proxy'] as const;

/** The proxy variables (either case) — the only host variables that reach the stages. */
export function proxyEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of proxyNames) {
    const value = env[name] ?? env[name.toUpperCase()];
    if (value) out[name] = value;
  }
  return out;
}

/** The flags that take a value: every setting's, and the commands' own. */
const valueFlags = new Set([...optionSpecs.map((s) => s.flag), '--os-image', '--resume-from', '--until']);

/** The flags of `args` (after the command's name), each with its value when it takes one. */
function flagGroups(args: readonly string[]): string[][] {
  const groups: string[][] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const takesValue = valueFlags.has(arg) && i + 1 < args.length;
    groups.push(takesValue ? [arg, args[++i]!] : [arg]);
  }
  return groups;
}

/** A flag's long name: `--out=x` → `--out`, `-y` → `--yes`. */
function flagName(group: readonly string[]): string {
  const name = group[0]!.split('=')[0]!;
  return shortFlags[name] ?? name;
}
const shortFlags: Readonly<Record<string, string>> = { '-y': '--yes', '-v': '--verbose' };

/** The flags of the command line in `argv` (node, script, command, flags…), flattened in their order, but those `answers` give and those in `drop`. */
export function givenFlags(argv: readonly string[], options: { answers?: readonly (readonly string[])[]; drop?: readonly string[] }): string[] {
  const skip = new Set([...(options.answers ?? []).map(flagName), ...(options.drop ?? [])]);
  return flagGroups(argv.slice(3))
    .filter((g) => !skip.has(flagName(g)))
    .flat();
}

/**
 * The command line that resumes this run at `stage`: `answers` (flag groups, e.g. what the
 * wizard asked), then every other flag of the failed command but --resume-from and
 * --dry-run, quoted for a shell.
 */
export function resumeCommand(argv: readonly string[], stage: string, answers: readonly (readonly string[])[] = []): string {
  const command = argv[2];
  const kept = givenFlags(argv, { answers, drop: ['--resume-from', '--dry-run'] });
  return shellJoin(['stemforge', ...(command ? [command] : []), ...answers.flat(), ...kept, '--resume-from', stage]);
}

/** --monit-file (or STEMFORGE_MONIT_FILE): a local monit source tarball with its digest; absent = the pinned download. */
export function monitSource(file: string | undefined): MonitSource | undefined {
  if (!file) return undefined;
  checkInputFile(file, '--monit-file', 'name a monit source tarball (e.g. monit-5.2.5.tar.gz)');
  return { file: resolve(file), sha256: createHash('sha256').update(readFileSync(file)).digest('hex') };
}
