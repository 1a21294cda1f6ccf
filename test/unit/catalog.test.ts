import assert from 'node:assert/strict';
import { existsSync, realpathSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { infrastructures, packageStages } from '../../src/catalog/infrastructures.js';
import { operatingSystems } from '../../src/catalog/operating-systems.js';

const debootstrapScripts = '/usr/share/debootstrap/scripts';

// The reference builder's OS-image list for Jammy, in order (stemcell-builder-facts.md §3).
const jammyReference = [
  'base_debootstrap',
  'base_ubuntu_firstboot',
  'base_apt',
  'base_ubuntu_build_essential',
  'base_ubuntu_packages',
  'base_file_permission',
  'base_ssh',
  'bosh_sysstat',
  'bosh_environment',
  'bosh_sysctl',
  'bosh_limits',
  'bosh_users',
  'bosh_monit',
  'bosh_ntp',
  'bosh_sudoers',
  'bosh_systemd',
  'password_policies',
  'restrict_su_command',
  'tty_config',
  'rsyslog_config',
  'delay_monit_start',
  'system_grub',
  'vim_tiny',
  'cron_config',
  'escape_ctrl_alt_del',
  'bosh_audit_ubuntu',
  'bosh_log_audit_start',
  'clean_machine_id',
];

function os(name: string) {
  const found = operatingSystems.find((o) => o.name === name);
  assert.ok(found, `${name} is in the catalog`);
  return found;
}

describe('operating systems', () => {
  it('offers exactly the three lines', () => {
    assert.deepEqual(
      operatingSystems.map((o) => o.name),
      ['ubuntu-jammy', 'ubuntu-noble', 'debian-bookworm'],
    );
  });

  it('jammy has the 28 reference stages in reference order', () => {
    assert.equal(jammyReference.length, 28);
    assert.deepEqual(os('ubuntu-jammy').osImageStages, jammyReference);
  });

  it('noble is jammy without delay_monit_start (27 stages)', () => {
    const noble = os('ubuntu-noble').osImageStages;
    assert.equal(noble.length, 27);
    assert.deepEqual(
      noble,
      jammyReference.filter((s) => s !== 'delay_monit_start'),
    );
  });

  it('debian follows the noble order with its own distro stages', () => {
    const debian = os('debian-bookworm').osImageStages;
    const expected = jammyReference.filter((s) => s !== 'delay_monit_start').map((s) => s.replace('_ubuntu', '_debian'));
    assert.deepEqual(debian, expected);
    assert.ok(!debian.some((s) => s.includes('ubuntu')));
  });

  it('names per-release packages: cracklib on jammy, pwquality on noble', () => {
    assert.ok(os('ubuntu-jammy').packages.includes('libpam-cracklib'));
    assert.ok(!os('ubuntu-jammy').packages.includes('libpam-pwquality'));
    assert.ok(os('ubuntu-noble').packages.includes('libpam-pwquality'));
    assert.ok(!os('ubuntu-noble').packages.includes('libpam-cracklib'));
  });

  it('renames per release: t64 and ncurses on noble, Debian 12 names on bookworm, the rest as the reference', () => {
    const jammy = os('ubuntu-jammy').packages;
    const noble = os('ubuntu-noble').packages;
    const debian = os('debian-bookworm').packages;
    assert.ok(jammy.includes('libaio1') && !jammy.includes('libaio1t64'));
    assert.ok(noble.includes('libaio1t64') && !noble.includes('libaio1'));
    assert.ok(noble.includes('libncurses-dev') && jammy.includes('libncurses5-dev'));
    assert.ok(jammy.includes('resolvconf') && !noble.includes('resolvconf'), 'noble has no resolvconf');
    assert.ok(noble.includes('nftables') && debian.includes('nftables') && !jammy.includes('nftables'));
    for (const [from, to] of [
      ['rng-tools', 'rng-tools5'],
      ['libgcrypt-dev', 'libgcrypt20-dev'],
      ['libpam-cracklib', 'libpam-pwquality'],
    ]) {
      assert.ok(!debian.includes(from!) && debian.includes(to!), `${from} -> ${to}`);
    }
    // what every line shares with the reference
    for (const p of ['openssh-server', 'chrony', 'runit', 'sysstat', 'parted', 'rsyslog', 'anacron', 'iptables', 'sudo']) {
      for (const o of operatingSystems) assert.ok(o.packages.includes(p), `${o.name}: ${p}`);
    }
    for (const o of operatingSystems) {
      assert.equal(new Set(o.packages).size, o.packages.length, `${o.name}: no duplicates`);
      assert.ok(
        o.purgePackages.every((p) => !o.packages.includes(p)),
        `${o.name}: never install what is purged`,
      );
    }
  });

  it('supervises monit with runit on jammy as the reference, with systemd elsewhere', () => {
    assert.equal(os('ubuntu-jammy').serviceManager, 'runit');
    assert.equal(os('ubuntu-noble').serviceManager, 'systemd');
    assert.equal(os('debian-bookworm').serviceManager, 'systemd');
    assert.equal(os('ubuntu-jammy').monitApiFilter, 'iptables');
    assert.equal(os('ubuntu-noble').monitApiFilter, 'nftables');
  });

  it(
    "names each line's debootstrap script: the one this machine's debootstrap links the line's suite to",
    { skip: !existsSync(debootstrapScripts) && 'debootstrap is not installed' },
    () => {
      for (const o of operatingSystems) {
        const suiteScript = join(debootstrapScripts, o.suite);
        // Debian 12's debootstrap has no noble: the line's script is what builds it there
        if (existsSync(suiteScript)) assert.equal(basename(realpathSync(suiteScript)), o.debootstrapScript, o.name);
        assert.ok(existsSync(join(debootstrapScripts, o.debootstrapScript)), o.name);
      }
      assert.equal(os('ubuntu-noble').debootstrapScript, 'gutsy');
    },
  );

  it('names each line its archive keyring', () => {
    assert.match(os('debian-bookworm').keyring, /debian-archive-keyring\.gpg$/);
    assert.match(os('ubuntu-noble').keyring, /ubuntu-archive-keyring\.gpg$/);
  });

  it('has no duplicate stage in any list', () => {
    for (const o of operatingSystems) assert.equal(new Set(o.osImageStages).size, o.osImageStages.length, o.name);
  });
});

describe('infrastructures', () => {
  const byName = Object.fromEntries(infrastructures.map((i) => [i.name, i]));

  it('has the ten infrastructures of the reference', () => {
    assert.deepEqual(infrastructures.map((i) => i.name).sort(), [
      'alicloud',
      'aws',
      'azure',
      'cloudstack',
      'google',
      'openstack',
      'softlayer',
      'vcloud',
      'vsphere',
      'warden',
    ]);
  });

  it('matches the reference table row by row', () => {
    const rows: [string, string, string, string[], string[], number][] = [
      ['aws', 'xen', 'xen-hvm', ['raw'], ['aws-raw'], 5120],
      ['alicloud', 'kvm', 'kvm', ['raw'], ['alicloud-raw'], 5120],
      ['azure', 'hyperv', 'hyperv', ['vhd'], ['azure-vhd'], 5120],
      ['google', 'kvm', 'kvm', ['rawdisk'], ['google-rawdisk'], 5120],
      ['openstack', 'kvm', 'kvm', ['qcow2', 'raw'], ['openstack-qcow2', 'openstack-raw'], 5120],
      ['vsphere', 'esxi', 'esxi', ['ovf'], ['vsphere-ova', 'vsphere-ovf'], 5120],
      ['vcloud', 'esxi', 'esxi', ['ovf'], ['vcloud-ova', 'vcloud-ovf'], 5120],
      ['warden', 'boshlite', 'boshlite', ['files'], ['warden-tar'], 5120],
      ['cloudstack', 'xen', 'xen', ['vhdx'], ['cloudstack-vhdx'], 5120],
      ['softlayer', 'esxi', 'esxi', ['ovf'], ['softlayer-ovf'], 25600],
    ];
    for (const [name, hypervisor, nameHypervisor, formats, stemcellFormats, disk] of rows) {
      const i = byName[name]!;
      assert.deepEqual(
        [i.hypervisor, i.nameHypervisor, i.diskFormats, i.stemcellFormats, i.diskSizeMiB],
        [hypervisor, nameHypervisor, formats, stemcellFormats, disk],
        name,
      );
    }
  });

  it('carries the extra cloud_properties', () => {
    assert.deepEqual(byName.aws!.cloudProperties, { root_device_name: '/dev/sda1' });
    assert.deepEqual(byName.alicloud!.cloudProperties, { root_device_name: '/dev/vda1' });
    assert.deepEqual(byName.openstack!.cloudProperties, { auto_disk_config: true });
    assert.deepEqual(byName.cloudstack!.cloudProperties, { auto_disk_config: true });
  });

  it('pins the aws and vsphere image stages to the reference (plus system_initramfs, ours)', () => {
    assert.deepEqual(byName.aws!.imageStages, [
      'system_network',
      'system_aws_modules',
      'system_parameters',
      'bosh_clean',
      'bosh_harden',
      'bosh_aws_agent_settings',
      'bosh_clean_ssh',
      'udev_aws_rules',
      'system_initramfs',
      'image_create',
      'image_install_grub',
      'sbom_create',
    ]);
    assert.deepEqual(byName.vsphere!.imageStages.slice(-4), ['system_initramfs', 'image_create_efi', 'image_install_grub_efi', 'sbom_create']);
  });

  it('builds the initramfs once, after every stage that changes it and before the disk image', () => {
    const changesInitramfs = /_modules$|^enable_udf_module$/;
    for (const i of infrastructures) {
      const at = i.imageStages.indexOf('system_initramfs');
      assert.equal(i.imageStages.filter((s) => s === 'system_initramfs').length, 1, i.name);
      i.imageStages.forEach((s, n) => {
        if (changesInitramfs.test(s)) assert.ok(n < at, `${i.name}: ${s} before system_initramfs`);
        if (s.startsWith('image_')) assert.ok(n > at, `${i.name}: ${s} after system_initramfs`);
      });
    }
  });

  it('ends every image list with the SBOM and has packaging stages for every format', () => {
    for (const i of infrastructures) {
      assert.equal(i.imageStages.at(-1), 'sbom_create', i.name);
      assert.ok(i.imageStages.includes('bosh_clean_ssh'), i.name);
      for (const f of i.diskFormats) assert.ok(packageStages[f].length > 0, `${i.name} ${f}`);
    }
    assert.deepEqual(packageStages.ovf, ['image_ovf_vmx', 'image_ovf_generate', 'prepare_ovf_image_stemcell']);
  });
});
