// The builder VM for real: Vagrant with the libvirt provider (qemu, software emulation),
// libvirtd in a network namespace made by the harness, a small box built from Debian
// packages, the Debian mirror reached through a proxy the harness runs. Every stemforge
// process that talks to the VM runs inside that namespace. Enabled with STEMFORGE_VM_TESTS=1.
// A stage in the VM is followed across a killed SSH connection and stopped with Ctrl-C;
// running base_debootstrap to the end in the VM costs about 18 minutes of emulated CPU, so
// that case runs only with STEMFORGE_VM_FULL=1 (outside CI).
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { packageRoot } from '../../src/util/paths.js';
import { setUpVmHost, vmHostUnavailable, type VmHost } from '../helpers/vm-host.js';

const skip = vmHostUnavailable();
const fullRunSkip = process.env.STEMFORGE_VM_FULL === '1' ? false : 'STEMFORGE_VM_FULL=1 runs it: about 18 minutes of debootstrap under software emulation';
const cli = join(packageRoot, 'bin', 'stemforge.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

describe('builder VM through vagrant:libvirt (real VM)', { skip, timeout: 40 * 60_000 }, () => {
  let host: VmHost;
  let scratch: string;
  let env: NodeJS.ProcessEnv;
  let vmFlags: string[];
  const timings: Record<string, number> = {};

  function stemforge(args: string[], options: { onStderr?: (text: string, child: ChildProcess) => void } = {}): Promise<Run> {
    const started = Date.now();
    return new Promise((resolve) => {
      // `ip netns exec` execs the command: signals sent to the child reach stemforge itself
      const [file, ...rest] = host.inNetns([process.execPath, cli, ...args]);
      const child = spawn(file!, rest, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        options.onStderr?.(stderr, child);
      });
      child.on('close', (code) => resolve({ code, stdout, stderr, seconds: (Date.now() - started) / 1000 }));
    });
  }

  async function vm(command: string, extra: string[] = []): Promise<Run> {
    const run = await stemforge(['vm', command, '--provider', 'libvirt', ...extra]);
    timings[`vm ${command}`] = run.seconds;
    return run;
  }

  before(async () => {
    const started = Date.now();
    host = await setUpVmHost();
    timings['host set-up (netns, libvirtd, proxy, box)'] = (Date.now() - started) / 1000;
    scratch = mkdtempSync('/var/tmp/stemforge-vm-e2e-');
    env = {
      ...process.env,
      CI: 'true',
      NO_COLOR: '1',
      // the builder's state, logs and Vagrant's boxes stay in this run's folders
      XDG_DATA_HOME: join(scratch, 'data'),
      XDG_STATE_HOME: join(scratch, 'state'),
      VAGRANT_HOME: host.vagrantHome,
      // the VM has no uplink: the Debian mirror is reached through the harness's proxy,
      // the path a user behind a proxy takes
      http_proxy: host.proxyUrlForVm,
    };
    vmFlags = ['--box', host.boxName, '--libvirt-driver', 'qemu', '--cpus', '2', '--memory', '2048', '--vm-timeout', '20'];
  });

  after(async () => {
    if (host) {
      await vm('destroy').catch(() => undefined);
      await host.tearDown();
    }
    if (scratch) execFileSync('rm', ['-rf', '--one-file-system', scratch]);
    process.stderr.write(`vagrant e2e timings (s): ${JSON.stringify(timings)}\n`);
  });

  it('vm up names a missing box and leaves nothing behind', async () => {
    // the namespace has no uplink: Vagrant's look-up of the box fails inside it
    const run = await vm('up', [...vmFlags, '--box', 'stemforge-test/no-such-box']);
    assert.equal(run.code, 1, run.stderr.slice(-3000));
    assert.match(run.stderr, /the box 'stemforge-test\/no-such-box' is not available/);
    assert.match(run.stderr, /what to do: add it first \(vagrant box add NAME --provider PROVIDER\) or name another with --box NAME/);
    assert.equal((JSON.parse((await vm('status', ['--json'])).stdout) as { state: string }).state, 'not_created');
  });

  it('vm up creates, boots and provisions the builder VM', async () => {
    const run = await vm('up', [...vmFlags, '--json']);
    assert.equal(run.code, 0, run.stderr.slice(-4000));
    const result = JSON.parse(run.stdout) as { ok: boolean; state: string; ssh: string };
    assert.equal(result.state, 'running');
    assert.match(result.ssh, /^ssh:\/\/vagrant@192\.168\.121\.\d+:22$/);
    const wanted = createHash('sha256')
      .update(readFileSync(join(packageRoot, 'templates', 'provision.sh')))
      .digest('hex');
    const marker = await vm('ssh', ['--', 'cat', '/var/lib/stemforge/provisioned']);
    assert.equal(marker.code, 0, marker.stderr);
    assert.equal(marker.stdout.trim(), wanted);
    const tools = await vm('ssh', ['--', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin; command -v debootstrap mkfs.vfat mcopy qemu-img sfdisk']);
    assert.equal(tools.stdout.trim().split('\n').length, 5, tools.stdout + tools.stderr);
    assert.ok(existsSync(join(scratch, 'data', 'stemforge', 'builders', 'vagrant-libvirt', 'known_hosts')), 'host key recorded');
  });

  it('vm status reports it running', async () => {
    const run = await vm('status', ['--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { state: string }).state, 'running');
  });

  it('follows base_debootstrap in the VM across a killed SSH connection, and Ctrl-C stops it there', async () => {
    let killed = false;
    let interrupted = false;
    let killing: Promise<Run> | undefined;
    const run = await stemforge(
      [
        'os-image',
        '--os',
        'debian-bookworm',
        '--machine',
        'vagrant:libvirt',
        ...vmFlags,
        '--until',
        'base_debootstrap',
        '--out',
        join(scratch, 'out', 'interrupted.tgz'),
        '--no-cache',
      ],
      {
        onStderr: (text, child) => {
          if (!killed && /base_debootstrap: debootstrap /.test(text)) {
            killed = true;
            // every SSH session of the vagrant user in the VM dies, stemforge's included
            killing = new Promise((r) => setTimeout(r, 8000)).then(() => vm('ssh', ['--', "sudo pkill -KILL -f 'sshd: vagrant'"]));
          }
          if (!interrupted && /reconnected; following base_debootstrap where it was/.test(text)) {
            interrupted = true;
            setTimeout(() => child.kill('SIGINT'), 5000);
          }
        },
      },
    );
    timings['os-image interrupted in the VM'] = run.seconds;
    await killing;
    assert.ok(killed, `the connection was killed during the stage:\n${run.stderr.slice(-3000)}`);
    assert.match(run.stderr, /connection to ssh:\/\/vagrant@192\.168\.121\.\d+:22 lost; reconnecting/);
    assert.ok(interrupted, `stemforge reconnected and followed the stage:\n${run.stderr.slice(-3000)}`);
    assert.equal(run.code, 130, run.stderr.slice(-3000));
    // the job stopped in the VM and left no mount behind; no artifact was written here
    const left = await vm('ssh', ['--', 'pgrep -a debootstrap; grep -c " /var/lib/stemforge/" /proc/mounts']);
    assert.equal(left.stdout.trim(), '0', `no debootstrap process and no mount under the build root in the VM:\n${left.stdout}${left.stderr}`);
    assert.ok(!existsSync(join(scratch, 'out', 'interrupted.tgz')));
  });

  it('runs base_debootstrap inside the VM, survives a killed SSH connection, and fetches the chroot back', { skip: fullRunSkip }, async () => {
    const out = join(scratch, 'out', 'bookworm-debootstrap.tgz');
    let killed = false;
    let killing: Promise<Run> | undefined;
    const run = await stemforge(
      ['os-image', '--os', 'debian-bookworm', '--machine', 'vagrant:libvirt', ...vmFlags, '--until', 'base_debootstrap', '--out', out, '--json'],
      {
        onStderr: (text) => {
          if (!killed && /base_debootstrap: debootstrap /.test(text)) {
            killed = true;
            // every SSH session of the vagrant user in the VM dies, stemforge's included
            killing = new Promise((r) => setTimeout(r, 8000)).then(() =>
              // one string: ssh joins its arguments with spaces for the remote shell
              vm('ssh', ['--', "sudo pkill -KILL -f 'sshd: vagrant'"]),
            );
          }
        },
      },
    );
    timings['os-image --until base_debootstrap (in the VM)'] = run.seconds;
    await killing;
    assert.equal(run.code, 0, run.stderr.slice(-4000));
    assert.ok(killed, 'the connection was killed during the stage');
    assert.match(run.stderr, /connection to ssh:\/\/vagrant@192\.168\.121\.\d+:22 lost; reconnecting/);
    assert.match(run.stderr, /reconnected; following base_debootstrap where it was/);
    const result = JSON.parse(run.stdout) as { partial: boolean; sha256: string; bytes: number; stages: { stage: string; seconds: number }[] };
    const sync = /Sync builder to .*\[([\d.]+)s\]/.exec(run.stderr)?.[1];
    if (sync) timings['builder sync into the VM'] = Number(sync);
    timings['base_debootstrap stage in the VM'] = result.stages.reduce((sum, s) => sum + s.seconds, 0);
    assert.equal(result.partial, true);
    assert.equal(execFileSync('sha256sum', [out]).toString().split(' ')[0], result.sha256);
    // /etc/os-release is a symlink to ../usr/lib/os-release
    const osRelease = execFileSync('tar', ['-xzOf', out, './usr/lib/os-release']).toString();
    assert.match(osRelease, /VERSION_CODENAME=bookworm/);
    const listing = execFileSync('tar', ['-tzf', out], { maxBuffer: 128 * 1024 * 1024 }).toString();
    assert.ok(listing.includes('./usr/bin/dpkg\n'));
  });

  it('halts, comes back up with the same host key, and is destroyed', async () => {
    const halt = await vm('halt');
    assert.equal(halt.code, 0, halt.stderr.slice(-3000));
    assert.equal((JSON.parse((await vm('status', ['--json'])).stdout) as { state: string }).state, 'shutoff');

    const up = await vm('up', [...vmFlags, '--json']);
    assert.equal(up.code, 0, up.stderr.slice(-3000));
    timings['vm up (restart)'] = up.seconds;

    const destroy = await vm('destroy');
    assert.equal(destroy.code, 0, destroy.stderr.slice(-3000));
    assert.equal((JSON.parse((await vm('status', ['--json'])).stdout) as { state: string }).state, 'not_created');
    assert.ok(!existsSync(join(scratch, 'data', 'stemforge', 'builders', 'vagrant-libvirt', 'known_hosts')), 'host key forgotten with the VM');
  });
});
