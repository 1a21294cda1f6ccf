// Checks for the bosh_* stages: users, kernel settings, limits, monit, time, sudo, systemd.
import assert from 'node:assert/strict';
import type { Check } from '../image.js';

export const boshChecks: Check[] = [
  {
    stages: ['bosh_sysctl'],
    title: 'the hardening sysctl values and the neighbour-table fix',
    run(img) {
      const sysctl = img.read('etc/sysctl.d/60-bosh-sysctl.conf').replace(/[ \t]*=[ \t]*/g, ' = ');
      for (const line of ['net.ipv4.conf.all.accept_redirects = 0', 'net.ipv4.tcp_syncookies = 1', 'kernel.randomize_va_space = 2',
        'fs.suid_dumpable = 0', 'net.ipv6.conf.all.disable_ipv6 = 1', 'kernel.dmesg_restrict = 1']) {
        assert.match(sysctl, new RegExp(`^${line.replace(/\./g, '\\.')}$`, 'm'), line);
      }
      assert.ok(img.exists('etc/sysctl.d/60-bosh-sysctl-neigh-fix.conf'));
    },
  },
  {
    stages: ['bosh_limits'],
    title: 'no core dumps for anyone',
    run(img) {
      assert.match(img.read('etc/security/limits.conf'), /^\*\s+hard\s+core\s+0$/m);
    },
  },
  {
    stages: ['bosh_users'],
    title: 'BOSH groups, vcap uid 1000 in its groups, sha512 passwords, locked group passwords, sudoers valid',
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
      for (const l of img.read('etc/gshadow').split('\n').filter((x) => x)) {
        assert.match(l.split(':')[1]!, /^[!*]/, `group password locked: ${l.split(':')[0]}`);
      }
      assert.equal(img.mode('etc/sudoers'), 0o440);
      img.runOk(['visudo', '-c', '-f', '/etc/sudoers']);
    },
  },
];
