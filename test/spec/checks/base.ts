// Checks for the base_* stages: bootstrap, apt, package set, file permissions, sshd.
import assert from 'node:assert/strict';
import type { Check } from '../image.js';

export const baseChecks: Check[] = [
  {
    stages: ['base_debootstrap'],
    title: "the line's release with UTC, en_US.UTF-8 and no build-host name",
    run(img) {
      assert.match(img.read('etc/os-release'), new RegExp(`^VERSION_CODENAME=${img.os.suite}$`, 'm'));
      assert.equal(img.read('etc/timezone'), 'Etc/UTC\n');
      assert.match(img.read('etc/default/locale'), /^LANG=en_US\.UTF-8$/m);
      assert.equal(img.read('etc/hostname'), 'localhost\n');
      assert.match(img.read('etc/hosts'), /^127\.0\.0\.1 localhost$/m);
      assert.match(img.runOk(['locale', '-a']), /^en_US\.utf8$/m);
    },
  },
  {
    stages: ['base_apt'],
    title: 'only our apt sources (release, updates, security), lean apt defaults, no lists or .debs left',
    run(img) {
      const dir = 'etc/apt/sources.list.d';
      assert.deepEqual(img.list(dir), [`${img.os.distro}.sources`]);
      assert.ok(!img.exists('etc/apt/sources.list'), 'no one-line sources.list');
      const sources = img.read(`${dir}/${img.os.distro}.sources`);
      for (const pocket of [img.os.suite, `${img.os.suite}-updates`, `${img.os.suite}-security`]) {
        assert.match(sources, new RegExp(`^Suites:(.*\\s)?${pocket}(\\s|$)`, 'm'), pocket);
      }
      assert.match(sources, new RegExp(`^Components: ${img.os.components.join(' ')}$`, 'm'));
      assert.match(img.read('etc/apt/apt.conf.d/90stemforge'), /^APT::Install-Recommends "false";$/m);
      assert.deepEqual(
        img.list('var/lib/apt/lists').filter((f) => f !== 'partial' && f !== 'lock'),
        [],
      );
      assert.deepEqual(
        img.list('var/cache/apt/archives').filter((f) => f.endsWith('.deb')),
        [],
      );
    },
  },
  {
    stages: ['base_debian_packages', 'base_ubuntu_packages'],
    title: "every package of the line's set is installed and the purged ones are not",
    covers: ['os.pkg.apport-absent', 'os.pkg.whoopsie-absent', 'os.pkg.postfix-absent'],
    run(img) {
      const missing = img.os.packages.filter((p) => !img.installed(p));
      assert.deepEqual(missing, []);
      const left = img.os.purgePackages.filter((p) => img.installed(p));
      assert.deepEqual(left, []);
      assert.ok(!img.exists('usr/sbin/policy-rc.d'), 'no policy-rc.d left behind');
    },
  },
  {
    stages: ['base_debian_packages', 'base_ubuntu_packages'],
    title: 'systemd-networkd enabled for boot',
    covers: ['os.svc.networkd-enabled'],
    run(img) {
      assert.ok(img.lstat('etc/systemd/system/multi-user.target.wants/systemd-networkd.service')?.isSymbolicLink());
    },
  },
  {
    stages: ['base_debian_packages', 'base_ubuntu_packages'],
    title: "the name service the agent drives for the line's service manager: systemd-resolved running at boot, or resolvconf fed by networkd",
    run(img) {
      const wants = (unit: string): boolean =>
        img.list('etc/systemd/system').some((d) => d.endsWith('.wants') && img.exists(`etc/systemd/system/${d}/${unit}`));
      if (img.os.dnsResolver === 'systemd-resolved') {
        assert.ok(img.installed('systemd-resolved'), 'systemd-resolved installed');
        assert.ok(!img.installed('resolvconf'), 'resolvconf (it conflicts) not installed');
        assert.ok(wants('systemd-resolved.service'), 'systemd-resolved.service enabled');
        // the agent never touches resolv.conf on this path: it must lead to resolved's own file
        assert.match(img.runOk(['readlink', '/etc/resolv.conf']).trim(), /^(\.\.)?\/run\/systemd\/resolve\/(stub-)?resolv\.conf$/);
      } else {
        assert.ok(img.installed('resolvconf'), 'resolvconf installed');
        assert.ok(wants('networkd-dns-to-resolvconf.path'), 'the networkd → resolvconf path unit is enabled');
        img.runOk(['sh', '-n', '/usr/libexec/stemforge/networkd-dns-to-resolvconf']);
      }
    },
  },
  {
    stages: ['base_file_permission'],
    title: 'shadow and gshadow root:root 0000, setuid/setgid only on sudo, su and sudoedit',
    covers: ['os.shadow.owner-root', 'os.shadow.group-root', 'os.shadow.mode-0000', 'os.gshadow.owner-root', 'os.gshadow.group-root', 'os.gshadow.mode-0000'],
    run(img) {
      for (const f of ['etc/shadow', 'etc/gshadow']) {
        assert.equal(img.mode(f), 0, f);
        assert.equal(img.lstat(f)!.uid, 0, f);
        assert.equal(img.lstat(f)!.gid, 0, f);
      }
      const found = img
        .runOk(['find', '/', '-xdev', '-type', 'f', '(', '-perm', '-4000', '-o', '-perm', '-2000', ')'])
        .split('\n')
        .filter((l) => l)
        .sort();
      const allowed = ['/usr/bin/su', '/usr/bin/sudo', '/usr/bin/sudoedit'];
      assert.deepEqual(
        found.filter((p) => !allowed.includes(p)),
        [],
      );
    },
  },
  {
    stages: ['base_ssh'],
    title: "every hardening line of sshd_config, accepted by the image's own sshd",
    covers: [
      'os.ssh.permit-root-login-no',
      'os.ssh.permit-root-login-no-2',
      'os.ssh.print-last-log',
      'os.ssh.max-auth-tries-3',
      'os.ssh.permit-empty-passwords-no',
      'os.ssh.hostbased-auth-no',
      'os.ssh.ignore-rhosts',
      'os.ssh.client-alive-interval-180',
      'os.ssh.client-alive-count-1',
      'os.ssh.login-grace-60',
      'os.ssh.permit-user-env-no',
      'os.ssh.password-auth-no',
      'os.ssh.allow-groups',
      'os.ssh.deny-users-root',
    ],
    run(img) {
      const config = img.read('etc/ssh/sshd_config');
      const expected = [
        'UseDNS no',
        'PermitRootLogin no',
        'X11Forwarding no',
        'MaxAuthTries 3',
        'PermitEmptyPasswords no',
        'HostbasedAuthentication no',
        'Banner /etc/issue.net',
        'IgnoreRhosts yes',
        'ClientAliveInterval 180',
        'ClientAliveCountMax 1',
        'LoginGraceTime 60',
        'PermitUserEnvironment no',
        'PasswordAuthentication no',
        'PrintLastLog yes',
        'AllowGroups bosh_sshers',
        'DenyUsers root',
      ];
      for (const line of expected) assert.match(config, new RegExp(`^${line}$`, 'm'), line);
      const ciphers = config.match(/^Ciphers (.*)$/m)?.[1] ?? '';
      assert.match(ciphers, /aes256-gcm@openssh\.com/);
      assert.doesNotMatch(ciphers, /chacha|cbc/);
      assert.doesNotMatch(config.match(/^MACs (.*)$/m)?.[1] ?? 'missing', /sha1|md5|missing/);
      assert.ok(!img.exists('etc/ssh/ssh_host_dsa_key'));
      assert.ok(img.read('etc/issue.net').length > 20, 'legal banner');
      // The image's sshd parses the file, with a throwaway host key (a stemcell ships none)
      // and the privilege-separation dir systemd would make at boot.
      const effective = img.runOk([
        'bash',
        '-c',
        `set -e
        dir=$(mktemp -d /tmp/sf-spec-sshd.XXXXXX); trap 'rm -rf "$dir"; [ "$made" = 1 ] && rmdir /run/sshd' EXIT
        made=0; [ -d /run/sshd ] || { mkdir -p /run/sshd; made=1; }
        ssh-keygen -q -t ed25519 -N '' -f "$dir/key"
        sshd -t -f /etc/ssh/sshd_config -h "$dir/key"
        sshd -T -f /etc/ssh/sshd_config -h "$dir/key" -C user=vcap,host=localhost,addr=127.0.0.1`,
      ]);
      for (const line of ['permitrootlogin no', 'passwordauthentication no', 'maxauthtries 3', 'allowgroups bosh_sshers']) {
        assert.match(effective, new RegExp(`^${line}$`, 'm'), `effective: ${line}`);
      }
    },
  },
  {
    stages: ['base_debian_firstboot', 'base_ubuntu_firstboot'],
    title: 'a one-time first-boot hook that makes SSH host keys, enabled before sshd',
    run(img) {
      assert.equal(img.mode('root/firstboot.sh'), 0o755);
      assert.match(img.read('root/firstboot.sh'), /ssh-keygen -A/);
      assert.ok(!img.exists('root/firstboot_done'), 'the done-marker must not ship in the image');
      const unit = img.read('etc/systemd/system/bosh-firstboot.service');
      assert.match(unit, /^ExecStart=\/root\/firstboot\.sh$/m);
      assert.match(unit, /^ConditionPathExists=!\/root\/firstboot_done$/m);
      assert.match(unit, /^Before=.*ssh\.service/m);
      assert.ok(img.lstat('etc/systemd/system/multi-user.target.wants/bosh-firstboot.service')?.isSymbolicLink(), 'enabled');
      img.runOk(['bash', '-n', '/root/firstboot.sh']);
    },
  },
  {
    stages: ['base_debian_build_essential', 'base_ubuntu_build_essential'],
    title: 'gcc, g++, make and clang installed and compiling a program inside the image',
    run(img) {
      for (const p of ['build-essential', 'clang']) assert.ok(img.installed(p), p);
      const out = img.runOk([
        'bash',
        '-c',
        'cd /tmp && printf "int main(void){return 42;}" > sf-spec.c && clang -o sf-spec sf-spec.c; ./sf-spec; echo $?; rm -f sf-spec sf-spec.c',
      ]);
      assert.equal(out.trim(), '42');
    },
  },
];
