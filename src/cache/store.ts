// The local artifact cache: blobs stored by their sha256, and an index entry per artifact
// named by its input key (the sha256 of the canonical manifest of what went into it).
// A blob is written to tmp/ while it is hashed, fsynced and renamed into blobs/; only then is
// its entry written (temp file, fsync, rename). A reader therefore never sees a partial
// entry, and a crash leaves at worst a temp file or an unreferenced blob, which verify removes.
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, readdirSync } from 'node:fs';
import { chmod, link, mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { acquireFileLock, lockHeld, withFileLock } from '../util/file-lock.js';
import { pidAlive } from '../util/pid-alive.js';
import { cacheFolderFault } from './folder.js';
import { HashingStream, sha256File } from '../util/stream-hash.js';

export type ArtifactKind = 'os-image' | 'stemcell';

export interface CacheEntry {
  schema: 1;
  /** the input key: sha256 of the canonical manifest */
  key: string;
  kind: ArtifactKind;
  /** the file name the artifact is handed out under */
  name: string;
  /** e.g. "debian-bookworm" or "debian-bookworm aws raw 0.3" */
  label: string;
  digest: string;
  size: number;
  createdAt: string;
  lastUsedAt: string;
  pinned: boolean;
  /** the inputs, as hashed into the key */
  manifest: Record<string, unknown>;
}

export interface VerifyReport {
  entries: number;
  corrupt: { key: string; reason: string }[];
  orphanBlobs: string[];
  tempFiles: string[];
  reclaimedBytes: number;
}

const hex64 = /^[0-9a-f]{64}$/;

async function fsyncPath(path: string, flags = 'r'): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class ArtifactCache {
  readonly blobsDir: string;
  readonly indexDir: string;
  readonly tmpDir: string;
  readonly locksDir: string;

  constructor(readonly dir: string) {
    this.blobsDir = join(dir, 'blobs', 'sha256');
    this.indexDir = join(dir, 'index');
    this.tmpDir = join(dir, 'tmp');
    this.locksDir = join(dir, 'locks');
  }

  /** Throws a CacheFolderError (path, problem, fix) when the folder cannot be used. */
  async checkFolder(): Promise<void> {
    const fault = cacheFolderFault(this.dir);
    if (fault) throw fault;
  }

  private async ensure(): Promise<void> {
    await this.checkFolder();
    for (const d of [this.blobsDir, this.indexDir, this.tmpDir, this.locksDir]) await mkdir(d, { recursive: true, mode: 0o700 });
  }

  blobPath(digest: string): string {
    if (!hex64.test(digest)) throw new Error(`not a sha256: ${digest}`);
    return join(this.blobsDir, digest.slice(0, 2), digest.slice(2));
  }

  private entryPath(key: string): string {
    if (!hex64.test(key)) throw new Error(`not a cache key: ${key}`);
    return join(this.indexDir, `${key}.json`);
  }

  /** A temp name that says whose it is: verify removes only those of processes that are gone. */
  private tempPath(): string {
    return join(this.tmpDir, `${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  /** One build of a key at a time (across processes). */
  async withKeyLock<T>(key: string, run: () => Promise<T>, waitMs = 6 * 3600_000): Promise<T> {
    await this.ensure();
    return withFileLock(join(this.locksDir, `${key}.lock`), run, { waitMs, what: `cache entry ${key.slice(0, 12)}` });
  }

  /** Hold a key's lock until the returned release is called; onWait hears once that another process holds it. */
  async lockKey(key: string, onWait?: (pid: string) => void, waitMs = 6 * 3600_000): Promise<() => void> {
    await this.ensure();
    return acquireFileLock(join(this.locksDir, `${key}.lock`), { waitMs, what: `cache entry ${key.slice(0, 12)}`, onWait });
  }

  /** Stream into a blob: hashed while written, fsynced, renamed into place. Resolves to its digest and size. */
  async putBlob(source: Readable, expectedDigest?: string): Promise<{ digest: string; size: number }> {
    await this.ensure();
    const tmp = this.tempPath();
    const hashing = new HashingStream();
    try {
      await pipeline(source, hashing, createWriteStream(tmp, { flags: 'wx', mode: 0o600 }));
      const digest = hashing.digest();
      const size = hashing.bytes;
      if (expectedDigest && digest !== expectedDigest) throw new Error(`blob arrived damaged: sha256 ${digest}, expected ${expectedDigest}`);
      await fsyncPath(tmp);
      await this.settle(tmp, digest, size);
      return { digest, size };
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  /** Make a finished temp file the blob of `digest` (read-only, renamed into place), or drop it when that blob is there already. */
  private async settle(tmp: string, digest: string, size: number): Promise<void> {
    const target = this.blobPath(digest);
    if (
      await stat(target).then(
        (t) => t.size === size,
        () => false,
      )
    ) {
      await rm(tmp, { force: true });
      return;
    }
    await mkdir(join(this.blobsDir, digest.slice(0, 2)), { recursive: true, mode: 0o700 });
    await chmod(tmp, 0o444);
    await rename(tmp, target);
    await fsyncPath(join(this.blobsDir, digest.slice(0, 2)));
  }

  private async writeEntry(entry: CacheEntry): Promise<void> {
    const tmp = this.tempPath();
    const handle = await open(tmp, 'wx', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(entry, null, 2)}\n`);
      await handle.sync();
    } catch (err) {
      // a full disk: no half-written entry stays behind in tmp/
      await handle.close();
      await rm(tmp, { force: true });
      throw err;
    }
    await handle.close();
    await rename(tmp, this.entryPath(entry.key));
    await fsyncPath(this.indexDir);
  }

  /**
   * A file whose sha256 is known already (it was hashed as it arrived) becomes a blob by a
   * hard link when it is on the cache's file system: no second read. The file turns
   * read-only with it. Resolves to false when a link is not possible (another file system).
   */
  private async linkBlob(path: string, digest: string): Promise<{ digest: string; size: number } | false> {
    await this.ensure();
    const tmp = this.tempPath();
    try {
      await link(path, tmp);
    } catch {
      return false;
    }
    try {
      const size = (await stat(tmp)).size;
      await this.settle(tmp, digest, size);
      return { digest, size };
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  /** Store a file under an input key; with `knownDigest` (the file was hashed as it arrived) a hard link replaces the copy where it can. */
  async putFile(path: string, meta: Pick<CacheEntry, 'key' | 'kind' | 'name' | 'label' | 'manifest'>, knownDigest?: string): Promise<CacheEntry> {
    const linked = knownDigest ? await this.linkBlob(path, knownDigest) : false;
    const { digest, size } = linked || (await this.putBlob(createReadStream(path), knownDigest));
    const now = new Date().toISOString();
    const previous = await this.read(meta.key);
    const entry: CacheEntry = { schema: 1, ...meta, digest, size, createdAt: now, lastUsedAt: now, pinned: previous?.pinned ?? false };
    await this.writeEntry(entry);
    return entry;
  }

  /** An entry as stored, or undefined (missing or unreadable). */
  async read(key: string): Promise<CacheEntry | undefined> {
    try {
      const entry = JSON.parse(await readFile(this.entryPath(key), 'utf8')) as CacheEntry;
      return entry.schema === 1 && entry.key === key && hex64.test(entry.digest) ? entry : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * The entry for a key whose blob is there and, when asked, still has its digest. A damaged
   * blob drops the entry (so the caller rebuilds) and is reported. A hit counts as a use.
   */
  async lookup(key: string, options: { verify?: boolean } = {}): Promise<{ entry?: CacheEntry; dropped?: string }> {
    const entry = await this.read(key);
    if (!entry) return {};
    const blob = this.blobPath(entry.digest);
    const size = await stat(blob).then(
      (s) => s.size,
      () => -1,
    );
    let problem = size === -1 ? 'its blob is missing' : size !== entry.size ? `its blob has ${size} bytes, not ${entry.size}` : undefined;
    if (!problem && options.verify) {
      const digest = await sha256File(blob);
      if (digest !== entry.digest) problem = `its blob's sha256 is ${digest}, not ${entry.digest}`;
    }
    if (problem) {
      await this.remove(entry, true);
      return { dropped: problem };
    }
    const used = { ...entry, lastUsedAt: new Date().toISOString() };
    await this.writeEntry(used);
    return { entry: used };
  }

  async list(): Promise<CacheEntry[]> {
    // a folder that is a file or unreadable is a fault to report, not an empty cache
    await this.checkFolder();
    if (!existsSync(this.indexDir)) return [];
    const names = (await readdir(this.indexDir)).filter((n) => /^[0-9a-f]{64}\.json$/.test(n));
    const entries = await Promise.all(names.map((n) => this.read(n.slice(0, 64))));
    return entries.filter((e): e is CacheEntry => e !== undefined).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** Entries whose key or digest starts with `prefix` (at least 6 hex digits), or whose name or label is `prefix`. */
  async find(selector: string): Promise<CacheEntry[]> {
    const all = await this.list();
    if (/^[0-9a-f]{6,64}$/.test(selector)) return all.filter((e) => e.key.startsWith(selector) || e.digest.startsWith(selector));
    return all.filter((e) => e.name === selector || e.label === selector);
  }

  async setPinned(entry: CacheEntry, pinned: boolean): Promise<void> {
    await this.writeEntry({ ...entry, pinned });
  }

  /** Drop an entry, and its blob when no other entry uses it. */
  async remove(entry: CacheEntry, blobToo = true): Promise<number> {
    await rm(this.entryPath(entry.key), { force: true });
    if (!blobToo) return 0;
    const others = (await this.list()).some((e) => e.digest === entry.digest);
    if (others) return 0;
    const blob = this.blobPath(entry.digest);
    const size = await stat(blob).then(
      (s) => s.size,
      () => 0,
    );
    await rm(blob, { force: true });
    return size;
  }

  /** Re-hash every blob; drop entries that are unreadable or whose blob is missing or damaged; remove unreferenced blobs and dead writers' temp files. */
  async verify(): Promise<VerifyReport> {
    await this.ensure();
    const report: VerifyReport = { entries: 0, corrupt: [], orphanBlobs: [], tempFiles: [], reclaimedBytes: 0 };
    const writing = readdirSync(this.locksDir).some((n) => lockHeld(join(this.locksDir, n)));
    const referenced = new Set<string>();
    for (const name of await readdir(this.indexDir)) {
      const path = join(this.indexDir, name);
      const key = name.replace(/\.json$/, '');
      const entry = hex64.test(key) && name.endsWith('.json') ? await this.read(key) : undefined;
      if (!entry) {
        report.corrupt.push({ key: name, reason: 'unreadable index entry' });
        await rm(path, { force: true });
        continue;
      }
      const blob = this.blobPath(entry.digest);
      const digest = await sha256File(blob).catch(() => undefined);
      if (digest !== entry.digest) {
        report.corrupt.push({ key: entry.key, reason: digest ? `blob sha256 ${digest}, expected ${entry.digest}` : 'blob missing' });
        await rm(path, { force: true });
        continue;
      }
      report.entries += 1;
      referenced.add(entry.digest);
    }
    // a live writer may have a blob in place whose entry is not written yet: leave blobs alone then
    if (!writing) {
      for (const prefix of await readdir(this.blobsDir)) {
        for (const rest of await readdir(join(this.blobsDir, prefix))) {
          const digest = prefix + rest;
          if (referenced.has(digest)) continue;
          const path = join(this.blobsDir, prefix, rest);
          report.reclaimedBytes += await stat(path).then(
            (s) => s.size,
            () => 0,
          );
          report.orphanBlobs.push(digest);
          await rm(path, { force: true });
        }
      }
    }
    for (const name of await readdir(this.tmpDir)) {
      const pid = Number(name.split('-')[0]);
      if (pidAlive(pid) && pid !== process.pid) continue;
      const path = join(this.tmpDir, name);
      report.reclaimedBytes += await stat(path).then(
        (s) => s.size,
        () => 0,
      );
      report.tempFiles.push(name);
      await rm(path, { recursive: true, force: true });
    }
    return report;
  }

  /** Remove unpinned entries older than maxAgeDays, then the least recently used until the total fits maxBytes. */
  async prune(options: {
    maxBytes?: number;
    maxAgeDays?: number;
    dryRun?: boolean;
  }): Promise<{ removed: CacheEntry[]; freedBytes: number; keptBytes: number }> {
    const entries = (await this.list()).sort((a, b) => a.lastUsedAt.localeCompare(b.lastUsedAt));
    const removed: CacheEntry[] = [];
    const now = Date.now();
    const size = (list: CacheEntry[]): number => [...new Map(list.map((e) => [e.digest, e.size])).values()].reduce((a, b) => a + b, 0);
    let kept = [...entries];
    for (const e of entries) {
      if (e.pinned) continue;
      const old = options.maxAgeDays !== undefined && now - Date.parse(e.lastUsedAt) > options.maxAgeDays * 86_400_000;
      const tooBig = options.maxBytes !== undefined && size(kept) > options.maxBytes;
      if (old || tooBig) {
        removed.push(e);
        kept = kept.filter((k) => k !== e);
      }
    }
    const freedBytes = size(entries) - size(kept);
    if (!options.dryRun) for (const e of removed) await this.remove(e);
    return { removed, freedBytes, keptBytes: size(kept) };
  }

  /** Write an entry that came with its blob (import): the blob must be there with the entry's digest. */
  async adopt(entry: CacheEntry): Promise<void> {
    const blob = this.blobPath(entry.digest);
    const size = await stat(blob).then(
      (s) => s.size,
      () => -1,
    );
    if (size !== entry.size) throw new Error(`entry ${entry.key.slice(0, 12)}: its blob ${entry.digest.slice(0, 12)} is not in the cache`);
    await this.writeEntry(entry);
  }
}
