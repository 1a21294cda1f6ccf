// The artifact cache on a real folder: atomic writes, lookups that re-hash, verify, prune
// (LRU, pins, shared blobs), keys and their explanations, export/import and hostile imports.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as tar from 'tar';
import { canonicalJson, diffKeyInputs, explainMiss, folderDigest, inputKey, phaseManifest } from '../../src/cache/keys.js';
import { ArtifactCache, type CacheEntry } from '../../src/cache/store.js';
import { sha256File } from '../../src/util/stream-hash.js';
import { exportEntries, importEntries } from '../../src/cache/transfer.js';
import { parseSize } from '../../src/cli/cache-command.js';
import type { TreeManifest } from '../../src/sync/tree-manifest.js';

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'sf-cache-'));
}

function artifact(dir: string, bytes: number): string {
  const path = join(dir, `art-${randomBytes(4).toString('hex')}`);
  writeFileSync(path, randomBytes(bytes));
  return path;
}

const key = (n: number): string => n.toString(16).padStart(64, '0');
const meta = (n: number, label = 'debian-bookworm'): Pick<CacheEntry, 'key' | 'kind' | 'name' | 'label' | 'manifest'> => ({
  key: key(n),
  kind: 'os-image',
  name: `x-${n}.tgz`,
  label,
  manifest: { phase: 'os-image', n },
});

describe('cache store', () => {
  it('stores by digest, read-only, and finds by key; a lookup re-hashes and drops a damaged blob', async () => {
    const dir = scratch();
    const cache = new ArtifactCache(join(dir, 'cache'));
    const file = artifact(dir, 300_000);
    const entry = await cache.putFile(file, meta(1));
    assert.equal(entry.digest, await sha256File(file));
    assert.equal(readFileSync(cache.blobPath(entry.digest)).compare(readFileSync(file)), 0);
    assert.equal((await import('node:fs')).statSync(cache.blobPath(entry.digest)).mode & 0o777, 0o444);
    assert.equal((await cache.lookup(key(1), { verify: true })).entry?.digest, entry.digest);
    assert.deepEqual(readdirSync(cache.tmpDir), [], 'no temp file stays');
    // flip one byte
    const blob = cache.blobPath(entry.digest);
    chmodSync(blob, 0o644);
    const bytes = readFileSync(blob);
    bytes[1234] = bytes[1234]! ^ 0xff;
    writeFileSync(blob, bytes);
    const again = await cache.lookup(key(1), { verify: true });
    assert.equal(again.entry, undefined);
    assert.match(again.dropped ?? '', /sha256 is [0-9a-f]{64}, not /);
    assert.equal(await cache.read(key(1)), undefined, 'the entry is gone, so the caller rebuilds');
    assert.ok(!existsSync(blob));
  });

  it('a file hashed as it arrived is linked in, not copied (same file system), and turns read-only', async () => {
    const dir = scratch();
    const cache = new ArtifactCache(join(dir, 'cache'));
    const file = artifact(dir, 20_000);
    const { statSync } = await import('node:fs');
    const entry = await cache.putFile(file, meta(3), await sha256File(file));
    assert.equal(statSync(cache.blobPath(entry.digest)).ino, statSync(file).ino);
    assert.equal(statSync(file).mode & 0o777, 0o444);
    assert.equal((await cache.lookup(key(3), { verify: true })).entry?.size, 20_000);
    assert.deepEqual(readdirSync(cache.tmpDir), []);
  });

  it('two entries of the same content share one blob; removing one keeps it for the other', async () => {
    const dir = scratch();
    const cache = new ArtifactCache(join(dir, 'cache'));
    const file = artifact(dir, 10_000);
    const a = await cache.putFile(file, meta(1));
    const b = await cache.putFile(file, meta(2));
    assert.equal(a.digest, b.digest);
    assert.equal(await cache.remove(a), 0);
    assert.ok(existsSync(cache.blobPath(b.digest)));
    assert.equal(await cache.remove(b), 10_000);
  });

  it("verify removes unreadable entries, dangling ones, orphan blobs and dead writers' temp files", async () => {
    const dir = scratch();
    const cache = new ArtifactCache(join(dir, 'cache'));
    const good = await cache.putFile(artifact(dir, 1000), meta(1));
    await cache.putBlob((await import('node:fs')).createReadStream(artifact(dir, 2000))); // orphan
    writeFileSync(join(cache.indexDir, `${key(7)}.json`), '{"schema":1,"ke'); // a torn file, as no writer of ours leaves
    writeFileSync(join(cache.indexDir, `${key(8)}.json`), JSON.stringify({ ...good, key: key(8), digest: 'f'.repeat(64) }));
    writeFileSync(join(cache.tmpDir, '999999-dead'), 'partial');
    const report = await cache.verify();
    assert.equal(report.entries, 1);
    assert.deepEqual(report.corrupt.map((c) => c.reason).sort(), ['blob missing', 'unreadable index entry']);
    assert.equal(report.orphanBlobs.length, 1);
    assert.deepEqual(report.tempFiles, ['999999-dead']);
    assert.deepEqual(
      (await cache.list()).map((e) => e.key),
      [good.key],
    );
    assert.equal((await cache.verify()).corrupt.length, 0, 'a second verify finds nothing');
  });

  it('prune: least recently used first, down to a size; never a pinned entry; by age', async () => {
    const dir = scratch();
    const cache = new ArtifactCache(join(dir, 'cache'));
    for (const n of [1, 2, 3]) await cache.putFile(artifact(dir, 1000), meta(n));
    await cache.lookup(key(1)); // 1 is now the most recently used
    const first = (await cache.list()).find((e) => e.key === key(2))!;
    await cache.setPinned(first, true);
    const dry = await cache.prune({ maxBytes: 1500, dryRun: true });
    assert.deepEqual(
      dry.removed.map((e) => e.key),
      [key(3), key(1)],
      'least recently used first; the pinned one is skipped',
    );
    assert.equal((await cache.list()).length, 3, 'a dry run removes nothing');
    const r = await cache.prune({ maxBytes: 1500 });
    assert.ok(!r.removed.some((e) => e.key === key(2)), 'pinned stays');
    assert.deepEqual(
      (await cache.list()).map((e) => e.key),
      [key(2)],
    );
    await cache.setPinned((await cache.read(key(2)))!, false);
    assert.equal((await cache.prune({ maxAgeDays: 1 })).removed.length, 0, 'used today');
    const entry = (await cache.read(key(2)))!;
    writeFileSync(join(cache.indexDir, `${key(2)}.json`), JSON.stringify({ ...entry, lastUsedAt: '2020-01-01T00:00:00.000Z' }));
    assert.equal((await cache.prune({ maxAgeDays: 30 })).removed.length, 1);
  });

  it("one holder of a key lock at a time; a dead holder's lock is broken", async () => {
    const dir = scratch();
    const cache = new ArtifactCache(join(dir, 'cache'));
    const release = await cache.lockKey(key(1));
    let waited = '';
    await assert.rejects(
      cache.lockKey(key(1), (pid) => (waited = pid), 200),
      /locked by another stemforge/,
    );
    assert.equal(waited, String(process.pid));
    release();
    mkdirSync(cache.locksDir, { recursive: true });
    writeFileSync(join(cache.locksDir, `${key(2)}.lock`), '999999');
    (await cache.lockKey(key(2), undefined, 200))();
  });
});

describe('cache keys', () => {
  const tree: TreeManifest = {
    version: 1,
    files: {
      'stages/a/apply.sh': { sha256: '1'.repeat(64), mode: 0o755 },
      'stages/b/apply.sh': { sha256: '2'.repeat(64), mode: 0o755 },
      'stages/lib/helpers.bash': { sha256: '3'.repeat(64), mode: 0o644 },
    },
  };
  it('canonical JSON sorts keys at every level, so equal inputs give one key', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: 'x' } }), '{"a":{"c":"x","d":[2,{"e":0,"f":1}]},"b":1}');
    assert.equal(inputKey({ x: 1, y: 2 }), inputKey({ y: 2, x: 1 }));
  });
  it("a stage's content, mode, the library and a setting each change the key; the package cache folder and the commit do not", () => {
    const base = {
      phase: 'os-image' as const,
      tree,
      stages: ['a', 'b'],
      settings: { os_name: 'debian-bookworm', pkg_cache_root: '/x', stemforge_commit: 'abc' },
    };
    const k = inputKey(phaseManifest(base));
    const edited: TreeManifest = { version: 1, files: { ...tree.files, 'stages/b/apply.sh': { sha256: '9'.repeat(64), mode: 0o755 } } };
    const chmodded: TreeManifest = { version: 1, files: { ...tree.files, 'stages/a/apply.sh': { sha256: '1'.repeat(64), mode: 0o644 } } };
    const lib: TreeManifest = { version: 1, files: { ...tree.files, 'stages/lib/helpers.bash': { sha256: '8'.repeat(64), mode: 0o644 } } };
    for (const changed of [
      phaseManifest({ ...base, tree: edited }),
      phaseManifest({ ...base, tree: chmodded }),
      phaseManifest({ ...base, tree: lib }),
      phaseManifest({ ...base, settings: { ...base.settings, os_name: 'ubuntu-jammy' } }),
      phaseManifest({ ...base, extra: { archive: 'http://mirror.example/debian' } }),
    ])
      assert.notEqual(inputKey(changed), k);
    assert.equal(inputKey(phaseManifest({ ...base, settings: { ...base.settings, pkg_cache_root: '/elsewhere', stemforge_commit: 'def+' } })), k);
    assert.notEqual(folderDigest(tree, 'stages/a'), folderDigest(tree, 'stages/b'));
  });
  it('a miss names the inputs that changed against the closest entry', () => {
    const before = phaseManifest({ phase: 'os-image', tree, stages: ['a', 'b'], settings: { mirror: 'm1' } });
    const edited: TreeManifest = { version: 1, files: { ...tree.files, 'stages/b/apply.sh': { sha256: '9'.repeat(64), mode: 0o755 } } };
    const after = phaseManifest({ phase: 'os-image', tree: edited, stages: ['a', 'b'], settings: { mirror: 'm1' } });
    assert.deepEqual(
      diffKeyInputs(before, after).map((l) => l.split(':')[0]),
      ['stages[b].digest'],
    );
    const entry = { key: key(1), label: 'debian-bookworm', createdAt: '2026-01-01', manifest: before } as CacheEntry;
    const lines = explainMiss(after, [entry]);
    assert.match(lines[0]!, /closest cached entry 000000000000/);
    assert.match(lines[1]!, /stages\[b\]\.digest: "[0-9a-f]{64}" → "[0-9a-f]{64}"/);
    assert.deepEqual(explainMiss(after, []), ['nothing of this kind is cached yet']);
  });
});

describe('cache export and import', () => {
  it('round-trips entries with their blobs, checked', async () => {
    const dir = scratch();
    const from = new ArtifactCache(join(dir, 'a'));
    const to = new ArtifactCache(join(dir, 'b'));
    const e1 = await from.putFile(artifact(dir, 50_000), meta(1));
    const e2 = await from.putFile(artifact(dir, 70_000), meta(2, 'debian-bookworm aws raw 1.0'));
    await from.setPinned(e1, true);
    await exportEntries(from, [e1, e2], join(dir, 'x.tar'));
    const r = await importEntries(to, join(dir, 'x.tar'));
    assert.deepEqual(r.imported.map((e) => e.key).sort(), [e1.key, e2.key]);
    assert.equal((await to.lookup(e2.key, { verify: true })).entry?.digest, e2.digest);
    assert.equal((await to.read(e1.key))?.pinned, false, "pins are the sender's business");
  });

  it('refuses paths outside entries/ and blobs/, links, and a blob that does not match its name; writes no entry then', async () => {
    const dir = scratch();
    const src = join(dir, 'src');
    mkdirSync(join(src, 'blobs'), { recursive: true });
    mkdirSync(join(src, 'entries'), { recursive: true });
    writeFileSync(join(src, 'evil'), 'x');
    writeFileSync(join(src, 'blobs', 'a'.repeat(64)), 'not what the name says');
    const cases: [string, string[], RegExp][] = [
      ['outside.tar', ['evil'], /refusing 'evil'/],
      ['mismatch.tar', ['blobs'], /damaged: sha256 [0-9a-f]{64}, expected a{64}/],
    ];
    for (const [name, files, error] of cases) {
      const cache = new ArtifactCache(join(dir, `cache-${name}`));
      await tar.c({ cwd: src, file: join(dir, name), portable: true }, files);
      await assert.rejects(importEntries(cache, join(dir, name)), error);
      assert.deepEqual(await cache.list(), []);
    }
    // a ../ path and a symlink, as raw tar headers
    const block = (path: string, type: 'File' | 'SymbolicLink', linkpath?: string): Buffer => {
      const header = new tar.Header({ path, type, size: 0, mode: 0o644, mtime: new Date(0), linkpath });
      header.encode();
      return header.block!;
    };
    for (const [name, head] of [
      ['dotdot.tar', block('entries/../../x', 'File')],
      ['link.tar', block(`blobs/${'b'.repeat(64)}`, 'SymbolicLink', '/etc/passwd')],
    ] as const) {
      writeFileSync(join(dir, name), Buffer.concat([head, Buffer.alloc(1024)]));
      const cache = new ArtifactCache(join(dir, `cache-${name}`));
      await assert.rejects(importEntries(cache, join(dir, name)), /refusing/);
      assert.deepEqual(await cache.list(), []);
      assert.ok(!existsSync(join(dir, 'x')));
    }
  });

  it('sizes for prune', () => {
    assert.equal(parseSize('500M'), 500 * 1024 ** 2);
    assert.equal(parseSize('50G'), 50 * 1024 ** 3);
    assert.equal(parseSize('1024'), 1024);
    assert.throws(() => parseSize('lots'), /not a size/);
  });
});

describe('cache lookups for builds', () => {
  const options = { dir: '', enabled: true, refreshOsImage: false, osImageMaxAgeDays: 7, explain: true };
  it('a stale OS image, a refresh, --no-cache and an unknown key each miss, saying why', async () => {
    const { lookup } = await import('../../src/pipeline/artifact-cache.js');
    const dir = scratch();
    const cache = new ArtifactCache(join(dir, 'cache'));
    const manifest = { phase: 'os-image', stages: [{ name: 'a', digest: '1' }] };
    const entry = await cache.putFile(artifact(dir, 1000), { key: key(5), kind: 'os-image', name: 'os.tgz', label: 'debian-bookworm', manifest });
    const wanted = { key: key(5), manifest, label: 'debian-bookworm', name: 'os.tgz' };
    assert.equal((await lookup(cache, wanted, options, { maxAgeDays: 7 })).entry?.digest, entry.digest);
    writeFileSync(join(cache.indexDir, `${key(5)}.json`), JSON.stringify({ ...entry, createdAt: new Date(Date.now() - 10 * 86_400_000).toISOString() }));
    const stale = await lookup(cache, wanted, options, { maxAgeDays: 7 });
    assert.equal(stale.entry, undefined);
    assert.match(stale.why[0]!, /10\.0 days old \(more than 7 days\): rebuilding so security updates land/);
    assert.ok((await lookup(cache, wanted, options, { maxAgeDays: undefined })).entry, 'no age limit (BUILD_TIME): still a hit');
    assert.match((await lookup(cache, wanted, options, { refresh: true })).why[0]!, /--refresh-os-image/);
    assert.deepEqual((await lookup(cache, wanted, { ...options, enabled: false })).why, ['--no-cache']);
    const changed = { ...wanted, key: key(6), manifest: { phase: 'os-image', stages: [{ name: 'a', digest: '2' }] } };
    const miss = await lookup(cache, changed, options);
    assert.deepEqual(miss.why.slice(0, 1), ['not cached']);
    assert.match(miss.why.join('\n'), /closest cached entry 0{12} \(debian-bookworm, [^)]*\) differs in:[\s\S]*stages\[a\]\.digest: "1" → "2"/);
  });
});
