// A lock between processes: a file made with O_EXCL holding the owner's pid. A lock whose
// owner is gone (or older than staleMs) is broken, so a crash never blocks the next run.
import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

function ownerAlive(path: string): boolean {
  const pid = Number(readFileSync(path, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface LockOptions {
  /** how long to wait for another holder */
  waitMs?: number;
  /** a lock older than this is taken as abandoned even if its pid lives (pids are reused) */
  staleMs?: number;
  /** what the error says holds the lock */
  what?: string;
}

/** Whether a live process holds the lock at `path` now. */
export function lockHeld(path: string, staleMs = 6 * 3600_000): boolean {
  try {
    const age = Date.now() - statSync(path).mtimeMs;
    return age < staleMs && ownerAlive(path);
  } catch {
    return false;
  }
}

/** Take the lock (waiting for a live holder, breaking an abandoned one); resolves to its release. */
export async function acquireFileLock(path: string, options: LockOptions & { onWait?: (holder: string) => void } = {}): Promise<() => void> {
  const deadline = Date.now() + (options.waitMs ?? 10_000);
  let told = false;
  for (;;) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!lockHeld(path, options.staleMs)) {
        rmSync(path, { force: true });
        continue;
      }
      let holder: string;
      try {
        holder = readFileSync(path, 'utf8').trim();
      } catch {
        continue; // released between our try and this read: try again
      }
      if (Date.now() > deadline) throw new Error(`${options.what ?? 'this'} is locked by another stemforge (pid ${holder}, lock ${path})`);
      if (!told) options.onWait?.(holder);
      told = true;
      await sleep(20 + Math.random() * 30);
    }
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
