// Is a folder usable as the artifact cache? Every fault is named with its path, what is wrong
// and what to do, instead of a raw ENOTDIR or EACCES from deep inside a cache operation.
// synchronous: a few stats, and a caller such as the doctor sees no extra turn of the event loop
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { HintedError } from '../util/errors.js';
import { terminalText } from '../util/terminal-text.js';

/** A cache folder that cannot be used as it is. Exit code 1: the cache is broken, not the command line. */
export class CacheFolderError extends HintedError {
  override name = 'CacheFolderError';
  constructor(message: string, hint: string, options?: { cause?: unknown }) {
    // the folder may come from the settings file, and a path inside it is a name we did not choose
    super(terminalText(message), terminalText(hint), options);
  }
}

const elsewhere = 'or choose another folder with --cache-dir DIR (or STEMFORGE_CACHE_DIR, or `stemforge config set cacheDir DIR`)';
/** the folders the cache keeps below its own */
const parts = ['blobs', join('blobs', 'sha256'), 'index', 'tmp', 'locks'];

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function kind(path: string): 'folder' | 'other' | 'missing' | 'through-file' | 'denied' {
  try {
    return statSync(path).isDirectory() ? 'folder' : 'other';
  } catch (err) {
    return code(err) === 'ENOENT' ? 'missing' : code(err) === 'ENOTDIR' ? 'through-file' : code(err) === 'EACCES' ? 'denied' : 'other';
  }
}

function usable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK | constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The nearest folder above `path` that exists, or the file that stands where a folder should be. */
function nearestExisting(path: string): { path: string; folder: boolean } {
  let at = resolve(path);
  for (;;) {
    const parent = dirname(at);
    const k = kind(at);
    if (k === 'folder') return { path: at, folder: true };
    if (k === 'other') return { path: at, folder: false };
    if (parent === at) return { path: at, folder: true };
    at = parent;
  }
}

function missingFolderFault(dir: string): CacheFolderError | undefined {
  const above = nearestExisting(dir);
  if (!above.folder) {
    return new CacheFolderError(`the cache folder ${dir} cannot be made: ${above.path} is a file, not a folder`, `move that file away, ${elsewhere}`);
  }
  if (!usable(above.path)) {
    return new CacheFolderError(`the cache folder ${dir} cannot be made: ${above.path} is not writable for this user`, `make ${dir} yourself, ${elsewhere}`);
  }
  return undefined;
}

function folderFault(path: string, dir: string): CacheFolderError | undefined {
  const what = path === dir ? `the cache folder ${dir}` : `${path} in the cache folder ${dir}`;
  const k = kind(path);
  if (k === 'other') return new CacheFolderError(`${what} is a file, not a folder`, `move it away (stemforge makes the folder again), ${elsewhere}`);
  if (k === 'denied' || (k === 'folder' && !usable(path))) {
    return new CacheFolderError(
      `cannot use ${what}: permission denied (it needs read, write and search access)`,
      `make it this user's (chown, chmod u+rwx), ${elsewhere}`,
    );
  }
  return undefined;
}

/** What is wrong with `dir` as the cache folder, or undefined when it is one or can be made. */
export function cacheFolderFault(dir: string): CacheFolderError | undefined {
  const k = kind(dir);
  if (k === 'missing' || k === 'through-file') return missingFolderFault(dir);
  const top = folderFault(dir, dir);
  if (top) return top;
  for (const part of parts) {
    const fault = folderFault(join(dir, part), dir);
    if (fault) return fault;
  }
  return undefined;
}

/** A file-system error met inside the cache folder, said as a cache fault; other errors as they are. */
export function explainCacheError(err: unknown, dir: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (!(err instanceof Error) || typeof e.code !== 'string' || typeof e.path !== 'string') return err;
  if (!resolve(e.path).startsWith(resolve(dir))) return err;
  const problem =
    e.code === 'ENOTDIR' ? 'a file stands where a folder should be' : e.code === 'EACCES' || e.code === 'EPERM' ? 'permission denied' : `${e.code}`;
  return new CacheFolderError(
    `cannot use the cache folder ${dir}: ${e.path}: ${problem}`,
    `run \`stemforge cache verify\`; if it fails the same way, move ${dir} away, ${elsewhere}`,
    {
      cause: err,
    },
  );
}
