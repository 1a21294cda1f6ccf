// One check per kind of value. The option table uses them for every flag, variable and
// settings-file value; everything else that takes such a value (the wizard, the request
// helpers) calls the same function. `subject` names where the value came from: the flag
// (`--cpus`), or a variable or file with the setting's key (`STEMFORGE_CPUS: cpus`).
import { statSync } from 'node:fs';
import { dirname, posix, resolve } from 'node:path';
import { versionPattern } from '../stemcell/naming.js';
import { UsageError } from '../util/errors.js';

/** Schemes an apt archive may use: the stages and apt read these and nothing more. */
export const archiveSchemes = ['http', 'https', 'ftp', 'file'] as const;
/** Schemes of a download the build machine fetches (the agent). */
export const downloadSchemes = ['http', 'https'] as const;

const schemeList = (schemes: readonly string[]): string =>
  schemes.length === 2 ? schemes.join(' or ') : `${schemes.slice(0, -1).join(', ')} or ${schemes.at(-1)}`;

/** Bounds of a whole number; without `max` any safe integer. */
export interface IntegerRange {
  min: number;
  max?: number;
}

/** A whole number within `range` (at least 1 by default), from a flag's text or a JSON number. */
export function positiveInteger(raw: unknown, subject: string, range: IntegerRange = { min: 1 }): number {
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(n) || n < range.min || n > max) {
    const wanted = range.max === undefined ? (range.min === 1 ? 'above 0' : `of at least ${range.min}`) : `from ${range.min} to ${range.max}`;
    throw new UsageError(`${subject} takes a whole number ${wanted}, not '${String(raw)}'`);
  }
  return n;
}

/** A plain URL of one of `schemes`: nothing a shell or apt would read as more. */
export function checkUrl(value: string, subject: string, schemes: readonly string[] = archiveSchemes): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${subject} '${value}' is not a URL (e.g. ${schemes[0]}://mirror.example/debian)`);
  }
  if (!schemes.includes(url.protocol.replace(/:$/, ''))) throw new UsageError(`${subject} '${value}': the scheme must be ${schemeList(schemes)}`);
  if (/\s/.test(value)) throw new UsageError(`${subject} '${value}' contains white space`);
}

/** A sha256 digest as sha256sum prints it. */
export function checkSha256(value: string, subject: string): void {
  if (!/^[0-9a-f]{64}$/.test(value)) throw new UsageError(`${subject} '${value}' is not 64 lowercase hex digits`);
}

/** Digits a part of a stemcell version may have: the counter adds one to it and compares parts as numbers, exact only well below 2^53. */
export const maxVersionPartDigits = 9;

/** A stemcell version: digits and dots, each part of at most maxVersionPartDigits digits. */
export function checkVersion(value: string, subject: string): void {
  if (!versionPattern.test(value)) throw new UsageError(`${subject} '${value}' is not digits and dots (e.g. 1.622)`);
  const long = value.split('.').find((part) => part.length > maxVersionPartDigits);
  if (long) throw new UsageError(`${subject} '${value}': the part '${long}' is longer than ${maxVersionPartDigits} digits; use smaller numbers (e.g. 1.622)`);
}

/** Folders of the build machine's system: the build removes folders below its root, and its stages write there. */
const systemFolders = new Set([
  '/',
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/home',
  '/lib',
  '/lib32',
  '/lib64',
  '/media',
  '/mnt',
  '/opt',
  '/proc',
  '/root',
  '/run',
  '/sbin',
  '/srv',
  '/sys',
  '/tmp',
  '/usr',
  '/usr/bin',
  '/usr/lib',
  '/usr/local',
  '/usr/sbin',
  '/usr/share',
  '/var',
  '/var/cache',
  '/var/lib',
  '/var/log',
  '/var/tmp',
]);

/** A folder on the build machine: an absolute path, without '..', and not a system folder. */
export function checkAbsolutePath(value: string, subject: string): void {
  if (!value.startsWith('/')) throw new UsageError(`${subject} must be an absolute path on the build machine, not '${value}'`);
  if (value.split('/').includes('..')) throw new UsageError(`${subject} '${value}' has a '..' component; name the folder directly`);
  const folder = posix.normalize(value).replace(/(.)\/+$/, '$1');
  if (systemFolders.has(folder)) {
    throw new UsageError(`${subject} '${value}' is a system folder of the build machine; name a folder of stemforge's own (e.g. /var/lib/stemforge)`);
  }
}

/** What is at `path` locally: a file, a folder, something else, or nothing. */
function kindOf(path: string): 'file' | 'folder' | 'other' | 'missing' {
  try {
    const stat = statSync(path);
    return stat.isFile() ? 'file' : stat.isDirectory() ? 'folder' : 'other';
  } catch {
    return 'missing';
  }
}

/** A local file the build reads: it must exist and be a regular file. `hint` says what the flag wants. */
export function checkInputFile(path: string, subject: string, hint: string): void {
  const kind = kindOf(path);
  if (kind === 'file') return;
  const what = kind === 'missing' ? 'no such file' : kind === 'folder' ? 'is a folder, not a file' : 'is not a regular file';
  throw new UsageError(`${subject} ${path}: ${what}; ${hint}`);
}

/** The nearest existing folder above `path` must be a folder (a file in the way makes mkdir fail later). */
function checkParents(path: string, subject: string): void {
  for (let dir = dirname(resolve(path)); ; dir = dirname(dir)) {
    const kind = kindOf(dir);
    if (kind === 'folder') return;
    if (kind !== 'missing') throw new UsageError(`${subject} ${path}: ${dir} is a file, not a folder; name a path below a folder`);
    if (dirname(dir) === dir) return;
  }
}

/** A local folder the build writes to (made when missing): nothing but a folder may be there. */
export function checkOutputFolder(path: string, subject: string): void {
  const kind = kindOf(path);
  if (kind !== 'folder' && kind !== 'missing') throw new UsageError(`${subject} ${path} is a file, not a folder; name a folder (it is made when missing)`);
  checkParents(path, subject);
}

/** A local file the build writes (replaced when there): not a folder, and below a folder. */
export function checkOutputFile(path: string, subject: string): void {
  if (kindOf(path) === 'folder') throw new UsageError(`${subject} ${path} is a folder; name the file to write (e.g. ${posix.join(path, 'os-image.tgz')})`);
  checkParents(path, subject);
}

/** Where the agent comes from: a file, or a URL with its digest, or (nothing given) the pinned release. */
export type AgentInput = { file: string } | { url: string; sha256: string } | undefined;

/** The rules between --agent-file, --agent-url and --agent-sha256 (each value already checked on its own). */
export function agentInput(given: { file?: string; url?: string; sha256?: string }): AgentInput {
  const { file, url, sha256 } = given;
  if (file && (url || sha256)) throw new UsageError('--agent-file and --agent-url/--agent-sha256 exclude each other');
  if (file) return { file };
  if (url || sha256) {
    if (!url || !sha256) throw new UsageError('--agent-url needs --agent-sha256 (and the other way round): a download is only used when its digest is known');
    return { url, sha256 };
  }
  return undefined;
}

/** For prompts: a check as `true` or the message without its subject. */
export function promptCheck(check: (value: string, subject: string) => unknown): (value: string) => true | string {
  return (value) => {
    try {
      check(value, '');
      return true;
    } catch (err) {
      return (err instanceof Error ? err.message : String(err)).replace(/^[\s:]+/, '');
    }
  };
}
