// A build root on a small file system that runs full at a chosen stage: a real ext4 on a loop
// device, the local machine, real overlay layers and a short chain of the test's own stages.
// The failure names the free space and the path; the layers before it stay complete; the
// failed layer leaves no .part, although its discard meets a full disk; after the filler is
// removed the chain resumes and completes. A build whose root is on that file system is
// refused by the CLI before any stage, with the numbers.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ArtifactCache } from '../../src/cache/store.js';
import { LocalMachine } from '../../src/machine/local.js';
import { buildLayout, type BuildLayout } from '../../src/pipeline/layout.js';
import { LayerChain } from '../../src/pipeline/layers.js';
import { StageFailure, StageRunner } from '../../src/pipeline/stage-runner.js';
import { HintedError } from '../../src/util/errors.js';
import { packageRoot } from '../../src/util/paths.js';
import { connectToSshd, sshdUnavailable, startSshd } from '../helpers/sshd.js';
import { planOsImage } from '../../src/catalog/planner.js';
import { spaceFacts, stageMiB } from '../../src/catalog/space-needs.js';
import { spacePlaces } from '../../src/pipeline/space-check.js';
import { probeBuildMachine } from '../../src/pipeline/space-shortage.js';
import { mountsBelow, writeStage } from '../helpers/build-machine.js';

const MiB = 1024 * 1024;
const skip = process.getuid?.() === 0 ? undefined : 'needs root (loop device, mounts)';
const cli = join(packageRoot, 'bin', 'stemforge.js');
const stages = ['one', 'two', 'three', 'four'];
const keys = stages.map((_, i) => String(i + 1).repeat(32));

function loopDevicesOf(image: string): string {
  return execFileSync('losetup', ['-j', image], { encoding: 'utf8' }).trim();
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const stageSum = (phase: { stages: readonly string[] }): number => phase.stages.reduce((sum, s) => sum + stageMiB(s), 0);

const freeBytes = (dir: string): number => {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
};

describe('a build root that runs out of space', { skip }, () => {
  let scratch: string;
  let image: string;
  let mount: string;
  let device: string | undefined;
  let layout: BuildLayout;
  let chain: LayerChain;
  let runner: StageRunner;
  const filler = (): string => join(mount, 'filler');

  /** Fill the file system up to `leave` bytes free, outside the build root (as another tenant of the disk would). */
  function fill(leave: number): void {
    const size = freeBytes(mount) - leave;
    if (size > 0) execFileSync('fallocate', ['-l', String(size), filler()]);
  }

  /** Stage `index` on its layer, as a phase runs it. */
  const runStage = (index: number, before?: () => void): Promise<unknown> =>
    chain.run(index, async () => {
      before?.();
      return runner.runStep(stages[index]!, 'apply', () => undefined);
    });

  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'sf-disk-full-'));
    image = join(scratch, 'disk.img');
    mount = join(scratch, 'mnt');
    mkdirSync(mount);
    execFileSync('truncate', ['-s', '128M', image]);
    // no blocks reserved for root: the stages run as root and must meet the full disk; few
    // inodes, so that they can run out too
    execFileSync('mkfs.ext4', ['-q', '-F', '-m', '0', '-N', '1024', image]);
    device = execFileSync('losetup', ['--find', '--show', image], { encoding: 'utf8' }).trim();
    execFileSync('mount', [device, mount]);
    layout = buildLayout(join(mount, 'root'), 'os-image-test');
    cpSync(join(packageRoot, 'stages', 'lib'), join(layout.builderDir, 'stages', 'lib'), { recursive: true });
    writeStage(layout, 'one', 'mkdir -p "$1/chroot"; head -c 4M /dev/urandom >"$1/chroot/one"');
    writeStage(layout, 'two', 'head -c 4M /dev/urandom >"$1/chroot/two"');
    writeStage(layout, 'three', 'dd if=/dev/zero of="$1/chroot/three" bs=1M count=16 status=none');
    writeStage(layout, 'four', 'echo four >"$1/chroot/four"');
    writeStage(layout, 'broken', 'echo "a bug, not the disk" >&2; exit 4');
    runner = new StageRunner(new LocalMachine(), layout, join(scratch, 'logs'), { LANG: 'C.UTF-8' });
    chain = new LayerChain(new LocalMachine(), layout, stages, keys);
  });

  after(() => {
    // whatever happened: no mount below the scratch folder, no loop device on its image
    for (const m of mountsBelow(mount).reverse()) spawnSync('umount', ['-l', m]);
    if (device) spawnSync('losetup', ['-d', device]);
    rmSync(scratch, { recursive: true, force: true });
  });

  it('a stage that fails with room to spare is not called a full disk', async () => {
    await runner.prepare({ resume: false });
    const failure = await runner.runStep('broken', 'apply', () => undefined).catch((e: unknown) => e);
    assert.ok(failure instanceof StageFailure);
    assert.equal(failure.space, undefined, `free: ${freeBytes(mount)}`);
    assert.doesNotMatch(failure.message, /no space left/);
  });

  it('the disk filled at stage three: the failure says so with the free space and the path; one and two stay complete, no .part', async () => {
    await runStage(0);
    await runStage(1);
    assert.equal(await chain.probe(), 2);
    const failure = await runStage(2, () => fill(2 * MiB)).catch((e: unknown) => e);
    assert.ok(failure instanceof StageFailure, String(failure));
    assert.ok(failure.space, 'a shortage is found');
    assert.equal(failure.space.path, layout.root);
    assert.ok(failure.space.freeBytes < 4 * MiB, `free at the failure: ${failure.space.freeBytes}`);
    const shown = `${Math.floor(failure.space.freeBytes / MiB)} MiB`;
    assert.equal(failure.message, `stage three failed in apply.sh with exit code 1: no space left on the build machine: ${shown} free at ${layout.root}`);
    assert.ok(failure.tail.some((l) => /No space left on device/.test(l)));
    // the discard ran on the full disk and still left nothing of the layer
    assert.deepEqual(
      readdirSync(join(layout.root, 'layers')).filter((n) => n.endsWith('.part')),
      [],
    );
    assert.equal(await chain.probe(), 2, 'the layers before it stay complete');
    for (const key of keys.slice(0, 2)) assert.match(readFileSync(join(layout.root, 'layers', key, 'meta'), 'utf8'), /^size_mib=\d+$/m);
    assert.deepEqual(mountsBelow(layout.root), [], 'no mount left below the build root');
  });

  it('a layer that cannot even be made (no inode left) is refused with the same words and the stage to resume from', async () => {
    // blocks to spare, but no inode: the new layer's folders cannot be made
    const files = join(mount, 'inodes');
    mkdirSync(files);
    try {
      for (let i = 0; ; i++) writeFileSync(join(files, String(i)), '');
    } catch (err) {
      assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
    }
    try {
      const failure = await runStage(2).catch((e: unknown) => e);
      assert.ok(failure instanceof HintedError, String(failure));
      assert.match(
        failure.message,
        new RegExp(`^cannot start three: no space left on the build machine: no inode free \\(\\d+ MiB of blocks\\) at ${escape(layout.root)}$`),
      );
      assert.match(failure.hint, /--layer-limit/);
      assert.match(failure.hint, /stemforge cache prune/);
      assert.match(failure.hint, /--resume-from three$/);
      assert.deepEqual(
        readdirSync(join(layout.root, 'layers')).filter((n) => n.endsWith('.part')),
        [],
      );
      assert.equal(await chain.probe(), 2);
    } finally {
      rmSync(files, { recursive: true, force: true });
    }
  });

  it('with the filler removed, the chain resumes at stage three and completes', async () => {
    rmSync(filler(), { force: true });
    const from = await chain.probe();
    assert.equal(from, 2);
    for (let i = from; i < stages.length; i++) await runStage(i);
    assert.equal(await chain.probe(), 4);
    await chain.view();
    try {
      for (const stage of stages) assert.ok(existsSync(join(layout.chroot, stage)), `${stage}'s file in the merged chroot`);
    } finally {
      await chain.unmount();
    }
  });

  it('the CLI refuses a build whose root cannot hold it, before any stage, with the numbers', () => {
    const home = join(scratch, 'home');
    const r = spawnSync(
      process.execPath,
      [cli, 'os-image', '--os', 'debian-bookworm', '--machine', 'local', '--build-root', layout.root, '--until', 'base_debootstrap'],
      {
        encoding: 'utf8',
        env: { ...process.env, CI: 'true', NO_COLOR: '1', HOME: home, XDG_STATE_HOME: join(home, 'state'), STEMFORGE_CONFIG_DIR: join(home, 'config') },
      },
    );
    assert.equal(r.status, 1, r.stderr);
    const free = new RegExp(`not enough free space: needs (\\d+) MiB on the build machine at ${escape(layout.root)}, (\\d+) MiB free`);
    const numbers = free.exec(r.stderr);
    assert.ok(numbers, r.stderr);
    assert.ok(Number(numbers[1]) > Number(numbers[2]), 'the need is above the free space');
    assert.match(r.stderr, /what to do: .*stemforge cache prune.*--ignore-space/);
    assert.doesNotMatch(r.stderr, /base_debootstrap.*(started|completed)/, 'no stage ran');
    assert.ok(!existsSync(join(layout.root, 'builds', 'os-image-debian-bookworm', 'work', 'chroot')), 'no chroot was made');
  });

  it('counts the cache apart only on another file system than the output folder (else it links)', async () => {
    const remote = await probeBuildMachine(new LocalMachine(), layout.root);
    assert.equal(remote.path, layout.root);
    assert.ok(Math.abs(remote.freeBytes - freeBytes(mount)) < 4 * MiB, 'df on the build machine agrees with statfs');
    const plan = { osImage: planOsImage({ os: 'debian-bookworm' }).phases[0]!, stemcells: [] };
    const where = async (outputDir: string, cacheDir: string): Promise<string[]> =>
      (await spacePlaces({ plan, buildRoot: layout.root, outputDir, cacheDir }, remote)).map((p) => `${p.where} ${p.needBytes / MiB}`);
    const image = spaceFacts.osImageMiB;
    assert.deepEqual(await where(join(mount, 'out'), join(mount, 'cache')), [
      `the build machine ${stageSum(plan.osImage) + image}`,
      `this machine (output) ${image}`,
    ]);
    assert.deepEqual(await where(join(scratch, 'out'), join(mount, 'cache')), [
      `the build machine ${stageSum(plan.osImage) + image}`,
      `this machine (output) ${image}`,
      `this machine (cache) ${image}`,
    ]);
  });

  it('the local cache on a full disk: the store fails, and no entry or temp file is left', async () => {
    const cache = new ArtifactCache(join(mount, 'cache'));
    const meta = (key: string): Parameters<ArtifactCache['putFile']>[1] => ({ key, kind: 'stemcell', name: 'test.tgz', label: 'test', manifest: {} });
    // a copy from another file system: the blob itself cannot be written
    const elsewhere = join(scratch, 'stemcell.tgz');
    writeFileSync(elsewhere, Buffer.alloc(8 * MiB, 1));
    // the cache's folders exist before the disk runs full (taking a lock makes them)
    (await cache.lockKey('c'.repeat(64)))();
    try {
      fill(MiB);
      await assert.rejects(cache.putFile(elsewhere, meta('a'.repeat(64))), (e: NodeJS.ErrnoException) => e.code === 'ENOSPC');
      assert.deepEqual(await cache.list(), [], 'no entry');
      assert.deepEqual(readdirSync(cache.tmpDir), [], 'no temp file');
      const report = await cache.verify();
      assert.deepEqual([report.corrupt, report.tempFiles], [[], []], 'nothing damaged, nothing half-written');
    } finally {
      rmSync(filler(), { force: true });
    }
    // with room again the same file is stored whole
    const entry = await cache.putFile(elsewhere, meta('a'.repeat(64)));
    assert.equal(entry.size, 8 * MiB);
    assert.deepEqual((await cache.verify()).corrupt, []);
  });

  it('through an ssh machine (a real sshd on loopback): the same probe, and a stage that runs the disk full says so', { skip: sshdUnavailable() }, async () => {
    const sshd = await startSshd();
    const machine = await connectToSshd(sshd);
    try {
      const local = await probeBuildMachine(new LocalMachine(), layout.root);
      const remote = await probeBuildMachine(machine, layout.root);
      assert.equal(remote.path, layout.root);
      assert.ok(Math.abs(remote.freeBytes - local.freeBytes) < MiB, `ssh ${remote.freeBytes}, local ${local.freeBytes}`);
      assert.deepEqual(remote.metas, local.metas);
      const overSsh = new StageRunner(machine, layout, join(scratch, 'ssh-logs'), { LANG: 'C.UTF-8' });
      await overSsh.prepare({ resume: false });
      await overSsh.runStep('one', 'apply', () => undefined);
      fill(MiB);
      const failure = await overSsh.runStep('three', 'apply', () => undefined).catch((e: unknown) => e);
      assert.ok(failure instanceof StageFailure, String(failure));
      assert.match(failure.message, new RegExp(`: no space left on the build machine: \\d+ MiB free at ${escape(layout.root)}$`));
    } finally {
      rmSync(filler(), { force: true });
      await machine.close();
      await sshd.stop();
    }
  });

  it('leaves no mount and no loop device behind', () => {
    execFileSync('umount', [mount]);
    execFileSync('losetup', ['-d', device!]);
    device = undefined;
    assert.deepEqual(mountsBelow(mount), []);
    // the kernel lets a loop device go a moment after the detach
    for (let i = 0; i < 50 && loopDevicesOf(image) !== ''; i++) spawnSync('sleep', ['0.1']);
    assert.equal(loopDevicesOf(image), '');
  });
});
