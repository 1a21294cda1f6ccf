import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findInfrastructure, findOperatingSystem } from '../../src/catalog/planner.js';
import { monitSourcePin } from '../../src/catalog/pins.js';
import { osImageSettings, renderSettings, stemcellSettings } from '../../src/pipeline/settings-file.js';
import { hostileArguments } from '../helpers/hostile.js';

function sourceInBash(text: string, keys: string[]): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'sf-settings-'));
  const file = join(dir, 'settings.bash');
  writeFileSync(file, text);
  const script = `set -eu; source "$1"; shift; for k in "$@"; do printf '%s\\0%s\\0' "$k" "\${!k}"; done`;
  const out = execFileSync('bash', ['-c', script, 'bash', file, ...keys])
    .toString('utf8')
    .split('\0');
  const result: Record<string, string> = {};
  for (let i = 0; i + 1 < out.length; i += 2) result[out[i]!] = out[i + 1]!;
  return result;
}

describe('renderSettings', () => {
  it('is read back by bash exactly, hostile values included', () => {
    const values: Record<string, string> = {};
    hostileArguments.filter((v) => !v.includes('\n')).forEach((v, i) => (values[`key_${i}`] = v));
    assert.deepEqual(sourceInBash(renderSettings(values), Object.keys(values)), values);
  });

  it('refuses keys that are not shell names and values that span lines', () => {
    assert.throws(() => renderSettings({ 'bad-key': 'x' }), /invalid settings key/);
    assert.throws(() => renderSettings({ good: 'a\nb' }), /spans lines/);
  });
});

describe('osImageSettings', () => {
  it('carries the catalog entry into the keys the stages read', () => {
    const s = osImageSettings({
      os: findOperatingSystem('debian-bookworm'),
      stemforgeVersion: '0.1.0',
      usersPassword: 'pw',
      packageCacheRoot: '/var/cache/x',
      buildRoot: '/var/tmp/sf',
    });
    assert.equal(s.os_suite, 'bookworm');
    assert.equal(s.os_distro, 'debian');
    assert.equal(s.debootstrap_script, 'sid');
    assert.equal(s.mirror, '');
    assert.ok(s.os_packages!.split(' ').includes('openssh-server'));
    const back = sourceInBash(renderSettings(s), Object.keys(s));
    assert.deepEqual(back, s);
  });

  it("names monit's source: the catalog pin, or a local tarball sent to the build machine's inputs by digest", () => {
    const base = {
      os: findOperatingSystem('debian-bookworm'),
      stemforgeVersion: '0.1.0',
      usersPassword: 'pw',
      packageCacheRoot: '/var/cache/x',
      buildRoot: '/var/tmp/sf',
    };
    const pinned = osImageSettings(base);
    assert.equal(pinned.monit_source_url, monitSourcePin.url);
    assert.equal(pinned.monit_source_sha256, monitSourcePin.sha256);
    assert.equal(pinned.monit_source_file, '');
    const sha = 'ab'.repeat(32);
    const local = osImageSettings({ ...base, monit: { file: '/home/me/monit.tgz', sha256: sha } });
    assert.equal(local.monit_source_url, '');
    assert.equal(local.monit_source_sha256, sha);
    assert.equal(local.monit_source_file, `/var/tmp/sf/inputs/monit-${sha}.tar.gz`);
  });
});

describe('stemcellSettings', () => {
  const settings = (os: string, iaas: string) =>
    stemcellSettings({
      os: findOperatingSystem(os),
      stemforgeVersion: '0.1.0',
      usersPassword: 'pw',
      packageCacheRoot: '/var/cache/x',
      buildRoot: '/var/tmp/sf',
      infrastructure: findInfrastructure(iaas),
      diskFormat: findInfrastructure(iaas).diskFormats[0]!,
      version: '1.622',
      osImageTgz: '/var/lib/stemforge/inputs/os-image-ab.tgz',
      agent: { file: '/var/lib/stemforge/inputs/agent-cd', sha256: 'cd'.repeat(32) },
      blobstoreClis: false,
      builderCommit: 'abc+',
    });

  it("gives the stages the stemcell's identity, inputs and agent.json, and reads back in bash", () => {
    const s = settings('ubuntu-jammy', 'aws');
    assert.equal(s.stemcell_name, 'bosh-aws-xen-hvm-ubuntu-jammy-go_agent');
    assert.equal(s.stemcell_hypervisor, 'xen');
    assert.equal(s.stemcell_name_hypervisor, 'xen-hvm');
    assert.equal(s.blobstore_clis, 'skip');
    assert.equal(s.agent_url, '');
    const agent = JSON.parse(s.agent_json!) as { Platform: { Linux: Record<string, unknown> } };
    assert.equal(agent.Platform.Linux.DevicePathResolutionType, 'virtio');
    assert.equal(agent.Platform.Linux.ServiceManager, undefined, 'jammy runs monit under runit');
    assert.equal((JSON.parse(settings('debian-bookworm', 'aws').agent_json!) as typeof agent).Platform.Linux.ServiceManager, 'systemd');
    assert.deepEqual(sourceInBash(renderSettings(s), Object.keys(s)), s);
  });

  it('builds the kernel command line per infrastructure and line', () => {
    const jammy = settings('ubuntu-jammy', 'aws').kernel_cmdline!.split(' ');
    assert.ok(jammy.includes('rootdelay=300') && jammy.includes('nvme_core.io_timeout=4294967295') && jammy.includes('console=ttyS0,115200n8'));
    const debian = settings('debian-bookworm', 'openstack').kernel_cmdline!.split(' ');
    assert.ok(!debian.includes('rootdelay=300'), "Debian's initramfs would sleep it");
    assert.ok(!debian.includes('nvme_core.io_timeout=4294967295'));
    assert.ok(settings('ubuntu-noble', 'cloudstack').kernel_cmdline!.split(' ').includes('console=hvc0'));
  });
});
