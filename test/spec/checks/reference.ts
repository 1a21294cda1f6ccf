// OS-image checks for the reference's hardening examples (CIS and STIG controls) that the
// stage checks did not assert on their own: kernel parameters, audit files and rules,
// accounts, forbidden packages, file-mode sweeps, sshd, banners, logging and shells. Each
// check lists the examples it proves in `covers` (test/spec/reference/examples.ts).
import assert from 'node:assert/strict';
import type { Check, ImageView } from '../image.js';
import { pamModuleDir } from './hardening.js';
import { sshdEffective } from '../stemcell-checks/iaas.js';

// ---------------------------------------------------------------------------------------
// Kernel parameters
// ---------------------------------------------------------------------------------------

/** The value systemd-sysctl ends up with per key: sysctl.d files in name order across the
 * three directories (a file in /etc hides one of the same name), /etc/sysctl.conf last. */
export function effectiveSysctl(img: ImageView): Map<string, string> {
  const files = new Map<string, string>();
  for (const dir of ['usr/lib/sysctl.d', 'lib/sysctl.d', 'run/sysctl.d', 'etc/sysctl.d']) {
    if (!img.exists(dir)) continue;
    for (const f of img.list(dir)) if (f.endsWith('.conf')) files.set(f, `${dir}/${f}`);
  }
  const order = [...files.keys()].sort().map((f) => files.get(f)!);
  if (img.exists('etc/sysctl.conf')) order.push('etc/sysctl.conf');
  const values = new Map<string, string>();
  for (const path of order) {
    for (const line of img.activeLines(path)) {
      if (line.startsWith(';')) continue;
      const m = line.match(/^-?([\w./-]+)\s*=\s*(.*)$/);
      assert.ok(m, `unparsable line in /${path}: ${line}`);
      values.set(m[1]!.replaceAll('/', '.'), m[2]!.trim());
    }
  }
  return values;
}

/** The BOSH kernel parameters, each with the reference examples that demand it. */
const sysctlTable: { key: string; value: string; os?: string; stemcell?: string }[] = [
  { key: 'net.ipv4.ip_forward', value: '0', os: 'os.sysctl.ip-forward-off' },
  { key: 'net.ipv6.conf.all.accept_redirects', value: '0', os: 'os.sysctl.ipv6-all-accept-redirects-set' },
  { key: 'net.ipv6.conf.all.disable_ipv6', value: '1', os: 'os.sysctl.ipv6-disabled' },
  { key: 'net.ipv6.conf.default.disable_ipv6', value: '1', os: 'os.sysctl.ipv6-disabled' },
  { key: 'net.ipv4.tcp_keepalive_time', value: '120', os: 'os.sysctl.tcp-keepalive' },
  { key: 'net.ipv4.tcp_keepalive_intvl', value: '30', os: 'os.sysctl.tcp-keepalive' },
  { key: 'net.ipv4.tcp_keepalive_probes', value: '8', os: 'os.sysctl.tcp-keepalive' },
  { key: 'kernel.keys.root_maxkeys', value: '1000000', os: 'os.sysctl.keys-maxkeys' },
  { key: 'kernel.keys.maxkeys', value: '1000000', os: 'os.sysctl.keys-maxkeys' },
  { key: 'net.ipv4.conf.all.secure_redirects', value: '0', stemcell: 'sc.sysctl.ipv4-all-secure-redirects' },
  { key: 'net.ipv4.conf.default.secure_redirects', value: '0', stemcell: 'sc.sysctl.ipv4-default-secure-redirects' },
  { key: 'net.ipv4.conf.all.send_redirects', value: '0', stemcell: 'sc.sysctl.ipv4-all-send-redirects' },
  { key: 'net.ipv4.conf.default.send_redirects', value: '0', stemcell: 'sc.sysctl.ipv4-default-send-redirects' },
  { key: 'net.ipv4.conf.all.accept_source_route', value: '0', stemcell: 'sc.sysctl.ipv4-all-accept-source-route' },
  { key: 'net.ipv4.conf.default.accept_source_route', value: '0', stemcell: 'sc.sysctl.ipv4-default-accept-source-route' },
  { key: 'net.ipv6.conf.default.accept_redirects', value: '0', stemcell: 'sc.sysctl.ipv6-default-accept-redirects' },
  { key: 'net.ipv4.conf.all.rp_filter', value: '1', stemcell: 'sc.sysctl.ipv4-all-rp-filter' },
  { key: 'net.ipv4.conf.default.rp_filter', value: '1', stemcell: 'sc.sysctl.ipv4-default-rp-filter' },
  { key: 'net.ipv4.conf.all.log_martians', value: '1', stemcell: 'sc.sysctl.ipv4-all-log-martians' },
  { key: 'net.ipv4.conf.default.log_martians', value: '1', stemcell: 'sc.sysctl.ipv4-default-log-martians' },
  { key: 'net.ipv6.conf.all.accept_ra', value: '0', stemcell: 'sc.sysctl.ipv6-all-accept-ra' },
  { key: 'net.ipv6.conf.default.accept_ra', value: '0', stemcell: 'sc.sysctl.ipv6-default-accept-ra' },
  { key: 'net.ipv6.route.flush', value: '1', stemcell: 'sc.sysctl.ipv6-route-flush' },
  { key: 'net.ipv4.icmp_echo_ignore_broadcasts', value: '1', stemcell: 'sc.sysctl.icmp-echo-ignore-broadcasts' },
  { key: 'net.ipv4.icmp_ignore_bogus_error_responses', value: '1', stemcell: 'sc.sysctl.icmp-ignore-bogus-errors' },
  { key: 'net.ipv4.tcp_max_syn_backlog', value: '1280', stemcell: 'sc.sysctl.tcp-max-syn-backlog' },
  { key: 'net.ipv4.conf.all.accept_redirects', value: '0', stemcell: 'sc.sysctl.ipv4-all-accept-redirects' },
  { key: 'net.ipv4.tcp_syncookies', value: '1', stemcell: 'sc.sysctl.tcp-syncookies' },
  { key: 'fs.suid_dumpable', value: '0', stemcell: 'sc.sysctl.fs-suid-dumpable' },
];

/** The neighbour table sizes (a VM with many containers outgrows the kernel's defaults). */
const neighbourTable: [string, string][] = [
  ['net.ipv4.neigh.default.gc_thresh1', '1024'],
  ['net.ipv4.neigh.default.gc_thresh2', '4096'],
  ['net.ipv4.neigh.default.gc_thresh3', '8192'],
];

function assertSysctl(img: ImageView, rows: typeof sysctlTable): void {
  for (const f of ['60-bosh-sysctl.conf', '60-bosh-sysctl-neigh-fix.conf']) {
    assertOwnedByRoot(img, `etc/sysctl.d/${f}`);
    assert.ok(img.lstat(`etc/sysctl.d/${f}`)!.isFile(), `/etc/sysctl.d/${f} is a regular file`);
    assert.equal(img.mode(`etc/sysctl.d/${f}`), 0o644, `/etc/sysctl.d/${f} mode`);
  }
  const neigh = new Map(img.activeLines('etc/sysctl.d/60-bosh-sysctl-neigh-fix.conf').map((l) => l.split(/\s*=\s*/) as [string, string]));
  assert.deepEqual([...neigh], neighbourTable, '60-bosh-sysctl-neigh-fix.conf');
  const bosh = new Map(img.activeLines('etc/sysctl.d/60-bosh-sysctl.conf').map((l) => l.split(/\s*=\s*/) as [string, string]));
  const effective = effectiveSysctl(img);
  for (const { key, value } of rows) {
    assert.equal(bosh.get(key), value, `60-bosh-sysctl.conf: ${key}`);
    assert.equal(effective.get(key), value, `${key} after every sysctl.d file is read`);
  }
  for (const [key, value] of neighbourTable) assert.equal(effective.get(key), value, `${key} after every sysctl.d file is read`);
}

/** sshd's password logins per infrastructure: on where the reference turns them on for vcap. */
const passwordLogins: Record<string, 'yes' | 'no'> = {
  aws: 'no',
  openstack: 'no',
  google: 'no',
  azure: 'no',
  alicloud: 'no',
  cloudstack: 'no',
  vsphere: 'yes',
  vcloud: 'yes',
  softlayer: 'yes',
};

/** Stemcell checks for reference examples of its stemcell suites, kept beside their OS-image kin. */
export const osReferenceStemcellChecks: (Check & { only?: string[] })[] = [
  {
    stages: ['untar_base_os_image'],
    title: 'kernel parameters of the reference (redirects, source routes, rp_filter, martians, RA, ICMP, SYN backlog, neighbour table) in effect',
    covers: ['sc.sysctl.file', 'sc.sysctl.neigh-fix', ...sysctlTable.flatMap((r) => (r.stemcell ? [r.stemcell] : []))],
    run: (img) => assertSysctl(img, sysctlTable),
  },
  {
    stages: ['untar_base_os_image'],
    title: 'setuid/setgid files: only su, sudo and sudoedit (links followed)',
    covers: ['sc.setuid.allowed-only'],
    run(img) {
      const names = find(img, ['-L', '/', '-xdev', '-perm', '/ug=s', '-type', 'f']).map((p) => p.split('/').at(-1)!);
      assert.deepEqual([...new Set(names)].sort(), ['su', 'sudo', 'sudoedit']);
    },
  },
  ...Object.entries(passwordLogins).map(([iaas, value]) => ({
    stages: value === 'yes' ? ['bosh_enable_password_authentication'] : ['untar_base_os_image'],
    only: [iaas],
    title: `sshd password logins ${value === 'yes' ? 'on' : 'off'} on ${iaas} (sshd_config and sshd's effective value)`,
    covers: [`iaas.${iaas}.password-auth-${value}`],
    run(img: ImageView) {
      const lines = img
        .activeLines('etc/ssh/sshd_config')
        .filter((l) => /^PasswordAuthentication\s/i.test(l))
        .map((l) => l.split(/\s+/)[1]);
      assert.deepEqual(lines, [value], 'PasswordAuthentication lines of sshd_config');
      assert.match(sshdEffective(img), new RegExp(`^passwordauthentication ${value}$`, 'm'), "sshd's effective PasswordAuthentication");
    },
  })),
];

// ---------------------------------------------------------------------------------------
// Audit
// ---------------------------------------------------------------------------------------

/** A compiled audit rule, parsed. */
interface AuditRule {
  text: string;
  watch?: string;
  perms?: string;
  list?: string;
  arch?: string;
  syscalls: Set<string>;
  fields: Set<string>;
  key?: string;
}

function parseAuditRules(img: ImageView): AuditRule[] {
  return img.activeLines('etc/audit/audit.rules').map((text) => {
    const words = text.split(/\s+/);
    const rule: AuditRule = { text, syscalls: new Set(), fields: new Set() };
    for (let i = 0; i < words.length; i++) {
      const [w, v] = [words[i]!, words[i + 1] ?? ''];
      if (w === '-w') rule.watch = v;
      else if (w === '-p') rule.perms = v;
      else if (w === '-a') rule.list = v.split(',').sort().join(',');
      else if (w === '-S') rule.syscalls.add(v);
      else if (w === '-k') rule.key = v;
      else if (w === '-F' && v.startsWith('arch=')) rule.arch = v.slice(5);
      else if (w === '-F' && v.startsWith('key=')) rule.key = v.slice(4);
      else if (w === '-F' || w === '-C') rule.fields.add(v);
      else continue;
      i++;
    }
    return rule;
  });
}

/** login.defs UID_MIN: the first uid of a person (the rules' auid threshold). */
function uidMin(img: ImageView): string {
  return (
    img
      .activeLines('etc/login.defs')
      .find((l) => /^UID_MIN\s/.test(l))
      ?.split(/\s+/)[1] ?? '1000'
  );
}

/** The real path of a file inside the image (links resolved), or undefined. */
function realPath(img: ImageView, path: string): string | undefined {
  const r = img.run(['readlink', '-e', '--', path]);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

interface SyscallRow {
  id: string;
  arch: 'b64' | 'b32';
  syscalls: string[];
  fields?: string[];
  /** the rule applies to people: auid >= UID_MIN and set */
  users?: boolean;
  key: string;
}

const syscallRows: SyscallRow[] = [
  { id: 'os.auditrule.modules-syscalls', arch: 'b64', syscalls: ['init_module', 'finit_module', 'delete_module'], key: 'modules' },
  { id: 'os.auditrule.time-adjtimex-b64', arch: 'b64', syscalls: ['adjtimex', 'settimeofday'], key: 'time-change' },
  { id: 'os.auditrule.time-adjtimex-b32', arch: 'b32', syscalls: ['adjtimex', 'settimeofday', 'stime'], key: 'time-change' },
  { id: 'os.auditrule.time-clock-settime-b64', arch: 'b64', syscalls: ['clock_settime'], key: 'time-change' },
  { id: 'os.auditrule.time-clock-settime-b32', arch: 'b32', syscalls: ['clock_settime'], key: 'time-change' },
  ...(['b64', 'b32'] as const).flatMap((arch): SyscallRow[] => [
    { id: `os.auditrule.delete-${arch}`, arch, syscalls: ['unlink', 'unlinkat', 'rmdir', 'rename', 'renameat'], users: true, key: 'delete' },
    { id: `os.auditrule.locale-sethostname-${arch}`, arch, syscalls: ['sethostname', 'setdomainname'], key: 'system-locale' },
    { id: `os.auditrule.mounts-${arch}`, arch, syscalls: ['mount'], users: true, key: 'mounts' },
    { id: `os.auditrule.permmod-chmod-${arch}`, arch, syscalls: ['chmod', 'fchmod', 'fchmodat'], users: true, key: 'perm_mod' },
    { id: `os.auditrule.permmod-chown-${arch}`, arch, syscalls: ['chown', 'fchown', 'fchownat', 'lchown'], users: true, key: 'perm_mod' },
    {
      id: `os.auditrule.permmod-xattr-${arch}`,
      arch,
      syscalls: ['setxattr', 'lsetxattr', 'fsetxattr', 'removexattr', 'lremovexattr', 'fremovexattr'],
      users: true,
      key: 'perm_mod',
    },
    ...(['EACCES', 'EPERM'] as const).map((e) => ({
      id: `os.auditrule.access-${e.toLowerCase()}-${arch}`,
      arch,
      syscalls: ['creat', 'open', 'open_by_handle_at', 'openat', 'truncate', 'ftruncate'],
      fields: [`exit=-${e}`],
      users: true,
      key: 'access',
    })),
    { id: `os.auditrule.sudo-log-${arch}`, arch, syscalls: ['execve'], fields: ['euid=0'], users: true, key: 'sudo_log' },
    { id: `os.auditrule.execpriv-uid-${arch}`, arch, syscalls: ['execve'], fields: ['uid!=euid'], key: 'execpriv' },
    { id: `os.auditrule.execpriv-gid-${arch}`, arch, syscalls: ['execve'], fields: ['gid!=egid'], key: 'execpriv' },
  ]),
];

const watchRows: { id: string; path: string; perms: string; key: string }[] = [
  { id: 'os.auditrule.modules-watch-insmod', path: '/sbin/insmod', perms: 'x', key: 'modules' },
  { id: 'os.auditrule.modules-watch-rmmod', path: '/sbin/rmmod', perms: 'x', key: 'modules' },
  { id: 'os.auditrule.modules-watch-modprobe', path: '/sbin/modprobe', perms: 'x', key: 'modules' },
  { id: 'os.auditrule.modules-watch-kmod', path: '/bin/kmod', perms: 'x', key: 'modules' },
  { id: 'os.auditrule.time-localtime-watch', path: '/etc/localtime', perms: 'wa', key: 'time-change' },
  { id: 'os.auditrule.scope-sudoers', path: '/etc/sudoers', perms: 'wa', key: 'scope' },
  { id: 'os.auditrule.scope-sudoers-d', path: '/etc/sudoers.d', perms: 'wa', key: 'scope' },
  { id: 'os.auditrule.identity-group', path: '/etc/group', perms: 'wa', key: 'identity' },
  { id: 'os.auditrule.identity-passwd', path: '/etc/passwd', perms: 'wa', key: 'identity' },
  { id: 'os.auditrule.identity-gshadow', path: '/etc/gshadow', perms: 'wa', key: 'identity' },
  { id: 'os.auditrule.identity-shadow', path: '/etc/shadow', perms: 'wa', key: 'identity' },
  { id: 'os.auditrule.logins-faillog', path: '/var/log/faillog', perms: 'wa', key: 'logins' },
  { id: 'os.auditrule.logins-lastlog', path: '/var/log/lastlog', perms: 'wa', key: 'logins' },
  { id: 'os.auditrule.logins-faillock', path: '/var/run/faillock', perms: 'wa', key: 'logins' },
  { id: 'os.auditrule.logins-tallylog', path: '/var/log/tallylog', perms: 'wa', key: 'logins' },
  { id: 'os.auditrule.session-utmp', path: '/var/run/utmp', perms: 'wa', key: 'session' },
  { id: 'os.auditrule.session-wtmp', path: '/var/log/wtmp', perms: 'wa', key: 'session' },
  { id: 'os.auditrule.session-btmp', path: '/var/log/btmp', perms: 'wa', key: 'session' },
  { id: 'os.auditrule.identity-opasswd', path: '/etc/security/opasswd', perms: 'wa', key: 'identity' },
  { id: 'os.auditrule.locale-issue', path: '/etc/issue', perms: 'wa', key: 'system-locale' },
  { id: 'os.auditrule.locale-issue-net', path: '/etc/issue.net', perms: 'wa', key: 'system-locale' },
  { id: 'os.auditrule.locale-hosts', path: '/etc/hosts', perms: 'wa', key: 'system-locale' },
  { id: 'os.auditrule.locale-network', path: '/etc/network', perms: 'wa', key: 'system-locale' },
  { id: 'os.auditrule.locale-networks', path: '/etc/networks', perms: 'wa', key: 'system-locale' },
  { id: 'os.auditrule.mac-apparmor', path: '/etc/apparmor', perms: 'wa', key: 'MAC-policy' },
  { id: 'os.auditrule.mac-apparmor-d', path: '/etc/apparmor.d', perms: 'wa', key: 'MAC-policy' },
];

/** Exec rules for named programs: the reference's "privileged" list and its own-key tools. */
const execRows: { id: string; path: string; key: string }[] = [
  ...[
    '/sbin/unix_chkpwd',
    '/usr/bin/write',
    '/bin/mount',
    '/usr/bin/newgrp',
    '/usr/bin/wall',
    '/usr/bin/passwd',
    '/bin/umount',
    '/usr/bin/crontab',
    '/usr/bin/chfn',
    '/usr/bin/ssh-agent',
    '/usr/bin/gpasswd',
    '/usr/bin/chsh',
    '/usr/bin/chage',
    '/usr/bin/mount',
    '/usr/bin/su',
    '/usr/bin/umount',
    '/usr/sbin/service',
  ].map((path) => ({ id: `os.auditrule.priv-${path.slice(1).replaceAll('/', '-').replaceAll('_', '-')}`, path, key: 'privileged' })),
  { id: 'os.auditrule.ssh-keysign', path: '/usr/lib/openssh/ssh-keysign', key: 'privileged-ssh' },
  { id: 'os.auditrule.apparmor-parser', path: '/sbin/apparmor_parser', key: 'perm_chng' },
  { id: 'os.auditrule.usermod', path: '/usr/sbin/usermod', key: 'privileged-usermod' },
  { id: 'os.auditrule.chcon', path: '/usr/bin/chcon', key: 'perm_chng' },
  { id: 'os.auditrule.unix-update', path: '/sbin/unix_update', key: 'privileged-unix-update' },
];

/** Audit files the reference pins (STIG V-38663/4/5): path → mode, all root:root. */
const auditFiles: [string, number][] = [
  ['usr/share/lintian/overrides/auditd', 0o644],
  ['usr/bin/auvirt', 0o755],
  ['usr/bin/ausyscall', 0o755],
  ['usr/bin/aulastlog', 0o755],
  ['usr/bin/aulast', 0o755],
  ['var/log/audit', 0o750],
  ['sbin/aureport', 0o755],
  ['sbin/auditd', 0o755],
  ['sbin/autrace', 0o755],
  ['sbin/ausearch', 0o755],
  ['sbin/augenrules', 0o755],
  ['sbin/auditctl', 0o755],
  ['etc/audit/plugins.d', 0o750],
  ['etc/audit/plugins.d/af_unix.conf', 0o640],
  ['etc/audit/plugins.d/syslog.conf', 0o640],
  ['etc/init.d/auditd', 0o755],
  ['etc/audit', 0o750],
  ['etc/audit/rules.d', 0o750],
  ['etc/audit/rules.d/audit.rules', 0o640],
  ['etc/audit/audit.rules', 0o640],
  ['etc/audit/auditd.conf', 0o640],
  ['etc/default/auditd', 0o644],
  ['lib/systemd/system/auditd.service', 0o644],
];

/** The example id of an audit file row (the same naming as the list's). */
function auditFileId(path: string): string {
  return `os.auditperm.${path.replace(/[/._]/g, '-')}`;
}

/** Packages the reference forbids (no servers of clear-text or legacy protocols, no X). */
const forbiddenPackages: { ids: string[]; names: string[] }[] = [
  { ids: ['os.pkg.rpm-absent'], names: ['rpm'] },
  { ids: ['os.pkg.sendmail-absent'], names: ['sendmail', 'sendmail-bin'] },
  { ids: ['os.pkg.xinetd-absent'], names: ['xinetd'] },
  { ids: ['os.pkg.nis-absent-ypbind', 'os.pkg.nis-absent-ypserv'], names: ['nis', 'ypbind-mt', 'ypserv'] },
  { ids: ['os.pkg.snmp-absent'], names: ['snmp', 'snmpd'] },
  { ids: ['os.pkg.tftp-absent'], names: ['tftp', 'tftpd', 'tftp-server', 'atftp', 'atftpd', 'libnet-tftp-ruby', 'python-tftpy', 'tftp-hpa', 'tftpd-hpa'] },
  { ids: ['os.pkg.ftp-absent'], names: ['vsftpd', 'ftpd'] },
  { ids: ['os.pkg.telnetd-absent'], names: ['telnet-server', 'telnetd', 'telnetd-ssl', 'telnet-server-krb5', 'inetutils-telnetd', 'mactelnet-server'] },
  { ids: ['os.pkg.gconf2-absent'], names: ['gconf2'] },
  { ids: ['os.pkg.rsh-server-absent'], names: ['rsh-server', 'rsh-redone-server'] },
  { ids: ['os.pkg.xserver-absent'], names: ['xserver-xorg', 'xserver-xorg-core'] },
];

/** The unit of a service in the image, wherever the package put it (undefined when absent). */
function unitFile(img: ImageView, unit: string): string | undefined {
  return ['etc/systemd/system', 'usr/lib/systemd/system', 'lib/systemd/system'].map((d) => `${d}/${unit}`).find((p) => img.exists(p));
}

/** A unit is enabled: some target's .wants (or .requires) folder in /etc links it. */
function enabled(img: ImageView, unit: string): boolean {
  const dir = 'etc/systemd/system';
  return img.list(dir).some((d) => /\.(wants|requires)$/.test(d) && img.exists(`${dir}/${d}/${unit}`));
}

function assertOwnedByRoot(img: ImageView, path: string): void {
  const st = img.lstat(path);
  assert.ok(st, `/${path} is missing`);
  assert.equal(st.uid, 0, `/${path} owner`);
  assert.equal(st.gid, 0, `/${path} group`);
}

/** Files found by `find` inside the image (one per line). */
function find(img: ImageView, args: string[]): string[] {
  return img
    .runOk(['find', ...args])
    .split('\n')
    .filter((l) => l);
}

export const referenceChecks: Check[] = [
  {
    stages: ['bosh_sysctl'],
    title: 'kernel parameters of the reference (no forwarding, no IPv6, keepalive, key quotas) in effect after every sysctl.d file',
    covers: [...new Set(sysctlTable.flatMap((r) => (r.os ? [r.os] : [])))],
    run: (img) => assertSysctl(img, sysctlTable),
  },
  {
    stages: ['bosh_audit_debian', 'bosh_audit_ubuntu'],
    title: 'audit files root:root with the reference modes; the log folder closed to others; auditd.conf space thresholds; package files unmodified',
    covers: [
      ...auditFiles.map(([p]) => auditFileId(p)),
      'os.audit.log-dir-not-writable',
      'os.auditd.space-left-75',
      'os.auditd.admin-space-left-50',
      'os.audit.pkg-unmodified',
    ],
    run(img) {
      for (const [path, mode] of auditFiles) {
        assertOwnedByRoot(img, path);
        assert.equal(img.mode(path).toString(8), mode.toString(8), `/${path} mode`);
      }
      assert.ok(img.lstat('var/log/audit')?.isDirectory());
      assert.equal(img.mode('var/log/audit') & 0o022, 0, '/var/log/audit writable by group or others');
      const conf = new Map(img.activeLines('etc/audit/auditd.conf').map((l) => l.split(/\s*=\s*/) as [string, string]));
      assert.equal(conf.get('space_left'), '75');
      assert.equal(conf.get('admin_space_left'), '50');
      // dpkg -V: only the configuration files we set may differ from the package (code 2: a changed conffile)
      const verify = img.run(['dpkg', '-V', 'auditd']);
      const changed = verify.stdout.split('\n').filter((l) => l.trim());
      const allowed = [
        '/etc/audit/auditd.conf',
        '/etc/audit/plugins.d/syslog.conf',
        '/etc/default/auditd',
        '/etc/audit/audit.rules',
        '/etc/audit/rules.d/audit.rules',
      ];
      for (const line of changed) {
        const path = line.split(/\s+/).at(-1)!;
        assert.ok(allowed.includes(path) && / c /.test(` ${line.split(/\s+/)[1]} `), `dpkg -V auditd: ${line}`);
      }
    },
  },
  {
    stages: ['bosh_audit_debian', 'bosh_audit_ubuntu'],
    title: 'audit rules of the reference in the compiled rules: system calls per arch with the people filter, watches, and exec of named programs',
    covers: [...syscallRows.map((r) => r.id), ...watchRows.map((r) => r.id), ...execRows.map((r) => r.id)],
    run(img) {
      const rules = parseAuditRules(img);
      const people = [`auid>=${uidMin(img)}`, 'auid!=4294967295'];
      for (const row of syscallRows) {
        const fields = [...(row.fields ?? []), ...(row.users ? people : [])];
        const hit = rules.find(
          (r) =>
            r.list === 'always,exit' &&
            r.arch === row.arch &&
            r.key === row.key &&
            row.syscalls.every((s) => r.syscalls.has(s)) &&
            fields.every((f) => r.fields.has(f)),
        );
        assert.ok(hit, `${row.id}: an always,exit rule -F arch=${row.arch} on ${row.syscalls.join(',')} with ${fields.join(' ')} keyed ${row.key}`);
      }
      for (const row of watchRows) {
        // the stage watches the real file of an exec watch and the real folder of a name
        const path = row.perms === 'x' ? realPath(img, row.path) : `${realPath(img, row.path.replace(/\/[^/]+$/, '')) ?? ''}/${row.path.split('/').at(-1)}`;
        assert.ok(path, `${row.id}: ${row.path} is not in the image`);
        const hit = rules.find((r) => r.watch === path && r.perms === row.perms && r.key === row.key);
        assert.ok(hit, `${row.id}: -w ${path} -p ${row.perms} -k ${row.key}`);
      }
      for (const row of execRows) {
        const path = realPath(img, row.path);
        assert.ok(path, `${row.id}: ${row.path} is not in the image`);
        const hit = rules.find(
          (r) =>
            r.list === 'always,exit' && r.key === row.key && r.fields.has(`path=${path}`) && r.fields.has('perm=x') && people.every((f) => r.fields.has(f)),
        );
        assert.ok(hit, `${row.id}: an exec rule for ${path} keyed ${row.key}`);
      }
    },
  },
  {
    stages: ['base_debian_packages', 'base_ubuntu_packages'],
    title: 'none of the forbidden packages (rpm, sendmail, xinetd, NIS, SNMP, TFTP, FTP, telnet, rsh, GConf, X) or ZFS; no xinetd unit, no ypbind',
    covers: [
      ...forbiddenPackages.flatMap((p) => p.ids),
      'os.svc.xinetd-not-enabled',
      'os.nis.no-ypbind-pid',
      'os.zfs.no-kernel-module-dir',
      'os.zfs.no-header-dir',
    ],
    run(img) {
      const present = forbiddenPackages.flatMap((p) => p.names).filter((n) => img.packages().has(n));
      assert.deepEqual(present, [], 'forbidden packages in the dpkg database');
      assert.equal(unitFile(img, 'xinetd.service'), undefined, 'xinetd.service');
      assert.ok(!img.exists('var/run/ypbind.pid') && !img.exists('run/ypbind.pid'), 'ypbind.pid');
      const zfs = [...img.packages().keys()].filter((n) => /^(zfs|zfsutils|libzfs|zfs-dkms|spl-dkms)/.test(n));
      assert.deepEqual(zfs, [], 'ZFS packages');
      for (const base of ['lib/modules', 'usr/lib/modules', 'usr/src']) {
        if (!img.exists(base)) continue;
        const dirs = find(img, [`/${base}`, '-maxdepth', '4', '-type', 'd', '-name', 'zfs']);
        assert.deepEqual(dirs, [], `zfs folders under /${base}`);
      }
    },
  },
  {
    stages: ['base_debian_packages', 'base_ubuntu_packages'],
    title: 'the tools the agent and operators use: dig, crontab, rescan-scsi-bus; cron, chrony and rsyslog enabled; NX on (release newer than 11)',
    covers: [
      'os.base.dig',
      'os.base.crontab-cmd',
      'os.pkg.rescan-scsi-bus',
      'os.cron.pkg-installed',
      'os.cron.service-enabled',
      'os.systemd.chrony-enabled',
      'os.systemd.rsyslog-enabled',
      'os.nx.release-above-11',
    ],
    run(img) {
      img.runOk(['dig', '-v']);
      img.runOk(['sh', '-c', 'command -v crontab']);
      const rescan = ['sbin/rescan-scsi-bus', 'usr/sbin/rescan-scsi-bus', 'usr/bin/rescan-scsi-bus.sh', 'bin/rescan-scsi-bus.sh'].find((p) =>
        img.lstat(p)?.isFile(),
      );
      assert.ok(rescan && (img.mode(rescan) & 0o111) !== 0, 'an executable rescan-scsi-bus');
      assert.ok(img.installed('cron'), 'cron installed');
      for (const unit of ['cron.service', 'chrony.service', 'rsyslog.service']) assert.ok(enabled(img, unit), `${unit} enabled`);
      const version = img.read('etc/os-release').match(/^VERSION_ID="?(\d+)/m)?.[1];
      assert.ok(Number(version) > 11, `release ${version}: the no-execute protections need a release after 11`);
    },
  },
  {
    stages: ['base_debian_packages', 'base_ubuntu_packages'],
    title: 'runit lines: our runit.service restarts runsvdir always, kills only it, and is enabled; systemd lines have none',
    covers: ['os.runit.unit-file', 'os.systemd.runit-enabled'],
    run(img) {
      const unit = unitFile(img, 'runit.service');
      if (img.os.serviceManager !== 'runit') {
        assert.ok(!unit || !enabled(img, 'runit.service'), 'runit.service enabled on a systemd line');
        return;
      }
      assert.ok(unit, 'runit.service');
      const text = img.read(unit);
      assert.match(text, /^Restart=always$/m);
      assert.match(text, /^KillMode=process$/m);
      assert.ok(enabled(img, 'runit.service'), 'runit.service enabled');
    },
  },
  {
    stages: ['base_file_permission'],
    title: 'no world-writable regular file anywhere on the root file system',
    covers: ['os.fs.no-world-writable-files'],
    run(img) {
      assert.deepEqual(find(img, ['/', '-xdev', '-type', 'f', '-perm', '-002']), [], 'world-writable files');
    },
  },
  {
    stages: ['bosh_users'],
    title: 'accounts: passwd and group 0644 root:root, shadow hashes only, root alone with uid 0, system accounts without login or password, SHA512',
    covers: [
      'os.passwd.owner-root',
      'os.passwd.group-root',
      'os.passwd.mode-0644',
      'os.group.owner-root',
      'os.group.group-root',
      'os.group.mode-0644',
      'os.passwd.no-hashes',
      'os.passwd.only-root-uid0',
      'os.passwd.system-accounts-nologin',
      'os.shadow.no-system-passwords',
      'os.shadow.min-days-1',
      'os.login-defs.encrypt-sha512',
      'os.vcap.primary-group',
      'os.home.vcap-mode-700',
      'os.accounts.shadow-shape',
    ],
    run(img) {
      for (const f of ['etc/passwd', 'etc/group']) {
        assertOwnedByRoot(img, f);
        assert.equal(img.mode(f), 0o644, `/${f} mode`);
      }
      const passwd = img
        .read('etc/passwd')
        .split('\n')
        .filter((l) => l.includes(':'));
      assert.deepEqual(
        passwd.filter((l) => l.split(':')[1] !== 'x'),
        [],
        'passwd entries with a password field other than x',
      );
      assert.deepEqual(
        passwd.filter((l) => l.split(':')[2] === '0'),
        ['root:x:0:0:root:/root:/bin/bash'],
        'uid 0',
      );
      const loginShells = passwd.filter((l) => {
        const [name, , uid, , , , shell] = l.split(':');
        return (
          Number(uid) < 500 && !['root', 'sync', 'shutdown', 'halt'].includes(name!) && !['/usr/sbin/nologin', '/sbin/nologin', '/bin/false'].includes(shell!)
        );
      });
      assert.deepEqual(loginShells, [], 'system accounts with a login shell');
      const shadow = img
        .read('etc/shadow')
        .split('\n')
        .filter((l) => l.includes(':'))
        .map((l) => l.split(':'));
      assert.deepEqual(
        shadow.map((f) => f[0]),
        passwd.map((l) => l.split(':')[0]),
        'shadow has the accounts of passwd, in order',
      );
      const usable = shadow.filter((f) => !/^[!*]/.test(f[1]!));
      assert.deepEqual(usable.map((f) => f[0]).sort(), ['root', 'vcap'], 'accounts with a usable password');
      for (const f of usable) assert.match(f[1]!, /^\$6\$/, `${f[0]}: a sha512 crypt hash`);
      for (const f of usable.filter((x) => x[0] !== 'root')) assert.equal(f[3], '1', `${f[0]}: minimum password age`);
      for (const f of shadow.filter((x) => /^[!*]/.test(x[1]!))) assert.match(f[1]!, /^(\*|!\*?)$/, `${f[0]}: a locked password field`);
      assert.deepEqual(
        img.activeLines('etc/login.defs').filter((l) => /^ENCRYPT_METHOD\s/.test(l)),
        ['ENCRYPT_METHOD SHA512'],
      );
      assert.equal(img.runOk(['id', '-gn', 'vcap']).trim(), 'vcap');
      assert.equal(img.mode('home/vcap'), 0o700, '/home/vcap mode');
    },
  },
  {
    stages: ['bosh_users'],
    title: "root's and vcap's shells put the agent's tools on the PATH; root, vcap and new users (skel) read the BOSH prompt",
    covers: [
      'os.bashrc.root-path',
      'os.bashrc.vcap-path',
      'os.bashrc.root-ps1',
      'os.bashrc.vcap-ps1',
      'os.bashrc.skel-ps1',
      'os.profile.bosh-ps1-file',
      'os.profile.root-sources-bashrc',
    ],
    run(img) {
      assert.ok(img.lstat('etc/profile.d/00-bosh-ps1')?.isFile(), '/etc/profile.d/00-bosh-ps1');
      assert.match(img.read('etc/profile.d/00-bosh-ps1'), /^PS1=/m);
      assert.match(img.read('root/.profile'), /\.bashrc/);
      for (const [home, user] of [
        ['root', 'root'],
        ['home/vcap', 'vcap'],
        ['etc/skel', undefined],
      ] as const) {
        assert.match(img.read(`${home}/.bashrc`), /(^|[;\s])(\.|source) \/etc\/profile\.d\/00-bosh-ps1\b/m, `/${home}/.bashrc reads the prompt`);
        if (!user) continue;
        // what an interactive shell of the user really gets
        const shell = img.runOk(['su', '-s', '/bin/bash', user, '-c', 'bash -ic \'printf "%s\\n%s\\n" "$PATH" "$PS1"\' 2>/dev/null']).split('\n');
        assert.ok(shell[0]!.split(':').includes('/var/vcap/bosh/bin'), `${user}'s PATH: ${shell[0]}`);
        assert.equal(shell[1], '\\u@\\h:\\w\\$ ', `${user}'s prompt`);
      }
    },
  },
  {
    stages: ['bosh_sudoers'],
    title: 'sudo: %bosh_sudoers without a password and no other NOPASSWD or !authenticate anywhere in the policy',
    covers: ['os.sudoers.bosh-sudoers-rule', 'os.sudo.nopasswd-only-bosh-sudoers'],
    run(img) {
      const files = ['etc/sudoers', ...img.list('etc/sudoers.d').map((f) => `etc/sudoers.d/${f}`)];
      const lines = files.flatMap((f) => img.activeLines(f).map((l) => ({ f, l: l.replace(/\s+/g, ' ') })));
      assert.ok(
        lines.some(({ f, l }) => f === 'etc/sudoers' && l === '%bosh_sudoers ALL=(ALL) NOPASSWD: ALL'),
        '%bosh_sudoers ALL=(ALL) NOPASSWD: ALL',
      );
      const loose = lines.filter(({ l }) => /NOPASSWD|!authenticate/.test(l) && l !== '%bosh_sudoers ALL=(ALL) NOPASSWD: ALL');
      assert.deepEqual(loose, []);
    },
  },
  {
    stages: ['base_ssh'],
    title: 'sshd: configuration root-only, exact ciphers and MACs, host keys RSA/ECDSA/Ed25519 only, no X11, delayed compression; banners; empty motd',
    covers: [
      'os.ssh.config-mode-0600',
      'os.ssh.ciphers-exact',
      'os.ssh.macs-exact',
      'os.ssh.no-dsa-hostkey',
      'os.ssh.hostkeys-exact',
      'os.ssh.no-x11',
      'os.ssh.compression-delayed',
      'os.ssh.banner-issue-net',
      'os.banner.issue',
      'os.banner.motd-empty',
      'os.banner.motd-news-off',
    ],
    run(img) {
      const conf = 'etc/ssh/sshd_config';
      assertOwnedByRoot(img, conf);
      assert.equal(img.mode(conf), 0o600, 'sshd_config mode');
      const active = img.activeLines(conf);
      const value = (k: string): string[] =>
        active.filter((l) => l.split(/\s+/)[0]!.toLowerCase() === k.toLowerCase()).map((l) => l.split(/\s+/).slice(1).join(' '));
      assert.deepEqual(value('Ciphers'), ['aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr']);
      assert.deepEqual(value('MACs'), [
        'hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-512,hmac-sha2-256,umac-128@openssh.com',
      ]);
      assert.deepEqual(value('X11Forwarding'), ['no']);
      assert.deepEqual(value('X11DisplayOffset'), []);
      assert.deepEqual(value('Compression'), ['delayed']);
      assert.deepEqual(value('Banner'), ['/etc/issue.net']);
      assert.deepEqual(
        value('HostKey').filter((k) => k.includes('dsa_key') && !k.includes('ecdsa')),
        [],
      );
      // the host keys sshd really loads (its defaults when no HostKey line is active)
      const t = img.run([
        'sh',
        '-c',
        'mkdir -p /run/sshd && /usr/sbin/sshd -T -C user=vcap,host=localhost,addr=127.0.0.1; rc=$?; rmdir /run/sshd 2>/dev/null; exit $rc',
      ]);
      assert.equal(t.code, 0, t.stderr);
      const hostKeys = t.stdout
        .split('\n')
        .filter((l) => l.startsWith('hostkey '))
        .map((l) => l.slice(8))
        .sort();
      assert.deepEqual(hostKeys, ['/etc/ssh/ssh_host_ecdsa_key', '/etc/ssh/ssh_host_ed25519_key', '/etc/ssh/ssh_host_rsa_key']);
      const banner = img.read('etc/issue.net');
      assert.equal(img.read('etc/issue'), banner, '/etc/issue and /etc/issue.net say the same');
      assert.match(banner, /authorized use only/i);
      assert.match(banner, /monitored and recorded/i);
      for (const f of ['etc/issue', 'etc/issue.net', 'etc/motd']) {
        assertOwnedByRoot(img, f);
        assert.equal(img.mode(f), 0o644, `/${f} mode`);
      }
      assert.equal(img.read('etc/motd'), '', '/etc/motd is empty');
      if (img.exists('etc/default/motd-news'))
        assert.deepEqual(
          img.activeLines('etc/default/motd-news').filter((l) => l.startsWith('ENABLED=')),
          ['ENABLED=0'],
        );
      else assert.ok(!img.exists('etc/update-motd.d/50-motd-news'), 'no news fetched at login');
    },
  },
  {
    stages: ['password_policies'],
    title: "pam_unix hashes with sha512 in every stack and asks for 14 characters; the line's quality module is in the image",
    covers: ['os.pam.sha512-everywhere', 'os.pam.unix-minlen-14', 'os.pam.cracklib-module'],
    run(img) {
      const dir = pamModuleDir(img);
      const quality = img.os.packages.includes('libpam-cracklib') ? 'pam_cracklib.so' : 'pam_pwquality.so';
      assert.ok(img.lstat(`${dir}/${quality}`)?.isFile(), `${quality} in /${dir}`);
      let seen = 0;
      for (const service of img.list('etc/pam.d')) {
        for (const line of img.activeLines(`etc/pam.d/${service}`)) {
          if (!/^-?password\s/.test(line) || !/\bpam_unix\.so\b/.test(line)) continue;
          seen++;
          assert.match(line, /\ssha512(\s|$)/, `/etc/pam.d/${service}: ${line}`);
          if (service === 'common-password') assert.match(line, /\sminlen=14(\s|$)/, line);
        }
      }
      assert.ok(seen > 0, 'a password rule with pam_unix');
    },
  },
  {
    stages: ['rsyslog_config'],
    title: 'rsyslog 8 with kernel log, RELP over OpenSSL, cron log, files syslog:syslog 0600 closed to vcap; rotation reopens with HUP, never a restart',
    covers: [
      'os.rsyslog.logfiles-owner-mode',
      'os.rsyslog.file-group',
      'os.rsyslog.omrelp-openssl',
      'os.rsyslog.version-8',
      'os.rsyslog.imklog',
      'os.rsyslog.cron-log',
      'os.logrotate.rsyslog-sighup',
      'os.logrotate.rsyslog-no-restart',
    ],
    run(img) {
      const conf = img.activeLines('etc/rsyslog.conf');
      assert.ok(conf.includes('$FileGroup syslog'), '$FileGroup syslog');
      assert.ok(
        conf.some((l) => /^module\(load="imklog"/.test(l) || l === '$ModLoad imklog'),
        'imklog loaded',
      );
      assert.ok(
        conf.some((l) => /^module\(load="omrelp".*tls\.tlslib="openssl"/.test(l)),
        'omrelp with OpenSSL',
      );
      assert.match(img.runOk(['rsyslogd', '-v']), /^rsyslogd\s+8\./);
      const rules = img.activeLines('etc/rsyslog.d/50-default.conf').map((l) => l.split(/\s+/));
      assert.ok(
        rules.some((r) => r[0] === 'cron.*' && r[1]!.replace(/^-/, '') === '/var/log/cron.log'),
        'cron.* to /var/log/cron.log',
      );
      const syslog = img.accounts().find((a) => a.name === 'syslog')!;
      const vcap = img.accounts().find((a) => a.name === 'vcap')!;
      const files = new Set(
        [...img.activeLines('etc/rsyslog.conf'), ...img.list('etc/rsyslog.d').flatMap((f) => img.activeLines(`etc/rsyslog.d/${f}`))].flatMap((l) =>
          [...l.matchAll(/-?(\/var\/log\/[\w./-]+)/g)].map((m) => m[1]!),
        ),
      );
      assert.ok(files.size >= 4, 'log files named by rsyslog');
      for (const f of files) {
        const st = img.lstat(f.slice(1));
        if (!st) continue; // made at first write, with $FileOwner/$FileGroup/$FileCreateMode
        assert.equal(st.uid, syslog.uid, `${f} owner`);
        assert.equal(st.gid, img.groups().get('syslog')?.gid, `${f} group`);
        assert.equal(img.mode(f.slice(1)), 0o600, `${f} mode`);
        assert.notEqual(st.uid, vcap.uid);
      }
      const rotate = img.read('etc/logrotate.d/rsyslog');
      assert.doesNotMatch(rotate, /restart/, 'logrotate restarts rsyslog');
      const post = [...rotate.matchAll(/postrotate\n([\s\S]*?)endscript/g)].map((m) => m[1]!.trim());
      assert.ok(post.length > 0);
      for (const cmd of post) {
        // the command itself, or the script it runs, sends HUP (rsyslog reopens its files)
        const script = cmd.startsWith('/') && img.exists(cmd.slice(1)) ? img.read(cmd.slice(1)) : cmd;
        assert.match(script, /HUP/, `postrotate: ${cmd}`);
        assert.doesNotMatch(script, /\brestart\b/, `postrotate: ${cmd}`);
      }
    },
  },
  {
    stages: ['bosh_ntp'],
    title: 'chrony steps the clock at start (makestep 1 3)',
    covers: ['os.chrony.makestep'],
    run(img) {
      assert.ok(img.activeLines('etc/chrony/chrony.conf').includes('makestep 1 3'));
    },
  },
  {
    stages: ['base_apt'],
    title: "apt: no unauthenticated installs allowed; the archive is signed by the release's keyring",
    covers: ['os.apt.no-allow-unauthenticated', 'os.apt.ubuntu-signing-key'],
    run(img) {
      const dir = 'etc/apt/apt.conf.d';
      for (const f of img.list(dir)) assert.doesNotMatch(img.read(`${dir}/${f}`), /AllowUnauthenticated/i, `/${dir}/${f}`);
      const dump = img.runOk(['apt-config', 'dump']);
      assert.doesNotMatch(dump, /AllowUnauthenticated "(1|true|yes)"/i);
      const keyring = img.os.distro === 'ubuntu' ? 'ubuntu-keyring' : 'debian-archive-keyring';
      assert.ok(img.installed(keyring), keyring);
      const sources = img.list('etc/apt/sources.list.d').filter((f) => f.endsWith('.sources'));
      assert.ok(sources.length > 0, 'deb822 sources');
      for (const f of sources) {
        for (const m of img.read(`etc/apt/sources.list.d/${f}`).matchAll(/^Signed-By:\s*(\S+)$/gm)) {
          assert.ok(img.lstat(m[1]!.slice(1))?.isFile(), `${f}: ${m[1]} is in the image`);
        }
        assert.match(img.read(`etc/apt/sources.list.d/${f}`), /^Signed-By:/m, `${f} names its keyring`);
      }
    },
  },
];
