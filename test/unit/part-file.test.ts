// Files written into the output folder arrive as .NAME.part and are renamed into place: no
// .part may remain after a success (also when the OS image handed out of the cache is
// already a hard link of the cached blob), a failure, or an exit in the middle (Ctrl-C).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { ArtifactCache, type CacheEntry } from '../../src/cache/store.js';
import { handOut, osImageThroughCache, type CacheOptions } from '../../src/pipeline/artifact-cache.js';
import { withSteps, type StepRunOptions } from '../../src/pipeline/steps.js';
import { partPath } from '../../src/util/part-file.js';
import { packageRoot } from '../../src/util/paths.js';

const request = { os: 'debian-bookworm', packageCache: '/var/cache/stemforge/debs', buildRoot: '/var/lib/stemforge', mirror: 'http://archive.invalid/debian' };
const run: StepRunOptions = { renderer: 'silent', signal: new AbortController().signal, emit: () => undefined, warn: () => undefined };

const parts = (dir: string): string[] => readdirSync(dir).filter((n) => n.includes('.part'));

describe('the .part file of the output folder', () => {
  it('an OS image handed out of the cache onto its own hard link (the build that stored it) leaves no .part', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sf-part-'));
    const cache = new ArtifactCache(join(dir, 'cache'));
    const options: CacheOptions = { dir: join(dir, 'cache'), enabled: true, refreshOsImage: false, osImageMaxAgeDays: 30, explain: false };
    const outDir = join(dir, 'out');
    const out = join(outDir, 'os-image-debian-bookworm.tgz');
    const image = randomBytes(4096);
    const sha = createHash('sha256').update(image).digest('hex');
    // the first build: a miss, the image fetched to the output folder, stored (a hard link of it)
    await withSteps(run, async (r) => {
      const cached = await osImageThroughCache(r, cache, options, request, { machine: 'test', out, refresh: false });
      mkdirSync(outDir);
      writeFileSync(out, image);
      await r.run([cached.store(() => sha)], {});
    });
    assert.equal(statSync(out).nlink, 2, 'the output file is the blob, linked');
    // the next build: a hit, handed out to the same path
    await withSteps(run, async (r) => {
      const cached = await osImageThroughCache(r, cache, options, request, { machine: 'test', out, refresh: false });
      assert.ok(cached.entry, 'a hit');
    });
    assert.deepEqual(parts(outDir), []);
    assert.deepEqual(readFileSync(out), image);
    assert.equal(readFileSync(`${out}.sha256`, 'utf8'), `${sha}  os-image-debian-bookworm.tgz\n`);
  });

  it('a failed hand-out (the blob is gone) leaves no .part and no output file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sf-part-'));
    const out = join(dir, 'out', 'os-image.tgz');
    const entry = { digest: 'f'.repeat(64) } as CacheEntry;
    await assert.rejects(handOut(new ArtifactCache(join(dir, 'cache')), entry, out), /ENOENT/);
    assert.deepEqual(readdirSync(join(dir, 'out')), []);
  });

  it('a process that exits in the middle of the write (a second Ctrl-C) leaves no .part', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sf-part-'));
    const out = join(dir, 'os-image.tgz');
    const module = pathToFileURL(join(packageRoot, 'dist', 'src', 'util', 'part-file.js')).href;
    // a write that never ends; SIGINT exits at once, as the CLI's second Ctrl-C does
    const script = `
      import { writeFileSync } from 'node:fs';
      import { writeViaPart } from ${JSON.stringify(module)};
      process.on('SIGINT', () => process.exit(130));
      await writeViaPart(process.argv[1], async (part) => {
        writeFileSync(part, 'half an image');
        process.stdout.write('writing\\n');
        await new Promise(() => setInterval(() => undefined, 1000));
      });`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, out], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    assert.ok(existsSync(partPath(out)), 'the .part is there while the write runs');
    const code = await new Promise<number | null>((resolve) => {
      child.on('close', (c) => resolve(c));
      child.kill('SIGINT');
    });
    assert.equal(code, 130);
    assert.deepEqual(readdirSync(dir), []);
  });
});
