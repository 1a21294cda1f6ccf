// Hand cached artifacts to a teammate: a tar of `entries/<key>.json` and `blobs/<digest>`.
// Import reads the whole file first and checks it is one of our exports (every entry valid,
// every blob whole and hashed to its name, the tar's end marker there) before anything enters
// the cache; then it streams the blobs in, checked again against their names, and writes an
// entry only once its blob is in. Any other path is refused: nothing lands outside the cache.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { UsageError } from '../util/errors.js';
import { terminalText } from '../util/terminal-text.js';
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

/** A file given to `cache import` that is not one of our exports: a usage error (exit 2). */
export class NotAnExportError extends UsageError {
  override name = 'NotAnExportError';
  constructor(file: string, reason: string) {
    super(`${file} is not a stemforge cache export (${terminalText(reason)}); make one with \`stemforge cache export FILE SELECTOR...\``);
  }
}

/** What pass one found: every entry, and every blob with its size. */
interface ExportContents {
  entries: CacheEntry[];
  blobs: Map<string, number>;
}

const hex64 = /^[0-9a-f]{64}$/;

/** Keep a promise for Promise.allSettled later; it may reject before then, which is not an unhandled rejection. */
function track(pending: Promise<void>[], promise: Promise<void>): void {
  promise.catch(() => undefined);
  pending.push(promise);
}

/** The import file must be a readable regular file; anything else is a usage error naming it. */
async function checkImportFile(file: string): Promise<number> {
  const info = await stat(file).catch((err: unknown) => {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === 'ENOENT' || code === 'ENOTDIR' ? `no such file: ${file} (give the tar file \`stemforge cache export\` wrote)` : `cannot read ${file}: ${code}`,
    );
  });
  if (!info.isFile()) throw new UsageError(`${file} is not a regular file (give the tar file \`stemforge cache export\` wrote)`);
  const handle = await open(file, 'r').catch((err: unknown) => {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read ${file}: ${code === 'EACCES' ? 'permission denied' : code}: make it readable for this user`);
  });
  await handle.close();
  return info.size;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Why `value` (entries/<key>.json) is not a cache entry for `key`, or undefined when it is one. */
export function entryProblem(value: unknown, key: string): string | undefined {
  if (!isPlainObject(value)) return 'not a JSON object';
  if (value.schema !== 1) return 'schema is not 1';
  if (value.key !== key) return `its key is not ${key.slice(0, 12)}…, as its name says`;
  if (value.kind !== 'os-image' && value.kind !== 'stemcell') return 'kind is neither os-image nor stemcell';
  if (typeof value.name !== 'string' || !/^[^/\0]+$/.test(value.name) || value.name === '.' || value.name === '..') return 'name is not a file name';
  if (typeof value.label !== 'string') return 'label is not a string';
  if (typeof value.digest !== 'string' || !hex64.test(value.digest)) return 'digest is not a sha256';
  if (typeof value.size !== 'number' || !Number.isSafeInteger(value.size) || value.size < 0) return 'size is not a byte count';
  for (const time of ['createdAt', 'lastUsedAt'] as const) {
    if (typeof value[time] !== 'string' || Number.isNaN(Date.parse(value[time]))) return `${time} is not a time`;
  }
  if (!isPlainObject(value.manifest)) return 'manifest is not a JSON object';
  return undefined;
}

/** node-tar's errors, said as what they mean for the file; a bad first header means it is no tar at all. */
function tarProblem(err: unknown, firstHeader = false): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/Unrecognized archive format|invalid base256|invalid entry/i.test(message)) return 'not a tar archive';
  if (/Truncated input|unexpected end/i.test(message)) return 'the archive ends early: it was cut short';
  if (/checksum/i.test(message)) return firstHeader ? 'not a tar archive' : 'a damaged tar header';
  return message;
}

/** Collect an entry file's bytes and check them; resolves to the entry, or rejects with the reason. */
function readEntryFile(body: tar.ReadEntry, key: string): Promise<CacheEntry> {
  const chunks: Buffer[] = [];
  body.on('data', (c: Buffer) => chunks.push(c));
  return new Promise((resolve, reject) => {
    body.on('end', () => {
      let value: unknown;
      try {
        value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return reject(new Error(`entries/${key}.json is not valid JSON`));
      }
      const problem = entryProblem(value, key);
      if (problem) reject(new Error(`entries/${key}.json: ${problem}`));
      else resolve({ ...(value as CacheEntry), pinned: false });
    });
  });
}

/** Hash a blob's bytes as they pass; rejects when they do not match its name. */
function hashBlobFile(body: tar.ReadEntry, digest: string): Promise<number> {
  const hash = createHash('sha256');
  let size = 0;
  body.on('data', (c: Buffer) => {
    hash.update(c);
    size += c.length;
  });
  return new Promise((resolve, reject) => {
    body.on('end', () => {
      const actual = hash.digest('hex');
      if (actual === digest) resolve(size);
      else reject(new Error(`blobs/${digest} is damaged: sha256 ${actual}, expected ${digest}`));
    });
  });
}

/** Every entry has its blob, of its size, and every blob belongs to an entry. */
function crossCheck(contents: ExportContents): string | undefined {
  if (contents.entries.length === 0) return 'it holds no cache entry';
  for (const e of contents.entries) {
    const size = contents.blobs.get(e.digest);
    if (size === undefined) return `entry ${e.key.slice(0, 12)}… has no blob in the file`;
    if (size !== e.size) return `entry ${e.key.slice(0, 12)}… says ${e.size} bytes, its blob has ${size}`;
  }
  const used = new Set(contents.entries.map((e) => e.digest));
  const stray = [...contents.blobs.keys()].find((d) => !used.has(d));
  return stray ? `blob ${stray.slice(0, 12)}… belongs to no entry` : undefined;
}

/** Pass one: read the whole file, write nothing; throws NotAnExportError with the first problem found. */
async function readExport(file: string): Promise<ExportContents> {
  if ((await checkImportFile(file)) === 0) throw new NotAnExportError(file, 'an empty file');
  const contents: ExportContents = { entries: [], blobs: new Map() };
  const seen = new Set<string>();
  const pending: Promise<void>[] = [];
  let problem: string | undefined;
  let ended = false;
  const parser = new tar.Parser({
    strict: true,
    maxMetaEntrySize: 64 * 1024,
    onReadEntry: (entry) => {
      const path = entry.path;
      const refuse = (reason: string): void => {
        problem ??= reason;
        entry.resume();
      };
      if (seen.has(path)) return refuse(`refusing '${path}': it appears twice`);
      seen.add(path);
      const blob = blobName.exec(path)?.[1];
      const key = entryName.exec(path)?.[1];
      if (entry.type === 'Directory' && (path === 'entries/' || path === 'blobs/')) return entry.resume();
      if (entry.type !== 'File' || (!blob && !key))
        return refuse(`refusing '${path}' (${entry.type}): only entries/<key>.json and blobs/<sha256> files belong in one`);
      if (blob)
        track(
          pending,
          hashBlobFile(entry, blob).then((size) => void contents.blobs.set(blob, size)),
        );
      else if ((entry.size ?? 0) > maxEntryBytes) refuse(`${path} is too large for an entry`);
      else
        track(
          pending,
          readEntryFile(entry, key!).then((e) => void contents.entries.push(e)),
        );
    },
  });
  parser.on('eof', () => (ended = true));
  parser.on('ignoredEntry', (entry: tar.ReadEntry) => (problem ??= `refusing '${entry.path}': of a type an export never holds`));
  parser.on('error', (err: unknown) => (problem ??= tarProblem(err, seen.size === 0)));
  await pipeline(createReadStream(file), parser).catch((err: unknown) => (problem ??= tarProblem(err, seen.size === 0)));
  const settled = await Promise.allSettled(pending);
  const rejected = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  problem ??= rejected ? tarProblem(rejected.reason) : undefined;
  // a tar cut at a header boundary parses cleanly: only the two zero blocks at its end show it is whole
  problem ??= ended ? crossCheck(contents) : 'the archive ends early, without its end-of-archive marker: it was cut short';
  if (problem) throw new NotAnExportError(file, problem);
  return contents;
}

/** Pass two: stream the blobs pass one saw into the cache, each checked again against its name. */
async function storeBlobs(cache: ArtifactCache, file: string, expected: ReadonlyMap<string, number>): Promise<number> {
  const stored = new Set<string>();
  const pending: Promise<void>[] = [];
  const parser = new tar.Parser({
    strict: true,
    maxMetaEntrySize: 64 * 1024,
    onReadEntry: (entry) => {
      const blob = blobName.exec(entry.path)?.[1];
      if (!blob) return entry.resume();
      if (!expected.has(blob)) {
        parser.abort(new Error(`${file} changed while it was imported: blob ${blob.slice(0, 12)}… was not in it before`));
        return;
      }
      const through = new PassThrough();
      entry.pipe(through);
      track(
        pending,
        cache.putBlob(through, blob).then(() => void stored.add(blob)),
      );
    },
  });
  let failure: unknown;
  parser.on('abort', (err: unknown) => (failure = err));
  parser.on('error', (err: unknown) => (failure ??= err));
  await pipeline(createReadStream(file), parser).catch((err: unknown) => (failure ??= err));
  const settled = await Promise.allSettled(pending);
  const rejected = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure || rejected) throw failure ?? rejected!.reason;
  return stored.size;
}

export async function importEntries(cache: ArtifactCache, file: string): Promise<ImportReport> {
  const contents = await readExport(file);
  await cache.checkFolder();
  const blobs = await storeBlobs(cache, file, contents.blobs);
  // entries last, each only with its blob in place
  for (const entry of contents.entries) await cache.adopt(entry);
  return { imported: contents.entries, blobs };
}
