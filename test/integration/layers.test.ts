// The layer chain (stages/lib/layers.bash) with real overlayfs mounts on the local machine:
// a stage's changes (new files, removals, replaced folders) land in its own layer, the
// next layer sees them, a failed stage leaves nothing, a probe finds the valid prefix, the
// read-only view merges them, and prune keeps the chain in use.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalMachine } from '../../src/machine/local.js';
import { buildLayout, type BuildLayout } from '../../src/pipeline/layout.js';
import { LayerChain } from '../../src/pipeline/layers.js';
import { packageRoot } from '../../src/util/paths.js';

const skip = process.getuid?.() === 0 ? undefined : 'needs root (overlay mounts)';
const key = (n: number): string => String(n).repeat(32).slice(0, 32);

function mounted(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === path);
}

describe('stage layers on overlayfs', { skip }, () => {
  let layout: BuildLayout;
  let chain: LayerChain;
  const chroot = (): string => layout.chroot;

  before(() => {
    layout = buildLayout(mkdtempSync(join(tmpdir(), 'sf-layers-')), 'os-image-test');
    cpSync(join(packageRoot, 'stages', 'lib'), join(layout.builderDir, 'stages', 'lib'), { recursive: true });
    mkdirSync(layout.workDir, { recursive: true });
    chain = new LayerChain(new LocalMachine(), layout, ['one', 'two', 'three'], [key(1), key(2), key(3)]);
  });
  after(() => rmSync(layout.root, { recursive: true, force: true }));

  it('each stage writes into its own layer over the ones before', async () => {
    assert.equal(await chain.probe(), 0);
    await chain.run(0, async () => {
      assert.ok(mounted(layout.workDir), 'the work folder is an overlay while the stage runs');
      mkdirSync(join(chroot(), 'etc', 'old'), { recursive: true });
      writeFileSync(join(chroot(), 'etc', 'keep'), 'one');
      writeFileSync(join(chroot(), 'etc', 'gone'), 'one');
      writeFileSync(join(chroot(), 'etc', 'old', 'file'), 'one');
    });
    assert.ok(!mounted(layout.workDir), 'unmounted after the stage');
    await chain.run(1, async () => {
      assert.equal(readFileSync(join(chroot(), 'etc', 'keep'), 'utf8'), 'one');
      rmSync(join(chroot(), 'etc', 'gone'));
      rmSync(join(chroot(), 'etc', 'old'), { recursive: true });
      mkdirSync(join(chroot(), 'etc', 'old'));
      writeFileSync(join(chroot(), 'etc', 'keep'), 'two');
    });
    assert.equal(await chain.probe(), 2);
    const upper = join(layout.root, 'layers', key(2), 'upper');
    assert.equal(readFileSync(join(upper, 'chroot', 'etc', 'keep'), 'utf8'), 'two', 'the change is in layer two');
    assert.equal(readFileSync(join(layout.root, 'layers', key(1), 'upper', 'chroot', 'etc', 'keep'), 'utf8'), 'one', 'layer one is untouched');
  });

  it('a failed stage leaves no layer, and the probe stops before it', async () => {
    await assert.rejects(
      chain.run(2, async () => {
        writeFileSync(join(chroot(), 'half-done'), 'x');
        throw new Error('stage failed');
      }),
      /stage failed/,
    );
    assert.ok(!mounted(layout.workDir));
    assert.equal(await chain.probe(), 2);
    assert.ok(!existsSync(join(layout.root, 'layers', `${key(3)}.part`)));
  });

  it('takes the layer of a stage job that finished after its mount, and nothing else', async () => {
    const job = join(layout.root, 'job-took');
    mkdirSync(job, { recursive: true });
    // a job that ended before this layer was mounted did not run on it
    writeFileSync(join(job, 'exit-status'), '0\n');
    await new Promise((r) => setTimeout(r, 20));
    await chain.reset(2);
    writeFileSync(join(chroot(), 'three-by-job'), '3');
    assert.equal(await chain.take(2, job), false);
    assert.equal(await chain.probe(), 2);
    // one that failed after the mount is not taken either
    writeFileSync(join(job, 'exit-status'), '1\n');
    assert.equal(await chain.take(2, job), false);
    writeFileSync(join(job, 'exit-status'), '0\n');
    assert.equal(await chain.take(2, job), true);
    assert.equal(await chain.probe(), 3);
    assert.ok(!mounted(layout.workDir));
    assert.ok(existsSync(join(layout.root, 'layers', key(3), 'upper', 'chroot', 'three-by-job')));
    rmSync(join(layout.root, 'layers', key(3)), { recursive: true });
  });

  it('the read-only view merges the layers, removals and replaced folders included', async () => {
    await chain.run(2, async () => writeFileSync(join(chroot(), 'three'), '3'));
    await chain.view();
    try {
      assert.equal(readFileSync(join(chroot(), 'etc', 'keep'), 'utf8'), 'two');
      assert.ok(!existsSync(join(chroot(), 'etc', 'gone')));
      assert.deepEqual(readdirSync(join(chroot(), 'etc', 'old')), [], 'the folder made anew hides the old one');
      assert.equal(readFileSync(join(chroot(), 'three'), 'utf8'), '3');
      assert.throws(() => writeFileSync(join(chroot(), 'nope'), 'x'), /EROFS/);
    } finally {
      await chain.unmount();
    }
    await chain.view(1);
    try {
      assert.ok(existsSync(join(chroot(), 'etc', 'gone')), 'the first layer alone still has it');
    } finally {
      await chain.unmount();
    }
  });

  it('a scratch layer on top is thrown away', async () => {
    await chain.scratch();
    writeFileSync(join(chroot(), 'scratch'), 'x');
    await chain.drop();
    await chain.view();
    try {
      assert.ok(!existsSync(join(chroot(), 'scratch')));
    } finally {
      await chain.unmount();
    }
  });

  it("prune removes other layers, least recently used first, never this chain's", async () => {
    const other = new LayerChain(new LocalMachine(), layout, ['x'], [key(9)]);
    await other.run(0, async () => {
      mkdirSync(chroot(), { recursive: true });
      writeFileSync(join(chroot(), 'big'), Buffer.alloc(3 * 1024 * 1024));
    });
    assert.deepEqual(await chain.prune(1000), [], 'under the bound: nothing goes');
    const pruned = await chain.prune(0);
    assert.equal(pruned.length, 1);
    assert.match(pruned[0]!, new RegExp(`pruned layer ${key(9)}`));
    assert.equal(await chain.probe(), 3);
  });
});
