// arm64 hosts (Apple Silicon, arm64 Linux and Windows): the builder VM's providers and boxes,
// the VirtualBox version rule, what the doctor says about the architecture for each kind of
// machine, the build's host note and the wizard's machine choices. Those hosts cannot exist
// here (this is x86_64 Linux), so the host is a stand-in: the wizard's injected host facts and
// standInHost, a DoctorProbe that answers a system, an architecture and the tools and paths
// listed. Everything else is the real code, and the ssh machine's facts script runs in a real sh.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { architectureFacts } from '../../src/catalog/architectures.js';
import { arm64VmSupport, defaultBoxFor, type VagrantProvider } from '../../src/catalog/builder-vm.js';
import { hostNote } from '../../src/cli/build-command.js';
import { checkArch, checkProvider } from '../../src/doctor/checks.js';
import { runDoctor } from '../../src/doctor/doctor.js';
import { machineFactsScript, parseMachineFacts, type DoctorProbe, type SshCheck } from '../../src/doctor/probe.js';
import type { MachineSpec } from '../../src/machine/spec.js';
import { machineChoices } from '../../src/wizard/build-wizard.js';
import { possibleProviders, type ProviderChoice } from '../../src/wizard/providers.js';
import { standInHosts } from '../helpers/stand-in-hosts.js';

const GiB = 1024 ** 3;
const rosetta = architectureFacts.amd64.rosettaPaths[0]!;

interface StandIn {
  platform: NodeJS.Platform;
  arch: string;
  /** `file args…` → its stdout */
  tools?: Record<string, string>;
  /** the paths that exist and are executable */
  executables?: string[];
  ssh?: SshCheck;
}

/** A stand-in for a host that cannot exist here, counting its ssh logins. */
function standInHost(h: StandIn): DoctorProbe & { logins: number } {
  const probe = {
    logins: 0,
    run: async (file: string, args: readonly string[]) => {
      const out = h.tools?.[[file, ...args].join(' ')];
      return out === undefined ? ('missing' as const) : { exitCode: 0, stdout: out, stderr: '' };
    },
    freeBytes: async (dir: string) => ({ bytes: 100 * GiB, path: dir, exists: true }),
    totalMemBytes: () => 16 * GiB,
    cpuCount: () => 8,
    arch: () => h.arch,
    platform: () => h.platform,
    uid: () => 0,
    access: async (path: string) => (h.executables ?? []).includes(path),
    nodeVersion: () => 'v20.20.2',
    env: () => undefined,
    sshCheck: async (): Promise<SshCheck> => {
      probe.logins++;
      return h.ssh ?? { ok: false, message: 'no ssh machine in this stand-in' };
    },
  };
  return probe;
}

const hosts = standInHosts;

const vagrant = (provider: VagrantProvider): MachineSpec => ({ kind: 'vagrant', provider });
const ssh: MachineSpec = { kind: 'ssh', user: 'builder', host: '192.0.2.10', port: 22 };

describe('arm64 hosts: providers and boxes per host system and architecture', () => {
  it('offers the providers that run a native VM of the host architecture, each with a default box or none', () => {
    const expected: Record<keyof typeof hosts, Partial<Record<VagrantProvider, string | undefined>>> = {
      appleSilicon: { virtualbox: 'bento/ubuntu-24.04', parallels: 'bento/ubuntu-24.04', vmware_desktop: 'bento/ubuntu-24.04' },
      macIntel: { virtualbox: 'bento/ubuntu-24.04', parallels: 'bento/ubuntu-24.04', vmware_desktop: 'bento/ubuntu-24.04' },
      // no arm64 libvirt box we trust: the user names one with --box
      linuxArm: { libvirt: undefined },
      linux: { virtualbox: 'bento/ubuntu-24.04', libvirt: 'generic/ubuntu2204', vmware_desktop: 'bento/ubuntu-24.04' },
      windows: { virtualbox: 'bento/ubuntu-24.04', vmware_desktop: 'bento/ubuntu-24.04', hyperv: 'bento/ubuntu-24.04' },
      windowsArm: {},
    };
    for (const [name, host] of Object.entries(hosts) as [keyof typeof hosts, (typeof hosts)[keyof typeof hosts]][]) {
      const providers = possibleProviders(host);
      assert.deepEqual(providers, Object.keys(expected[name]), name);
      for (const p of providers) assert.equal(defaultBoxFor(p, host.arch), expected[name][p], `${name} ${p}`);
    }
  });

  it('VirtualBox runs arm64 VMs on Apple Silicon from 7.1 on; the others have no version rule', () => {
    assert.equal(arm64VmSupport('virtualbox', 'darwin', '7.0.20'), 'too-old');
    assert.equal(arm64VmSupport('virtualbox', 'darwin', '7.1.0'), 'yes');
    assert.equal(arm64VmSupport('virtualbox', 'darwin', '7.2.4'), 'yes');
    assert.equal(arm64VmSupport('virtualbox', 'darwin'), 'yes', 'a version not known yet is not refused');
    assert.equal(arm64VmSupport('virtualbox', 'linux', '7.2.4'), 'no');
    assert.equal(arm64VmSupport('parallels', 'darwin', '18.0.0'), 'yes');
    assert.equal(arm64VmSupport('hyperv', 'win32'), 'no');
  });

  it('the doctor refuses VirtualBox before 7.1 on Apple Silicon, naming the version found and the way out', async () => {
    const mac = (arch: string, vbox: string) => standInHost({ ...hosts.appleSilicon, arch, tools: { 'VBoxManage --version': vbox } });
    const old = await checkProvider(mac('arm64', '7.0.20r163906\n'), 'virtualbox', { kind: 'found', version: '2.4.3' });
    assert.equal(old.status, 'fail');
    assert.equal(old.detail, 'VirtualBox 7.0.20 runs no VM on Apple Silicon; 7.1 is the first release that does');
    assert.equal(old.fix, 'upgrade VirtualBox to 7.1 or newer (with Vagrant 2.4.2 or newer), or use --machine vagrant:parallels or vagrant:vmware_desktop');
    const current = await checkProvider(mac('arm64', '7.1.4r165100\n'), 'virtualbox', { kind: 'found', version: '2.4.3' });
    assert.deepEqual([current.status, current.detail], ['ok', 'VirtualBox 7.1.4']);
    // a Vagrant that cannot pick the arm64 build of the box fails too, on arm64 only
    const plugins = { 'vagrant plugin list --machine-readable': '1,,plugin-name,vagrant-parallels\n1,vagrant-parallels,plugin-version,2.4.3\n' };
    const prl = (arch: string) => standInHost({ ...hosts.appleSilicon, arch, tools: { ...plugins, 'prlctl --version': 'prlctl version 20.1.1 (55740)\n' } });
    const oldVagrant = await checkProvider(prl('arm64'), 'parallels', { kind: 'found', version: '2.3.7' });
    assert.deepEqual(
      [oldVagrant.status, oldVagrant.detail, oldVagrant.fix],
      ['fail', 'Vagrant 2.3.7 cannot choose the arm64 build of a box; 2.4.0 is the first that does', 'upgrade Vagrant to 2.4.0 or newer'],
    );
    assert.equal((await checkProvider(prl('arm64'), 'parallels', { kind: 'found', version: '2.4.0' })).status, 'ok');
    assert.equal((await checkProvider(prl('x64'), 'parallels', { kind: 'found', version: '2.3.7' })).status, 'ok');
    // the rule is about arm64: the same 7.0 on an Intel Mac builds
    assert.equal((await checkProvider(mac('x64', '7.0.20r163906\n'), 'virtualbox', { kind: 'found', version: '2.4.3' })).status, 'ok');
  });
});

describe('arm64 hosts: the doctor says where the build runs and what emulates the amd64 programs', () => {
  const vmLine = "arm64 builder VM; the image's amd64 programs run through Rosetta if the VM shares it, else qemu-user-static, which provisioning installs";

  it('vagrant: the VM is the host architecture', async () => {
    const mac = standInHost(hosts.appleSilicon);
    assert.deepEqual(await checkArch(mac, vagrant('vmware_desktop')), { id: 'arch', title: 'Architecture', status: 'ok', detail: vmLine });
    assert.equal((await checkArch(mac, vagrant('parallels'))).detail, vmLine);
    assert.equal((await checkArch(mac, vagrant('virtualbox'))).detail, vmLine.replace('arm64 builder VM', 'arm64 builder VM (VirtualBox 7.1 or newer)'));
    const libvirtOnMac = await checkArch(mac, vagrant('libvirt'));
    assert.equal(libvirtOnMac.status, 'fail');
    assert.match(
      libvirtOnMac.fix!,
      /^use --machine vagrant:virtualbox \(VirtualBox 7\.1 or newer\), vagrant:parallels, vagrant:vmware_desktop: a native arm64 VM/,
    );
    const linuxArm = await checkArch(standInHost(hosts.linuxArm), vagrant('libvirt'));
    assert.equal(linuxArm.status, 'warn');
    assert.match(linuxArm.detail, /no default arm64 libvirt box/);
    assert.match(linuxArm.fix!, /--box NAME/);
    const windowsArm = await checkArch(standInHost(hosts.windowsArm), vagrant('hyperv'));
    assert.equal(windowsArm.status, 'fail');
    assert.match(windowsArm.fix!, /^build on another machine with --machine ssh:\/\/user@host/);
    assert.equal((await checkArch(standInHost(hosts.windows), vagrant('hyperv'))).detail, 'x86_64 builder VM, as this host: no emulation');
  });

  it('local on arm64 Linux: Rosetta first, then qemu-user-static on the stages PATH, else a failure naming the package', async () => {
    const local: MachineSpec = { kind: 'local' };
    const qemu = '/usr/bin/qemu-x86_64-static';
    const both = await checkArch(standInHost({ ...hosts.linuxArm, executables: [qemu, rosetta] }), local);
    assert.deepEqual([both.status, both.detail], ['ok', `this host is aarch64: the image's amd64 programs run through Rosetta (${rosetta})`]);
    const viaQemu = await checkArch(standInHost({ ...hosts.linuxArm, executables: [qemu] }), local);
    assert.deepEqual([viaQemu.status, viaQemu.detail], ['ok', `this host is aarch64: the image's amd64 programs run through qemu-user-static (${qemu})`]);
    const none = await checkArch(standInHost(hosts.linuxArm), local);
    assert.equal(none.status, 'fail');
    assert.equal(none.detail, "this host is aarch64 and has no emulator for the image's amd64 programs (no Rosetta, no qemu-x86_64-static on PATH)");
    assert.equal(none.fix, 'install qemu-user-static on it (Debian/Ubuntu: apt-get install qemu-user-static)');
    assert.equal((await checkArch(standInHost(hosts.appleSilicon), local)).status, 'skip');
  });

  it("ssh: the machine's own answer, from the one login the ssh check makes", async () => {
    const answer = (machine: string, emulators = {}): SshCheck => ({ ok: true, isRoot: true, sudo: true, machine, emulators });
    const arch = async (check: SshCheck) => {
      const probe = standInHost({ ...hosts.appleSilicon, ssh: check });
      const report = await runDoctor({ machine: ssh, ssh: {}, vm: { cpus: 2, memoryMiB: 4096 }, cacheDir: 'cache', outputDir: 'out' }, probe);
      assert.equal(probe.logins, 1, 'one login for the ssh and architecture checks');
      return report.checks.find((c) => c.id === 'arch')!;
    };
    assert.deepEqual(
      [(await arch(answer('x86_64'))).status, (await arch(answer('x86_64'))).detail],
      ['ok', 'the ssh machine is x86_64, as the amd64 stemcells: no emulation'],
    );
    const arm = await arch(answer('aarch64', { qemu: '/usr/bin/qemu-x86_64-static' }));
    assert.equal(arm.detail, "the ssh machine is aarch64: the image's amd64 programs run through qemu-user-static (/usr/bin/qemu-x86_64-static)");
    const bare = await arch(answer('aarch64'));
    assert.equal(bare.status, 'fail');
    assert.match(bare.fix!, /apt-get install qemu-user-static/);
    assert.equal((await arch(answer('riscv64'))).status, 'warn');
    assert.equal((await arch({ ok: false, message: 'ECONNREFUSED' })).status, 'skip');
  });

  it("the ssh machine's facts script, run by a real sh: uname -m, the first executable Rosetta, qemu on PATH", (t: TestContext) => {
    const dir = mkdtempSync(join(tmpdir(), 'sf-arm64-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const exe = (name: string, mode = 0o755): string => {
      const path = join(dir, name);
      writeFileSync(path, '#!/bin/sh\n');
      chmodSync(path, mode);
      return path;
    };
    const qemu = exe('qemu-x86_64-static');
    const notExecutable = exe('rosetta-plain', 0o644);
    const real = exe('rosetta');
    const run = (path: string, qemuName: string, ...rosettas: string[]) => {
      const r = spawnSync('sh', ['-c', machineFactsScript, 'facts', qemuName, ...rosettas], { encoding: 'utf8', env: { PATH: path } });
      assert.equal(r.status, 0, r.stderr);
      return parseMachineFacts(r.stdout.split('\n').filter(Boolean));
    };
    const uname = spawnSync('uname', ['-m'], { encoding: 'utf8' }).stdout.trim();
    const sys = '/usr/bin:/bin';
    assert.deepEqual(run(`${dir}:${sys}`, 'qemu-x86_64-static', join(dir, 'missing'), notExecutable, real), {
      machine: uname,
      emulators: { rosetta: real, qemu },
    });
    // a name on no PATH here (this machine may have the real qemu-x86_64-static)
    assert.deepEqual(run(`${dir}:${sys}`, 'qemu-none-static', notExecutable), { machine: uname, emulators: {} });
  });
});

describe('arm64 hosts: the build host note and the machine question', () => {
  it('says what happens on Apple Silicon and never sends anyone to a whole emulated VM', () => {
    assert.equal(hostNote(hosts.linux), undefined);
    assert.equal(hostNote(hosts.macIntel), undefined);
    const mac = hostNote(hosts.appleSilicon)!;
    assert.match(mac, /^Note: this is Apple Silicon\. The builder VM runs arm64 natively \(VirtualBox 7\.1 or newer, Parallels, VMware\)/);
    assert.match(mac, /Rosetta where the VM shares it, else qemu-user-static/);
    for (const host of [hosts.appleSilicon, hosts.linuxArm, hosts.windowsArm]) {
      const note = hostNote(host)!;
      assert.doesNotMatch(note, /--libvirt-driver qemu|10x/, note);
      assert.equal(note.split('\n').length, 1);
    }
    assert.match(hostNote(hosts.linuxArm)!, /libvirt runs an arm64 builder VM under KVM \(name an arm64 box with --box\)/);
    assert.match(hostNote(hosts.windowsArm)!, /build over ssh:\/\//);
  });

  it('marks the native providers as recommended on arm64, and says which SSH hosts fit', () => {
    const found = (providers: VagrantProvider[]): ProviderChoice[] => providers.map((provider) => ({ provider, usable: true, note: `${provider} 1.0` }));
    const names = (host: (typeof hosts)[keyof typeof hosts], providers: VagrantProvider[]) =>
      machineChoices({ host: { ...host, cpus: 8, memoryMiB: 16384 }, providers: found(providers), vagrantInstalled: true }).map((c) =>
        'value' in c ? c.name : c.separator,
      );
    assert.deepEqual(names(hosts.appleSilicon, ['parallels', 'vmware_desktop']), [
      'Vagrant VM, Parallels (parallels 1.0, native arm64 VM, recommended)',
      'Vagrant VM, VMware (vmware_desktop 1.0, native arm64 VM, recommended)',
      'Also usable once installed: VirtualBox 7.1 or newer (stemforge doctor says what is missing)',
      'An SSH host (ssh://user@host[:port]), a Linux machine (x86_64, or arm64 with qemu-user-static)',
    ]);
    assert.deepEqual(names(hosts.linux, ['libvirt']), [
      'Vagrant VM, libvirt (libvirt 1.0)',
      'Also usable once installed: VirtualBox or VMware (stemforge doctor says what is missing)',
      'An SSH host (ssh://user@host[:port]), an x86_64 Linux machine',
      'This machine (Linux, as root)',
    ]);
    assert.match(names(hosts.linuxArm, ['libvirt']).at(-1)!, /^This machine \(Linux, as root; the image's amd64 programs run emulated\)$/);
  });
});
