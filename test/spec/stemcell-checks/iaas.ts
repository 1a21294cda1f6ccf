// Stemcell spec checks: the per-infrastructure stages (agent settings, boot drivers, guest
// tools, cloud-init, sshd switches, warden container setup).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { infrastructures } from '../../../src/catalog/infrastructures.js';
import type { ImageView } from '../image.js';
import type { StemcellCheck } from '../stemcell-spec.js';
import { firstDifference, promisedAgentJson } from './agent-settings-facts.js';

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** Kernel versions installed in the image (a vmlinuz with its modules directory). */
function kernels(img: ImageView): string[] {
  const found = img
    .list('boot')
    .filter((f) => f.startsWith('vmlinuz-'))
    .map((f) => f.slice('vmlinuz-'.length))
    .filter((k) => img.exists(`lib/modules/${k}`));
  assert.ok(found.length > 0, 'no kernel in the image');
  return found;
}

/** The module's file name for kernel k, '(builtin)', or '' when the kernel lacks it. */
function moduleFile(img: ImageView, k: string, m: string): string {
  const r = img.run(['modinfo', '-k', k, '-F', 'filename', m]);
  return r.code === 0 ? r.stdout.trim() : '';
}

function assertKernelHas(img: ImageView, modules: string[]): void {
  for (const k of kernels(img)) {
    for (const m of modules) assert.notEqual(moduleFile(img, k, m), '', `kernel ${k} has no module ${m}`);
  }
}

/** Every module listed in /etc/initramfs-tools/modules and in (or built into) each kernel's initramfs. */
function assertInitramfsHas(img: ImageView, modules: string[]): void {
  const listed = img.activeLines('etc/initramfs-tools/modules');
  for (const m of modules) assert.ok(listed.includes(m), `/etc/initramfs-tools/modules names ${m}`);
  for (const k of kernels(img)) {
    const contents = img.runOk(['lsinitramfs', `/boot/initrd.img-${k}`]).split('\n');
    for (const m of modules) {
      const file = moduleFile(img, k, m);
      assert.notEqual(file, '', `kernel ${k} has no module ${m}`);
      if (file === '(builtin)') continue;
      const base = file.split('/').pop()!;
      assert.ok(
        contents.some((l) => l.endsWith(`/${base}`)),
        `initramfs of ${k} holds ${base}`,
      );
    }
  }
}

/** the image's systemd state for a unit ('' when systemctl knows no such unit) */
export function unitState(img: ImageView, unit: string): string {
  return img.run(['systemctl', 'is-enabled', unit]).stdout.trim();
}

export function assertEnabled(img: ImageView, unit: string): void {
  assert.equal(unitState(img, unit), 'enabled', `${unit} enabled`);
}

function installedAny(img: ImageView, names: string[]): string {
  const found = names.find((p) => img.installed(p));
  assert.ok(found, `one of ${names.join(', ')} installed`);
  return found;
}

/** sshd -T of the image, with a throwaway host key and /run/sshd (as a booted VM has them). */
export function sshdEffective(img: ImageView): string {
  return img.runOk([
    'bash',
    '-c',
    `set -e
    dir=$(mktemp -d /tmp/sf-spec-sshd.XXXXXX); made=0
    trap 'rm -rf "$dir"; if [ "$made" = 1 ]; then rm -rf /run/sshd; fi' EXIT
    [ -d /run/sshd ] || { mkdir -p /run/sshd; made=1; }
    ssh-keygen -q -t ed25519 -N '' -f "$dir/key"
    sshd -t -f /etc/ssh/sshd_config -h "$dir/key"
    sshd -T -f /etc/ssh/sshd_config -h "$dir/key" -C user=vcap,host=localhost,addr=127.0.0.1`,
  ]);
}

const agentJsonChecks: StemcellCheck[] = infrastructures.map((iaas) => {
  const stage = iaas.imageStages.find((s) => /^bosh_[a-z]+_agent_settings$/.test(s)) ?? 'base_warden';
  return {
    stages: [stage],
    only: [iaas.name],
    title: `agent.json is ${iaas.name}'s as the reference's stage writes it (plus ServiceManager on systemd lines), root-only`,
    covers: ['alicloud', 'aws', 'cloudstack', 'google', 'openstack', 'vsphere', 'softlayer'].includes(iaas.name)
      ? [`sc.agent-json.${iaas.name}`]
      : iaas.name === 'azure'
        ? ['iaas.azure.agent-json']
        : [],
    run(img) {
      const file = 'var/vcap/bosh/agent.json';
      // Compared with facts written independently of src/ (agent-settings-facts.ts), not with the catalog.
      const actual = JSON.parse(img.read(file)) as unknown;
      const expected = promisedAgentJson(iaas.name, img.os.serviceManager);
      const diff = firstDifference(actual, expected);
      assert.deepEqual(actual, expected, `/${file} is not ${iaas.name}'s: first difference at ${diff ?? '(none found)'}`);
      assert.equal(img.mode(file), 0o600);
      assert.equal(img.lstat(file)!.uid, 0);
      assert.equal(img.mode('var/vcap/bosh'), 0o700);
    },
  };
});

export const iaasChecks: StemcellCheck[] = [
  ...agentJsonChecks,
  {
    stages: ['system_aws_modules'],
    only: ['aws'],
    title: 'NVMe and xen-blkfront in the initramfs, ENA and xen-netfront in the kernel',
    run(img) {
      assertInitramfsHas(img, ['nvme', 'xen-blkfront']);
      assertKernelHas(img, ['ena', 'xen-netfront']);
    },
  },
  {
    stages: ['udev_aws_rules'],
    only: ['aws'],
    title: 'NVMe EBS volumes get their attachment names: udev rule and a working ebs-nvme-id',
    run(img) {
      const rules = img.read('etc/udev/rules.d/70-ec2-nvme-devices.rules');
      const ebs = 'ATTRS\\{model\\}=="Amazon Elastic Block Store", PROGRAM="/usr/sbin/ebs-nvme-id /dev/%k"';
      assert.match(rules, new RegExp(`^ENV\\{DEVTYPE\\}=="disk", ${ebs}, SYMLINK\\+="%c"$`, 'm'));
      assert.match(rules, new RegExp(`^ENV\\{DEVTYPE\\}=="partition", ${ebs}, SYMLINK\\+="%c%n"$`, 'm'));
      assert.equal(img.mode('usr/sbin/ebs-nvme-id'), 0o755);
      // The helper against a stand-in nvme printing identify data with "/dev/xvdf" at byte 3072.
      const out = img.runOk([
        'bash',
        '-c',
        `set -e
        dir=$(mktemp -d /tmp/sf-spec-ebs.XXXXXX); trap 'rm -rf "$dir"' EXIT
        printf '#!/bin/sh\\nhead -c 3072 /dev/zero; printf "%%-32s" /dev/xvdf; head -c 992 /dev/zero\\n' > "$dir/nvme"
        chmod 0755 "$dir/nvme"
        PATH="$dir:$PATH" /usr/sbin/ebs-nvme-id /dev/nvme3n1p1`,
      ]);
      assert.equal(out, 'xvdf\n');
    },
  },
  {
    stages: ['system_alicloud'],
    only: ['alicloud'],
    title: "ext4 made with the image's defaults has no metadata_csum",
    covers: ['iaas.alicloud.no-metadata-csum'],
    run(img) {
      for (const l of img.activeLines('etc/mke2fs.conf').filter((x) => /^features\s*=/.test(x))) {
        assert.doesNotMatch(l, /metadata_csum/);
      }
      const features = img.runOk([
        'bash',
        '-c',
        `set -e
        f=$(mktemp /tmp/sf-spec-ext4.XXXXXX); trap 'rm -f "$f"' EXIT
        mke2fs -q -F -t ext4 "$f" 16M
        dumpe2fs -h "$f" 2>/dev/null | sed -n 's/^Filesystem features:[[:space:]]*//p'`,
      ]);
      assert.match(features, /extent/);
      assert.doesNotMatch(features, /metadata_csum/);
    },
  },
  {
    stages: ['system_azure_network'],
    only: ['azure'],
    title: 'host name, loopback-only ifupdown, eth0 by DHCP through systemd-networkd, port 65330 reserved',
    run(img) {
      assert.equal(img.read('etc/hostname'), 'bosh-stemcell\n');
      const network = img.read('etc/systemd/network/99-bosh-azure-eth0.network');
      assert.match(network, /^\[Match\]\nName=eth0$/m);
      assert.match(network, /^DHCP=ipv4$/m);
      assert.equal(unitState(img, 'systemd-networkd.service'), 'enabled');
      assert.deepEqual(
        img.activeLines('etc/network/interfaces').filter((l) => /^(auto|iface|allow-)/.test(l)),
        ['auto lo', 'iface lo inet loopback'],
      );
      assert.deepEqual(img.activeLines('etc/sysctl.d/90-azure-sysctl.conf'), ['net.ipv4.ip_local_reserved_ports = 65330']);
    },
  },
  {
    stages: ['system_azure_init'],
    only: ['azure'],
    title: 'cloud-init (Azure only, no disks, network or passwords), the Azure Linux agent and KVP daemon enabled',
    run(img) {
      assert.ok(img.installed('cloud-init'), 'cloud-init');
      const agent = installedAny(img, ['walinuxagent', 'waagent']);
      installedAny(img, ['hyperv-daemons', 'linux-cloud-tools-common']);
      const conf = img.activeLines('etc/waagent.conf').map((l) => l.replace(/\s+#.*$/, ''));
      for (const s of [
        'Provisioning.Agent=cloud-init',
        'ResourceDisk.Format=n',
        'ResourceDisk.EnableSwap=n',
        'AutoUpdate.Enabled=n',
        'Provisioning.RegenerateSshHostKeyPair=n',
        'Provisioning.MonitorHostName=n',
        'OS.EnableFirewall=n',
      ]) {
        assert.ok(conf.includes(s), `waagent.conf: ${s}`);
      }
      const waUnit = img
        .runOk(['dpkg-query', '-L', agent])
        .split('\n')
        .find((l) => /\/systemd\/system\/[^/]+\.service$/.test(l))!
        .split('/')
        .pop()!;
      for (const u of [waUnit, 'hv-kvp-daemon.service', 'cloud-init-local.service', 'cloud-init.service', 'cloud-config.service', 'cloud-final.service']) {
        assertEnabled(img, u);
      }
      const merged = JSON.parse(
        img.runOk([
          'python3',
          '-c',
          `
import json
from cloudinit import stages
init = stages.Init()
init.read_cfg()
c = init.cfg
print(json.dumps({"ds": c.get("datasource_list"), "net": c.get("network"),
  "mods": (c.get("cloud_init_modules") or []) + (c.get("cloud_config_modules") or []) + (c.get("cloud_final_modules") or []),
  "user": (init.distro.get_default_user() or {}).get("name")}))`,
        ]),
      ) as { ds: string[]; net: Json; mods: string[]; user: string };
      assert.deepEqual(merged.ds, ['Azure', 'None']);
      assert.deepEqual(merged.net, { config: 'disabled' });
      assert.equal(merged.user, 'vcap');
      for (const m of ['disk_setup', 'mounts', 'growpart', 'resizefs', 'set_passwords', 'apt_configure']) {
        assert.ok(!merged.mods.includes(m), `cloud-init module ${m} does not run`);
      }
    },
  },
  {
    stages: ['enable_udf_module'],
    only: ['azure'],
    title: 'udf exists and modprobe neither blacklists nor replaces it',
    covers: ['iaas.azure.udf-allowed'],
    run(img) {
      assertKernelHas(img, ['udf']);
      for (const k of kernels(img)) {
        const blocked = img.runOk(['bash', '-c', `set -o pipefail; modprobe -S '${k}' -c | { grep -E '^(blacklist udf|install udf )' || true; }`]);
        assert.equal(blocked, '', `modprobe configuration of ${k} blocks udf`);
      }
    },
  },
  {
    stages: ['bosh_azure_chrony'],
    only: ['azure'],
    title: 'chrony uses the Hyper-V PTP clock /dev/ptp_hyperv, which udev names',
    run(img) {
      const parsed = img.runOk(['chronyd', '-p', '-f', '/etc/chrony/chrony.conf']);
      assert.equal(parsed.split('\n').filter((l) => l.startsWith('refclock PHC /dev/ptp_hyperv')).length, 1, parsed);
      const rules = img.runOk(['bash', '-c', 'grep -h ptp_hyperv /lib/udev/rules.d/*.rules /etc/udev/rules.d/*.rules 2>/dev/null || true']);
      assert.match(rules, /ATTR\{clock_name\}=="hyperv".*SYMLINK\s*\+=\s*"ptp_hyperv"/, 'a udev rule names /dev/ptp_hyperv');
    },
  },
  {
    stages: ['system_google_modules'],
    only: ['google'],
    title: 'virtio_scsi loaded at boot, GCE disk drivers in the initramfs, virtio-net and gVNIC in the kernel',
    run(img) {
      assert.equal(img.activeLines('etc/modules').filter((l) => l === 'virtio_scsi').length, 1);
      assertInitramfsHas(img, ['virtio_pci', 'virtio_scsi', 'nvme']);
      assertKernelHas(img, ['virtio_net', 'gve']);
    },
  },
  {
    stages: ['system_google_packages'],
    only: ['google'],
    title: 'Google guest agent and OS Login installed, configured for BOSH; no growroot, no DHCP host-name hook',
    run(img) {
      installedAny(img, ['gce-compute-image-packages', 'google-guest-agent']);
      assert.ok(img.installed('google-compute-engine-oslogin'));
      assertEnabled(img, 'google-guest-agent.service');
      // The guest agent's view: .distro, then .template, then .cfg, a later file winning per key.
      const effective = new Map<string, string>();
      for (const f of ['distro', 'template', ''].map((x) => `etc/default/instance_configs.cfg${x ? `.${x}` : ''}`)) {
        if (!img.exists(f)) continue;
        let section = '';
        for (const l of img.activeLines(f)) {
          const head = l.match(/^\[(.+)\]$/);
          if (head) section = head[1]!;
          else if (l.includes('=')) effective.set(`${section}.${l.split('=')[0]!.trim()}`, l.slice(l.indexOf('=') + 1).trim());
        }
      }
      for (const [k, v] of Object.entries({
        'InstanceSetup.set_host_keys': 'false',
        'MetadataScripts.startup': 'false',
        'MetadataScripts.shutdown': 'false',
        'Daemons.accounts_daemon': 'true',
        'Core.cloud_logging_enabled': 'false',
      })) {
        assert.equal(effective.get(k), v, k);
      }
      for (const u of ['google-startup-scripts.service', 'google-shutdown-scripts.service']) assert.notEqual(unitState(img, u), 'enabled', u);
      assert.ok(img.exists('etc/growroot-disabled'));
      assert.ok(!img.exists('etc/dhcp/dhclient-exit-hooks.d/google_set_hostname'));
    },
  },
  {
    stages: ['system_openstack_clock'],
    only: ['openstack'],
    title: 'no hwclock at boot or shutdown, RTC in UTC',
    run(img) {
      for (const d of ['0', '1', '2', '3', '4', '5', '6', 'S']) {
        const dir = `etc/rc${d}.d`;
        if (img.exists(dir))
          assert.deepEqual(
            img.list(dir).filter((f) => f.includes('hwclock')),
            [],
            dir,
          );
      }
      assert.equal(unitState(img, 'hwclock.service'), 'masked');
      assert.equal(img.read('etc/adjtime').split('\n')[2], 'UTC');
    },
  },
  {
    stages: ['system_openstack_modules'],
    only: ['openstack'],
    title: 'virtio disk drivers in the initramfs, virtio-net in the kernel',
    run(img) {
      assertInitramfsHas(img, ['virtio_pci', 'virtio_blk', 'virtio_scsi']);
      assertKernelHas(img, ['virtio_net']);
    },
  },
  {
    stages: ['system_openstack_modules'],
    only: ['cloudstack'],
    title: 'virtio and Xen disk drivers in the initramfs, virtio-net and xen-netfront in the kernel',
    run(img) {
      assertInitramfsHas(img, ['virtio_pci', 'virtio_blk', 'virtio_scsi', 'xen-blkfront']);
      assertKernelHas(img, ['virtio_net', 'xen-netfront']);
    },
  },
  {
    stages: ['system_open_vm_tools'],
    only: ['vsphere', 'vcloud'],
    title: 'open-vm-tools enabled, container NICs excluded, no fusermount, no nullok for vmtoolsd',
    covers: ['sc.vsphere.open-vm-tools'],
    run(img) {
      assert.ok(img.installed('open-vm-tools'));
      assertEnabled(img, 'open-vm-tools.service');
      const nics = img.read('etc/vmware-tools/tools.conf').match(/^exclude-nics=(.*)$/m)?.[1] ?? '';
      for (const n of ['veth*', 'docker*', 'silk-vtep', 's-*']) assert.ok(nics.split(',').includes(n), `exclude-nics has ${n}`);
      for (const f of ['usr/bin/fusermount', 'usr/bin/fusermount3']) assert.ok(!img.exists(f), f);
      if (img.exists('etc/pam.d/vmtoolsd')) assert.doesNotMatch(img.read('etc/pam.d/vmtoolsd'), /nullok/);
    },
  },
  {
    stages: ['system_vsphere_cdrom'],
    only: ['vsphere', 'vcloud'],
    title: 'udev identifies the CD-ROM but never locks its tray or ejects on request',
    run(img) {
      const active = img.activeLines('etc/udev/rules.d/60-cdrom_id.rules');
      assert.ok(
        active.some((l) => /IMPORT\{program\}="cdrom_id /.test(l)),
        'cdrom_id still runs',
      );
      assert.deepEqual(
        active.filter((l) => /--lock-media|--eject-media|DISK_EJECT_REQUEST/.test(l)),
        [],
      );
    },
  },
  {
    stages: ['bosh_enable_password_authentication'],
    only: ['vsphere', 'vcloud', 'softlayer'],
    title: 'sshd accepts passwords (effective configuration)',
    run(img) {
      assert.match(sshdEffective(img), /^passwordauthentication yes$/m);
    },
  },
  {
    stages: ['base_warden'],
    only: ['warden'],
    title: "a container root file system: no network restart, services for the container's init",
    run(img) {
      assert.ok(img.lstat('warden-cpi-dev')?.isDirectory(), '/warden-cpi-dev');
      assert.match(img.read('var/vcap/bosh/bin/restart_networking'), /^echo "skip network restart/m);
      if (img.os.serviceManager === 'runit') {
        for (const s of ['ssh', 'rsyslog']) {
          assert.equal(img.mode(`etc/sv/${s}/run`), 0o755);
          assert.equal(img.runOk(['readlink', `/etc/service/${s}`]).trim(), `/etc/sv/${s}`);
        }
        assert.match(img.runOk(['dpkg-divert', '--list', '/usr/sbin/service']), /service\.distrib/);
        assert.match(img.read('usr/sbin/service'), /exec sv "\$2" "\$1"/);
      } else {
        assert.match(img.read('etc/systemd/system.conf.d/50-bosh-warden.conf'), /^DefaultStartLimitBurst=500$/m);
        assert.equal(unitState(img, 'systemd-binfmt.service'), 'masked');
        if (img.exists('etc/audit/auditd.conf')) assert.ok(img.activeLines('etc/audit/auditd.conf').includes('local_events = no'));
      }
    },
  },
  {
    stages: ['bosh_cloudstack_ubuntu_vr_metadata'],
    only: ['cloudstack'],
    title: 'the metadata proxy mdproxy4cs is installed and enabled',
    run(img) {
      assertEnabled(img, 'mdproxy4cs.service');
    },
  },
  {
    stages: ['system_ubuntu_xen_tools'],
    only: ['cloudstack'],
    title: 'the XenServer guest utilities are installed and their service enabled',
    run(img) {
      assert.ok(img.installed('xe-guest-utilities'));
      const unit = img
        .runOk(['dpkg-query', '-L', 'xe-guest-utilities'])
        .split('\n')
        .find((l) => /\/systemd\/system\/[^/]+\.service$/.test(l));
      assert.ok(unit, 'xe-guest-utilities ships a service');
      assertEnabled(img, unit.split('/').pop()!);
    },
  },
  {
    stages: ['system_vhd_utils_tools'],
    only: ['cloudstack'],
    title: 'the build machine (where the spec runs) has vhd-util for the VHD packaging; the image does not ship it',
    run(img) {
      const r = spawnSync('sh', ['-c', 'command -v vhd-util'], { encoding: 'utf8' });
      assert.equal(r.status, 0, 'vhd-util on the build machine');
      assert.notEqual(img.run(['sh', '-c', 'command -v vhd-util']).code, 0, 'vhd-util is not part of the image');
    },
  },
  {
    stages: ['system_softlayer_open_iscsi'],
    only: ['softlayer'],
    title: 'open-iscsi installed, no fixed initiator name in the image',
    covers: ['sc.softlayer.open-iscsi'],
    run(img) {
      assert.ok(img.installed('open-iscsi'));
      if (img.exists('etc/iscsi/initiatorname.iscsi')) {
        assert.ok(!img.activeLines('etc/iscsi/initiatorname.iscsi').some((l) => l.startsWith('InitiatorName=')));
      }
    },
  },
  {
    stages: ['system_softlayer_multipath_tools'],
    only: ['softlayer'],
    title: 'multipath-tools installed, multipathd enabled',
    covers: ['sc.softlayer.multipath'],
    run(img) {
      assert.ok(img.installed('multipath-tools'));
      assertEnabled(img, 'multipathd.service');
    },
  },
  {
    stages: ['system_softlayer_netplan'],
    only: ['softlayer'],
    title: 'netplan.io installed',
    covers: ['sc.softlayer.netplan'],
    run(img) {
      assert.ok(img.installed('netplan.io'));
      img.runOk(['netplan', '--help']);
    },
  },
  {
    stages: ['bosh_config_root_ssh_login'],
    only: ['softlayer'],
    title: 'root may log in over SSH, no AllowGroups/DenyUsers (effective configuration)',
    run(img) {
      const effective = sshdEffective(img);
      assert.match(effective, /^permitrootlogin yes$/m);
      assert.doesNotMatch(effective, /^(allowgroups|denyusers) /m);
    },
  },
];
