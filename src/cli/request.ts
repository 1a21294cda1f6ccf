// Helpers that turn the process's flags and environment into parts of a request.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { shellJoin } from '../machine/quote.js';
import type { MonitSource } from '../pipeline/settings-file.js';
import { UsageError } from '../util/errors.js';

export interface ArchiveFlags {
  mirror?: string;
  securityMirror?: string;
  snapshotMirror?: string;
}

/** Archive URLs reach the stages and apt: only plain http(s)/ftp/file URLs, nothing a shell or apt would read as more. */
function checkArchiveUrl(flag: string, value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${flag} '${value}' is not a URL (e.g. http://mirror.example/debian)`);
  }
  if (!['http:', 'https:', 'ftp:', 'file:'].includes(url.protocol)) {
    throw new UsageError(`${flag} '${value}': the scheme must be http, https, ftp or file`);
  }
  if (/\s/.test(value)) throw new UsageError(`${flag} '${value}' contains white space`);
}

/** --mirror, --security-mirror, --snapshot-mirror, checked. */
export function archiveFlags(flags: ArchiveFlags): ArchiveFlags {
  for (const [flag, url] of [
    ['--mirror', flags.mirror],
    ['--security-mirror', flags.securityMirror],
    ['--snapshot-mirror', flags.snapshotMirror],
  ] as const) {
    if (url !== undefined) checkArchiveUrl(flag, url);
  }
  return { mirror: flags.mirror, securityMirror: flags.securityMirror, snapshotMirror: flags.snapshotMirror };
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

/** --build-root and --package-cache name folders on the build machine: absolute paths only. */
export function checkBuildMachineDirs(flags: { buildRoot: string; packageCache: string }): void {
  for (const [flag, dir] of [
    ['--build-root', flags.buildRoot],
    ['--package-cache', flags.packageCache],
  ] as const) {
    if (!dir.startsWith('/')) throw new UsageError(`${flag} must be an absolute path on the build machine, not '${dir}'`);
  }
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
