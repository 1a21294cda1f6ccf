// Stemcell spec checks: the stages every infrastructure runs (OS image extraction, kernel,
// agent, logs, dev tools, network and system settings, cleaning, SBOMs, package list).
// A check reads the stemcell's root: img.root is the build's work/chroot. The files the
// stages write beside it are read from the build's own layout: the staging directory of
// the stemcell files is stagingDir(img) = join(img.root, '..', 'stemcell') (work/stemcell),
// the settings are join(img.root, '..', '..', 'settings.bash'); checks of those fail with a
// clear message on a root that is not a build's chroot (e.g. a mounted disk image).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { blobstoreCliPins } from '../../../src/catalog/pins.js';
import { infrastructures } from '../../../src/catalog/infrastructures.js';
import { agentCommandsFor, agentImageNeeds, agentServicePath } from '../agent-bootstrap.js';
import type { ImageView } from '../image.js';
import type { StemcellCheck } from '../stemcell-spec.js';

/** work/stemcell of the build whose chroot img.root is */
export function stagingDir(img: ImageView): string {
  return join(img.root, '..', 'stemcell');
}

function staged(img: ImageView, name: string): string {
  const file = join(stagingDir(img), name);
  assert.ok(existsSync(file), `${name} is missing in ${stagingDir(img)} (staged files are checked on a build's work/chroot only)`);
  return readFileSync(file, 'utf8');
}

/** settings.bash of the build (key='value' lines as renderSettings writes them) */
function buildSettings(img: ImageView): Map<string, string> {
  const file = join(img.root, '..', '..', 'settings.bash');
  assert.ok(existsSync(file), `no settings.bash at ${file} (settings are read on a build's work/chroot only)`);
  const map = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = line.match(/^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/);
    if (!m) continue;
    let v = m[2]!;
    if (v.startsWith("'") && v.endsWith("'")) v = v.slice(1, -1).replace(/'\\''/g, "'");
    map.set(m[1]!, v);
  }
  return map;
}

/** the kernel versions of the image (/boot/vmlinuz-<version>) */
function kernels(img: ImageView): string[] {
  return img
    .list('boot')
    .filter((f) => f.startsWith('vmlinuz-'))
    .map((f) => f.slice('vmlinuz-'.length));
}

function oneKernel(img: ImageView): string {
  const found = kernels(img);
  assert.equal(found.length, 1, `exactly one kernel in /boot: ${found.join(', ') || 'none'}`);
  return found[0]!;
}

/** names of the packages dpkg lists as installed */
function installedNames(img: ImageView): string[] {
  return [...img.packages()]
    .filter(([, status]) => status === 'installed')
    .map(([name]) => name)
    .sort();
}

function assertMode(img: ImageView, p: string, mode: number, uid = 0): void {
  const st = img.lstat(p);
  assert.ok(st, `${p} exists`);
  assert.equal(st.mode & 0o7777, mode, `${p} has mode ${mode.toString(8)}, not ${(st.mode & 0o7777).toString(8)}`);
  assert.equal(st.uid, uid, `${p} is owned by uid ${uid}`);
}

function gidOf(img: ImageView, group: string): number {
  const g = img.groups().get(group);
  assert.ok(g, `group ${group} exists`);
  return g.gid;
}

const blacklisted = ['usb-storage', 'bluetooth', 'tipc', 'sctp', 'dccp', 'rds', 'cramfs', 'freevxfs', 'jffs2', 'hfs', 'hfsplus', 'squashfs'];
const allBut = (...names: string[]) => infrastructures.map((i) => i.name).filter((n) => !names.includes(n));

/** the blacklist, install and options lines of the image's modprobe configuration for kernel k */
function modprobeRules(img: ImageView, k: string): string[] {
  const out = img.runOk(['sh', '-c', 'modprobe -S "$1" --showconfig | grep -E "^(blacklist|install|options) " || true', 'sh', k]);
  return out.split('\n');
}

export const commonStemcellChecks: StemcellCheck[] = [
  {
    stages: ['untar_base_os_image'],
    title: "the root is the line's OS image with the OS phase's BOSH setup (vcap, /var/vcap/bosh 0700, monit)",
    run(img) {
      assert.match(img.read('etc/os-release'), new RegExp(`^VERSION_CODENAME=${img.os.suite}$`, 'm'));
      const vcap = img.accounts().find((a) => a.name === 'vcap');
      assert.equal(vcap?.uid, 1000, 'vcap has uid 1000');
      assertMode(img, 'var/vcap/bosh', 0o700);
      assert.ok(img.exists('var/vcap/bosh/etc/monitrc'), 'monitrc from bosh_monit');
      assert.ok(img.exists('var/lib/dpkg/status'), 'a dpkg database');
    },
  },
  {
    stages: ['system_kernel'],
    title: "one kernel of the line's kernel packages with its modules; no GRUB menu, no GRUB command held",
    covers: ['sc.kernel.linux-generic'],
    run(img) {
      for (const p of [...img.os.kernelPackages, 'initramfs-tools']) assert.ok(img.installed(p), `${p} installed`);
      const k = oneKernel(img);
      assert.ok(img.lstat(`lib/modules/${k}`)?.isDirectory(), `/lib/modules/${k}`);
      // a GRUB menu comes only from our image stages (0600), never from the kernel's postinst
      if (img.exists('boot/grub/grub.cfg')) {
        assert.equal(img.mode('boot/grub/grub.cfg'), 0o600, "a grub.cfg here is the image stage's (0600)");
        assert.doesNotMatch(img.read('boot/grub/grub.cfg'), /DO NOT EDIT THIS FILE/, 'not generated by update-grub');
      }
      const diversions = img.exists('var/lib/dpkg/diversions') ? img.read('var/lib/dpkg/diversions') : '';
      assert.ok(!diversions.includes('.stemforge-held'), 'no GRUB command left diverted');
      for (const c of ['usr/sbin/update-grub', 'usr/sbin/grub-install', 'usr/sbin/grub-mkconfig']) {
        if (img.lstat(c)?.isFile()) assert.ok(!img.read(c).includes('stemforge'), `/${c} is the real command, not the stub`);
      }
    },
  },
  {
    stages: ['system_kernel_modules'],
    title:
      'rare file systems, unused protocols, USB storage, bluetooth and nouveau blacklisted, ipv6 disable=1, no ZFS, the initramfs (system_initramfs) carries it',
    covers: [
      'sc.modprobe.bluetooth',
      'sc.modprobe.tipc',
      'sc.modprobe.sctp',
      'sc.modprobe.dccp',
      'sc.modprobe.usb-storage',
      'sc.modprobe.cramfs',
      'sc.modprobe.freevxfs',
      'sc.modprobe.jffs2',
      'sc.modprobe.hfs',
      'sc.modprobe.hfsplus',
      'sc.modprobe.squashfs',
      'sc.modprobe.rds',
      'sc.modprobe.ipv6-disable',
    ],
    run(img) {
      const k = oneKernel(img);
      const config = modprobeRules(img, k);
      for (const m of blacklisted) {
        const u = m.replace(/-/g, '_');
        assert.ok(config.includes(`blacklist ${u}`), `blacklist ${m}`);
        assert.ok(config.includes(`install ${u} /bin/false`), `install ${m} /bin/false`);
      }
      assert.ok(config.includes('blacklist nouveau'), 'blacklist nouveau');
      assert.ok(config.includes('options nouveau modeset=0'), 'nouveau modeset=0');
      assert.ok(config.includes('options ipv6 disable=1'), 'options ipv6 disable=1');
      assert.equal(img.runOk(['find', '/lib/modules', '-name', 'zfs.ko*', '-o', '-name', 'spl.ko*']).trim(), '', 'no ZFS modules');
      const initrd = img.runOk(['lsinitramfs', `/boot/initrd.img-${k}`]).split('\n');
      assert.ok(
        initrd.some((l) => /(^|\/)etc\/modprobe\.d\/bosh-blacklist\.conf$/.test(l)),
        'the initramfs has /etc/modprobe.d/bosh-blacklist.conf',
      );
    },
  },
  {
    stages: ['system_initramfs'],
    title: 'one initramfs, for the one kernel, built after the last change to what goes into it (modprobe.d, initramfs-tools/modules)',
    run(img) {
      const k = oneKernel(img);
      const initrd = img.lstat(`boot/initrd.img-${k}`);
      assert.ok((initrd?.size ?? 0) > 0, `/boot/initrd.img-${k} is there and not empty`);
      assert.deepEqual(
        img.list('boot').filter((f) => f.startsWith('initrd.img-')),
        [`initrd.img-${k}`],
      );
      const inputs = ['etc/initramfs-tools/modules', ...img.list('etc/modprobe.d').map((f) => `etc/modprobe.d/${f}`)];
      for (const f of inputs) assert.ok(img.lstat(f)!.mtimeMs <= initrd!.mtimeMs, `/${f} is older than the initramfs`);
    },
  },
  {
    stages: ['system_kernel_modules'],
    only: allBut('azure'),
    title: 'udf blacklisted (Azure allows it again)',
    covers: ['sc.modprobe.udf'],
    run(img) {
      const config = modprobeRules(img, oneKernel(img));
      assert.ok(config.includes('blacklist udf') && config.includes('install udf /bin/false'), 'udf blacklisted');
    },
  },
  {
    stages: ['bosh_go_agent'],
    title: "the agent (0755 root, the build's agent_sha256), its helper scripts, an agent.json object and the micro BOSH cache",
    covers: ['sc.restart-networking.warden', 'sc.agent.bin-bosh-agent-rc', 'sc.agent.bin-bosh-agent', 'sc.agent.json-valid', 'sc.cache.micro-bosh'],
    run(img) {
      assertMode(img, 'var/vcap/bosh/bin/bosh-agent', 0o755);
      const sha = buildSettings(img).get('agent_sha256');
      assert.match(sha ?? '', /^[0-9a-f]{64}$/, 'settings have agent_sha256');
      assert.equal(img.runOk(['sha256sum', '/var/vcap/bosh/bin/bosh-agent']).split(' ')[0], sha, 'bosh-agent is the pinned binary');
      for (const s of ['bosh-agent-rc', 'restart_networking']) {
        assertMode(img, `var/vcap/bosh/bin/${s}`, 0o755);
        assert.ok(img.lstat(`var/vcap/bosh/bin/${s}`)?.isFile(), `${s} is a regular file`);
        img.runOk(['sh', '-n', `/var/vcap/bosh/bin/${s}`]);
      }
      // warden's base_warden replaces it later with a no-op: Garden configures the container's network
      const restart =
        buildSettings(img).get('stemcell_infrastructure') === 'warden' ? /nothing to restart|skip network restart/ : /systemctl restart systemd-networkd/;
      assert.match(img.read('var/vcap/bosh/bin/restart_networking'), restart);
      const agentJson: unknown = JSON.parse(img.read('var/vcap/bosh/agent.json'));
      assert.ok(agentJson !== null && typeof agentJson === 'object' && !Array.isArray(agentJson), 'agent.json is a JSON object');
      assert.ok(img.lstat('var/vcap/micro_bosh/data/cache')?.isDirectory(), '/var/vcap/micro_bosh/data/cache');
    },
  },
  {
    stages: ['bosh_go_agent'],
    title: 'every command the agent runs (test/spec/agent-bootstrap.ts) resolves in the image with its PATH; its groups and folders exist',
    run(img) {
      const missing = agentCommandsFor(img.os.serviceManager).filter(
        ({ command }) => img.run(['sh', '-c', 'PATH="$1" command -v "$2" >/dev/null', 'sh', agentServicePath, command]).code !== 0,
      );
      assert.deepEqual(
        missing.map((c) => `${c.command} (${c.why})`),
        [],
        'commands the agent runs that the image lacks',
      );
      const groups = img.groups();
      assert.deepEqual(
        agentImageNeeds.groups.filter((g) => !groups.has(g)),
        [],
        'groups the agent chowns to or adds ssh users to',
      );
      for (const dir of agentImageNeeds.dirs) assert.ok(img.lstat(dir)?.isDirectory(), `/${dir} exists`);
    },
  },
  {
    stages: ['bosh_go_agent'],
    title: 'cron and at for vcap only',
    covers: ['sc.cron.allow-content', 'sc.cron.no-deny-files'],
    run(img) {
      for (const f of ['etc/cron.allow', 'etc/at.allow']) {
        assert.deepEqual(img.activeLines(f), ['vcap'], f);
        assert.equal(img.mode(f) & 0o007, 0, `${f} not readable by others`);
      }
      assert.ok(!img.exists('etc/cron.deny') && !img.exists('etc/at.deny'), 'no deny lists');
    },
  },
  {
    stages: ['bosh_go_agent'],
    title: "the agent runs as a service of the line's service manager (-P ubuntu -C /var/vcap/bosh/agent.json)",
    run(img) {
      const command = '/var/vcap/bosh/bin/bosh-agent -P ubuntu -C /var/vcap/bosh/agent.json';
      if (img.os.serviceManager === 'systemd') {
        const unit = img.activeLines('etc/systemd/system/bosh-agent.service');
        assert.ok(unit.includes(`ExecStart=${command}`), 'ExecStart');
        assert.ok(unit.includes('Alias=agent.service'), 'Alias=agent.service');
        assert.ok(
          unit.some((l) => /^After=.*\bnetwork\.target\b/.test(l)),
          'After=network.target',
        );
        // its ssh action reads the host key the first boot makes
        assert.ok(
          unit.some((l) => /^After=.*\bbosh-firstboot\.service\b/.test(l)),
          'After=bosh-firstboot.service',
        );
        // the agent brings the network up itself: waiting for network-online would cost wait-online's timeout
        assert.ok(!unit.some((l) => /network-online\.target/.test(l)), 'no network-online.target');
        assert.ok(
          unit.some((l) => /^Environment=PATH=\/var\/vcap\/bosh\/bin:/.test(l)),
          'PATH starts with /var/vcap/bosh/bin',
        );
        assert.ok(img.lstat('etc/systemd/system/multi-user.target.wants/bosh-agent.service')?.isSymbolicLink(), 'enabled');
        assert.equal(img.runOk(['readlink', '/etc/systemd/system/agent.service']).trim(), '/etc/systemd/system/bosh-agent.service', 'agent.service alias');
        assert.ok(!img.exists('etc/sv/agent'), 'no runit service as well');
        img.runOk(['systemd-analyze', 'verify', 'bosh-agent.service']);
      } else {
        assert.ok(img.read('etc/sv/agent/run').includes(`exec ${command}`), '/etc/sv/agent/run starts the agent');
        assertMode(img, 'etc/sv/agent/run', 0o755);
        assertMode(img, 'etc/sv/agent/log/run', 0o755);
        assert.equal(img.runOk(['readlink', '/etc/service/agent']).trim(), '/etc/sv/agent', '/etc/service/agent links to /etc/sv/agent');
        assert.ok(!img.exists('etc/systemd/system/bosh-agent.service'), 'no systemd unit as well');
      }
    },
  },
  {
    stages: ['bosh_go_agent'],
    title: 'monit mails job alerts to the agent on 127.0.0.1:2825, in the lines the agent reads',
    run(img) {
      assertMode(img, 'var/vcap/monit/alerts.monitrc', 0o600);
      const alerts = img.read('var/vcap/monit/alerts.monitrc');
      assert.match(alerts, /^set mailserver 127\.0\.0\.1 port 2825$/m);
      assert.match(alerts, /^set alert \S+$/m);
      for (const field of ['Service: $SERVICE', 'Event: $EVENT', 'Action: $ACTION', 'Date: $DATE', 'Description: $DESCRIPTION']) {
        assert.ok(alerts.includes(field), field);
      }
    },
  },
  {
    stages: ['blobstore_clis'],
    title: 'the four blobstore CLIs (0755, the pinned binaries), or none and the note that they were left out',
    run(img) {
      const marker = 'var/vcap/bosh/etc/blobstore_clis_skipped';
      const present = blobstoreCliPins.filter((p) => img.exists(`var/vcap/bosh/bin/${p.name}`));
      if (img.exists(marker)) {
        assert.deepEqual(
          present.map((p) => p.name),
          [],
          'no CLI beside the note',
        );
        assert.match(img.read(marker), /left out/);
      } else {
        assert.equal(present.length, blobstoreCliPins.length, 'every CLI installed');
        for (const p of blobstoreCliPins) {
          assertMode(img, `var/vcap/bosh/bin/${p.name}`, 0o755);
          assert.equal(img.runOk(['sha256sum', `/var/vcap/bosh/bin/${p.name}`]).split(' ')[0], p.sha256, `${p.name} is the pinned binary`);
        }
      }
    },
  },
  {
    stages: ['logrotate_config'],
    title: "logrotate every 15 minutes from cron (nice, per-VM offset), as root with /var/log's group, wtmp/btmp in logrotate.conf, the daily timer masked",
    run(img) {
      assert.ok(img.activeLines('etc/cron.d/logrotate').includes('0,15,30,45 * * * * root /usr/local/sbin/bosh-logrotate'), 'cron line');
      assertMode(img, 'usr/local/sbin/bosh-logrotate', 0o755);
      const runner = img.read('usr/local/sbin/bosh-logrotate');
      assert.match(runner, /nice -n 19 ionice -c 3 logrotate \/etc\/logrotate\.conf/);
      img.runOk(['sh', '-n', '/usr/local/sbin/bosh-logrotate']);
      const logGid = img.lstat('var/log')!.gid;
      const group = [...img.groups()].find(([, g]) => g.gid === logGid)?.[0];
      const conf = img.activeLines('etc/logrotate.conf');
      assert.ok(conf.includes(`su root ${group}`), `su root ${group}`);
      assert.ok(conf.includes('include /etc/logrotate.d'), 'include /etc/logrotate.d');
      assert.ok(conf.includes('/var/log/wtmp {') && conf.includes('/var/log/btmp {'), 'wtmp and btmp rotated from logrotate.conf');
      assert.ok(!img.exists('etc/logrotate.d/wtmp') && !img.exists('etc/logrotate.d/btmp'), 'no second wtmp/btmp rule');
      assert.equal(img.runOk(['readlink', '/etc/systemd/system/logrotate.timer']).trim(), '/dev/null', 'logrotate.timer masked');
      const r = img.run(['logrotate', '--debug', '--state', '/dev/null', '/etc/logrotate.conf']);
      assert.equal(r.code, 0, `logrotate -d: ${r.stderr}`);
      assert.doesNotMatch(`${r.stdout}${r.stderr}`, /^error/im);
    },
  },
  {
    stages: ['dev_tools_config'],
    title: "the dev tools list names files of the compiler packages (gcc's among them), each present and none a directory",
    covers: ['sc.devtools.list-gcc'],
    run(img) {
      const list = img
        .read('var/vcap/bosh/etc/dev_tools_file_list')
        .split('\n')
        .filter((l) => l !== '');
      assert.ok(list.includes('/usr/bin/gcc'), '/usr/bin/gcc listed');
      assert.ok(
        list.some((l) => /^\/usr\/bin\/(make|ld|as)$/.test(l)),
        'build tools listed',
      );
      for (const f of list) {
        const st = img.lstat(f.slice(1));
        assert.ok(st, `${f} exists`);
        assert.ok(!st.isDirectory(), `${f} is not a directory`);
      }
    },
  },
  {
    stages: ['static_libraries_config'],
    title: 'the static libraries list names every *.a of the image',
    covers: ['sc.static-libs.superset'],
    run(img) {
      const listed = new Set(
        img
          .read('var/vcap/bosh/etc/static_libraries_list')
          .split('\n')
          .filter((l) => l !== ''),
      );
      const found = img
        .runOk(['find', '/', '-xdev', '-iname', '*.a'])
        .split('\n')
        .filter((l) => l !== '');
      assert.ok(found.length > 0, 'the image has static libraries');
      assert.deepEqual(
        found.filter((f) => !listed.has(f)),
        [],
        'static libraries missing from the list',
      );
    },
  },
  {
    stages: ['system_network'],
    title: 'hostname bosh-stemcell (resolving locally), loopback-only /etc/network/interfaces, no persistent interface names',
    covers: ['sc.hostname', 'sc.interfaces.loopback'],
    run(img) {
      assert.equal(img.read('etc/hostname').trim(), 'bosh-stemcell');
      assert.ok(
        img.activeLines('etc/hosts').some((l) => /^127\.0\.1\.1\s+bosh-stemcell(\s|$)/.test(l)),
        '127.0.1.1 bosh-stemcell',
      );
      const interfaces = img.activeLines('etc/network/interfaces');
      assert.ok(interfaces.includes('auto lo') && interfaces.includes('iface lo inet loopback'), 'loopback');
      assert.deepEqual(
        interfaces.filter((l) => /^(auto|allow-hotplug|iface)\s/.test(l) && !/\blo\b/.test(l)),
        [],
        'no other interface',
      );
      assert.ok(!img.exists('etc/udev/rules.d/70-persistent-net.rules'), 'no persistent-net rules');
    },
  },
  {
    stages: ['system_parameters'],
    title: 'infrastructure, operating system, stemcell version and stemforge commit in /var/vcap/bosh/etc',
    covers: [
      'sc.params.operating-system',
      'sc.version.file',
      'iaas.alicloud.infrastructure',
      'iaas.aws.infrastructure',
      'iaas.azure.infrastructure',
      'iaas.cloudstack.infrastructure',
      'iaas.google.infrastructure',
      'iaas.openstack.infrastructure',
      'iaas.softlayer.infrastructure',
      'iaas.vcloud.infrastructure',
      'iaas.vsphere.infrastructure',
      'iaas.warden.infrastructure',
    ],
    run(img) {
      const s = buildSettings(img);
      const iaas = s.get('stemcell_infrastructure') ?? '';
      const read = (f: string) => img.read(`var/vcap/bosh/etc/${f}`);
      assert.equal(read('infrastructure'), iaas === 'vcloud' ? 'vsphere' : iaas);
      assert.equal(read('operating_system'), img.os.name);
      assert.equal(read('stemcell_version'), s.get('stemcell_version'));
      assert.equal(read('stemcell_git_sha1'), s.get('stemforge_commit'));
      assert.ok(
        infrastructures.some((i) => i.name === read('infrastructure')),
        'a known infrastructure',
      );
    },
  },
  {
    stages: ['system_parameters'],
    only: ['vcloud'],
    title: 'vCloud stemcells say vsphere',
    covers: ['iaas.vcloud.infrastructure'],
    run(img) {
      assert.equal(img.read('var/vcap/bosh/etc/infrastructure'), 'vsphere');
    },
  },
  {
    stages: ['bosh_clean'],
    title: 'no build leftovers: /tmp empty, no name server, no /var/vcap/bosh/src',
    run(img) {
      assert.deepEqual(img.list('tmp'), [], '/tmp is empty');
      // resolv.conf, or what its link leads to, holds no name server of the build machine; a link
      // into /run (systemd-resolved, resolvconf) leads to a file only the booted system makes
      const resolv = img.lstat('etc/resolv.conf');
      assert.ok(resolv, '/etc/resolv.conf exists');
      const target = resolv.isSymbolicLink() ? img.runOk(['readlink', '-m', '/etc/resolv.conf']).trim() : '/etc/resolv.conf';
      if (img.lstat(target.slice(1))) assert.equal(img.runOk(['cat', target]).trim(), '', `${target} (resolv.conf) is empty`);
      else assert.match(target, /^\/run\//, `/etc/resolv.conf leads to ${target}, which the image does not have`);
      if (img.exists('etc/resolvconf/resolv.conf.d')) {
        for (const f of img.list('etc/resolvconf/resolv.conf.d')) {
          assert.doesNotMatch(img.read(`etc/resolvconf/resolv.conf.d/${f}`), /^\s*nameserver/m, `no name server in resolv.conf.d/${f}`);
        }
      }
      assert.ok(!img.exists('var/vcap/bosh/src'), 'no /var/vcap/bosh/src');
    },
  },
  {
    stages: ['bosh_harden'],
    title: 'systemd-tmpfiles keeps /tmp and /var/tmp 0770 root:vcap at boot',
    run(img) {
      const conf = img.activeLines('etc/tmpfiles.d/tmp.conf');
      assert.ok(conf.includes('D /tmp 0770 root vcap -'), '/tmp rule');
      assert.ok(conf.includes('d /var/tmp 0770 root vcap -'), '/var/tmp rule');
    },
  },
  {
    stages: ['bosh_harden'],
    // warden's packaging opens /tmp (1777) for the container, as the reference does
    only: allBut('warden'),
    title: '/tmp and /var/tmp are 0770 root:vcap',
    run(img) {
      const vcap = gidOf(img, 'vcap');
      for (const d of ['tmp', 'var/tmp']) {
        assertMode(img, d, 0o770);
        assert.equal(img.lstat(d)!.gid, vcap, `/${d} belongs to group vcap`);
      }
    },
  },
  {
    stages: ['bosh_clean_ssh'],
    title: 'no SSH host keys; the first-boot hook makes them',
    covers: ['sc.ssh.no-host-keys'],
    run(img) {
      assert.deepEqual(
        img.list('etc/ssh').filter((f) => f.startsWith('ssh_host_')),
        [],
      );
      assertMode(img, 'root/firstboot.sh', 0o755);
      assert.match(img.read('root/firstboot.sh'), /ssh-keygen/);
    },
  },
  {
    stages: ['sbom_create'],
    title: 'sbom.spdx.json (SPDX 2.3) lists every installed package with its purl',
    run(img) {
      const doc = JSON.parse(staged(img, 'sbom.spdx.json')) as {
        spdxVersion: string;
        dataLicense: string;
        SPDXID: string;
        documentNamespace: string;
        creationInfo: { created: string; creators: string[] };
        packages: {
          name: string;
          SPDXID: string;
          versionInfo?: string;
          downloadLocation: string;
          externalRefs?: { referenceType: string; referenceLocator: string }[];
        }[];
        relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[];
      };
      assert.equal(doc.spdxVersion, 'SPDX-2.3');
      assert.equal(doc.dataLicense, 'CC0-1.0');
      assert.equal(doc.SPDXID, 'SPDXRef-DOCUMENT');
      assert.match(doc.creationInfo.created, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      assert.match(doc.documentNamespace, /^https:\/\/[^#\s]+$/);
      const debs = doc.packages.filter((p) => p.externalRefs?.some((r) => r.referenceType === 'purl'));
      assert.deepEqual(debs.map((p) => p.name).sort(), installedNames(img), 'the installed packages');
      const ids = new Set(doc.packages.map((p) => p.SPDXID));
      assert.equal(ids.size, doc.packages.length, 'unique SPDXIDs');
      for (const p of doc.packages) assert.match(p.SPDXID, /^SPDXRef-[A-Za-z0-9.-]+$/);
      for (const p of debs) {
        const purl = p.externalRefs!.find((r) => r.referenceType === 'purl')!.referenceLocator;
        assert.match(purl, new RegExp(`^pkg:deb/${img.os.distro}/[^@/]+@[^?]+\\?arch=[a-z0-9-]+&distro=${img.os.distro}-`), purl);
      }
      assert.ok(
        doc.relationships.some((r) => r.spdxElementId === 'SPDXRef-DOCUMENT' && r.relationshipType === 'DESCRIBES'),
        'the document describes the stemcell',
      );
      assert.equal(doc.relationships.filter((r) => r.relationshipType === 'CONTAINS').length, debs.length, 'the stemcell contains each package');
    },
  },
  {
    stages: ['sbom_create'],
    title: 'sbom.cdx.json (CycloneDX 1.5) lists the same packages with the same purls',
    run(img) {
      const bom = JSON.parse(staged(img, 'sbom.cdx.json')) as {
        bomFormat: string;
        specVersion: string;
        serialNumber: string;
        version: number;
        metadata: { component: { type: string; name: string } };
        components: { type: string; name: string; version: string; purl: string; 'bom-ref': string }[];
      };
      assert.equal(bom.bomFormat, 'CycloneDX');
      assert.equal(bom.specVersion, '1.5');
      assert.match(bom.serialNumber, /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(bom.metadata.component.type, 'operating-system');
      assert.deepEqual(bom.components.map((c) => c.name).sort(), installedNames(img), 'the installed packages');
      assert.equal(new Set(bom.components.map((c) => c['bom-ref'])).size, bom.components.length, 'unique bom-refs');
      const spdx = JSON.parse(staged(img, 'sbom.spdx.json')) as { packages: { externalRefs?: { referenceLocator: string }[] }[] };
      const spdxPurls = spdx.packages.flatMap((p) => (p.externalRefs ?? []).map((r) => r.referenceLocator)).sort();
      assert.deepEqual(bom.components.map((c) => c.purl).sort(), spdxPurls, 'the same purls as the SPDX document');
    },
  },
  {
    stages: ['bosh_package_list'],
    title: "packages.txt is dpkg -l of the image; dev_tools_file_list.txt is the image's dev tools list",
    covers: ['sc.tarball.packages-txt', 'sc.tarball.dev-tools-list'],
    run(img) {
      const lines = staged(img, 'packages.txt').split('\n');
      assert.ok(
        lines.some((l) => l.startsWith('||/ Name')),
        'dpkg -l header',
      );
      assert.ok(
        lines.some((l) => l.startsWith('| Status=Not/Inst/Conf-files/')),
        'dpkg -l status legend',
      );
      const listed = lines
        .filter((l) => /^ii /.test(l))
        .map((l) => l.split(/\s+/)[1]!.replace(/:.*$/, ''))
        .sort();
      assert.deepEqual(listed, installedNames(img), 'every installed package, once');
      const version = (name: string) => img.runOk(['dpkg-query', '-W', '-f=${Version}', name]);
      for (const name of ['dpkg', img.os.kernelPackages[0]!]) {
        const line = new RegExp(`^ii\\s+${name}(:\\S+)?\\s+${version(name).replace(/[.+]/g, '\\$&')}\\s`);
        assert.ok(
          lines.some((l) => line.test(l)),
          `${name} with its full version`,
        );
      }
      assert.equal(staged(img, 'dev_tools_file_list.txt'), img.read('var/vcap/bosh/etc/dev_tools_file_list'));
    },
  },
];
