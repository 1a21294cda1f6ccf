// templates/provision.sh's package choice, from the real script (--print-packages) with a
// stand-in `dpkg` on PATH that answers the VM's architecture (this machine is one
// architecture; the builder VM may be the other). The amd64 choice must stay within what the
// CI's prepared box has, so that its provisioning needs no apt run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { packageRoot } from '../../src/util/paths.js';

const script = join(packageRoot, 'templates', 'provision.sh');

/** The script's package list on a VM whose dpkg says `arch`. */
function packagesOn(t: TestContext, arch: string): string[] {
  const bin = mkdtempSync(join(tmpdir(), 'sf-provision-'));
  t.after(() => rmSync(bin, { recursive: true, force: true }));
  const dpkg = join(bin, 'dpkg');
  writeFileSync(dpkg, `#!/bin/sh\n[ "$1" = --print-architecture ] || exit 2\necho ${arch}\n`);
  chmodSync(dpkg, 0o755);
  const r = spawnSync('bash', [script, '--print-packages'], { encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin` } });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean);
}

/** A bash array assignment of test/vagrant/build-box.sh (NAME=(a b …) or NAME=a,b,…). */
function boxList(name: string): string[] {
  const text = readFileSync(join(packageRoot, 'test', 'vagrant', 'build-box.sh'), 'utf8');
  const m = new RegExp(`^${name}=(?:\\(([^)]*)\\)|(\\S+))`, 'm').exec(text);
  assert.ok(m, `${name} in build-box.sh`);
  return (m[1] ?? m[2]!).split(/[\s,]+/).filter(Boolean);
}

describe('provision.sh: the packages it installs', () => {
  it('adds qemu-user-static and binfmt-support on an arm64 VM only, and no GRUB anywhere', (t) => {
    const amd64 = packagesOn(t, 'amd64');
    const arm64 = packagesOn(t, 'arm64');
    assert.ok(amd64.includes('debootstrap') && amd64.includes('qemu-utils'), amd64.join(' '));
    assert.ok(!amd64.includes('qemu-user-static') && !amd64.includes('binfmt-support'), amd64.join(' '));
    assert.deepEqual(
      arm64.filter((p) => !amd64.includes(p)),
      ['qemu-user-static', 'binfmt-support'],
    );
    assert.deepEqual(
      amd64.filter((p) => !arm64.includes(p)),
      [],
    );
    // the stages run the image's own GRUB tools in its chroot (stages/lib/disk.bash image_tool)
    assert.deepEqual(
      [...amd64, ...arm64].filter((p) => p.startsWith('grub')),
      [],
    );
  });

  it("chooses on an amd64 VM only what the CI's prepared box already has (no apt run there)", (t) => {
    // debootstrap --variant=minbase installs the Essential packages; these three are among them
    const essential = ['tar', 'gzip', 'util-linux'];
    const box = new Set([...boxList('BUILDER_PACKAGES'), ...boxList('INCLUDE'), ...essential]);
    assert.deepEqual(
      packagesOn(t, 'amd64').filter((p) => !box.has(p)),
      [],
    );
  });
});
