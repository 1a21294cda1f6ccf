// The OS image's one path through the cache (os-image and build): a miss holds the key's
// lock until the store step stored the image or the run ended, however it ended; a hit is
// handed out and holds nothing.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ArtifactCache } from '../../src/cache/store.js';
import { osImageThroughCache, type CacheOptions } from '../../src/pipeline/artifact-cache.js';
import type { RunEvent } from '../../src/pipeline/common.js';
import { withSteps, type StepRunOptions } from '../../src/pipeline/steps.js';

const request = { os: 'debian-bookworm', packageCache: '/var/cache/stemforge/debs', buildRoot: '/var/lib/stemforge', mirror: 'http://archive.invalid/debian' };

function setUp(): { dir: string; cache: ArtifactCache; options: CacheOptions; run: StepRunOptions; events: RunEvent[] } {
  const dir = mkdtempSync(join(tmpdir(), 'sf-os-cache-'));
  const events: RunEvent[] = [];
  return {
    dir,
    cache: new ArtifactCache(join(dir, 'cache')),
    options: { dir: join(dir, 'cache'), enabled: true, refreshOsImage: false, osImageMaxAgeDays: 30, explain: false },
    run: { renderer: 'silent', signal: new AbortController().signal, emit: (e) => events.push(e), warn: () => undefined },
    events,
  };
}

/** Whether the key is free: another taker gets its lock at once. */
async function free(cache: ArtifactCache, key: string): Promise<boolean> {
  try {
    const release = await cache.lockKey(key, undefined, 300);
    release();
    return true;
  } catch {
    return false;
  }
}

describe('the OS image through the cache', () => {
  it('on a miss holds the lock while the image is built and frees it once the store step stored it', async () => {
    const { dir, cache, options, run, events } = setUp();
    const out = join(dir, 'out', 'os-image.tgz');
    let heldDuringBuild: boolean | undefined;
    let key = '';
    await withSteps(run, async (r) => {
      const cached = await osImageThroughCache(r, cache, options, request, { machine: 'test', out, refresh: false, emit: run.emit });
      key = cached.key.key;
      assert.equal(cached.entry, undefined);
      await r.run(
        [
          {
            title: 'build the image',
            run: async () => {
              heldDuringBuild = !(await free(cache, key));
              mkdirSync(join(dir, 'out'));
              writeFileSync(out, randomBytes(1000));
            },
          },
          cached.store(() => undefined),
          { title: 'after the store', run: async () => assert.ok(await free(cache, key), 'free before the run ends') },
        ],
        {},
      );
    });
    assert.equal(heldDuringBuild, true);
    assert.deepEqual(
      events.filter((e) => e.type === 'cache').map((e) => e.type === 'cache' && e.hit),
      [false],
    );
    assert.ok((await cache.lookup(key)).entry, 'stored');
  });

  it('on a miss frees the lock when the build fails, and a later lookup hands the stored image out without a lock', async () => {
    const { dir, cache, options, run } = setUp();
    const out = join(dir, 'os-image.tgz');
    let key = '';
    const broken = new Error('a stage failed');
    const err = await withSteps(run, async (r) => {
      const cached = await osImageThroughCache(r, cache, options, request, { machine: 'test', out, refresh: false });
      key = cached.key.key;
      await r.run([{ title: 'build the image', run: () => Promise.reject(broken) }, cached.store(() => undefined)], {});
    }).catch((e: unknown) => e);
    assert.equal(err, broken);
    assert.ok(await free(cache, key), 'the failed run left the key free');

    writeFileSync(out, randomBytes(2000));
    await withSteps(run, async (r) => {
      const cached = await osImageThroughCache(r, cache, options, request, { machine: 'test', out, refresh: false });
      await r.run([cached.store(() => undefined)], {});
    });
    const again = join(dir, 'again', 'os-image.tgz');
    await withSteps(run, async (r) => {
      const cached = await osImageThroughCache(r, cache, options, request, { machine: 'test', out: again, refresh: false });
      assert.ok(cached.entry, 'a hit');
      assert.ok(await free(cache, key), 'a hit holds no lock');
    });
    assert.ok(existsSync(again));
    assert.deepEqual(readFileSync(again), readFileSync(out));
  });

  it("with no archive flag the key names debootstrap's default for the line's script on the machine: another machine, script or archive is another key", async () => {
    const { cache, options, run, dir } = setUp();
    const keyFor = async (req: Omit<typeof request, 'mirror'> & { mirror?: string }, machine: string) => {
      let manifest: Record<string, unknown> = {};
      let key = '';
      await withSteps(run, async (r) => {
        const cached = await osImageThroughCache(r, cache, { ...options, enabled: false }, req, { machine, out: join(dir, 'x.tgz'), refresh: false });
        ({ manifest, key } = cached.key);
      });
      return { manifest, key };
    };
    const noFlag = { os: 'debian-bookworm', packageCache: request.packageCache, buildRoot: request.buildRoot };
    const here = await keyFor(noFlag, 'ssh://root@a:22');
    assert.equal(here.manifest.archive, "the default archive of debootstrap's sid script on ssh://root@a:22");
    assert.notEqual((await keyFor(noFlag, 'ssh://root@b:22')).key, here.key);
    assert.notEqual((await keyFor(request, 'ssh://root@a:22')).key, here.key);
    const noble = await keyFor({ ...noFlag, os: 'ubuntu-noble' }, 'ssh://root@a:22');
    assert.equal(noble.manifest.archive, "the default archive of debootstrap's gutsy script on ssh://root@a:22");
    assert.equal((noble.manifest.settings as Record<string, string>).debootstrap_script, 'gutsy');
  });
});
