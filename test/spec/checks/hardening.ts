// Checks for the hardening stages: PAM and password policy, su, ttys, syslog, cron, audit.
import assert from 'node:assert/strict';
import { architectureFacts } from '../../../src/catalog/architectures.js';
import type { Check, ImageView } from '../image.js';

/** One active rule of a pam.d file. */
interface PamRule {
  type: string;
  /** "-type": a missing module is ignored */
  dashed: boolean;
  control: string;
  module: string;
  args: string[];
}

/** The active rules of a pam.d file (no comments, no @include lines), controls in brackets kept whole. */
function pamRules(img: ImageView, service: string): PamRule[] {
  const rules: PamRule[] = [];
  for (const line of img.activeLines(`etc/pam.d/${service}`)) {
    if (line.startsWith('@include')) continue;
    const m = line.match(/^(-?\w+)\s+(\[[^\]]*\]|\S+)\s+(\S+)\s*(.*)$/);
    assert.ok(m, `unparsable rule in /etc/pam.d/${service}: ${line}`);
    rules.push({
      type: m[1]!.replace(/^-/, '').toLowerCase(),
      dashed: m[1]!.startsWith('-'),
      control: m[2]!,
      module: m[3]!.replace(/.*\//, ''),
      args: m[4]!.split(/\s+/).filter((a) => a),
    });
  }
  return rules;
}

/** The rule a numeric jump of `rules[from]` (e.g. success=2) lands on, among the rules of its type. */
function jumpTarget(rules: PamRule[], from: number, value: string): PamRule | undefined {
  const rule = rules[from]!;
  const n = Number(rule.control.match(new RegExp(`\\b${value}=(\\d+)`))?.[1]);
  assert.ok(Number.isInteger(n), `${rule.module} has no numeric ${value}= jump`);
  const sameType = rules.filter((r) => r.type === rule.type);
  return sameType[sameType.indexOf(rule) + n + 1];
}

function findRule(rules: PamRule[], type: string, module: string, arg?: string): number {
  return rules.findIndex((r) => r.type === type && r.module === module && (arg === undefined || r.args.includes(arg)));
}

/** The image's PAM module directory (the one with pam_unix.so). */
export function pamModuleDir(img: ImageView): string {
  const triplet = architectureFacts[img.os.arch].triplet;
  const dir = [`usr/lib/${triplet}/security`, `lib/${triplet}/security`, 'usr/lib/security', 'lib/security'].find((d) => img.exists(`${d}/pam_unix.so`));
  assert.ok(dir, 'no pam_unix.so in the image');
  return dir;
}

/** The value of the last active `key=value` line of an ini-style text (systemd's "last one wins"). */
function lastValue(text: string, key: string): string | undefined {
  let value: string | undefined;
  for (const line of text.split('\n')) {
    const m = line.match(new RegExp(`^\\s*${key}\\s*=\\s*(.*?)\\s*$`));
    if (m) value = m[1];
  }
  return value;
}

const systemdUnitDirs = ['etc/systemd/system', 'usr/lib/systemd/system', 'lib/systemd/system'];

export const hardeningChecks: Check[] = [
  {
    stages: ['password_policies'],
    title: 'no nullok anywhere in pam.d, and every module the stacks name is in the image',
    covers: ['os.pam.no-nullok'],
    run(img) {
      const dir = pamModuleDir(img);
      for (const service of img.list('etc/pam.d')) {
        if (!img.lstat(`etc/pam.d/${service}`)?.isFile()) continue;
        for (const rule of pamRules(img, service)) {
          assert.ok(!rule.args.some((a) => a.startsWith('nullok')), `nullok in /etc/pam.d/${service}`);
          if (rule.control === 'include' || rule.control === 'substack') {
            assert.ok(img.exists(`etc/pam.d/${rule.module}`), `/etc/pam.d/${service} includes the missing ${rule.module}`);
          } else if (!rule.dashed) {
            const path = rule.module.startsWith('/') ? rule.module.slice(1) : `${dir}/${rule.module}`;
            assert.ok(img.exists(path), `/etc/pam.d/${service}: ${rule.module} is not in the image`);
          }
        }
      }
    },
  },
  {
    stages: ['password_policies'],
    title: 'faillock: deny=3 for 7 days, preauth before pam_unix, authfail only on its failure, account phase',
    covers: ['os.pam.auth-faillock-deny3', 'os.pam.account-faillock'],
    run(img) {
      const auth = pamRules(img, 'common-auth');
      const pre = findRule(auth, 'auth', 'pam_faillock.so', 'preauth');
      const unix = findRule(auth, 'auth', 'pam_unix.so');
      const fail = findRule(auth, 'auth', 'pam_faillock.so', 'authfail');
      assert.ok(pre >= 0 && unix >= 0 && fail >= 0, 'preauth, pam_unix and authfail rules in common-auth');
      assert.ok(pre < unix && fail === unix + 1, 'order: preauth … pam_unix, authfail right after it');
      for (const i of [pre, fail]) {
        for (const a of ['deny=3', 'unlock_time=604800']) assert.ok(auth[i]!.args.includes(a), `${auth[i]!.args.join(' ')}: ${a}`);
      }
      assert.equal(auth[pre]!.control, 'required');
      assert.match(auth[fail]!.control, /default=die/);
      // pam_unix's success must jump over authfail and pam_deny, onto a rule that lets the login through
      const landing = jumpTarget(auth, unix, 'success');
      assert.ok(landing, 'pam_unix success jumps past the end of the stack');
      assert.ok(!['pam_faillock.so', 'pam_deny.so'].includes(landing.module), `pam_unix success lands on ${landing.module}`);
      const account = pamRules(img, 'common-account');
      const acc = findRule(account, 'account', 'pam_faillock.so');
      assert.ok(acc >= 0 && account[acc]!.control === 'required', 'account required pam_faillock.so');
    },
  },
  {
    stages: ['password_policies'],
    title: 'strong passwords (cracklib/pwquality minlen 14 with credits), sha512 remember=24, lastlog showfailed, PASS_MIN_DAYS 1',
    covers: ['os.pam.cracklib-params', 'os.pam.unix-remember-24', 'os.login-defs.pass-min-days'],
    run(img) {
      const password = pamRules(img, 'common-password');
      const quality = img.os.packages.includes('libpam-cracklib') ? 'pam_cracklib.so' : 'pam_pwquality.so';
      const q = findRule(password, 'password', quality);
      assert.ok(q >= 0, `common-password uses ${quality}`);
      for (const a of ['retry=3', 'minlen=14', 'dcredit=-1', 'ucredit=-1', 'lcredit=-1', 'ocredit=-1']) {
        assert.ok(password[q]!.args.includes(a), `${quality}: ${a}`);
      }
      const u = findRule(password, 'password', 'pam_unix.so');
      assert.ok(u > q, 'pam_unix after the quality check');
      for (const a of ['sha512', 'remember=24', 'use_authtok']) assert.ok(password[u]!.args.includes(a), `pam_unix: ${a}`);
      assert.ok(!password[u]!.args.some((a) => ['yescrypt', 'md5', 'sha256', 'blowfish'].includes(a)), 'pam_unix: one hash method only');
      const login = pamRules(img, 'login');
      const last = findRule(login, 'session', 'pam_lastlog.so');
      assert.ok(last >= 0 && login[last]!.args.includes('showfailed'), 'login: pam_lastlog.so showfailed');
      assert.deepEqual(
        img
          .activeLines('etc/login.defs')
          .filter((l) => /^PASS_MIN_DAYS\s/.test(l))
          .map((l) => l.split(/\s+/)[1]),
        ['1'],
      );
      const vcap = img
        .read('etc/shadow')
        .split('\n')
        .find((l) => l.startsWith('vcap:'));
      assert.equal(vcap?.split(':')[3], '1', 'vcap: minimum password age 1 day');
    },
  },
  {
    stages: ['restrict_su_command'],
    title: 'su needs the sudo group (pam_wheel use_uid, right after pam_rootok); vcap is in it',
    covers: ['os.su.pam-wheel', 'os.su.vcap-in-sudo'],
    run(img) {
      const lines = img.activeLines('etc/pam.d/su');
      const rootok = lines.findIndex((l) => /^auth\s+sufficient\s+pam_rootok\.so/.test(l));
      const wheel = lines.findIndex((l) => /^auth\s+(required|requisite)\s+pam_wheel\.so\s/.test(l));
      assert.ok(rootok >= 0 && wheel === rootok + 1, 'pam_wheel right after pam_rootok');
      const args = lines[wheel]!.split(/\s+/).slice(3);
      assert.ok(args.includes('use_uid') && args.includes('group=sudo'), `pam_wheel ${args.join(' ')}`);
      const auth = lines.findIndex((l) => l === '@include common-auth');
      assert.ok(auth > wheel, 'pam_wheel before the password prompt of common-auth');
      assert.ok(img.groups().get('sudo')?.members.includes('vcap'), 'vcap in sudo');
    },
  },
  {
    stages: ['tty_config'],
    title: 'securetty lists only the console (no vc/*, no other terminal); login enforces it',
    covers: ['os.securetty.no-vc', 'os.securetty.console-only'],
    run(img) {
      assert.deepEqual(img.activeLines('etc/securetty'), ['console']);
      assert.equal(img.mode('etc/securetty'), 0o644);
      assert.equal(img.lstat('etc/securetty')!.uid, 0);
      const login = pamRules(img, 'login');
      const st = findRule(login, 'auth', 'pam_securetty.so');
      assert.ok(st >= 0, 'login calls pam_securetty');
      assert.match(login[st]!.control, /default=die/);
      assert.ok(st < findRule(login, 'auth', 'pam_nologin.so'), 'pam_securetty before the rest of the auth stack');
    },
  },
  {
    stages: ['rsyslog_config'],
    title: "rsyslog configuration accepted by the image's rsyslogd -N1 and logrotate; runs as syslog, files syslog-only",
    covers: ['os.rsyslog.config-valid', 'os.rsyslog.file-owner', 'os.rsyslog.file-create-mode', 'os.rsyslog.syslog-user', 'os.logrotate.rsyslog-file'],
    run(img) {
      img.runOk(['rsyslogd', '-N1', '-f', '/etc/rsyslog.conf']);
      const conf = img.activeLines('etc/rsyslog.conf');
      for (const l of [
        '$PrivDropToUser syslog',
        '$PrivDropToGroup syslog',
        '$FileOwner syslog',
        '$FileCreateMode 0600',
        '$IncludeConfig /etc/rsyslog.d/*.conf',
      ]) {
        assert.ok(conf.includes(l), l);
      }
      const rules = img.activeLines('etc/rsyslog.d/50-default.conf').map((l) => l.split(/\s+/));
      const dest = (sel: string): string | undefined => rules.find((r) => r[0] === sel)?.[1];
      assert.equal(dest('auth,authpriv.*'), '/var/log/auth.log');
      assert.equal(dest('*.*;auth,authpriv.none'), '-/var/log/syslog');
      assert.equal(dest('kern.*'), '-/var/log/kern.log');
      const lr = img.run(['logrotate', '-d', '-s', '/dev/null', '/etc/logrotate.d/rsyslog']);
      assert.equal(lr.code, 0, lr.stderr);
      assert.doesNotMatch(lr.stderr, /^error/im);
      const rotate = img.read('etc/logrotate.d/rsyslog');
      for (const f of ['/var/log/syslog', '/var/log/auth.log', '/var/log/kern.log', '/var/log/messages']) assert.match(rotate, new RegExp(`^${f}$`, 'm'), f);
      assert.match(rotate, /^\s*su syslog syslog$/m);
      const syslog = img.accounts().find((a) => a.name === 'syslog');
      assert.ok(syslog, 'a syslog user');
      assert.ok(img.groups().get('vcap')?.members.includes('syslog'), 'syslog in the vcap group');
      const varLog = img.lstat('var/log')!;
      assert.equal(varLog.gid, img.groups().get('syslog')?.gid, '/var/log group syslog');
      assert.equal(img.mode('var/log'), 0o775);
      for (const f of ['auth.log', 'syslog', 'kern.log']) {
        assert.equal(img.lstat(`var/log/${f}`)?.uid, syslog.uid, `${f} owned by syslog`);
        assert.equal(img.mode(`var/log/${f}`), 0o600, `${f} 0600`);
      }
    },
  },
  {
    stages: ['rsyslog_config'],
    title: 'rsyslog starts only once /var/log is mounted; journald keeps the journal in memory and forwards to syslog',
    covers: ['os.systemd.journald-volatile', 'os.systemd.rsyslog-wait-dropin', 'os.rsyslog.wait-script'],
    run(img) {
      const wait = 'usr/local/bin/wait_for_var_log_to_be_mounted';
      assert.equal(img.mode(wait), 0o755);
      assert.match(img.read(wait), /mountpoint -q \/var\/log/);
      img.runOk(['sh', '-n', `/${wait}`]);
      const dropin = img.read('etc/systemd/system/rsyslog.service.d/10-wait-for-var-log.conf');
      assert.equal(lastValue(dropin, 'ExecStartPre'), `/${wait}`);
      img.runOk(['systemd-analyze', 'verify', 'rsyslog.service']);
      const journald = img.runOk(['systemd-analyze', 'cat-config', 'systemd/journald.conf']);
      assert.equal(lastValue(journald, 'Storage'), 'volatile');
      assert.equal(lastValue(journald, 'ForwardToSyslog'), 'yes');
    },
  },
  {
    stages: ['cron_config'],
    title: 'anacron RANDOM_DELAY=60, man-db not run by cron or timers, APT::Periodic all off',
    covers: ['os.apt.periodic-off', 'os.anacron.random-delay', 'os.cron.no-man-db-daily', 'os.cron.no-man-db-weekly'],
    run(img) {
      const anacrontab = img.activeLines('etc/anacrontab');
      assert.deepEqual(
        anacrontab.filter((l) => /^RANDOM_DELAY\s*=/.test(l)),
        ['RANDOM_DELAY=60'],
      );
      const firstJob = anacrontab.findIndex((l) => /^(@\w+|\d+)\s/.test(l));
      assert.ok(anacrontab.indexOf('RANDOM_DELAY=60') < firstJob, 'RANDOM_DELAY before the jobs');
      img.runOk(['anacron', '-T']);
      for (const f of ['etc/cron.daily/man-db', 'etc/cron.weekly/man-db', 'etc/cron.daily/man-db.cron']) assert.ok(!img.exists(f), f);
      if (systemdUnitDirs.slice(1).some((d) => img.exists(`${d}/man-db.timer`))) {
        assert.ok(img.lstat('etc/systemd/system/man-db.timer')?.isSymbolicLink(), 'man-db.timer masked');
        assert.equal(img.runOk(['readlink', '/etc/systemd/system/man-db.timer']).trim(), '/dev/null', 'man-db.timer masked');
      }
      if (img.installed('man-db'))
        assert.ok(
          img.list('var/cache/man').some((f) => f.startsWith('index.')),
          'the man-db index is built',
        );
      const dump = img.runOk(['apt-config', 'dump', 'APT::Periodic']);
      for (const key of ['Enable', 'Update-Package-Lists', 'Download-Upgradeable-Packages', 'Unattended-Upgrade', 'AutocleanInterval']) {
        const values = [...dump.matchAll(new RegExp(`^APT::Periodic::${key} "(.*)";$`, 'gm'))].map((m) => m[1]);
        assert.equal(values.at(-1), '0', `APT::Periodic::${key}`);
      }
    },
  },
  {
    stages: ['escape_ctrl_alt_del'],
    title: 'Ctrl-Alt-Del does not reboot: ctrl-alt-del.target masked, no burst reboot',
    run(img) {
      assert.ok(img.lstat('etc/systemd/system/ctrl-alt-del.target')?.isSymbolicLink());
      assert.equal(img.runOk(['readlink', '/etc/systemd/system/ctrl-alt-del.target']).trim(), '/dev/null');
      const system = img.runOk(['systemd-analyze', 'cat-config', 'systemd/system.conf']);
      assert.equal(lastValue(system, 'CtrlAltDelBurstAction'), 'none');
    },
  },
  {
    stages: ['bosh_audit_debian', 'bosh_audit_ubuntu'],
    title: 'auditd installed, not started at boot, loads rules.d through augenrules; auditd.conf logs problems to syslog',
    covers: [
      'os.audit.augenrules-unit',
      'os.audit.pkg-installed',
      'os.audit.service-not-enabled',
      'os.auditd.disk-full-syslog',
      'os.auditd.disk-error-syslog',
      'os.auditd.space-left-syslog',
      'os.auditd.num-logs-5',
      'os.auditd.max-log-file-6',
      'os.auditd.max-log-file-rotate',
      'os.auditd.log-group-root',
      'os.auditd.syslog-plugin-active',
    ],
    run(img) {
      assert.ok(img.installed('auditd'));
      assert.ok(!img.exists('etc/systemd/system/multi-user.target.wants/auditd.service'), 'auditd not enabled at boot');
      for (const rc of ['rc2.d', 'rc3.d', 'rc4.d', 'rc5.d']) {
        if (img.exists(`etc/${rc}`))
          assert.deepEqual(
            img.list(`etc/${rc}`).filter((f) => /^S\d*auditd$/.test(f)),
            [],
            `no SysV start link in /etc/${rc}`,
          );
      }
      const unitDir = systemdUnitDirs.slice(1).find((d) => img.exists(`${d}/auditd.service`));
      assert.ok(unitDir, 'auditd.service');
      let unit = img.read(`${unitDir}/auditd.service`);
      const dropins = 'etc/systemd/system/auditd.service.d';
      if (img.exists(dropins)) for (const f of img.list(dropins).sort()) unit += `\n${img.read(`${dropins}/${f}`)}`;
      assert.match(lastValue(unit, 'ExecStartPost') ?? '', /augenrules --load$/);
      const conf = new Map(img.activeLines('etc/audit/auditd.conf').map((l) => l.split(/\s*=\s*/) as [string, string]));
      for (const [k, v] of Object.entries({
        disk_full_action: 'SYSLOG',
        disk_error_action: 'SYSLOG',
        space_left_action: 'SYSLOG',
        admin_space_left_action: 'SYSLOG',
        num_logs: '5',
        max_log_file: '6',
        max_log_file_action: 'ROTATE',
        log_group: 'root',
      })) {
        assert.equal(conf.get(k), v, k);
      }
      assert.match(img.read('etc/audit/plugins.d/syslog.conf'), /^active = yes$/m);
    },
  },
  {
    stages: ['bosh_audit_debian', 'bosh_audit_ubuntu'],
    title: 'audit rules compiled by augenrules: every category, every setuid/setgid binary, system calls known to ausyscall',
    covers: ['os.auditrule.setuid-setgid-all', 'os.auditrule.mutable'],
    run(img) {
      const check = img.run(['augenrules', '--check']);
      assert.equal(check.code, 0, `augenrules --check: ${check.stdout}${check.stderr}`);
      assert.match(check.stdout + check.stderr, /No change/);
      const compiled = img.activeLines('etc/audit/audit.rules');
      for (const f of ['50-bosh.rules', '60-bosh-privileged.rules']) {
        for (const rule of img.activeLines(`etc/audit/rules.d/${f}`)) assert.ok(compiled.includes(rule), `compiled: ${rule}`);
      }
      for (const key of [
        'modules',
        'time-change',
        'delete',
        'scope',
        'logins',
        'session',
        'identity',
        'system-locale',
        'MAC-policy',
        'mounts',
        'perm_mod',
        'access',
        'privileged',
      ]) {
        assert.ok(
          compiled.some((r) => r.endsWith(` -k ${key}`)),
          `rules with key ${key}`,
        );
      }
      for (const file of ['/etc/passwd', '/etc/group', '/etc/shadow', '/etc/gshadow', '/etc/sudoers']) {
        assert.ok(
          compiled.some((r) => r.startsWith(`-w ${file} -p wa `)),
          `watch on ${file}`,
        );
      }
      assert.ok(!compiled.includes('-e 2'), 'rules stay mutable, as in the reference');
      const privileged = img
        .runOk(['find', '/', '-xdev', '-type', 'f', '(', '-perm', '-4000', '-o', '-perm', '-2000', ')'])
        .split('\n')
        .filter((l) => l);
      assert.ok(privileged.length > 0);
      for (const p of privileged) {
        const keyed = /-k (privileged|privileged-[a-z-]+|perm_chng)$/;
        assert.ok(
          compiled.some((r) => r.includes(` -F path=${p} `) && r.includes('-F perm=x') && keyed.test(r)),
          `exec rule for ${p}`,
        );
      }
      for (const rule of compiled) {
        const arch = rule.match(/-F arch=(b64|b32)/)?.[1];
        for (const m of rule.matchAll(/-S (\S+)/g)) {
          assert.ok(arch, `system call without arch: ${rule}`);
          const r = img.run(['ausyscall', arch === 'b64' ? 'x86_64' : 'i386', m[1]!, '--exact']);
          assert.equal(r.code, 0, `${m[1]} is not a ${arch} system call`);
        }
      }
    },
  },
];
