// `stemforge doctor`: the version parsers on the tools' real output, every check through a
// fake probe, and the report's ok flag and exit code.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { addDoctorCommand } from '../../src/cli/doctor-command.js';
import {
  checkArch,
  checkCpus,
  checkDebootstrap,
  checkDisk,
  checkKvm,
  checkLocalHost,
  checkMemory,
  checkNode,
  checkProvider,
  checkSsh,
  checkVagrant,
  findVagrant,
  minimumNode,
  vagrantNeededFor,
  type VagrantFound,
} from '../../src/doctor/checks.js';
import { formatDoctorReport, runDoctor, type DoctorReport, type DoctorRequest } from '../../src/doctor/doctor.js';
import {
  parseNodeVersion,
  parsePrlctlVersion,
  parseVagrantPlugins,
  parseVagrantVersion,
  parseVBoxManageVersion,
  parseVirshVersion,
  parseVmrunVersion,
} from '../../src/doctor/parse.js';
import { checkBuildMachineSpace, defaultPlanMiB } from '../../src/doctor/space.js';
import { compareVersions } from '../../src/util/dotted-version.js';
import { accessModes, type DoctorProbe, type ProbeRun, type SshCheck } from '../../src/doctor/probe.js';
import { defaultPath } from '../../src/machine/machine.js';
import type { MachineSpec } from '../../src/machine/spec.js';
import { packageRoot } from '../../src/util/paths.js';

// Observed on this test host (Debian 12: vagrant 2.3.4+dfsg-1+deb12u1, vagrant-libvirt 0.11.2-1,
// libvirt 9.0.0, debootstrap 1.0.128+nmu2+deb12u2), stdout exactly as printed:
const observed = {
  vagrantVersion: 'Vagrant 2.3.4\n',
  // `vagrant plugin list --machine-readable`; Debian's packaged plugins are "system" ones
  pluginList: [
    '1795683715,,ui,info,vagrant-libvirt (0.11.2%!(VAGRANT_COMMA) system)',
    '1795683715,,plugin-name,vagrant-libvirt',
    '1795683715,vagrant-libvirt,plugin-version,0.11.2%!(VAGRANT_COMMA) system',
    '',
  ].join('\n'),
  virshVersion: '9.0.0\n',
  debootstrapVersion: 'debootstrap 1.0.128+nmu2+deb12u2\n',
};

// Not installed here: these follow the tools' documented/printed formats.
const documented = {
  vboxManage: '7.1.4r165100\n',
  vboxManageUbuntu: '7.0.20_Ubuntur163906\n',
  // a distribution VirtualBox whose kernel module is not loaded warns first
  vboxManageWarning: [
    'WARNING: The vboxdrv kernel module is not loaded. Either there is no module',
    '         available for the current kernel (6.1.0-18-amd64) or it failed to',
    '         load. Please recompile the kernel module and install it by',
    '',
    '           sudo /sbin/vboxconfig',
    '',
    '         You will not be able to start VMs until this problem is fixed.',
    '7.0.20_Ubuntur163906',
    '',
  ].join('\n'),
  prlctl: 'prlctl version 20.1.1 (55740)\n',
  // vmrun without arguments: its usage text, exit code 255
  vmrun: ['', 'vmrun version 1.17.0 build-24995812', '', 'Usage: vmrun [AUTHENTICATION-FLAGS] COMMAND [PARAMETERS]', ''].join('\n'),
  // a plugin installed with `vagrant plugin install` (scope "global"), with a version constraint
  pluginListGlobal: [
    '1732000000,,ui,info,vagrant-parallels (2.4.3%!(VAGRANT_COMMA) global)',
    '1732000000,,plugin-name,vagrant-parallels',
    '1732000000,vagrant-parallels,plugin-version,2.4.3%!(VAGRANT_COMMA) global',
    '1732000000,,ui,info,  - Version Constraint: > 2.0',
    '1732000000,vagrant-parallels,plugin-version-constraint,> 2.0',
    '1732000000,,ui,info,vagrant-vmware-desktop (3.0.4%!(VAGRANT_COMMA) global)',
    '1732000000,,plugin-name,vagrant-vmware-desktop',
    '1732000000,vagrant-vmware-desktop,plugin-version,3.0.4%!(VAGRANT_COMMA) global',
  ].join('\n'),
  noPlugins: '1732000000,,ui,info,No plugins installed.\n',
};

describe('doctor: parsing tool output', () => {
  it('reads the versions observed here', () => {
    assert.equal(parseVagrantVersion(observed.vagrantVersion), '2.3.4');
    assert.equal(parseVirshVersion(observed.virshVersion), '9.0.0');
    assert.deepEqual(parseVagrantPlugins(observed.pluginList), [{ name: 'vagrant-libvirt', version: '0.11.2' }]);
    assert.equal(parseNodeVersion(process.version), process.version.slice(1));
  });

  it('reads the vagrant version fixture recorded earlier', () => {
    assert.equal(parseVagrantVersion(readFileSync(join(packageRoot, 'test', 'fixtures', 'vagrant', 'vagrant-version.txt'), 'utf8')), '2.3.4');
    const recorded = readFileSync(join(packageRoot, 'test', 'fixtures', 'vagrant', 'plugin-list.machine-readable.txt'), 'utf8');
    assert.deepEqual(parseVagrantPlugins(recorded), [{ name: 'vagrant-libvirt', version: '0.11.2' }]);
  });

  it('reads the documented formats of the other tools', () => {
    assert.equal(parseVBoxManageVersion(documented.vboxManage), '7.1.4');
    assert.equal(parseVBoxManageVersion(documented.vboxManageUbuntu), '7.0.20');
    assert.equal(parseVBoxManageVersion(documented.vboxManageWarning), '7.0.20');
    assert.equal(parsePrlctlVersion(documented.prlctl), '20.1.1');
    assert.equal(parseVmrunVersion(documented.vmrun), '1.17.0');
    assert.deepEqual(parseVagrantPlugins(documented.pluginListGlobal), [
      { name: 'vagrant-parallels', version: '2.4.3' },
      { name: 'vagrant-vmware-desktop', version: '3.0.4' },
    ]);
    assert.deepEqual(parseVagrantPlugins(documented.noPlugins), []);
    assert.equal(parseNodeVersion('v20.12.0'), '20.12.0');
  });

  it("returns undefined for output that is not the tool's", () => {
    assert.equal(parseVagrantVersion('bash: vagrant: command not found'), undefined);
    assert.equal(parseVBoxManageVersion('WARNING: something\n'), undefined);
    assert.equal(parseVirshVersion('error: failed to connect to the hypervisor'), undefined);
    assert.equal(parsePrlctlVersion(''), undefined);
    assert.equal(parseVmrunVersion('Usage: vmrun'), undefined);
    assert.equal(parseNodeVersion('v20'), undefined);
  });

  it('compares versions numerically', () => {
    assert.equal(compareVersions('2.4.10', '2.4.9'), 1);
    assert.equal(compareVersions('2.4.1', '2.4.2'), -1);
    assert.equal(compareVersions('2.4', '2.4.0'), 0);
  });
});

const GiB = 1024 ** 3;

interface Fake extends DoctorProbe {
  calls: string[];
}

type FakeSetup = Partial<Omit<DoctorProbe, 'run'>> & { tools?: Record<string, string | ProbeRun> };

/** A Linux x86_64 root host with 16 GiB, 8 CPUs and 100 GiB free, and only the tools listed. */
function fakeProbe(setup: FakeSetup = {}): Fake {
  const calls: string[] = [];
  const { tools = {}, ...rest } = setup;
  return {
    calls,
    async run(file, args) {
      const key = [file, ...args].join(' ');
      calls.push(key);
      const tool = tools[key];
      if (tool === undefined) return 'missing';
      return typeof tool === 'string' ? { exitCode: 0, stdout: tool, stderr: '' } : tool;
    },
    freeBytes: async (dir) => ({ bytes: 100 * GiB, path: dir, exists: true }),
    totalMemBytes: () => 16 * GiB,
    cpuCount: () => 8,
    arch: () => 'x64',
    platform: () => 'linux',
    uid: () => 0,
    access: async () => true,
    nodeVersion: () => 'v20.20.2',
    env: () => undefined,
    sshCheck: async (): Promise<SshCheck> => ({ ok: true, isRoot: true, sudo: true, machine: 'x86_64', emulators: {} }),
    ...rest,
  };
}

const vagrantOf = (version: string): VagrantFound => ({ kind: 'found', version });
const vagrantSpec = (provider: 'virtualbox' | 'libvirt' | 'parallels' | 'vmware_desktop' | 'hyperv'): MachineSpec => ({ kind: 'vagrant', provider });
const sshSpec: MachineSpec = { kind: 'ssh', user: 'builder', host: '192.0.2.10', port: 22 };

describe('doctor: node and architecture', () => {
  it('wants the Node.js of package.json engines', () => {
    const engines = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    assert.equal(engines, `>=${minimumNode}`);
    assert.equal(checkNode(fakeProbe()).status, 'ok');
    assert.equal(checkNode(fakeProbe({ nodeVersion: () => 'v20.12.0' })).status, 'ok');
    const old = checkNode(fakeProbe({ nodeVersion: () => 'v20.11.1' }));
    assert.equal(old.status, 'fail');
    assert.match(old.detail, /20\.11\.1 is older than the 20\.12\.0/);
    assert.ok(old.fix);
  });

  it('passes an x86_64 host for every machine: the VM and a local build are x86_64, no emulation', async () => {
    for (const machine of [vagrantSpec('virtualbox'), vagrantSpec('libvirt'), { kind: 'local' } as const]) {
      assert.equal((await checkArch(fakeProbe(), machine)).status, 'ok');
    }
    assert.equal((await checkArch(fakeProbe(), vagrantSpec('virtualbox'))).detail, 'x86_64 builder VM, as this host: no emulation');
    assert.equal((await checkArch(fakeProbe(), { kind: 'local' })).detail, 'this host is x86_64, as the amd64 stemcells: no emulation');
  });
});
describe('doctor: Vagrant', () => {
  it('finds and judges the installed Vagrant', async () => {
    assert.deepEqual(await findVagrant(fakeProbe({ tools: { 'vagrant --version': observed.vagrantVersion } })), vagrantOf('2.3.4'));
    assert.deepEqual(await findVagrant(fakeProbe()), { kind: 'missing' });
    assert.equal((await findVagrant(fakeProbe({ tools: { 'vagrant --version': { exitCode: 1, stdout: '', stderr: 'Gem::LoadError' } } }))).kind, 'unreadable');
    assert.deepEqual(checkVagrant(vagrantOf('2.3.4')), { id: 'vagrant', title: 'Vagrant', status: 'ok', detail: '2.3.4' });
  });

  it('fails a missing, broken or too old Vagrant, with a hint', () => {
    const missing = checkVagrant({ kind: 'missing' });
    assert.equal(missing.status, 'fail');
    assert.match(missing.fix!, /install Vagrant 2\.3\.0 or newer/);
    const old = checkVagrant(vagrantOf('2.2.19'));
    assert.equal(old.status, 'fail');
    assert.match(old.detail, /2\.2\.19 is older than the 2\.3\.0/);
    const broken = checkVagrant({ kind: 'unreadable', output: 'Gem::LoadError' });
    assert.equal(broken.status, 'fail');
    assert.match(broken.detail, /Gem::LoadError/);
  });
});

describe('doctor: providers', () => {
  const vbox = (version: string): FakeSetup => ({ tools: { 'VBoxManage --version': version } });

  it('knows which Vagrant each VirtualBox release needs (a table)', () => {
    assert.equal(vagrantNeededFor('virtualbox', '7.0.20'), undefined);
    assert.equal(vagrantNeededFor('virtualbox', '7.1.0'), '2.4.2');
    assert.equal(vagrantNeededFor('virtualbox', '7.1.4'), '2.4.2');
    assert.equal(vagrantNeededFor('virtualbox', '7.2.2'), '2.4.9');
    assert.equal(vagrantNeededFor('virtualbox', '7.3.0'), '2.4.9');
    assert.equal(vagrantNeededFor('libvirt', '9.0.0'), undefined);
  });

  it('fails VirtualBox 7.1 with Vagrant 2.4.1', async () => {
    const r = await checkProvider(fakeProbe(vbox(documented.vboxManage)), 'virtualbox', vagrantOf('2.4.1'));
    assert.equal(r.status, 'fail');
    assert.equal(r.detail, 'VirtualBox 7.1.4 needs Vagrant 2.4.2 or newer; this is Vagrant 2.4.1');
    assert.match(r.fix!, /upgrade Vagrant to 2\.4\.2 or newer/);
  });

  it('passes VirtualBox releases the Vagrant supports', async () => {
    const ok = await checkProvider(fakeProbe(vbox(documented.vboxManage)), 'virtualbox', vagrantOf('2.4.2'));
    assert.deepEqual(ok, { id: 'provider', title: 'Provider virtualbox', status: 'ok', detail: 'VirtualBox 7.1.4' });
    assert.equal((await checkProvider(fakeProbe(vbox(documented.vboxManageUbuntu)), 'virtualbox', vagrantOf('2.3.4'))).status, 'ok');
    assert.equal((await checkProvider(fakeProbe(vbox('7.2.0r170228\n')), 'virtualbox', vagrantOf('2.4.8'))).status, 'fail');
    assert.equal((await checkProvider(fakeProbe(vbox('7.2.0r170228\n')), 'virtualbox', vagrantOf('2.4.9'))).status, 'ok');
    // without a working Vagrant the compatibility is not judged (the Vagrant check fails)
    assert.equal((await checkProvider(fakeProbe(vbox(documented.vboxManage)), 'virtualbox', { kind: 'missing' })).status, 'ok');
  });

  it('fails a missing VirtualBox, and finds it where the Windows installer puts it', async () => {
    const missing = await checkProvider(fakeProbe(), 'virtualbox', vagrantOf('2.4.3'));
    assert.equal(missing.status, 'fail');
    assert.match(missing.detail, /VirtualBox is not installed \(no VBoxManage on PATH\)/);
    assert.match(missing.fix!, /install VirtualBox/);
    const windows = fakeProbe({
      platform: () => 'win32',
      env: (name) => (name === 'VBOX_MSI_INSTALL_PATH' ? 'C:\\VirtualBox\\' : undefined),
      tools: { 'C:\\VirtualBox\\VBoxManage.exe --version': documented.vboxManage },
    });
    assert.equal((await checkProvider(windows, 'virtualbox', vagrantOf('2.4.3'))).status, 'ok');
  });

  it('fails an unreadable VirtualBox version with its output', async () => {
    const r = await checkProvider(fakeProbe(vbox('WARNING: broken\n')), 'virtualbox', vagrantOf('2.4.3'));
    assert.equal(r.status, 'fail');
    assert.match(r.detail, /cannot read VirtualBox's version from VBoxManage: WARNING: broken/);
  });

  const libvirtTools = { 'vagrant plugin list --machine-readable': observed.pluginList, 'virsh --version': observed.virshVersion };

  it('libvirt: the plugin and virsh (as observed here)', async () => {
    const r = await checkProvider(fakeProbe({ tools: libvirtTools }), 'libvirt', vagrantOf('2.3.4'));
    assert.deepEqual(r, { id: 'provider', title: 'Provider libvirt', status: 'ok', detail: 'vagrant-libvirt 0.11.2, libvirt 9.0.0' });
  });

  it('libvirt: fails without the plugin or virsh, skips without Vagrant, refuses macOS', async () => {
    const noPlugin = await checkProvider(
      fakeProbe({ tools: { ...libvirtTools, 'vagrant plugin list --machine-readable': documented.noPlugins } }),
      'libvirt',
      vagrantOf('2.3.4'),
    );
    assert.equal(noPlugin.status, 'fail');
    assert.match(noPlugin.detail, /the vagrant-libvirt plugin is not installed/);
    assert.match(noPlugin.fix!, /vagrant plugin install vagrant-libvirt/);
    const noVirsh = await checkProvider(fakeProbe({ tools: { 'vagrant plugin list --machine-readable': observed.pluginList } }), 'libvirt', vagrantOf('2.3.4'));
    assert.equal(noVirsh.status, 'fail');
    assert.match(noVirsh.detail, /no virsh on PATH/);
    assert.match(noVirsh.fix!, /libvirt-clients/);
    assert.equal((await checkProvider(fakeProbe({ tools: libvirtTools }), 'libvirt', { kind: 'missing' })).status, 'skip');
    const mac = await checkProvider(fakeProbe({ tools: libvirtTools, platform: () => 'darwin' }), 'libvirt', vagrantOf('2.3.4'));
    assert.equal(mac.status, 'fail');
    assert.match(mac.detail, /libvirt does not run on darwin/);
  });

  it('parallels and vmware_desktop: plugin and tool', async () => {
    const mac = (tools: Record<string, string | ProbeRun>): Fake => fakeProbe({ platform: () => 'darwin', arch: () => 'arm64', tools });
    const plugins = { 'vagrant plugin list --machine-readable': documented.pluginListGlobal };
    const parallels = await checkProvider(mac({ ...plugins, 'prlctl --version': documented.prlctl }), 'parallels', vagrantOf('2.4.3'));
    assert.equal(parallels.status, 'ok');
    assert.equal(parallels.detail, 'vagrant-parallels 2.4.3, Parallels 20.1.1');
    const noPrlctl = await checkProvider(mac(plugins), 'parallels', vagrantOf('2.4.3'));
    assert.equal(noPrlctl.status, 'fail');
    assert.match(noPrlctl.fix!, /Parallels Desktop Pro or Business/);
    assert.equal((await checkProvider(fakeProbe({ tools: plugins }), 'parallels', vagrantOf('2.4.3'))).status, 'fail');

    // vmrun exits 255 after its usage text: the version is still read; Fusion's vmrun is in the app
    const usage: ProbeRun = { exitCode: 255, stdout: documented.vmrun, stderr: '' };
    const fusion = await checkProvider(
      mac({ ...plugins, '/Applications/VMware Fusion.app/Contents/Library/vmrun': usage }),
      'vmware_desktop',
      vagrantOf('2.4.3'),
    );
    assert.equal(fusion.status, 'ok');
    assert.equal(fusion.detail, 'vagrant-vmware-desktop 3.0.4, VMware 1.17.0');
    const noPlugin = await checkProvider(
      mac({ vmrun: usage, 'vagrant plugin list --machine-readable': observed.pluginList }),
      'vmware_desktop',
      vagrantOf('2.4.3'),
    );
    assert.equal(noPlugin.status, 'fail');
    assert.match(noPlugin.fix!, /vagrant-vmware-desktop.*Vagrant VMware Utility/);
  });

  it('hyperv: Windows only', async () => {
    assert.equal((await checkProvider(fakeProbe({ platform: () => 'win32' }), 'hyperv', vagrantOf('2.4.3'))).status, 'ok');
    const linux = await checkProvider(fakeProbe(), 'hyperv', vagrantOf('2.4.3'));
    assert.equal(linux.status, 'fail');
    assert.match(linux.detail, /Hyper-V runs only on Windows, not on linux/);
  });
});

describe('doctor: KVM', () => {
  it('libvirt needs /dev/kvm to exist (libvirtd opens it); without it: --libvirt-driver qemu', async () => {
    const modes: number[] = [];
    const present = fakeProbe({ access: async (_path, mode) => (modes.push(mode), true) });
    assert.equal((await checkKvm(present, vagrantSpec('libvirt'))).status, 'ok');
    assert.deepEqual(modes, [accessModes.exists]);
    const absent = await checkKvm(fakeProbe({ access: async () => false }), vagrantSpec('libvirt'));
    assert.equal(absent.status, 'warn');
    assert.match(absent.fix!, /--libvirt-driver qemu/);
  });

  it('local wants /dev/kvm readable and writable; other machines and hosts skip', async () => {
    const modes: number[] = [];
    assert.equal((await checkKvm(fakeProbe({ access: async (_p, mode) => (modes.push(mode), true) }), { kind: 'local' })).status, 'ok');
    assert.deepEqual(modes, [accessModes.readWrite]);
    const no = await checkKvm(fakeProbe({ access: async () => false }), { kind: 'local' });
    assert.equal(no.status, 'warn');
    assert.ok(no.fix);
    assert.equal((await checkKvm(fakeProbe(), vagrantSpec('virtualbox'))).status, 'skip');
    assert.equal((await checkKvm(fakeProbe({ platform: () => 'darwin' }), vagrantSpec('libvirt'))).status, 'skip');
  });
});

describe('doctor: disk, memory, CPUs', () => {
  const free = (gib: number, extra: FakeSetup = {}): Fake => fakeProbe({ freeBytes: async (dir) => ({ bytes: gib * GiB, path: dir, exists: true }), ...extra });

  it('fails below 2 GiB, warns below 10 GiB', async () => {
    assert.equal((await checkDisk(free(100), 'cache', 'cache')).status, 'ok');
    const warn = await checkDisk(free(5), 'output', 'out');
    assert.deepEqual([warn.id, warn.status], ['disk-output', 'warn']);
    assert.match(warn.detail, /5\.0 GiB free at out; 10\.0 GiB or more is advised/);
    assert.match(warn.fix!, /--out DIR/);
    const fail = await checkDisk(free(1.5), 'cache', 'cache');
    assert.deepEqual([fail.id, fail.status], ['disk-cache', 'fail']);
    assert.match(fail.fix!, /--cache-dir DIR/);
    assert.equal((await checkDisk(free(10), 'cache', 'cache')).status, 'ok');
  });

  it("the build machine (local): the default plan's need against the build root's free space, recorded sizes first", async () => {
    const need = defaultPlanMiB({}) / 1024;
    assert.ok(need > 4 && need < 20, `the default plan needs ${need} GiB`);
    const ok = await checkBuildMachineSpace(free(need * 2), '/srv/sf', {});
    assert.deepEqual([ok.id, ok.status], ['disk-build-machine', 'ok']);
    assert.match(ok.detail, /^needs \d+\.\d GiB on the build machine at \/srv\/sf, \d+\.\d GiB free \(an OS image and an openstack qcow2 stemcell\)$/);
    assert.equal((await checkBuildMachineSpace(free(need * 1.1), '/srv/sf', {})).status, 'warn');
    const short = await checkBuildMachineSpace(free(need / 2), '/srv/sf', {});
    assert.equal(short.status, 'fail');
    assert.match(short.fix!, /--layer-limit/);
    assert.match(short.fix!, /\/srv\/sf\/layers/);
    // an earlier build recorded a far larger debootstrap layer: the same free space is short now
    assert.equal((await checkBuildMachineSpace(free(need * 2), '/srv/sf', { base_debootstrap: need * 2 * 1024 })).status, 'fail');
  });

  it('measures a folder not made yet at its parent, and fails an unwritable one', async () => {
    const parent = fakeProbe({ freeBytes: async () => ({ bytes: 50 * GiB, path: 'home', exists: false }) });
    assert.match((await checkDisk(parent, 'cache', 'home/cache')).detail, /free at home, where home\/cache will be made/);
    const locked = await checkDisk(free(50, { access: async () => false }), 'output', 'out');
    assert.equal(locked.status, 'fail');
    assert.match(locked.detail, /out is not writable/);
    const broken = await checkDisk(
      fakeProbe({
        freeBytes: async () => {
          throw new Error('EACCES');
        },
      }),
      'cache',
      'c',
    );
    assert.equal(broken.status, 'warn');
  });

  it('fails when the VM and 1 GiB headroom do not fit in RAM; warns on more CPUs than the host has', () => {
    const small = fakeProbe({ totalMemBytes: () => 4 * GiB });
    const tight = checkMemory(small, 4096);
    assert.equal(tight.status, 'fail');
    assert.match(tight.fix!, /--memory MIB \(at most 3072\)/);
    assert.equal(checkMemory(fakeProbe({ totalMemBytes: () => 5 * GiB }), 4096).status, 'ok');
    assert.equal(checkMemory(fakeProbe(), 4096).status, 'ok');
    const many = checkCpus(fakeProbe({ cpuCount: () => 4 }), 8);
    assert.equal(many.status, 'warn');
    assert.match(many.fix!, /--cpus 4 or fewer/);
    assert.equal(checkCpus(fakeProbe({ cpuCount: () => 4 }), 4).status, 'ok');
  });
});

describe('doctor: ssh and local machines', () => {
  const endpoint = { user: 'builder', host: '192.0.2.10', port: 22 };

  it('ssh: passes root or password-less sudo, fails otherwise with the error and a hint', async () => {
    assert.equal((await checkSsh(fakeProbe(), endpoint, {})).status, 'ok');
    const sudo = await checkSsh(fakeProbe({ sshCheck: async () => ({ ok: true, isRoot: false, sudo: true, machine: 'x86_64', emulators: {} }) }), endpoint, {});
    assert.match(sudo.detail, /password-less sudo works/);
    const noSudo = await checkSsh(
      fakeProbe({ sshCheck: async () => ({ ok: true, isRoot: false, sudo: false, machine: 'x86_64', emulators: {} }) }),
      endpoint,
      {},
    );
    assert.equal(noSudo.status, 'fail');
    assert.match(noSudo.fix!, /NOPASSWD/);
    const refused = await checkSsh(
      fakeProbe({ sshCheck: async () => ({ ok: false, message: 'cannot reach 192.0.2.10:22 over ssh: ECONNREFUSED' }) }),
      endpoint,
      {},
    );
    assert.deepEqual([refused.status, refused.detail], ['fail', 'cannot reach 192.0.2.10:22 over ssh: ECONNREFUSED']);
    assert.ok(refused.fix);
    const pinned = await checkSsh(
      fakeProbe({ sshCheck: async () => ({ ok: false, message: 'host key of x is y', hint: 'check that you reach the right machine' }) }),
      endpoint,
      {},
    );
    assert.equal(pinned.fix, 'check that you reach the right machine');
  });

  it('local: Linux, root and debootstrap', async () => {
    assert.equal(checkLocalHost(fakeProbe()).status, 'ok');
    const mac = checkLocalHost(fakeProbe({ platform: () => 'darwin' }));
    assert.deepEqual([mac.status, mac.detail], ['fail', '--machine local needs a Linux host; this one is darwin']);
    const user = checkLocalHost(fakeProbe({ uid: () => 1000 }));
    assert.equal(user.status, 'fail');
    assert.match(user.fix!, /sudo stemforge/);

    const sbin = defaultPath.split(':').find((d) => d.endsWith('/usr/sbin'))!;
    const scripts = '/usr/share/debootstrap/scripts';
    const withScripts = (present: string[]) =>
      fakeProbe({
        access: async (path) => path === `${sbin}/debootstrap` || present.some((name) => path === `${scripts}/${name}`),
        tools: { [`${sbin}/debootstrap --version`]: observed.debootstrapVersion },
      });
    const found = await checkDebootstrap(withScripts(['gutsy', 'sid']));
    assert.deepEqual([found.status, found.detail], ['ok', `1.0.128+nmu2+deb12u2 (${sbin}/debootstrap)`]);
    // a debootstrap without the Ubuntu lines' script cannot build them: said, not failed
    const noGutsy = await checkDebootstrap(withScripts(['sid']));
    assert.equal(noGutsy.status, 'warn');
    assert.match(noGutsy.detail, /has no script for ubuntu-jammy \('gutsy'\), ubuntu-noble \('gutsy'\): those lines cannot be built here$/);
    assert.match(noGutsy.fix!, /apt-get install debootstrap/);
    const missing = await checkDebootstrap(fakeProbe({ access: async () => false }));
    assert.equal(missing.status, 'fail');
    assert.match(missing.fix!, /apt-get install debootstrap/);
    assert.equal((await checkDebootstrap(fakeProbe({ platform: () => 'darwin' }))).status, 'skip');
  });
});

describe('doctor: the report', () => {
  const request = (machine: MachineSpec): DoctorRequest => ({ machine, ssh: {}, vm: { cpus: 2, memoryMiB: 4096 }, cacheDir: 'cache', outputDir: 'out' });
  const libvirtHost = {
    tools: {
      'vagrant --version': observed.vagrantVersion,
      'vagrant plugin list --machine-readable': observed.pluginList,
      'virsh --version': observed.virshVersion,
    },
  };

  it('runs the checks that apply to the machine, and asks vagrant --version once', async () => {
    const probe = fakeProbe(libvirtHost);
    const report = await runDoctor(request(vagrantSpec('libvirt')), probe);
    assert.deepEqual(
      report.checks.map((c) => c.id),
      ['node', 'arch', 'vagrant', 'provider', 'kvm', 'vm-memory', 'vm-cpus', 'disk-cache', 'disk-output'],
    );
    assert.ok(
      report.checks.every((c) => c.status === 'ok'),
      JSON.stringify(report.checks),
    );
    assert.equal(report.ok, true);
    assert.equal(probe.calls.filter((c) => c === 'vagrant --version').length, 1);
    assert.deepEqual(
      (await runDoctor(request({ kind: 'local' }), fakeProbe())).checks.map((c) => c.id),
      ['node', 'arch', 'local-host', 'debootstrap', 'kvm', 'disk-cache', 'disk-output'],
    );
    assert.deepEqual(
      (await runDoctor({ ...request({ kind: 'local' }), buildRoot: '/nonexistent-sf-root' }, fakeProbe())).checks.map((c) => c.id),
      ['node', 'arch', 'local-host', 'debootstrap', 'kvm', 'disk-build-machine', 'disk-cache', 'disk-output'],
      'a local build root is checked when it is known',
    );
    assert.deepEqual(
      (await runDoctor(request(sshSpec), fakeProbe())).checks.map((c) => c.id),
      ['node', 'arch', 'ssh', 'disk-cache', 'disk-output'],
    );
  });

  it('is ok with warnings, not with a failure', async () => {
    const warned = await runDoctor(request(vagrantSpec('libvirt')), fakeProbe({ ...libvirtHost, cpuCount: () => 1 }));
    assert.equal(warned.ok, true);
    assert.equal(warned.checks.find((c) => c.id === 'vm-cpus')!.status, 'warn');
    const failed = await runDoctor(
      request(vagrantSpec('virtualbox')),
      fakeProbe({ tools: { 'vagrant --version': 'Vagrant 2.4.1\n', 'VBoxManage --version': documented.vboxManage } }),
    );
    assert.equal(failed.ok, false);
    assert.equal(failed.checks.find((c) => c.id === 'provider')!.status, 'fail');
  });

  it('reports a check that threw as failed and still runs the others', async () => {
    const report = await runDoctor(
      request(sshSpec),
      fakeProbe({
        sshCheck: async () => {
          throw new Error('boom');
        },
      }),
    );
    assert.equal(report.ok, false);
    const broken = report.checks.find((c) => c.id === 'doctor')!;
    assert.match(broken.detail, /a check could not run: boom/);
    assert.equal(report.checks.length, 5);
  });

  const sample: DoctorReport = {
    ok: false,
    checks: [
      { id: 'vagrant', title: 'Vagrant', status: 'ok', detail: '2.3.4' },
      { id: 'vm-cpus', title: 'VM CPUs', status: 'warn', detail: 'too many', fix: 'pass --cpus 2 or fewer' },
      { id: 'provider', title: 'Provider virtualbox', status: 'fail', detail: 'not installed', fix: 'install VirtualBox' },
      { id: 'kvm', title: 'KVM', status: 'skip', detail: 'not used' },
    ],
  };

  it('formats one line per check, the fix under it, and a verdict', () => {
    assert.equal(
      formatDoctorReport(sample),
      [
        '[✓] Vagrant: 2.3.4',
        '[!] VM CPUs: too many',
        '    what to do: pass --cpus 2 or fewer',
        '[✗] Provider virtualbox: not installed',
        '    what to do: install VirtualBox',
        '[-] KVM: not used',
        '',
        'Doctor found 1 blocking issue(s).',
        '',
      ].join('\n'),
    );
    const plain = formatDoctorReport(sample, { plain: true });
    assert.match(plain, /^\[ok\] Vagrant: 2\.3\.4$/m);
    assert.match(plain, /^\[warn\] VM CPUs/m);
    assert.match(plain, /^\[FAIL\] Provider virtualbox/m);
    assert.match(plain, /^\[skip\] KVM/m);
    assert.doesNotMatch(plain, /[^\x20-\x7e\n]/);
    assert.match(formatDoctorReport({ ok: true, checks: [sample.checks[0]!] }), /\nNo issues found\.\n$/);
    assert.match(formatDoctorReport({ ok: true, checks: sample.checks.slice(0, 2) }), /\nNo blocking issues found; 1 warning\(s\)\.\n$/);
  });
});

describe('doctor: the command', () => {
  async function doctor(args: string[], probe: DoctorProbe): Promise<{ code: number; stdout: string; stderr: string; dirsAsked: number }> {
    let code = 0;
    let dirsAsked = 0;
    const program = new Command('stemforge').exitOverride();
    addDoctorCommand(
      program,
      (c) => (code = c),
      () => (dirsAsked++, { cacheDir: 'cache', outputDir: 'out' }),
      probe,
    );
    const out: string[] = [];
    const err: string[] = [];
    // eslint-disable-next-line @typescript-eslint/unbound-method -- kept only to be put back as they were, never called
    const write = { out: process.stdout.write, err: process.stderr.write };
    // the command writes strings; the test runner's own messages (Buffers, while the command
    // loads its modules) go through
    const capture = (into: string[], stream: NodeJS.WriteStream, original: typeof process.stdout.write) =>
      ((chunk: string | Uint8Array) => (typeof chunk === 'string' ? into.push(chunk) : original.call(stream, chunk), true)) as typeof process.stdout.write;
    process.stdout.write = capture(out, process.stdout, write.out);
    process.stderr.write = capture(err, process.stderr, write.err);
    try {
      await program.parseAsync(['node', 'stemforge', 'doctor', ...args]);
    } finally {
      process.stdout.write = write.out;
      process.stderr.write = write.err;
    }
    return { code, stdout: out.join(''), stderr: err.join(''), dirsAsked };
  }

  it('exits 0 with --json when nothing blocks, and asks for the default folders', async () => {
    const r = await doctor(['--machine', 'local', '--json'], fakeProbe());
    assert.equal(r.code, 0);
    const report = JSON.parse(r.stdout) as DoctorReport;
    assert.equal(report.ok, true);
    assert.equal(r.dirsAsked, 1);
    assert.ok(report.checks.find((c) => c.id === 'disk-cache')!.detail.endsWith(join(process.cwd(), 'cache')));
  });

  it('exits 1 when a check fails, and prints the human report', async () => {
    const r = await doctor(['--machine', 'local', '--cache-dir', 'c', '--out', 'o'], fakeProbe({ uid: () => 1000 }));
    assert.equal(r.code, 1);
    assert.equal(r.dirsAsked, 0);
    assert.match(r.stdout, /--machine local needs root/);
    assert.match(r.stdout, /Doctor found 1 blocking issue\(s\)\.\n$/);
  });

  it('sizes the VM from --cpus and --memory, and refuses bad values (exit 2)', async () => {
    const r = await doctor(
      ['--machine', 'vagrant:libvirt', '--cpus', '16', '--memory', '65536', '--json'],
      fakeProbe({
        tools: {
          'vagrant --version': observed.vagrantVersion,
          'vagrant plugin list --machine-readable': observed.pluginList,
          'virsh --version': observed.virshVersion,
        },
      }),
    );
    const report = JSON.parse(r.stdout) as DoctorReport;
    assert.equal(report.checks.find((c) => c.id === 'vm-cpus')!.status, 'warn');
    assert.equal(report.checks.find((c) => c.id === 'vm-memory')!.status, 'fail');
    assert.equal(r.code, 1);
    const bad = await doctor(['--cpus', 'two'], fakeProbe());
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--cpus takes a whole number from 1 to 256, not 'two'/);
    const machine = await doctor(['--machine', 'docker', '--json'], fakeProbe());
    assert.equal(machine.code, 2);
    assert.deepEqual(JSON.parse(machine.stdout), { ok: false, error: machine.stderr.replace(/^stemforge: error: /, '').trim(), usage: true });
  });
});
