// `stemforge doctor` against this host's real tools and a real sshd on 127.0.0.1: the
// local machine as root, ssh with the right and a wrong host key, and a stopped sshd.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { runDoctor, type DoctorReport, type DoctorRequest } from '../../src/doctor/doctor.js';
import { realProbe } from '../../src/doctor/probe.js';
import { defaultPath } from '../../src/machine/machine.js';
import type { MachineSpec } from '../../src/machine/spec.js';
import { packageRoot } from '../../src/util/paths.js';
import { startSshd, sshdUnavailable, type TestSshd } from '../helpers/sshd.js';

const scratch = mkdtempSync(join(tmpdir(), 'sf-doctor-'));
const dirs = { cacheDir: join(scratch, 'cache'), outputDir: join(scratch, 'out') };
after(() => rmSync(scratch, { recursive: true, force: true }));

function request(machine: MachineSpec, ssh: DoctorRequest['ssh'] = {}): DoctorRequest {
  return { machine, ssh, vm: { cpus: 1, memoryMiB: 512 }, ...dirs };
}

const byId = (report: DoctorReport, id: string) => {
  const check = report.checks.find((c) => c.id === id);
  assert.ok(check, `no ${id} check in ${JSON.stringify(report.checks)}`);
  return check;
};

/**
 * The command as main.ts will register it: a Command with addDoctorCommand, run in a fresh
 * node process like bin/stemforge.js (exit code from onExit).
 */
function doctorCli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const module = pathToFileURL(join(packageRoot, 'dist', 'src', 'cli', 'doctor-command.js')).href;
  const script = `
    import { Command } from 'commander';
    import { addDoctorCommand } from ${JSON.stringify(module)};
    let code = 0;
    const program = new Command('stemforge').exitOverride();
    addDoctorCommand(program, (c) => (code = c), () => (${JSON.stringify(dirs)}));
    await program.parseAsync(process.argv.slice(1), { from: 'user' });
    process.exitCode = code;
  `;
  // run from the package so 'commander' resolves from its node_modules
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, 'doctor', ...args], {
    cwd: packageRoot,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const localSkip =
  process.platform !== 'linux' || process.getuid?.() !== 0
    ? 'needs root on Linux'
    : defaultPath.split(':').some((d) => existsSync(join(d, 'debootstrap')))
      ? undefined
      : 'debootstrap is not installed';

describe('doctor on this host: --machine local', { skip: localSkip }, () => {
  it('passes the local checks as root', async () => {
    const report = await runDoctor(request({ kind: 'local' }), realProbe);
    for (const id of ['node', 'arch', 'local-host', 'debootstrap', 'disk-cache', 'disk-output']) {
      assert.equal(byId(report, id).status, 'ok', JSON.stringify(byId(report, id)));
    }
    assert.match(byId(report, 'debootstrap').detail, /^\d[^ ]* \(.*\/debootstrap\)$/);
    // the cache folder is not made yet: measured at the scratch folder it will be made in
    assert.match(byId(report, 'disk-cache').detail, /GiB free at .*sf-doctor-.*, where .*cache will be made/);
    assert.equal(report.ok, true, JSON.stringify(report.checks));
  });

  it('the command prints the report and exits 0 (human text and --json)', () => {
    const human = doctorCli(['--machine', 'local']);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^\[ok\] Local machine: Linux, running as root$/m); // piped: ASCII marks
    assert.match(human.stdout, /\n(No issues found\.|No blocking issues found; \d+ warning\(s\)\.)\n$/);
    const json = doctorCli(['--machine', 'local', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout) as DoctorReport;
    assert.equal(report.ok, true);
    assert.equal(byId(report, 'local-host').status, 'ok');
  });
});

// Once main.ts registers the command, the real launcher is checked too.
const cli = join(packageRoot, 'bin', 'stemforge.js');
const registered = (): string | undefined =>
  /^\s+doctor\b/m.test(spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8' }).stdout) ? undefined : 'doctor is not registered in main.ts yet';

describe('doctor through bin/stemforge.js', { skip: localSkip ?? registered() }, () => {
  it('--machine local --json exits 0 as root', () => {
    const r = spawnSync(process.execPath, [cli, 'doctor', '--machine', 'local', '--cache-dir', dirs.cacheDir, '--out', dirs.outputDir, '--json'], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as DoctorReport).ok, true);
  });
});

/**
 * The libvirt provider's pieces as the test finds them, without the doctor's code: the
 * vagrant-libvirt plugin's version from the human `vagrant plugin list` ("vagrant-libvirt
 * (0.11.2, system)"), and virsh (undefined when not on PATH) with the version it prints alone.
 */
function libvirtFacts(): { plugin?: string; virsh?: { version?: string } } {
  const env = { ...process.env, VAGRANT_CHECKPOINT_DISABLE: '1', VAGRANT_NO_COLOR: '1' };
  const plugins = spawnSync('vagrant', ['plugin', 'list'], { encoding: 'utf8', env });
  const plugin = plugins.status === 0 ? /^vagrant-libvirt \(([^,)\s]+)/m.exec(plugins.stdout)?.[1] : undefined;
  const virsh = spawnSync('virsh', ['--version'], { encoding: 'utf8' });
  if ((virsh.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return { plugin };
  const version = virsh.status === 0 ? /^(\d+\.\d+\.\d+)$/.exec(virsh.stdout.trim())?.[1] : undefined;
  return { plugin, virsh: { version } };
}

describe('doctor on this host: vagrant', { skip: spawnSync('vagrant', ['--version']).status === 0 ? undefined : 'vagrant is not installed' }, () => {
  it('reads the real Vagrant and, where vagrant-libvirt and virsh are installed, the libvirt provider', async () => {
    const report = await runDoctor(request({ kind: 'vagrant', provider: 'libvirt' }), realProbe);
    assert.equal(byId(report, 'vagrant').status, 'ok');
    assert.match(byId(report, 'vagrant').detail, /^\d+\.\d+\.\d+$/);
    const provider = byId(report, 'provider');
    // what doctor must say follows from what the test finds installed itself
    const facts = libvirtFacts();
    if (facts.plugin === undefined) {
      assert.deepEqual([provider.status, provider.detail], ['fail', 'the vagrant-libvirt plugin is not installed'], JSON.stringify(facts));
      assert.match(provider.fix ?? '', /^vagrant plugin install vagrant-libvirt, /);
    } else if (facts.virsh === undefined) {
      assert.deepEqual([provider.status, provider.detail], ['fail', 'libvirt is not installed (no virsh on PATH)'], JSON.stringify(facts));
      assert.match(provider.fix ?? '', /^install libvirt and its client/);
    } else if (facts.virsh.version === undefined) {
      assert.equal(provider.status, 'fail', JSON.stringify(facts));
      assert.ok(provider.detail.startsWith("cannot read libvirt's version from virsh: "), provider.detail);
      assert.match(provider.fix ?? '', /^check the libvirt installation/);
    } else {
      assert.equal(provider.status, 'ok', JSON.stringify({ provider, facts }));
      assert.equal(provider.detail, `vagrant-libvirt ${facts.plugin}, libvirt ${facts.virsh.version}`);
      assert.equal(provider.fix, undefined);
    }
  });

  it(
    'fails VirtualBox where it is not installed, with what to do',
    { skip: spawnSync('VBoxManage', ['--version']).error ? undefined : 'VirtualBox is installed' },
    async () => {
      const report = await runDoctor(request({ kind: 'vagrant', provider: 'virtualbox' }), realProbe);
      const provider = byId(report, 'provider');
      assert.equal(provider.status, 'fail');
      assert.match(provider.detail, /VirtualBox is not installed \(no VBoxManage on PATH\)/);
      assert.equal(report.ok, false);
    },
  );
});

describe('doctor on this host: ssh to a real sshd', { skip: sshdUnavailable() }, () => {
  let sshd: TestSshd;
  before(async () => {
    sshd = await startSshd();
  });
  after(async () => {
    await sshd?.stop();
  });

  const spec = (): MachineSpec => ({ kind: 'ssh', user: 'root', host: '127.0.0.1', port: sshd.port });

  it('passes with the host key in known_hosts', async () => {
    const report = await runDoctor(request(spec(), { identityFile: sshd.clientKey, knownHostsFile: sshd.knownHosts }), realProbe);
    const ssh = byId(report, 'ssh');
    assert.equal(ssh.status, 'ok', JSON.stringify(ssh));
    assert.equal(ssh.detail, `logged in as root@127.0.0.1:${sshd.port}, host key verified`);
    // the same login asked the machine its architecture: this host's, as uname -m says
    const uname = spawnSync('uname', ['-m'], { encoding: 'utf8' }).stdout.trim();
    const arch = byId(report, 'arch');
    if (uname === 'x86_64') assert.deepEqual([arch.status, arch.detail], ['ok', 'the ssh machine is x86_64, as the amd64 stemcells: no emulation']);
    else assert.match(arch.detail, new RegExp(`^the ssh machine is ${uname}`));
  });

  it('fails a wrong pinned host key, naming the key it was offered', async () => {
    const wrong = 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    const report = await runDoctor(request(spec(), { identityFile: sshd.clientKey, hostKeyFingerprint: wrong }), realProbe);
    const ssh = byId(report, 'ssh');
    assert.equal(ssh.status, 'fail');
    assert.match(
      ssh.detail,
      new RegExp(`host key of \\[127\\.0\\.0\\.1\\]:${sshd.port} is ssh-ed25519 SHA256:\\S+, not the pinned ${wrong}; refusing to connect`),
    );
    assert.match(ssh.fix!, /check that you reach the right machine/);
    assert.equal(report.ok, false);
  });

  it('the command: exit 0 with the right key, 1 with a wrong one (--json)', () => {
    const url = `ssh://root@127.0.0.1:${sshd.port}`;
    const good = doctorCli(['--machine', url, '--identity', sshd.clientKey, '--known-hosts', sshd.knownHosts, '--json']);
    assert.equal(good.code, 0, good.stderr);
    assert.equal(byId(JSON.parse(good.stdout) as DoctorReport, 'ssh').status, 'ok');
    const bad = doctorCli(['--machine', url, '--identity', sshd.clientKey, '--host-key', 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /^\[FAIL\] SSH machine: host key of .* refusing to connect$/m);
    assert.match(bad.stdout, /Doctor found 1 blocking issue\(s\)\.\n$/);
  });

  it('fails a stopped sshd with a clear message', async () => {
    // the sshd's folder goes when it stops: keep the client key and known_hosts
    const key = join(scratch, 'client_key');
    const knownHosts = join(scratch, 'known_hosts');
    copyFileSync(sshd.clientKey, key);
    copyFileSync(sshd.knownHosts, knownHosts);
    const { port } = sshd;
    await sshd.stop();
    const report = await runDoctor(
      request({ kind: 'ssh', user: 'root', host: '127.0.0.1', port }, { identityFile: key, knownHostsFile: knownHosts }),
      realProbe,
    );
    const ssh = byId(report, 'ssh');
    assert.equal(ssh.status, 'fail');
    assert.equal(ssh.detail, `cannot reach 127.0.0.1:${port} over ssh: ECONNREFUSED`);
    assert.equal(ssh.fix, 'check the address and port, and that sshd runs on the host');
    const cli = doctorCli(['--machine', `ssh://root@127.0.0.1:${port}`, '--identity', key, '--known-hosts', knownHosts]);
    assert.equal(cli.code, 1);
    assert.match(
      cli.stdout,
      new RegExp(`^\\[FAIL\\] SSH machine: cannot reach 127\\.0\\.0\\.1:${port} over ssh: ECONNREFUSED\n    what to do: check the address`, 'm'),
    );
  });
});
