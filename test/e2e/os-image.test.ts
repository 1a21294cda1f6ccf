// End to end, as root: the real CLI builds a debian-bookworm OS image through the ssh
// machine (a real sshd on loopback), and the tarball is checked for what the stages promise.
// Downloads are kept in the build machine's package cache, so a repeat run is faster.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { packageRoot } from '../../src/util/paths.js';
import { startSshd, sshdUnavailable, type TestSshd } from '../helpers/sshd.js';

function unavailable(): string | undefined {
  const sshd = sshdUnavailable();
  if (sshd) return sshd;
  if (!existsSync('/usr/sbin/debootstrap')) return 'debootstrap is not installed';
  return undefined;
}
const skip = unavailable();
const cli = join(packageRoot, 'bin', 'stemforge.js');

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], options: { interruptWhen?: RegExp } = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], {
      env: { ...process.env, CI: 'true', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (options.interruptWhen && !interrupted && options.interruptWhen.test(stderr)) {
        interrupted = true;
        setTimeout(() => child.kill('SIGINT'), 3000);
      }
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function mountsBelow(dir: string): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
}

function processesRootedBelow(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes(dir) || execFileSync('readlink', [`/proc/${pid}/root`]).toString().trim().startsWith(dir)) found.push(`${pid} ${cmd}`);
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

describe('stemforge os-image (debian-bookworm over ssh)', { skip, timeout: 30 * 60_000 }, () => {
  let sshd: TestSshd;
  let scratch: string;
  let buildRoot: string;
  let image: string;
  let root: string;
  let sshArgs: string[];

  before(async () => {
    sshd = await startSshd();
    scratch = mkdtempSync('/var/tmp/stemforge-e2e-');
    buildRoot = join(scratch, 'build-root');
    image = join(scratch, 'out', 'debian-bookworm.tgz');
    root = join(scratch, 'rootfs');
    sshArgs = ['--machine', sshd.machineUrl, '--identity', sshd.clientKey, '--known-hosts', sshd.knownHosts, '--build-root', buildRoot];
  });

  after(async () => {
    await sshd?.stop();
    if (scratch) execFileSync('rm', ['-rf', '--one-file-system', scratch]);
  });

  it('builds the OS image and fetches it with its sha256', async () => {
    const run = await runCli(['os-image', '--os', 'debian-bookworm', ...sshArgs, '--out', image, '--allow-unwritten', '--json']);
    assert.equal(run.code, 0, run.stderr.slice(-4000));
    const result = JSON.parse(run.stdout) as { ok: boolean; out: string; sha256: string; bytes: number; skipped: string[]; stages: { stage: string }[] };
    assert.equal(result.ok, true);
    assert.equal(result.out, image);
    assert.equal(statSync(image).size, result.bytes);
    assert.equal(execFileSync('sha256sum', [image]).toString().split(' ')[0], result.sha256);
    assert.equal(readFileSync(`${image}.sha256`, 'utf8'), `${result.sha256}  debian-bookworm.tgz\n`);
    assert.ok(result.skipped.includes('bosh_monit'), 'unwritten stages are listed as skipped');
    assert.match(run.stderr, /Stage duration report/);
    assert.deepEqual(mountsBelow(buildRoot), []);
    execFileSync('mkdir', ['-p', root]);
    execFileSync('tar', ['-xzf', image, '-C', root, '--numeric-owner']);
  });

  it('archives with ./ entries and numeric root ownership', { skip }, () => {
    const listing = execFileSync('tar', ['-tvzf', image, '--numeric-owner'], { maxBuffer: 256 * 1024 * 1024 }).toString().split('\n').filter((l) => l);
    assert.ok(listing.length > 5000, `${listing.length} entries`);
    assert.ok(listing.every((l) => / \.\//.test(l)));
    assert.match(listing.find((l) => l.endsWith(' ./etc/shadow'))!, /^---------- 0\/0 /);
  });

  it('base_debootstrap: a bookworm system with UTC, en_US.UTF-8 and no build-host name', () => {
    assert.match(readFileSync(join(root, 'etc/os-release'), 'utf8'), /VERSION_CODENAME=bookworm/);
    assert.equal(readFileSync(join(root, 'etc/timezone'), 'utf8'), 'Etc/UTC\n');
    assert.match(readFileSync(join(root, 'etc/default/locale'), 'utf8'), /LANG=en_US\.UTF-8/);
    assert.equal(readFileSync(join(root, 'etc/hostname'), 'utf8'), 'localhost\n');
    assert.ok(readdirSync(join(root, 'usr/lib/locale')).length > 0);
  });

  it('base_apt: sources from the build machine\'s mirror, no lists left, no recommends', () => {
    const sources = readdirSync(join(root, 'etc/apt/sources.list.d'));
    const all = sources.map((f) => readFileSync(join(root, 'etc/apt/sources.list.d', f), 'utf8')).join('\n');
    assert.match(all, /bookworm-updates/);
    assert.match(all, /bookworm-security/);
    assert.deepEqual(readdirSync(join(root, 'var/lib/apt/lists')).filter((f) => f !== 'partial' && f !== 'lock'), []);
    assert.equal(readdirSync(join(root, 'var/cache/apt/archives')).filter((f) => f.endsWith('.deb')).length, 0);
  });

  it('base_debian_packages: the package set is installed', () => {
    const status = readFileSync(join(root, 'var/lib/dpkg/status'), 'utf8');
    for (const pkg of ['openssh-server', 'sudo', 'curl', 'rsync', 'libpam-pwquality']) {
      assert.match(status, new RegExp(`Package: ${pkg}\\nStatus: install ok installed`), pkg);
    }
  });

  it('base_file_permission: shadow files mode 0000 and setuid only on sudo and su', () => {
    for (const f of ['etc/shadow', 'etc/gshadow']) assert.equal(statSync(join(root, f)).mode & 0o7777, 0, f);
    const setuid = execFileSync('find', [root, '-xdev', '-type', 'f', '(', '-perm', '-4000', '-o', '-perm', '-2000', ')'])
      .toString().split('\n').filter((l) => l).map((p) => p.slice(root.length)).sort();
    assert.ok(setuid.every((p) => ['/usr/bin/sudo', '/usr/bin/su', '/usr/bin/sudoedit'].includes(p)), setuid.join(' '));
  });

  it('base_ssh: every hardening line of sshd_config', () => {
    const config = readFileSync(join(root, 'etc/ssh/sshd_config'), 'utf8');
    const expected = [
      'UseDNS no', 'PermitRootLogin no', 'X11Forwarding no', 'MaxAuthTries 3', 'PermitEmptyPasswords no',
      'HostbasedAuthentication no', 'Banner /etc/issue.net', 'IgnoreRhosts yes', 'ClientAliveInterval 180',
      'ClientAliveCountMax 1', 'LoginGraceTime 60', 'PermitUserEnvironment no', 'PasswordAuthentication no',
      'PrintLastLog yes', 'AllowGroups bosh_sshers', 'DenyUsers root',
    ];
    for (const line of expected) assert.match(config, new RegExp(`^${line}$`, 'm'), line);
    assert.match(config, /^Ciphers .*aes256-gcm@openssh\.com/m);
    assert.doesNotMatch(config.match(/^Ciphers (.*)$/m)![1]!, /chacha|cbc/);
    assert.doesNotMatch(config.match(/^MACs (.*)$/m)![1]!, /sha1|md5/);
    assert.ok(!existsSync(join(root, 'etc/ssh/ssh_host_dsa_key')));
    assert.ok(readFileSync(join(root, 'etc/issue.net'), 'utf8').length > 20);
  });

  it('bosh_users: groups, vcap uid 1000, sha512 passwords, locked group passwords', () => {
    const passwd = readFileSync(join(root, 'etc/passwd'), 'utf8');
    assert.match(passwd, /^vcap:x:1000:1000:[^:]*:\/home\/vcap:\/bin\/bash$/m);
    const group = readFileSync(join(root, 'etc/group'), 'utf8');
    for (const g of ['admin', 'vcap', 'bosh_sshers', 'bosh_sudoers']) assert.match(group, new RegExp(`^${g}:x:\\d+:`, 'm'), g);
    for (const g of ['admin', 'adm', 'audio', 'cdrom', 'dialout', 'floppy', 'video', 'bosh_sshers', 'dip', 'plugdev']) {
      assert.match(group, new RegExp(`^${g}:x:\\d+:(.*,)?vcap(,.*)?$`, 'm'), `vcap in ${g}`);
    }
    const shadow = readFileSync(join(root, 'etc/shadow'), 'utf8');
    assert.match(shadow, /^root:\$6\$/m);
    assert.match(shadow, /^vcap:\$6\$/m);
    const gshadow = readFileSync(join(root, 'etc/gshadow'), 'utf8').split('\n').filter((l) => l);
    assert.ok(gshadow.every((l) => ['!', '*'].includes(l.split(':')[1]!) || l.split(':')[1]!.startsWith('!')), 'group passwords locked');
    const sudoers = join(root, 'etc/sudoers');
    assert.equal(statSync(sudoers).mode & 0o777, 0o440);
    // the image's own visudo judges the file
    execFileSync('chroot', [root, 'visudo', '-c', '-f', '/etc/sudoers']);
  });

  it('bosh_sysctl and bosh_limits: kernel settings and no core dumps', () => {
    const sysctl = readFileSync(join(root, 'etc/sysctl.d/60-bosh-sysctl.conf'), 'utf8');
    for (const line of ['net.ipv4.conf.all.accept_redirects = 0', 'net.ipv4.tcp_syncookies = 1', 'kernel.randomize_va_space = 2',
      'fs.suid_dumpable = 0', 'net.ipv6.conf.all.disable_ipv6 = 1', 'kernel.dmesg_restrict = 1']) {
      assert.match(sysctl.replace(/[ \t]*=[ \t]*/g, ' = '), new RegExp(`^${line.replace(/\./g, '\\.')}$`, 'm'), line);
    }
    assert.ok(existsSync(join(root, 'etc/sysctl.d/60-bosh-sysctl-neigh-fix.conf')));
    assert.match(readFileSync(join(root, 'etc/security/limits.conf'), 'utf8'), /^\*\s+hard\s+core\s+0$/m);
  });

  it('clean_machine_id: machine-id exists and is empty', () => {
    assert.equal(statSync(join(root, 'etc/machine-id')).size, 0);
    assert.ok(!existsSync(join(root, 'var/lib/dbus/machine-id')));
  });

  it('resumes from a late stage on the existing chroot', async () => {
    const run = await runCli(['os-image', '--os', 'debian-bookworm', ...sshArgs, '--out', image, '--allow-unwritten',
      '--resume-from', 'bosh_sysctl', '--json']);
    assert.equal(run.code, 0, run.stderr.slice(-4000));
    const stages = new Set((JSON.parse(run.stdout) as { stages: { stage: string }[] }).stages.map((s) => s.stage));
    assert.ok(stages.has('bosh_sysctl') && stages.has('clean_machine_id'));
    assert.ok(!stages.has('base_debootstrap') && !stages.has('base_ssh'), [...stages].join(' '));
  });

  it('a failing stage prints its log tail, the log path and the resume command, and leaves no mount', async () => {
    const run = await runCli(['os-image', '--os', 'debian-bookworm', ...sshArgs, '--out', image, '--allow-unwritten',
      '--mirror', 'http://127.0.0.1:9/debian']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /stage base_debootstrap failed in apply\.sh with exit code 1/);
    assert.match(run.stderr, /--- last \d+ lines of .*base_debootstrap\.apply\.log ---/);
    assert.match(run.stderr, /^log: {4}\/.*base_debootstrap\.apply\.log$/m);
    const resume = run.stderr.match(/^resume: (.*)$/m)?.[1];
    assert.ok(resume?.startsWith('stemforge os-image --os debian-bookworm --machine ssh://'), resume);
    assert.ok(resume!.endsWith('--resume-from base_debootstrap'));
    assert.deepEqual(mountsBelow(buildRoot), []);
  });

  it('Ctrl-C during debootstrap stops it, releases mounts and exits 130', async () => {
    const run = await runCli(['os-image', '--os', 'debian-bookworm', ...sshArgs, '--out', image, '--allow-unwritten'],
      { interruptWhen: /base_debootstrap: debootstrap / });
    assert.equal(run.code, 130, run.stderr.slice(-3000));
    assert.match(run.stderr, /interrupted/);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(mountsBelow(buildRoot), []);
    assert.deepEqual(processesRootedBelow(join(buildRoot, 'builds')), []);
  });
});
