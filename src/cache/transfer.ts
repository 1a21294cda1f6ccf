// Hand cached artifacts to a teammate: a tar of `entries/<key>.json` and `blobs/<digest>`.
// Import checks every blob against its name while it streams in, refuses any other path
// (nothing can land outside the cache), and writes an entry only once its blob is in.
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import type { ArtifactCache, CacheEntry } from './store.js';

const entryName = /^entries\/([0-9a-f]{64})\.json$/;
const blobName = /^blobs\/([0-9a-f]{64})$/;
/** an entry file is small; anything larger is not one of ours */
const maxEntryBytes = 1024 * 1024;

export async function exportEntries(cache: ArtifactCache, entries: readonly CacheEntry[], out: string): Promise<void> {
  // a folder of the entry files and hard links to the blobs (same file system as the cache), packed as it is
  const staging = join(cache.tmpDir, `${process.pid}-export-${randomBytes(4).toString('hex')}`);
  const part = join(dirname(out), `.${basename(out)}.part`);
  try {
    await mkdir(join(staging, 'entries'), { recursive: true });
    await mkdir(join(staging, 'blobs'), { recursive: true });
    for (const e of entries) {
      await writeFile(join(staging, 'entries', `${e.key}.json`), `${JSON.stringify({ ...e, pinned: false }, null, 2)}\n`);
      await link(cache.blobPath(e.digest), join(staging, 'blobs', e.digest)).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      });
    }
    await tar.c({ cwd: staging, file: part, portable: true, noDirRecurse: false }, ['entries', 'blobs']);
    await rename(part, out);
  } finally {
    await rm(staging, { recursive: true, force: true });
    await rm(part, { force: true });
  }
}

export interface ImportReport {
  imported: CacheEntry[];
  blobs: number;
}

export async function importEntries(cache: ArtifactCache, file: string): Promise<ImportReport> {
  const entries: CacheEntry[] = [];
  const blobs = new Set<string>();
  const pending: Promise<void>[] = [];
  const parser = new tar.Parser({
    strict: true,
    onReadEntry: (entry) => {
      const path = entry.path;
      if (entry.type !== 'File') {
        if (entry.type === 'Directory' && (path === 'entries/' || path === 'blobs/')) return entry.resume();
        parser.abort(new Error(`${file}: refusing ${entry.type} entry '${path}': only entries/ and blobs/ files belong in a cache export`));
        return;
      }
      const blob = blobName.exec(path)?.[1];
      const key = entryName.exec(path)?.[1];
      if (blob) {
        const through = new PassThrough();
        entry.pipe(through);
        pending.push(cache.putBlob(through, blob).then(() => void blobs.add(blob)));
      } else if (key && (entry.size ?? 0) <= maxEntryBytes) {
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        pending.push(
          new Promise<void>((resolve, reject) => {
            entry.on('end', () => {
              try {
                const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as CacheEntry;
                if (parsed.key !== key || parsed.schema !== 1) throw new Error(`${path}: not a stemforge cache entry for key ${key.slice(0, 12)}`);
                entries.push({ ...parsed, pinned: false });
                resolve();
              } catch (err) {
                reject(err as Error); // JSON.parse and the check above throw Errors only
              }
            });
            entry.on('error', reject);
          }),
        );
      } else {
        parser.abort(new Error(`${file}: refusing '${path}': only entries/<key>.json and blobs/<sha256> belong in a cache export`));
      }
    },
  });
  let failure: unknown;
  parser.on('abort', (err: unknown) => (failure = err));
  parser.on('error', (err: unknown) => (failure ??= err));
  await pipeline(createReadStream(file), parser).catch((err: unknown) => (failure ??= err));
  const settled = await Promise.allSettled(pending);
  const rejected = settled.find((r) => r.status === 'rejected');
  if (failure || rejected) throw failure ?? (rejected as PromiseRejectedResult).reason;
  // entries last, each only with its blob in place
  for (const entry of entries) await cache.adopt(entry);
  return { imported: entries, blobs: blobs.size };
}
