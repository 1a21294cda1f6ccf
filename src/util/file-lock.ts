// A lock between processes: a file holding the owner's pid, linked into place whole. A lock
// whose owner is gone (or older than staleMs) is broken, so a crash never blocks the next run.
import { closeSync, fstatSync, linkSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { pidAlive } from './pid-alive.js';

export interface LockOptions {
  /** how long to wait for another holder */
  waitMs?: number;
  /** a lock older than this is taken as abandoned even if its pid lives (pids are reused) */
  staleMs?: number;
  /** what the error says holds the lock */
  what?: string;
}

/** a lock this old is abandoned even if its pid lives (pids are reused); callers with short work pass less */
const defaultStaleMs = 6 * 3600_000;

interface LockFile {
  inode: number;
  holder: string;
  held: boolean;
}

/** One lock file read through one descriptor, so that its inode, age and pid belong together; undefined when there is none. */
function readLock(path: string, staleMs: number): LockFile | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const stat = fstatSync(fd);
    const holder = readFileSync(fd, 'utf8').trim();
    return { inode: stat.ino, holder, held: Date.now() - stat.mtimeMs < staleMs && pidAlive(Number(holder)) };
  } finally {
    closeSync(fd);
  }
}

/** Whether a live process holds the lock at `path` now. */
export function lockHeld(path: string, staleMs = defaultStaleMs): boolean {
  return readLock(path, staleMs)?.held ?? false;
}

/**
 * Make the lock file with the pid already inside: written under a private name, then hard-linked
 * into place (link fails on an existing name, atomically). A lock made with O_EXCL and written
 * after would be empty for a moment, and a rival reading it then would take it for abandoned.
 */
function tryCreate(path: string): boolean {
  const own = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  writeFileSync(own, String(process.pid), { mode: 0o600 });
  try {
    linkSync(own, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    rmSync(own, { force: true });
  }
}

/**
 * Remove an abandoned lock, but only the one judged abandoned: it is renamed away first, and if
 * another process replaced it in between (a different inode), it is linked back.
 */
function breakAbandoned(path: string, judged: number): void {
  const aside = `${path}.broken.${process.pid}.${Math.random().toString(36).slice(2)}`;
  try {
    renameSync(path, aside);
  } catch {
    return; // gone already: somebody released or broke it
  }
  try {
    if (statSync(aside).ino !== judged) linkSync(aside, path);
  } catch {
    // a newer lock took the name meanwhile: theirs stands, ours was the abandoned one after all
  } finally {
    rmSync(aside, { force: true });
  }
}

/** Take the lock (waiting for a live holder, breaking an abandoned one); resolves to its release. */
export async function acquireFileLock(path: string, options: LockOptions & { onWait?: (holder: string) => void } = {}): Promise<() => void> {
  const deadline = Date.now() + (options.waitMs ?? 10_000);
  let told = false;
  for (;;) {
    if (tryCreate(path)) return () => rmSync(path, { force: true });
    const lock = readLock(path, options.staleMs ?? defaultStaleMs);
    if (!lock) continue; // released between our try and this read: try again
    if (!lock.held) {
      breakAbandoned(path, lock.inode);
      continue;
    }
    if (Date.now() > deadline) throw new Error(`${options.what ?? 'this'} is locked by another stemforge (pid ${lock.holder}, lock ${path})`);
    if (!told) options.onWait?.(lock.holder);
    told = true;
    await sleep(20 + Math.random() * 30);
  }
}

export async function withFileLock<T>(path: string, run: () => T | Promise<T>, options: LockOptions = {}): Promise<T> {
  const release = await acquireFileLock(path, options);
  try {
    return await run();
  } finally {
    release();
  }
}
