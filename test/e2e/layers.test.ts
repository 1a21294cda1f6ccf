// End to end, as root, on the local machine: the OS-image phase on stage layers. A copy of
// the checkout is built cold (every stage on a new layer) and compared with the in-place
// build (--no-layers) of the same stages that the os-image e2e keeps as the shared OS-image
// fixture (built here when missing): same files, modes, owners and contents. It is built
// again (every layer reused, nothing runs), then a late stage of the copy is edited: only
// that stage and the ones after it run, and the image differs from the cold one by exactly
// what the edit adds.
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findOperatingSystem } from '../../src/catalog/planner.js';
import { packageRoot } from '../../src/util/paths.js';
import { osImageFixture } from '../helpers/os-image-fixture.js';
import { diffTrees, digestTree } from '../helpers/tree-digest.js';

const skip = process.getuid?.() === 0 ? undefined : 'needs root (--machine local, overlay mounts)';
const debian = findOperatingSystem('debian-bookworm');
const edited = 'bosh_audit_debian';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * What differs between two independent builds by nature: logs, salted password hashes,
 * backups, caches with time stamps, and what packages generate at random when installed
 * (openssh-server's host keys, which the stemcell phase removes; nvme-cli's host id).
 */
function differsBetweenBuilds(path: string): boolean {
  return /^var\/log\//.test(path) || /^etc\/(shadow|gshadow)-?$/.test(path) || /^etc\/(passwd|group)-$/.test(path)
    || /-old$/.test(path) || path === 'var/cache/ldconfig/aux-cache'
    || /^etc\/ssh\/ssh_host_[a-z0-9]+_key(\.pub)?$/.test(path) || /^etc\/nvme\/host(id|nqn)$/.test(path);
}

describe('stage layers (debian-bookworm OS image, local machine)', { skip, timeout: 30 * 60_000 }, () => {
  let scratch: string;
  let checkout: string;
  let common: string[];

  const run = (args: string[]): Promise<Run> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [join(checkout, 'bin', 'stemforge.js'), ...args], {
        env: { ...process.env, CI: 'true', NO_COLOR: '1', XDG_STATE_HOME: join(scratch, 'state'), STEMFORGE_CONFIG_DIR: join(scratch, 'config') },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  const applied = (r: Run): string[] => (JSON.parse(r.stdout) as { stages: { stage: string; step: string }[] }).stages.filter((s) => s.step === 'apply').map((s) => s.stage);
  const unpack = (image: string, name: string): string => {
    const dir = join(scratch, `unpacked-${name}`);
    mkdirSync(dir);
    execFileSync('tar', ['-xzf', image, '-C', dir, '--numeric-owner']);
    return dir;
  };

  before(() => {
    scratch = mkdtempSync('/var/tmp/stemforge-layers-e2e-');
    // a copy of the checkout whose stages the test may edit; node_modules is shared
    checkout = join(scratch, 'checkout');
    mkdirSync(checkout);
    for (const name of ['bin', 'dist', 'stages', 'templates', 'package.json']) cpSync(join(packageRoot, name), join(checkout, name), { recursive: true });
    symlinkSync(join(packageRoot, 'node_modules'), join(checkout, 'node_modules'));
    // --no-cache: the artifact cache would answer the second build before any layer is looked at
    common = ['os-image', '--os', 'debian-bookworm', '--machine', 'local', '--json', '--no-cache', '--package-cache', join(scratch, 'debs')];
  });

  after(() => {
    if (scratch) execFileSync('rm', ['-rf', '--one-file-system', scratch]);
  });

  it('builds every stage on its own layer into the image an in-place build makes, then reuses them all when nothing changed', async () => {
    // before the copy is edited: the fixture's key is the content of the checkout's stages
    const inPlace = await osImageFixture();
    const layered = [...common, '--build-root', join(scratch, 'layered')];
    const cold = await run([...layered, '--out', join(scratch, 'cold.tgz')]);
    assert.equal(cold.code, 0, cold.stderr.slice(-4000));
    assert.deepEqual(applied(cold), debian.osImageStages);
    assert.match(cold.stderr, /0 of 27 stage layers reused, running from base_debootstrap/);
    const layers = readdirSync(join(scratch, 'layered', 'layers')).filter((n) => /^[0-9a-f]{32}$/.test(n));
    assert.equal(layers.length, debian.osImageStages.length, 'one layer per stage');
    const a = digestTree(unpack(inPlace, 'in-place'), differsBetweenBuilds);
    const b = digestTree(unpack(join(scratch, 'cold.tgz'), 'cold'), differsBetweenBuilds);
    assert.ok(a.size > 20_000, `${a.size} entries compared`);
    assert.deepEqual(diffTrees(a, b), []);

    const again = await run([...layered, '--out', join(scratch, 'again.tgz')]);
    assert.equal(again.code, 0, again.stderr.slice(-4000));
    assert.deepEqual(applied(again), [], 'no stage ran');
    assert.match(again.stderr, /27 of 27 stage layers reused/);
  });

  it(`after an edit of ${edited} only it and the stages after it run, and the image is the cold one plus the edit`, async () => {
    appendFileSync(join(checkout, 'stages', edited, 'apply.sh'), 'echo "edited by the layers test" >"$chroot/etc/stemforge-layers-test"\n');
    const incremental = await run([...common, '--build-root', join(scratch, 'layered'), '--out', join(scratch, 'incremental.tgz')]);
    assert.equal(incremental.code, 0, incremental.stderr.slice(-4000));
    const from = debian.osImageStages.indexOf(edited);
    assert.deepEqual(applied(incremental), debian.osImageStages.slice(from));

    // the stages before the edit come from the cold build's layers: nothing may differ but the edit
    const cold = digestTree(unpack(join(scratch, 'cold.tgz'), 'cold-again'), differsBetweenBuilds);
    const a = digestTree(unpack(join(scratch, 'incremental.tgz'), 'incremental'), differsBetweenBuilds);
    assert.deepEqual(diffTrees(cold, a), ['+ etc/stemforge-layers-test']);
  });
});
