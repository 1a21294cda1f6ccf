// Checks for the bosh_* stages: users, kernel settings, limits, monit, time, sudo, systemd.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { architectureFacts } from '../../../src/catalog/architectures.js';
import type { Check, ImageView, RunResult } from '../image.js';

/**
 * Run a bash script inside the image in private mount, network and pid namespaces, made on
 * the build machine before the chroot (an unshare inside a chroot cannot make its mounts
 * private). Whatever the script mounts, and every rule or process it makes, goes with it, so
 * it may lay a tmpfs over a directory of the image to try a script without changing the image.
 * Standard input is /dev/null: on a socket, bash would take itself for an ssh command and
 * read /etc/bash.bashrc.
 */
function sandbox(img: ImageView, script: string): RunResult {
  const r = spawnSync(
    'unshare',
    [
      '--mount',
      '--net',
      '--pid',
      '--fork',
      '--kill-child',
      'chroot',
      img.root,
      '/usr/bin/env',
      '-i',
      'PATH=/usr/sbin:/usr/bin:/sbin:/bin',
      'LANG=C.UTF-8',
      'bash',
      '-euo',
      'pipefail',
      '-c',
      `mount -t proc proc /proc\n${script}`,
    ],
    { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}

function sandboxOk(img: ImageView, script: string): string {
  const r = sandbox(img, script);
  if (r.code !== 0) throw new Error(`in a sandbox of the image, the script exited ${r.code}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** systemd units of the image linked into some .wants directory, i.e. enabled */
function enabledUnits(img: ImageView): string[] {
  return img
    .list('etc/systemd/system')
    .filter((d) => d.endsWith('.wants'))
    .flatMap((d) => img.list(`etc/systemd/system/${d}`));
}

/** the [Section] key=value lines of a unit or drop-in, as "Section.Key=value" */
function unitLines(img: ImageView, p: string): string[] {
  let section = '';
  const out: string[] = [];
  for (const line of img.activeLines(p)) {
    const m = line.match(/^\[(.+)\]$/);
    if (m) section = m[1]!;
    else out.push(`${section}.${line.replace(/\s*=\s*/, '=')}`);
  }
  return out;
}

const monitrc = '/var/vcap/bosh/etc/monitrc';

export const boshChecks: Check[] = [
  {
    stages: ['bosh_sysctl'],
    title: 'the hardening sysctl values (redirects, SYN cookies, ASLR, no setuid dumps, no IPv6, dmesg restricted)',
    covers: ['os.sysctl.aslr', 'os.sysctl.syncookies', 'os.sysctl.dmesg-restrict'],
    run(img) {
      const sysctl = img.read('etc/sysctl.d/60-bosh-sysctl.conf').replace(/[ \t]*=[ \t]*/g, ' = ');
      for (const line of [
        'net.ipv4.conf.all.accept_redirects = 0',
        'net.ipv4.tcp_syncookies = 1',
        'kernel.randomize_va_space = 2',
        'fs.suid_dumpable = 0',
        'net.ipv6.conf.all.disable_ipv6 = 1',
        'kernel.dmesg_restrict = 1',
      ]) {
        assert.match(sysctl, new RegExp(`^${line.replace(/\./g, '\\.')}$`, 'm'), line);
      }
    },
  },
  {
    stages: ['bosh_limits'],
    title: 'no core dumps for anyone',
    covers: ['os.limits.no-core'],
    run(img) {
      assert.match(img.read('etc/security/limits.conf'), /^\*\s+hard\s+core\s+0$/m);
    },
  },
  {
    stages: ['bosh_users'],
    title: 'BOSH groups, vcap uid 1000 in its groups, sha512 passwords, locked group passwords, sudoers valid',
    covers: [
      'os.users.passwd-vcap-home',
      'os.vcap.in-bosh-sshers',
      'os.groups.adm-exists',
      'os.groups.bosh-sudoers-exists',
      'os.groups.bosh-sshers-exists',
      'os.su.vcap-in-sudo',
    ],
    run(img) {
      const vcap = img.accounts().find((a) => a.name === 'vcap');
      assert.deepEqual(vcap && { uid: vcap.uid, home: vcap.home, shell: vcap.shell }, { uid: 1000, home: '/home/vcap', shell: '/bin/bash' });
      const groups = img.groups();
      for (const g of ['admin', 'vcap', 'bosh_sshers', 'bosh_sudoers']) assert.ok(groups.has(g), g);
      for (const g of ['admin', 'adm', 'audio', 'cdrom', 'dialout', 'floppy', 'video', 'bosh_sshers', 'dip', 'plugdev']) {
        assert.ok(groups.get(g)?.members.includes('vcap'), `vcap in ${g}`);
      }
      const shadow = img.read('etc/shadow');
      assert.match(shadow, /^root:\$6\$/m);
      assert.match(shadow, /^vcap:\$6\$/m);
      for (const l of img
        .read('etc/gshadow')
        .split('\n')
        .filter((x) => x)) {
        assert.match(l.split(':')[1]!, /^[!*]/, `group password locked: ${l.split(':')[0]}`);
      }
      assert.equal(img.mode('etc/sudoers'), 0o440);
      img.runOk(['visudo', '-c', '-f', '/etc/sudoers']);
      // as sudo itself reads it: vcap may run anything as root with its own password (the reference's %admin rule)
      const rights = img.runOk(['sudo', '-l', '-U', 'vcap']);
      assert.match(rights, /\(ALL\) ALL/, `sudo -l -U vcap: ${rights}`);
      assert.doesNotMatch(
        rights
          .split('\n')
          .filter((l) => /\(ALL\)/.test(l))
          .join('\n'),
        /NOPASSWD/,
        'vcap needs its password',
      );
    },
  },
  {
    stages: ['bosh_sysstat'],
    title: 'sysstat collects nothing: ENABLED="false", debconf answer false, no sysstat unit or timer enabled',
    run(img) {
      const enabled = img.activeLines('etc/default/sysstat').filter((l) => l.startsWith('ENABLED='));
      assert.deepEqual(enabled, ['ENABLED="false"']);
      const debconf = img
        .read('var/cache/debconf/config.dat')
        .split(/\n\n+/)
        .find((p) => /^Name: sysstat\/enable$/m.test(p));
      assert.match(debconf ?? 'missing', /^Value: false$/m, 'debconf sysstat/enable (read by dpkg-reconfigure sysstat at first boot)');
      assert.deepEqual(
        enabledUnits(img).filter((u) => u.startsWith('sysstat')),
        [],
      );
    },
  },
  {
    stages: ['bosh_environment'],
    title: '/etc/environment has one PATH, with the system directories and /var/vcap/bosh/bin',
    run(img) {
      assert.equal(img.activeLines('etc/environment').filter((l) => l.startsWith('PATH=')).length, 1);
      // As a shell reads it: quotes removed, nothing else in the file breaks it.
      const path = img.runOk(['sh', '-c', '. /etc/environment && printf %s "$PATH"']).split(':');
      for (const dir of ['/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin', '/var/vcap/bosh/bin']) assert.ok(path.includes(dir), dir);
      assert.equal(path.filter((d) => d === '/var/vcap/bosh/bin').length, 1);
    },
  },
  {
    stages: ['bosh_monit'],
    title: "monit: 0700 /var/vcap/bosh and monitrc, poll 10 s, API on 127.0.0.1:2822 with the agent's credentials, job includes",
    run(img) {
      for (const [p, mode] of [
        ['var/vcap/bosh', 0o700],
        [monitrc.slice(1), 0o700],
        ['var/vcap/bosh/bin/monit', 0o755],
        ['var/vcap/bosh/bin/monit-actual', 0o755],
        ['var/vcap/monit', 0o700],
      ] as const) {
        assert.equal(img.mode(p), mode, p);
        assert.equal(img.lstat(p)!.uid, 0, `${p} owned by root`);
      }
      const rc = img.activeLines(monitrc).join('\n');
      assert.match(rc, /^set daemon 10$/m);
      assert.match(rc, /^set httpd port 2822 and use address 127\.0\.0\.1\nallow cleartext \/var\/vcap\/monit\/monit\.user$/m);
      assert.match(rc, /^include \/var\/vcap\/monit\/\*\.monitrc$/m);
      assert.match(rc, /^include \/var\/vcap\/monit\/job\/\*\.monitrc$/m);
      assert.deepEqual(img.list('var/vcap/monit'), [], 'no credentials, id or state shipped');
    },
  },
  {
    stages: ['bosh_monit'],
    title:
      "monit is 5.2.5 compiled from source (no CSRF check on the agent's form posts); no distribution monit, no sources left, build packages as the line lists them",
    run(img) {
      assert.match(img.runOk(['/var/vcap/bosh/bin/monit-actual', '-V']), /This is monit version 5\.2\.5/i);
      assert.ok(!img.installed('monit'), "the distribution's monit package is not installed");
      assert.ok(!img.exists('usr/bin/monit') && !img.exists('etc/init.d/monit'), 'no distribution monit files');
      assert.ok(!img.exists('var/vcap/bosh/src'), 'the source tree is gone');
      // flex, bison and zlib's headers were needed to compile; what the package set does not list is removed again
      for (const p of ['flex', 'bison', 'zlib1g-dev'])
        assert.equal(img.installed(p), img.os.packages.includes(p), `${p} installed exactly when the line lists it`);
    },
  },
  {
    stages: ['bosh_monit'],
    title: "the image's monit accepts monitrc through /var/vcap/bosh/bin/monit (monit -t)",
    run(img) {
      // A placeholder for the credentials file the agent writes; monit -t's id file and log
      // land on the tmpfs too.
      const out = sandboxOk(
        img,
        `mount -t tmpfs monit /var/vcap/monit
        printf 'vcap:placeholder\\n' > /var/vcap/monit/monit.user
        /var/vcap/bosh/bin/monit -t 2>&1`,
      );
      assert.match(out, /Control file syntax OK/);
      img.runOk(['bash', '-n', '/var/vcap/bosh/bin/monit']);
      assert.match(img.read('var/vcap/bosh/bin/monit'), /^control_file=\/var\/vcap\/bosh\/etc\/monitrc$/m);
      assert.match(img.read('var/vcap/bosh/bin/monit'), /^real_monit=\/var\/vcap\/bosh\/bin\/monit-actual$/m);
    },
  },
  {
    stages: ['bosh_monit'],
    title: "BOSH's monit is supervised as the line says and started by the agent only",
    run(img) {
      assert.deepEqual(
        enabledUnits(img).filter((u) => u === 'monit.service'),
        [],
        'monit.service not enabled at boot',
      );
      const exec = `/var/vcap/bosh/bin/monit-actual -I -c ${monitrc}`;
      if (img.os.serviceManager === 'systemd') {
        const unit = unitLines(img, 'etc/systemd/system/monit.service');
        assert.ok(unit.includes(`Service.ExecStart=${exec}`), 'ExecStart runs monit in the foreground with our monitrc');
        assert.ok(unit.includes('Service.KillMode=process'), 'stopping monit leaves the jobs running');
        assert.deepEqual(
          unit.filter((l) => l.startsWith('Install.')),
          [],
          'no [Install]: the agent starts it',
        );
      } else {
        assert.equal(img.mode('etc/sv/monit/run'), 0o755);
        assert.match(img.read('etc/sv/monit/run'), new RegExp(`^exec ${exec.replace(/[.*/]/g, '\\$&')}$`, 'm'));
        img.runOk(['sh', '-n', '/etc/sv/monit/run']);
        assert.equal(img.runOk(['readlink', '/etc/service/monit']).trim(), '/etc/sv/monit');
        assert.ok(img.exists('etc/sv/monit/down'), "down: runsv waits for the agent's sv start");
        assert.equal(img.runOk(['readlink', '/etc/systemd/system/monit.service']).trim(), '/dev/null', 'monit.service masked');
      }
    },
  },
  {
    stages: ['bosh_monit'],
    title: "the monit API filter: enabled at boot, and the image's own helper loads the line's rules (in a private network namespace)",
    run(img) {
      assert.ok(enabledUnits(img).includes('bosh-monit-api-filter.service'), 'bosh-monit-api-filter.service enabled');
      assert.ok(unitLines(img, 'etc/systemd/system/bosh-monit-api-filter.service').includes('Service.ExecStart=/var/vcap/bosh/bin/restrict-monit-api'));
      assert.match(img.read('var/vcap/bosh/etc/monit-access-helper.sh'), new RegExp(`^monit_api_filter=${img.os.monitApiFilter}$`, 'm'));
      if (img.os.monitApiFilter === 'nftables') {
        assert.ok(
          unitLines(img, 'etc/systemd/system/bosh-agent.service.d/50-monit-api-filter.conf').includes(
            'Service.ExecStartPre=-/var/vcap/bosh/bin/restrict-monit-api',
          ),
          'reloaded as the agent starts (its cgroup id is new each time)',
        );
        // Over a private /sys with the cgroups the rules name, as on a booted VM. An image of
        // another architecture runs under qemu-user here, which carries no netlink netfilter:
        // then the rules file the VM loads is read instead.
        const foreign = architectureFacts[img.os.arch].node !== process.arch;
        const rules = foreign
          ? img.read('etc/nftables.d/bosh-monit-api.nft')
          : sandboxOk(
              img,
              `mount -t tmpfs sys /sys
          mkdir -p /sys/fs/cgroup/system.slice/bosh-agent.service && touch /sys/fs/cgroup/cgroup.controllers
          /var/vcap/bosh/bin/restrict-monit-api >/dev/null && /var/vcap/bosh/bin/restrict-monit-api >/dev/null
          nft list table inet bosh_monit_api`,
            );
        const lines = rules
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l.includes('dport 2822'));
        assert.deepEqual(lines, [
          'ip daddr 127.0.0.1 tcp dport 2822 socket cgroupv2 level 1 "monit-api-access" accept',
          'ip daddr 127.0.0.1 tcp dport 2822 socket cgroupv2 level 2 "system.slice/bosh-agent.service" accept',
          'ip daddr 127.0.0.1 tcp dport 2822 drop',
        ]);
      } else {
        const rules = sandboxOk(
          img,
          `/var/vcap/bosh/bin/restrict-monit-api >/dev/null 2>&1; /var/vcap/bosh/bin/restrict-monit-api >/dev/null 2>&1
          iptables -w -t mangle -S POSTROUTING`,
        );
        assert.deepEqual(
          rules.split('\n').filter((l) => l.includes('2822')),
          ['-A POSTROUTING -d 127.0.0.1/32 -p tcp -m tcp --dport 2822 -m cgroup ! --cgroup 2958295041 -j DROP'],
        );
      }
    },
  },
  {
    stages: ['bosh_ntp'],
    title: "chrony: no time sources of the distribution, sync-time writes the agent's servers, chrony.service restarts and skips /var/vcap/store",
    covers: ['os.systemd.chrony-no-store', 'os.bin.sync-time'],
    run(img) {
      const sourceLine = /^(pool|server|peer)\s/;
      const files = [
        'etc/chrony/chrony.conf',
        ...img
          .list('etc/chrony/conf.d')
          .filter((f) => f.endsWith('.conf'))
          .map((f) => `etc/chrony/conf.d/${f}`),
        ...img
          .list('etc/chrony/sources.d')
          .filter((f) => f.endsWith('.sources'))
          .map((f) => `etc/chrony/sources.d/${f}`),
      ];
      for (const f of files)
        assert.deepEqual(
          img.activeLines(f).filter((l) => sourceLine.test(l)),
          [],
          f,
        );
      assert.ok(!img.exists('etc/chrony/sources.d/bosh.sources'), 'no servers of a build shipped');
      assert.ok(img.activeLines('etc/chrony/chrony.conf').includes('sourcedir /etc/chrony/sources.d'));
      assert.doesNotMatch(img.runOk(['chronyd', '-p', '-f', '/etc/chrony/chrony.conf']), /^(pool|server|peer) /m);
      assert.equal(img.mode('var/vcap/bosh/bin/sync-time'), 0o755);
      img.runOk(['bash', '-n', '/var/vcap/bosh/bin/sync-time']);
      const sync = img.read('var/vcap/bosh/bin/sync-time');
      assert.match(sync, /^servers_file=\/var\/vcap\/bosh\/etc\/ntpserver$/m);
      assert.match(sync, /^sources_file=\/etc\/chrony\/sources\.d\/bosh\.sources$/m);
      assert.match(sync, /^systemctl restart chrony\.service/m);
      const dropin = unitLines(img, 'etc/systemd/system/chrony.service.d/bosh.conf');
      for (const l of ['Service.Restart=always', 'Service.InaccessiblePaths=-/var/vcap/store']) assert.ok(dropin.includes(l), l);
    },
  },
  {
    stages: ['bosh_sudoers'],
    title: "/etc/sudoers ends by including /etc/sudoers.d, once, and the image's visudo accepts it",
    covers: ['os.sudoers.includedir'],
    run(img) {
      const lines = img
        .read('etc/sudoers')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '');
      const includes = lines.filter((l) => /^[#@]includedir\s+\/etc\/sudoers\.d\/?$/.test(l));
      assert.equal(includes.length, 1, 'exactly one includedir /etc/sudoers.d');
      assert.equal(lines.at(-1), includes[0], 'it is the last line');
      assert.equal(img.mode('etc/sudoers'), 0o440);
      img.runOk(['visudo', '-c']);
    },
  },
  {
    stages: ['bosh_systemd'],
    title: 'logind keeps IPC objects when a session ends (RemoveIPC=no in effect)',
    run(img) {
      const merged = img.runOk(['systemd-analyze', 'cat-config', 'systemd/logind.conf']);
      const values = merged
        .split('\n')
        .map((l) => l.match(/^\s*RemoveIPC\s*=\s*(\S*)/)?.[1])
        .filter((v) => v !== undefined);
      assert.equal(values.at(-1), 'no');
    },
  },
  {
    stages: ['delay_monit_start'],
    title: 'runsvdir-start drops /etc/service/monit until /var/vcap/data/sys/run is mounted (tried in a sandbox)',
    run(img) {
      const start = img.read('usr/sbin/runsvdir-start');
      const block = start.indexOf('if ! mountpoint -q /var/vcap/data/sys/run; then');
      assert.ok(block > 0 && block < start.search(/^exec .*runsvdir/m), 'the check comes before runsvdir starts');
      img.runOk(['sh', '-n', '/usr/sbin/runsvdir-start']);
      // Everything before the exec of runsvdir, with /etc/service's directory on a tmpfs.
      const out = sandboxOk(
        img,
        `service_dir=$(readlink -f /etc/service)
        mount -t tmpfs service "$service_dir"; mount -t tmpfs run /run
        sed '/^exec /,$d' /usr/sbin/runsvdir-start > /run/pre.sh
        ln -s /etc/sv/monit /etc/service/monit; sh -eu /run/pre.sh; echo "unmounted:$(ls /etc/service)"
        mount -t tmpfs vcap /var/vcap; mkdir -p /var/vcap/data/sys/run; mount -t tmpfs sysrun /var/vcap/data/sys/run
        ln -s /etc/sv/monit /etc/service/monit; sh -eu /run/pre.sh; echo "mounted:$(ls /etc/service)"`,
      );
      assert.match(out, /^unmounted:$/m, 'link removed while the ephemeral disk is not set up');
      assert.match(out, /^mounted:monit$/m, 'link kept once /var/vcap/data/sys/run is mounted');
    },
  },
  {
    stages: ['bosh_log_audit_start'],
    title: 'bosh-start-logging-and-auditing starts rsyslog and auditd, and skips auditd when it is not installed (tried with a stand-in systemctl)',
    covers: ['os.logaudit.start-script'],
    run(img) {
      const script = '/var/vcap/bosh/bin/bosh-start-logging-and-auditing';
      assert.equal(img.mode(script.slice(1)), 0o755);
      img.runOk(['bash', '-n', script]);
      const tryWith = (auditd: string) =>
        sandboxOk(
          img,
          `mount -t tmpfs run /run; mkdir -p /run/systemd/system /run/fake
        cat > /run/fake/systemctl <<'EOF'
#!/bin/sh
echo "systemctl $*" >> /run/fake/calls
case "$*" in *LoadState*rsyslog*) echo loaded ;; *LoadState*auditd*) echo ${auditd} ;; *is-active*) exit 1 ;; esac
EOF
        chmod 0755 /run/fake/systemctl
        PATH=/run/fake:$PATH ${script} >/dev/null
        grep -v LoadState /run/fake/calls`,
        );
      assert.deepEqual(
        tryWith('loaded')
          .split('\n')
          .filter((l) => l),
        ['systemctl --quiet is-active rsyslog.service', 'systemctl start rsyslog.service', 'systemctl start auditd.service'],
      );
      assert.deepEqual(
        tryWith('not-found')
          .split('\n')
          .filter((l) => l),
        ['systemctl --quiet is-active rsyslog.service', 'systemctl start rsyslog.service'],
      );
    },
  },
];
