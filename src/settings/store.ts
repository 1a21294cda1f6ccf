// The user's settings file (conf): defaults per user and the stemcell version counters.
// It lives in the user's config folder (STEMFORGE_CONFIG_DIR moves it), mode 0600, and is
// checked against a schema whenever it is read. A broken file (not JSON, off the schema,
// unreadable, or its folder a file) is named with the exact problem: commands that only read
// settings go on with the built-in ones and a one-line warning, the ones that need the file
// stop, and `stemforge config reset` moves it aside (never deletes it) to recover.
import Conf from 'conf';
import envPaths from 'env-paths';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { versionPattern } from '../stemcell/naming.js';
import { HintedError } from '../util/errors.js';
import { terminalText } from '../util/terminal-text.js';
import { settingsSchema } from './options.js';

export type SettingsStore = Conf;

const reservationSchema = {
  type: 'object',
  properties: {
    key: { type: 'string', pattern: '^[^/]+/[^/]+$' },
    version: { type: 'string', pattern: versionPattern.source },
    pid: { type: 'integer', minimum: 1 },
    host: { type: 'string' },
    at: { type: 'integer', minimum: 0 },
  },
  required: ['key', 'version', 'pid', 'host', 'at'],
  additionalProperties: false,
};

const fileName = 'settings.json';
const resetHint = 'run `stemforge config reset` (it moves the file aside, keeping it, and keeps the version counters it can read), or fix the file by hand';

/** The settings file or its folder cannot be used: the message says which path and what is wrong. */
export class SettingsFileError extends HintedError {
  override name = 'SettingsFileError';
  constructor(
    readonly path: string,
    readonly problem: string,
    hint: string = resetHint,
    /** what the message is about, when it is not the file itself */
    subject = `the settings file ${path}`,
  ) {
    super(terminalText(`${subject} ${problem}`), terminalText(hint));
  }
}

/** The folder of the settings file; read at call time so a test's environment counts. */
function settingsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.STEMFORGE_CONFIG_DIR || envPaths('stemforge', { suffix: '' }).config;
}

/** Where the settings file is, whether or not it exists or can be read. */
export function settingsPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(settingsDir(env), fileName);
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** The first path at or above `dir` that exists but is not a folder, if any. */
function fileInTheWay(dir: string): string | undefined {
  for (let at = dir; ; at = dirname(at)) {
    try {
      return statSync(at).isDirectory() ? undefined : at;
    } catch (err) {
      if (dirname(at) === at || (errnoCode(err) !== 'ENOENT' && errnoCode(err) !== 'ENOTDIR')) return undefined;
    }
  }
}

/** "not valid JSON at line 3, column 7": V8 names a position, people read lines. */
function jsonProblem(text: string, err: unknown): string {
  if (text.trim() === '') return 'is empty, not a JSON object';
  const message = err instanceof Error ? err.message : String(err);
  const at = /at position (\d+)/.exec(message);
  const position = at ? Number(at[1]) : text.length;
  const before = text.slice(0, position).split('\n');
  const where = `line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
  return at && position < text.length ? `is not valid JSON at ${where}` : `is not valid JSON: it ends early, at ${where}`;
}

/** What is wrong with the settings folder or file as it is on disk (not the schema), or undefined. Reads only. */
function diskFault(env: NodeJS.ProcessEnv): SettingsFileError | undefined {
  const dir = settingsDir(env);
  const path = join(dir, fileName);
  const file = fileInTheWay(dir);
  if (file) {
    return file === dir
      ? new SettingsFileError(
          path,
          'is a file, not a folder',
          'run `stemforge config reset` (it moves that file aside), or move it away yourself, or set STEMFORGE_CONFIG_DIR to another folder',
          `the settings folder ${dir}`,
        )
      : new SettingsFileError(
          path,
          `cannot be made: ${file} is a file, not a folder`,
          `move ${file} away, or set STEMFORGE_CONFIG_DIR to another folder`,
          `the settings folder ${dir}`,
        );
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return undefined;
    if (code === 'EACCES' || code === 'EPERM') {
      return new SettingsFileError(path, 'cannot be read: permission denied', `make it readable for this user (chown, chmod 600), or ${resetHint}`);
    }
    if (code === 'EISDIR') return new SettingsFileError(path, 'is a folder, not a file');
    return new SettingsFileError(path, `cannot be read: ${code ?? String(err)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return new SettingsFileError(path, jsonProblem(text, err));
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return new SettingsFileError(path, 'is JSON, but not a JSON object');
  return undefined;
}

function makeDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    const problem = errnoCode(err) === 'EACCES' ? 'permission denied' : (errnoCode(err) ?? String(err));
    throw new SettingsFileError(
      join(dir, fileName),
      `cannot be made: ${problem}`,
      'set STEMFORGE_CONFIG_DIR to a folder you can write',
      `the settings folder ${dir}`,
    );
  }
}

/** The settings file, checked; throws SettingsFileError naming the problem and `config reset`. */
export function openSettings(env: NodeJS.ProcessEnv = process.env): SettingsStore {
  const fault = diskFault(env);
  if (fault) throw fault;
  const dir = settingsDir(env);
  makeDir(dir);
  let store: SettingsStore;
  try {
    store = new Conf<Record<string, unknown>>({
      projectName: 'stemforge',
      projectSuffix: '',
      cwd: dir,
      configName: 'settings',
      configFileMode: 0o600,
      schema: {
        ...settingsSchema(),
        // "<os>/<iaas>" → the last version built
        versions: { type: 'object', additionalProperties: { type: 'string', pattern: versionPattern.source } },
        // versions of builds under way (src/settings/versions.ts)
        reservations: { type: 'array', items: reservationSchema },
      } as never,
      rootSchema: { additionalProperties: false },
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // the file changed between the check and conf's read, or does not fit the schema
    const schema = /^Config schema violation: (.*)$/s.exec(message)?.[1];
    throw new SettingsFileError(join(dir, fileName), schema ? `does not fit the settings: ${terminalText(schema)}` : `is not valid: ${terminalText(message)}`);
  }
  // conf applies the mode when it writes; a file made by hand or by an older stemforge may be wider.
  // Best effort: a readable file of another user cannot be narrowed, and need not stop a read.
  try {
    if (existsSync(store.path)) chmodSync(store.path, 0o600);
  } catch {
    // left as it is
  }
  return store;
}

let warned = false;

/**
 * The stored settings for a command that can run without them: a broken file is reported in
 * one line on stderr (once per process) and the built-in settings apply.
 */
export function readUserSettings(env: NodeJS.ProcessEnv = process.env): { path: string; values: Record<string, unknown> } {
  const path = settingsPath(env);
  // no file is no settings: nothing to warn about, and no folder made for a run that writes none
  if (!existsSync(path) && !diskFault(env)) return { path, values: {} };
  try {
    return { path, values: { ...openSettings(env).store } };
  } catch (err) {
    if (!(err instanceof SettingsFileError)) throw err;
    if (!warned) process.stderr.write(`stemforge: warning: ${err.message}; this run uses the built-in settings (to repair it: stemforge config reset)\n`);
    warned = true;
    return { path, values: {} };
  }
}

/** "2026-12-06T07:15:00.123Z" → "20261206T071500Z": sorts by time, no colons in a file name. */
function stamp(now: Date): string {
  return now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/** A name beside `path` that is not taken yet. */
function asideName(path: string, tag: string, now: Date): string {
  const base = `${path}.${tag}-${stamp(now)}`;
  let name = base;
  for (let n = 2; existsSync(name); n++) name = `${base}-${n}`;
  return name;
}

/** The version counters a moved-aside file still holds in a readable form. */
function readableCounters(path: string): Record<string, string> {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as { versions?: unknown };
    const versions = value.versions;
    if (typeof versions !== 'object' || versions === null) return {};
    return Object.fromEntries(
      Object.entries(versions).filter((e): e is [string, string] => /^[^/]+\/[^/]+$/.test(e[0]) && typeof e[1] === 'string' && versionPattern.test(e[1])),
    );
  } catch {
    return {};
  }
}

export interface ResetResult {
  path: string;
  /** where the old file (or the file in the folder's place) went; undefined when there was none */
  movedTo?: string;
  broken: boolean;
  /** a file stood where the settings folder should be */
  folderWasFile: boolean;
  /** version counters carried into the new file */
  keptCounters: number;
}

/** Move the settings file (or a file standing where its folder should be) aside; never deletes. */
export function resetSettings(env: NodeJS.ProcessEnv = process.env, now: Date = new Date()): ResetResult {
  const dir = settingsDir(env);
  const path = join(dir, fileName);
  const fault = diskFault(env);
  const inTheWay = fileInTheWay(dir);
  // a file further up is not ours to move: the fault says which one to move
  if (inTheWay !== undefined && inTheWay !== dir && fault) throw fault;
  const folderIsFile = inTheWay === dir;
  const target = folderIsFile ? dir : path;
  if (!existsSync(target)) return { path, broken: false, folderWasFile: false, keptCounters: 0 };
  let broken = fault !== undefined;
  if (!broken) {
    try {
      openSettings(env);
    } catch {
      broken = true;
    }
  }
  const movedTo = asideName(target, broken ? 'broken' : 'old', now);
  renameSync(target, movedTo);
  const counters = folderIsFile ? {} : readableCounters(movedTo);
  if (Object.keys(counters).length > 0) openSettings(env).set('versions', counters);
  return { path, movedTo, broken, folderWasFile: folderIsFile, keptCounters: Object.keys(counters).length };
}
