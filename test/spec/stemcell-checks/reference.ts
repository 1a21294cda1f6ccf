// Stemcell spec checks for the reference's stemcell examples that the other checks did not
// assert in full (test/spec/reference/examples.ts): ownership and modes of system files,
// cron's files, /var/lock, leftovers a stemcell must not have, the warden container's
// services, the Google guest environment's files, vSphere details and the GRUB menu's
// default entry. Each check names the stemcell-phase stage that makes (or last changes)
// what it reads, so that it runs for the infrastructures that have the stage.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { blobstoreCliPins } from '../../../src/catalog/pins.js';
import { infrastructures } from '../../../src/catalog/infrastructures.js';
import type { ImageView } from '../image.js';
import type { StemcellCheck } from '../stemcell-spec.js';
import { assignments } from './disk.js';
import { assertEnabled, unitState } from './iaas.js';

const allBut = (...names: string[]) => infrastructures.map((i) => i.name).filter((n) => !names.includes(n));

/** stat of a path inside the image, following symlinks (inside the image): owner, group, octal mode, type */
function statL(img: ImageView, p: string): { user: string; group: string; mode: number; type: string } {
  const out = img.runOk(['stat', '-L', '-c', '%U %G %a %F', p]).trim();
  const [user, group, mode, ...type] = out.split(' ');
  return { user: user!, group: group!, mode: parseInt(mode!, 8), type: type.join(' ') };
}

/** owner root, group root, the mode, and a file or a directory as asked */
function assertRootOwned(img: ImageView, p: string, mode: number, type: 'regular file' | 'directory'): void {
  const st = statL(img, p);
  assert.equal(st.type.replace('regular empty file', 'regular file'), type, `${p} is a ${type}`);
  assert.equal(st.user, 'root', `${p} is owned by root`);
  assert.equal(st.group, 'root', `${p} has group root`);
  assert.equal(st.mode, mode, `${p} has mode ${st.mode.toString(8)}, expected ${mode.toString(8)}`);
}

/** lines a find run in the image prints (empty when it finds nothing) */
function found(img: ImageView, script: string): string[] {
  return img
    .runOk(['sh', '-c', script])
    .split('\n')
    .filter((l) => l !== '');
}

/** the installed packages that ship a path (dpkg -S), [] when none does */
function owners(img: ImageView, p: string): string[] {
  const r = img.run(['dpkg-query', '-S', p]);
  if (r.code !== 0) return [];
  return r.stdout
    .split('\n')
    .filter((l) => l.endsWith(`: ${p}`))
    .flatMap((l) => l.slice(0, l.lastIndexOf(': ')).split(', '));
}

/** work/disk.env of the build whose chroot img.root is (image stages only) */
function diskEnv(img: ImageView): Map<string, string> {
  const file = join(img.root, '..', 'disk.env');
  assert.ok(existsSync(file), `no disk.env at ${file} (disk checks read a build's work/chroot only)`);
  return assignments(file);
}

/** the kernel flavour the line's kernel package installs: Ubuntu's generic, Debian's amd64 */
function kernelFlavour(img: ImageView): string {
  return img.os.distro === 'ubuntu' ? 'generic' : 'amd64';
}

/**
 * The tmpfiles.d line systemd-tmpfiles applies for a path (its --cat-config needs /proc):
 * of the files with one name the first folder's wins (/etc, /run, /usr/local/lib, /usr/lib,
 * /lib), the files are read by name, and the first line for a path is the one in effect.
 */
function tmpfilesRuleFor(img: ImageView, path: string): string | undefined {
  const chosen = new Map<string, string>();
  for (const dir of ['etc/tmpfiles.d', 'run/tmpfiles.d', 'usr/local/lib/tmpfiles.d', 'usr/lib/tmpfiles.d', 'lib/tmpfiles.d']) {
    if (!img.lstat(dir)?.isDirectory()) continue;
    for (const f of img.list(dir)) if (f.endsWith('.conf') && !chosen.has(f)) chosen.set(f, `${dir}/${f}`);
  }
  for (const name of [...chosen.keys()].sort()) {
    const file = chosen.get(name)!;
    if (img.runOk(['readlink', '-f', `/${file}`]).trim() === '/dev/null') continue; // masked
    const line = img.activeLines(file).find((l) => l.split(/\s+/)[1] === path);
    if (line) return line;
  }
  return undefined;
}

const commandDirs = ['/bin', '/usr/bin', '/usr/local/bin', '/sbin', '/usr/sbin', '/usr/local/sbin'];

/** The Google guest environment's files the reference names (Ubuntu's gce-compute-image-packages and oslogin). */
const googleUsrBin = [
  'google_authorized_keys',
  'google_guest_agent',
  'google_metadata_script_runner',
  'google_optimize_local_ssd',
  'google_oslogin_nss_cache',
  'google_set_hostname',
  'google_set_multiqueue',
];
const googleSystemd = [
  'system-preset/90-google-compute-engine-oslogin.preset',
  'system/google-guest-agent.service',
  'system/google-oslogin-cache.service',
  'system/google-oslogin-cache.timer',
  'system/google-shutdown-scripts.service',
  'system/google-startup-scripts.service',
];

export const referenceStemcellChecks: StemcellCheck[] = [
  {
    stages: ['system_kernel_modules'],
    title: 'bluetooth is neither installed nor an enabled service (the module is blacklisted)',
    covers: ['sc.svc.bluetooth-not-enabled'],
    run(img) {
      assert.ok(!img.installed('bluez'), 'bluez is not installed');
      assert.ok(!['enabled', 'enabled-runtime', 'alias'].includes(unitState(img, 'bluetooth.service')), 'bluetooth.service is not enabled');
      assert.deepEqual(found(img, 'ls /etc/systemd/system/*.wants 2>/dev/null | grep -i bluetooth || true'), [], 'no bluetooth unit in a .wants folder');
    },
  },
  {
    stages: ['system_parameters'],
    title: 'stemcell_git_sha1 is a 40-hex commit, + when the checkout had changes',
    covers: ['sc.version.git-sha1'],
    run(img) {
      const p = 'var/vcap/bosh/etc/stemcell_git_sha1';
      assert.ok(img.lstat(p)?.isFile(), `/${p} is a file`);
      assert.match(img.read(p), /^[0-9a-f]{40}\+?$/, 'a git commit id (stemforge was not run from a git checkout?)');
    },
  },
  {
    stages: ['bosh_clean'],
    title: 'no remote host login: no .rhosts under /home, no /etc/hosts.equiv; no .netrc under /root, /home, /var/vcap',
    covers: ['sc.rhosts.none', 'sc.rhosts.no-hosts-equiv', 'sc.netrc.none'],
    run(img) {
      assert.deepEqual(found(img, 'find /home -name .rhosts'), [], '.rhosts files');
      assert.ok(!img.exists('etc/hosts.equiv'), '/etc/hosts.equiv does not exist');
      assert.deepEqual(found(img, 'find /root /home /var/vcap -xdev -name .netrc'), [], '.netrc files');
    },
  },
  {
    stages: ['bosh_clean'],
    title: "library folders (/lib, /lib64, /usr/lib, /usr/lib64) are root's; no library file group- or world-writable",
    covers: [
      'sc.libdir.owner-root-lib',
      'sc.libdir.owner-root-lib64',
      'sc.libdir.owner-root-usr-lib',
      'sc.libdir.owner-root-usr-lib64',
      'sc.perm.library-files',
    ],
    run(img) {
      for (const d of ['/lib', '/lib64', '/usr/lib']) assert.equal(statL(img, d).user, 'root', `${d} (followed) is owned by root`);
      if (img.exists('usr/lib64')) assert.equal(statL(img, '/usr/lib64').user, 'root', '/usr/lib64 is owned by root');
      const dirs = ['/lib', '/lib64', '/usr/lib', ...(img.exists('usr/lib64') ? ['/usr/lib64'] : [])].join(' ');
      assert.deepEqual(found(img, `find -L ${dirs} -perm /022 -type f`), [], 'group- or world-writable library files');
    },
  },
  {
    stages: ['bosh_clean'],
    title: "every command in the bin and sbin folders is root's and writable by root only",
    covers: ['sc.perm.command-files', 'sc.owner.command-files'],
    run(img) {
      const dirs = commandDirs.join(' ');
      assert.deepEqual(found(img, `find -L ${dirs} -perm /022 -type f`), [], 'group- or world-writable commands');
      assert.deepEqual(found(img, `find -L ${dirs} ! -user root`), [], 'commands not owned by root');
    },
  },
  {
    stages: ['bosh_clean'],
    only: allBut('google'),
    title: '/etc/rsyslog.d holds only 50-default.conf',
    covers: ['sc.rsyslog-d.only-default'],
    run(img) {
      assert.deepEqual(img.list('etc/rsyslog.d').sort(), ['50-default.conf']);
    },
  },
  {
    stages: ['system_google_packages'],
    only: ['google'],
    title: "/etc/rsyslog.d holds 50-default.conf and 90-google.conf where the line's Google packages ship it (Ubuntu's), nothing else",
    covers: ['iaas.google.rsyslog-d'],
    run(img) {
      const shipped = owners(img, '/etc/rsyslog.d/90-google.conf').length > 0;
      if (img.os.distro === 'ubuntu') assert.ok(shipped, "Ubuntu's Google guest packages ship /etc/rsyslog.d/90-google.conf");
      assert.deepEqual(img.list('etc/rsyslog.d').sort(), shipped ? ['50-default.conf', '90-google.conf'] : ['50-default.conf']);
    },
  },
  {
    stages: ['bosh_go_agent', 'base_warden'],
    title: 'restart_networking is an executable file owned root:root',
    covers: ['sc.restart-networking.attrs'],
    run(img) {
      assertRootOwned(img, '/var/vcap/bosh/bin/restart_networking', 0o755, 'regular file');
      assert.ok(!img.lstat('var/vcap/bosh/bin/restart_networking')!.isSymbolicLink(), 'not a symlink');
    },
  },
  {
    stages: ['logrotate_config'],
    title: "/etc/cron.d/logrotate is root's, mode 0600",
    covers: ['sc.logrotate.cron-mode'],
    run(img) {
      assertRootOwned(img, '/etc/cron.d/logrotate', 0o600, 'regular file');
    },
  },
  {
    stages: ['bosh_go_agent'],
    title: "cron's files are root's only: /etc/crontab 0600, cron.hourly, .daily, .weekly, .monthly and cron.d 0700, root:root",
    covers: [
      'sc.cron.crontab-perm',
      'sc.cron.cron-hourly-perm',
      'sc.cron.cron-daily-perm',
      'sc.cron.cron-weekly-perm',
      'sc.cron.cron-monthly-perm',
      'sc.cron.cron-d-perm',
    ],
    run(img) {
      assertRootOwned(img, '/etc/crontab', 0o600, 'regular file');
      for (const d of ['hourly', 'daily', 'weekly', 'monthly']) assertRootOwned(img, `/etc/cron.${d}`, 0o700, 'directory');
      assertRootOwned(img, '/etc/cron.d', 0o700, 'directory');
    },
  },
  {
    stages: ['bosh_go_agent'],
    title: '/var/lock (followed) is root:vcap 0770 in the image, and systemd-tmpfiles makes it so again at boot',
    covers: ['sc.lock.var-lock'],
    run(img) {
      const st = statL(img, '/var/lock');
      assert.deepEqual([st.type, st.user, st.group, st.mode.toString(8)], ['directory', 'root', 'vcap', '770']);
      if (img.exists('usr/bin/systemd-tmpfiles') || img.exists('bin/systemd-tmpfiles')) {
        const target = img.runOk(['readlink', '-f', '/var/lock']).trim();
        const rule = tmpfilesRuleFor(img, target);
        assert.ok(rule, `a tmpfiles rule for ${target}`);
        assert.deepEqual(rule.split(/\s+/).slice(0, 5), ['d', target, '0770', 'root', 'vcap'], `the tmpfiles rule that wins for ${target}`);
      }
    },
  },
  {
    stages: ['bosh_go_agent'],
    title: '/var/vcap/data is not in the image (the agent mounts the ephemeral disk there)',
    covers: ['sc.agent.no-var-vcap-data'],
    run(img) {
      assert.ok(!img.exists('var/vcap/data'), '/var/vcap/data does not exist');
    },
  },
  {
    stages: ['bosh_go_agent'],
    title: 'monit sends its alerts to agent@local',
    covers: ['sc.monit.alert-agent'],
    run(img) {
      assert.deepEqual(
        img.activeLines('var/vcap/monit/alerts.monitrc').filter((l) => l.startsWith('set alert ')),
        ['set alert agent@local'],
      );
    },
  },
  {
    stages: ['blobstore_clis'],
    title: 'the four blobstore CLIs are executable x86-64 ELF files owned root:root (unless --skip-blobstore-clis left them out, which the image then says)',
    covers: [
      'sc.agent.bin-bosh-blobstore-dav',
      'sc.agent.bin-bosh-blobstore-gcs',
      'sc.agent.bin-bosh-blobstore-s3',
      'sc.agent.bin-bosh-blobstore-azure-storage',
    ],
    run(img) {
      const names = blobstoreCliPins.map((p) => p.name).sort();
      assert.deepEqual(names, ['bosh-blobstore-azure-storage', 'bosh-blobstore-dav', 'bosh-blobstore-gcs', 'bosh-blobstore-s3']);
      if (img.exists('var/vcap/bosh/etc/blobstore_clis_skipped')) {
        for (const n of names) assert.ok(!img.exists(`var/vcap/bosh/bin/${n}`), `${n} is not there beside the note`);
        return;
      }
      for (const n of names) {
        const p = `/var/vcap/bosh/bin/${n}`;
        assertRootOwned(img, p, 0o755, 'regular file');
        const head = readFileSync(img.path(p)).subarray(0, 20);
        assert.equal(head.toString('latin1', 0, 4), '\x7fELF', `${n} is an ELF file`);
        assert.equal(head.readUInt16LE(18), 0x3e, `${n} is for x86-64`);
      }
    },
  },
  {
    stages: ['bosh_clean'],
    title: 'nothing can listen on the portmapper port 111 (checked statically): no rpcbind, portmap or NFS server, no unit or inetd entry for 111',
    covers: ['sc.ports.no-rpcbind'],
    run(img) {
      for (const p of ['rpcbind', 'portmap', 'nfs-kernel-server', 'nfs-common', 'openbsd-inetd', 'inetutils-inetd', 'xinetd']) {
        assert.ok(!img.installed(p), `${p} is not installed`);
      }
      assert.ok(!img.exists('usr/sbin/rpcbind') && !img.exists('sbin/rpcbind'), 'no rpcbind program');
      const listens = found(
        img,
        `grep -rlsE '^[[:space:]]*Listen(Stream|Datagram)=([^#]*:)?111([[:space:]]|$)' /etc/systemd /lib/systemd /usr/lib/systemd || true`,
      );
      assert.deepEqual(listens, [], 'units listening on 111');
      assert.ok(!img.exists('etc/inetd.conf') || !img.activeLines('etc/inetd.conf').some((l) => /^(sunrpc|111)\b/.test(l)), 'no inetd entry for 111');
    },
  },
  {
    stages: ['base_warden'],
    only: ['warden'],
    title: "/var/vcap/bosh/bin/unshare leads to the image's unshare (root:root, executable, with --pid)",
    covers: ['sc.warden.unshare'],
    run(img) {
      assertRootOwned(img, '/var/vcap/bosh/bin/unshare', 0o755, 'regular file');
      assert.match(img.runOk(['/var/vcap/bosh/bin/unshare', '--help']), /--pid\b/);
    },
  },
  {
    stages: ['base_warden'],
    only: ['warden'],
    title:
      'the container runs ssh, rsyslog and cron: on runit lines runsvdir-start and runit services (run scripts, /etc/service links), on systemd lines systemd as init with the units enabled',
    covers: ['iaas.warden.runit-rsyslog', 'iaas.warden.runit-ssh', 'iaas.warden.runit-cron', 'iaas.warden.runsvdir-start'],
    run(img) {
      if (img.os.serviceManager === 'runit') {
        // the warden CPI starts the container with it
        assert.equal(statL(img, '/usr/sbin/runsvdir-start').type.replace('regular empty file', 'regular file'), 'regular file', '/usr/sbin/runsvdir-start');
        const services: [string, RegExp][] = [
          ['rsyslog', /^exec rsyslogd -n\b/m],
          ['ssh', /^exec \/usr\/sbin\/sshd -D\b/m],
          ['cron', /^exec cron -f\b/m],
        ];
        for (const [s, exec] of services) {
          assertRootOwned(img, `/etc/sv/${s}/run`, 0o755, 'regular file');
          assert.match(img.read(`etc/sv/${s}/run`), exec, `/etc/sv/${s}/run`);
          assert.equal(img.runOk(['readlink', `/etc/service/${s}`]).trim(), `/etc/sv/${s}`, `/etc/service/${s} links to /etc/sv/${s}`);
        }
      } else {
        // systemd is the container's init (the CPI's start_containers_with_systemd): the same daemons are its services
        assert.match(img.runOk(['readlink', '-f', '/sbin/init']).trim(), /\/systemd$/, '/sbin/init is systemd');
        for (const u of ['ssh.service', 'rsyslog.service', 'cron.service']) assertEnabled(img, u);
      }
    },
  },
  {
    stages: ['system_google_packages'],
    only: ['google'],
    title:
      "the Google guest environment's files are root:root: /etc/growroot-disabled, instance_configs.cfg.template, the google_* commands and units the line's packages ship",
    covers: ['iaas.google.growroot-disabled', 'iaas.google.instance-configs', 'iaas.google.agent-files'],
    run(img) {
      assertRootOwned(img, '/etc/growroot-disabled', 0o644, 'regular file');
      assertRootOwned(img, '/etc/default/instance_configs.cfg.template', 0o644, 'regular file');
      const unitDir = img.os.distro === 'ubuntu' ? '/lib/systemd' : '/usr/lib/systemd';
      const reference = [...googleUsrBin.map((f) => `/usr/bin/${f}`), ...googleSystemd.map((f) => `${unitDir}/${f}`)];
      // Ubuntu's packages ship every file the reference names; Debian's older google-guest-agent
      // and oslogin a part of them: there, each file an installed package ships must be in place
      const expected = img.os.distro === 'ubuntu' ? reference : ['/usr/bin/google_guest_agent', ...reference.filter((p) => owners(img, p).length > 0)];
      for (const p of expected) assert.ok(img.exists(p.slice(1)), `${p} is in the image`);
      const present = reference
        .flatMap((p) => [p, p.replace(/^\/usr\/lib\//, '/lib/').replace(/^\/lib\//, '/usr/lib/')])
        .filter((p, i, all) => all.indexOf(p) === i && img.exists(p.slice(1)));
      for (const p of present) {
        const st = statL(img, p);
        assert.equal(st.type.replace('regular empty file', 'regular file'), 'regular file', `${p} is a file`);
        assert.deepEqual([st.user, st.group], ['root', 'root'], `${p} is root:root`);
      }
      assert.ok(
        present.some((p) => p.endsWith('/google-guest-agent.service')),
        "the guest agent's unit is in the image",
      );
    },
  },
  {
    stages: ['image_ovf_generate'],
    only: ['vsphere', 'vcloud'],
    title: "the VM has no floppy drive: image.ovf (which takes the place of the reference's .vmx) has no floppy item",
    covers: ['iaas.vsphere.vmx-no-floppy'],
    run(img) {
      const dir = join(img.root, '..', 'ovf');
      assert.ok(existsSync(join(dir, 'image.ovf')), `image.ovf in ${dir}`);
      assert.deepEqual(
        readdirSync(dir).filter((f) => f.endsWith('.vmx')),
        [],
        'no .vmx',
      );
      const ovf = readFileSync(join(dir, 'image.ovf'), 'utf8');
      assert.doesNotMatch(ovf, /<rasd:ResourceType>14<\/rasd:ResourceType>/, 'no floppy drive item (CIM resource type 14)');
      assert.doesNotMatch(ovf, /floppy/i, 'no floppy anywhere in the descriptor');
    },
  },
  {
    stages: ['system_open_vm_tools'],
    only: ['vsphere', 'vcloud'],
    title: "tools.conf [guestinfo] exclude-nics starts with the reference's list (veth* … antrea*, 15 ?) followed only by our additions",
    covers: ['sc.vsphere.tools-conf'],
    run(img) {
      const lines = img.activeLines('etc/vmware-tools/tools.conf');
      const section = lines.indexOf('[guestinfo]');
      assert.ok(section >= 0, '[guestinfo] section');
      const next = lines.findIndex((l, i) => i > section && /^\[.+\]$/.test(l));
      const exclude = lines.slice(section + 1, next < 0 ? undefined : next).filter((l) => l.startsWith('exclude-nics='));
      assert.equal(exclude.length, 1, 'exclude-nics once, in [guestinfo]');
      const nics = exclude[0]!.slice('exclude-nics='.length).split(',');
      const reference = ['veth*', 'docker*', 'virbr*', 'silk-vtep', 's-*', 'ovs*', 'erspan*', 'nsx-container', 'antrea*', '?'.repeat(15)];
      assert.deepEqual(nics.slice(0, reference.length), reference, "the reference's list first, in its order");
      assert.deepEqual(nics.slice(reference.length), ['nsx-container*', 'cni*', 'flannel*', 'cali*', 'vxlan*', '????????-????-*'], 'our additions');
    },
  },
  {
    stages: ['image_install_grub', 'image_install_grub_efi', 'image_install_grub_softlayer_two_partitions'],
    title: 'the GRUB menu boots its first entry: set default="0"',
    covers: ['sc.grub.default-0'],
    run(img) {
      const cfg = img.read('boot/grub/grub.cfg');
      assert.deepEqual(
        cfg.split('\n').filter((l) => /^\s*set default=/.test(l)),
        ['set default="0"'],
      );
      assert.ok(/^\s*menuentry /m.test(cfg), 'entry 0 exists');
    },
  },
  {
    stages: ['image_install_grub_softlayer_two_partitions'],
    only: ['softlayer'],
    title:
      "softlayer grub.cfg on the /boot partition: kernel and initrd of the line's flavour by paths relative to it, root=UUID ro, the kernel arguments, audit=1, password, 0600 root:root (root found by UUID, not (hd0,2))",
    covers: ['sc.grub-softlayer.cfg'],
    run(img) {
      const env = diskEnv(img);
      assert.equal(env.get('disk_layout'), 'softlayer');
      assert.equal(env.get('disk_kernel_dir') ?? '', '', 'kernel paths relative to the /boot partition');
      assertRootOwned(img, '/boot/grub/grub.cfg', 0o600, 'regular file');
      const cfg = img.read('boot/grub/grub.cfg');
      const flavour = kernelFlavour(img);
      const linux = cfg.match(new RegExp(`^\\s*linux\\s+/vmlinuz-(\\S+-${flavour})\\s+root=UUID=(\\S+) ro (.*)$`, 'm'));
      assert.ok(linux, `a linux line for /vmlinuz-*-${flavour} with root=UUID=… ro`);
      assert.equal(linux[2], env.get('root_uuid'), "the root file system's UUID");
      assert.match(cfg, new RegExp(`^\\s*initrd\\s+/initrd\\.img-${linux[1]!.replaceAll('.', '\\.')}$`, 'm'));
      assert.match(cfg, new RegExp(`^\\s*search --no-floppy --fs-uuid --set=root ${env.get('boot_uuid')}$`, 'm'), 'the /boot partition by UUID');
      const args = linux[3]!.split(/\s+/);
      for (const a of [
        'selinux=0',
        'cgroup_enable=memory',
        'swapaccount=1',
        'console=ttyS0,115200n8',
        'earlyprintk=ttyS0',
        'apparmor=1',
        'security=apparmor',
        'audit=1',
        'ipv6.disable=1',
      ]) {
        assert.ok(args.includes(a), `kernel argument ${a}`);
      }
      for (const a of img.os.kernelArgsOmitted) assert.ok(!args.includes(a), `${a} is left out on this line`);
      assert.match(cfg, /^password_pbkdf2 vcap grub\.pbkdf2\.sha512\./m);
    },
  },
];
