// Helpers that turn the process's flags and environment into parts of a request.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { shellJoin } from '../machine/quote.js';
import type { MonitSource } from '../pipeline/settings-file.js';
import type { CommandSettings } from '../settings/sources.js';
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

/** The command line that resumes this run at `stage`: the same flags, --resume-from replaced. */
export function resumeCommand(argv: readonly string[], stage: string): string {
  const args = argv.slice(2);
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--resume-from') {
      i++;
      continue;
    }
    if (arg.startsWith('--resume-from=') || arg === '--dry-run') continue;
    kept.push(arg);
  }
  return shellJoin(['stemforge', ...kept, '--resume-from', stage]);
}

/** --monit-file (or STEMFORGE_MONIT_FILE): a local monit source tarball with its digest; absent = the pinned download. */
export function monitSource(file: string | undefined): MonitSource | undefined {
  if (!file) return undefined;
  let data: Buffer;
  try {
    if (!statSync(file).isFile()) throw new Error('not a file');
    data = readFileSync(file);
  } catch {
    throw new UsageError(`--monit-file ${file}: no such file (a monit source tarball, e.g. monit-5.2.5.tar.gz)`);
  }
  return { file: resolve(file), sha256: createHash('sha256').update(data).digest('hex') };
}
