// One check per kind of value. The option table uses them for every flag, variable and
// settings-file value; everything else that takes such a value (the wizard, the request
// helpers) calls the same function. `subject` names where the value came from: the flag
// (`--cpus`), or a variable or file with the setting's key (`STEMFORGE_CPUS: cpus`).
import { versionPattern } from '../stemcell/naming.js';
import { UsageError } from '../util/errors.js';

/** Schemes an apt archive may use: the stages and apt read these and nothing more. */
export const archiveSchemes = ['http', 'https', 'ftp', 'file'] as const;
/** Schemes of a download the build machine fetches (the agent). */
export const downloadSchemes = ['http', 'https'] as const;

const schemeList = (schemes: readonly string[]): string =>
  schemes.length === 2 ? schemes.join(' or ') : `${schemes.slice(0, -1).join(', ')} or ${schemes.at(-1)}`;

/** A whole number above 0, from a flag's text or a JSON number. */
export function positiveInteger(raw: unknown, subject: string): number {
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${subject} takes a whole number above 0, not '${String(raw)}'`);
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

/** A stemcell version: digits and dots. */
export function checkVersion(value: string, subject: string): void {
  if (!versionPattern.test(value)) throw new UsageError(`${subject} '${value}' is not digits and dots (e.g. 1.622)`);
}

/** A folder on the build machine: an absolute path. */
export function checkAbsolutePath(value: string, subject: string): void {
  if (!value.startsWith('/')) throw new UsageError(`${subject} must be an absolute path on the build machine, not '${value}'`);
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
