// The doctor's checks, one function each. They learn about the host only through the
// DoctorProbe, and every warn or fail says what to do about it.
import {
  architectureFacts,
  architectureOfMachine,
  architectureOfNode,
  qemuUserPackage,
  qemuUserProgram,
  stemcellArchitecture,
  type Architecture,
} from '../catalog/architectures.js';
import { arm64VmProviders, arm64VmSupport, defaultBoxFor, multiArchBoxesSinceVagrant, providerFacts, type VagrantProvider } from '../catalog/builder-vm.js';
import { operatingSystems } from '../catalog/operating-systems.js';
import { defaultPath } from '../machine/machine.js';
import type { SshOptions } from '../machine/open.js';
import type { MachineSpec } from '../machine/spec.js';
import { minimumVagrant } from '../machine/vagrant/driver.js';
import {
  parseNodeVersion,
  parsePrlctlVersion,
  parseVagrantPlugins,
  parseVagrantVersion,
  parseVBoxManageVersion,
  parseVirshVersion,
  parseVmrunVersion,
} from './parse.js';
import { cacheFolderFault } from '../cache/folder.js';
import { versionAtLeast } from '../util/dotted-version.js';
import { accessModes, type DoctorProbe, type EmulatorsFound, type SshCheck, type SshEndpoint } from './probe.js';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  id: string;
  title: string;
  status: CheckStatus;
  detail: string;
  /** what to do; on every warn and fail */
  fix?: string;
}

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** package.json "engines" (a unit test keeps the two equal) */
export const minimumNode = '20.12.0';

/** Provider releases that need a newer Vagrant: from version `from` on, Vagrant `vagrant` or newer. */
const providerCompat: readonly { provider: VagrantProvider; from: string; vagrant: string }[] = [
  { provider: 'virtualbox', from: '7.1', vagrant: '2.4.2' },
  { provider: 'virtualbox', from: '7.2', vagrant: '2.4.9' },
];

/** Disk thresholds: an OS image is ~0.4 GiB and each stemcell ~0.6 GiB. */
const diskFailBelow = 2 * GiB;
const diskWarnBelow = 10 * GiB;
/** what the host keeps for itself besides the VM */
const memoryHeadroom = GiB;

function result(id: string, title: string, status: CheckStatus, detail: string, fix?: string): CheckResult {
  return fix === undefined ? { id, title, status, detail } : { id, title, status, detail, fix };
}

const gib = (bytes: number): string => `${(bytes / GiB).toFixed(1)} GiB`;

function tail(text: string): string {
  return text.trim().split('\n').slice(-3).join(' / ') || '(no output)';
}

export function checkNode(probe: DoctorProbe): CheckResult {
  const version = parseNodeVersion(probe.nodeVersion());
  if (version && versionAtLeast(version, minimumNode)) return result('node', 'Node.js', 'ok', version);
  return result(
    'node',
    'Node.js',
    'fail',
    `${version ?? probe.nodeVersion()} is older than the ${minimumNode} stemforge needs`,
    `install Node.js ${minimumNode} or newer (a 20.x or 22.x LTS release)`,
  );
}

const systemNames: Partial<Record<NodeJS.Platform, string>> = { darwin: 'macOS', linux: 'Linux', win32: 'Windows' };
const systemName = (platform: NodeJS.Platform): string => systemNames[platform] ?? platform;

const archTitle = 'Architecture';
const image = stemcellArchitecture;
const imageMachine = architectureFacts[image].machine;
const emulatorFix = `install ${qemuUserPackage} on it (Debian/Ubuntu: apt-get install ${qemuUserPackage})`;

/**
 * How a build machine of architecture `arch` (its `uname -m` as `name`) runs the image's
 * programs: natively, through Rosetta or qemu-user (binfmt_misc, registered by the stages),
 * or not at all. `where` names the machine in the line.
 */
export function emulationResult(where: string, name: string, arch: Architecture | undefined, found: EmulatorsFound): CheckResult {
  if (arch === image) return result('arch', archTitle, 'ok', `${where} is ${name}, as the ${image} stemcells: no emulation`);
  const untested = `build on an ${imageMachine} or arm64 Linux machine`;
  if (arch === undefined)
    return result('arch', archTitle, 'warn', `${where} is ${name}, which stemforge has not been tested on; stemcells are ${image}`, untested);
  const runs = `${where} is ${name}: the image's ${image} programs run through`;
  if (found.rosetta) return result('arch', archTitle, 'ok', `${runs} Rosetta (${found.rosetta})`);
  if (found.qemu) return result('arch', archTitle, 'ok', `${runs} ${qemuUserPackage} (${found.qemu})`);
  return result(
    'arch',
    archTitle,
    'fail',
    `${where} is ${name} and has no emulator for the image's ${image} programs (no Rosetta, no ${qemuUserProgram(image)} on PATH)`,
    emulatorFix,
  );
}

/** This host's emulators for the image's programs, looked up as a local build would (the stages' PATH). */
async function localEmulators(probe: DoctorProbe): Promise<EmulatorsFound> {
  for (const path of architectureFacts[image].rosettaPaths) {
    if (await probe.access(path, accessModes.execute)) return { rosetta: path };
  }
  for (const dir of defaultPath.split(':')) {
    const path = `${dir}/${qemuUserProgram(image)}`;
    if (await probe.access(path, accessModes.execute)) return { qemu: path };
  }
  return {};
}

/** The Vagrant builder VM is the host's architecture: say what that means for the amd64 image. */
function vagrantArch(probe: DoctorProbe, provider: VagrantProvider): CheckResult {
  const hostArch = probe.arch();
  const platform = probe.platform();
  if (hostArch === 'x64') return result('arch', archTitle, 'ok', `${imageMachine} builder VM, as this host: no emulation`);
  if (hostArch !== 'arm64') {
    return result(
      'arch',
      archTitle,
      'warn',
      `${hostArch} hosts are untested; stemcells are ${image}`,
      `build on an ${imageMachine} machine with --machine ssh://user@host`,
    );
  }
  const label = providerFacts[provider].label;
  if (arm64VmSupport(provider, platform) === 'no') {
    return result('arch', archTitle, 'fail', `${label} runs no arm64 builder VM on an arm64 ${systemName(platform)} host`, nativeFix(platform));
  }
  const since = providerFacts[provider].arm64Vm?.since;
  const vm = `arm64 builder VM${since ? ` (${label} ${since} or newer)` : ''}`;
  const emulated = `the image's ${image} programs run through Rosetta if the VM shares it, else ${qemuUserPackage}, which provisioning installs`;
  if (!defaultBoxFor(provider, hostArch)) {
    return result(
      'arch',
      archTitle,
      'warn',
      `${vm}; ${emulated}; stemforge has no default arm64 ${provider} box`,
      `name an arm64 Ubuntu 24.04 or Debian 12 box for ${provider} with --box NAME (a VM made earlier keeps its box)`,
    );
  }
  return result('arch', archTitle, 'ok', `${vm}; ${emulated}`);
}

/** What runs a native arm64 builder VM on an arm64 host of this system, as a fix. */
function nativeFix(platform: NodeJS.Platform): string {
  const ssh = `--machine ssh://user@host (a Linux machine: ${imageMachine}, or arm64 with ${qemuUserPackage})`;
  const natives = arm64VmProviders(platform).map((p) => {
    const since = providerFacts[p].arm64Vm?.since;
    return `vagrant:${p}${since ? ` (${providerFacts[p].label} ${since} or newer)` : ''}`;
  });
  return natives.length > 0 ? `use --machine ${natives.join(', ')}: a native arm64 VM; or ${ssh}` : `build on another machine with ${ssh}`;
}

/**
 * Which architecture the build runs on and how the image's amd64 programs run there: this
 * host (local), the ssh machine (its answer to the ssh check), or the builder VM, which is
 * the host's architecture.
 */
export async function checkArch(probe: DoctorProbe, machine: MachineSpec, remote?: Promise<SshCheck>): Promise<CheckResult> {
  switch (machine.kind) {
    case 'vagrant':
      return vagrantArch(probe, machine.provider);
    case 'local': {
      if (probe.platform() !== 'linux') return result('arch', archTitle, 'skip', 'a local build needs a Linux host (see Local machine)');
      const arch = architectureOfNode(probe.arch());
      const name = arch ? architectureFacts[arch].machine : probe.arch();
      return emulationResult('this host', name, arch, arch === image ? {} : await localEmulators(probe));
    }
    case 'ssh': {
      const check = remote ? await remote : undefined;
      if (!check?.ok) return result('arch', archTitle, 'skip', "the ssh machine's architecture is read once it logs in (see SSH machine)");
      return emulationResult('the ssh machine', check.machine, architectureOfMachine(check.machine), check.emulators);
    }
  }
}

export type VagrantFound = { kind: 'missing' } | { kind: 'unreadable'; output: string } | { kind: 'found'; version: string };

export async function findVagrant(probe: DoctorProbe): Promise<VagrantFound> {
  const run = await probe.run('vagrant', ['--version']);
  if (run === 'missing') return { kind: 'missing' };
  const version = run.exitCode === 0 ? parseVagrantVersion(run.stdout) : undefined;
  return version ? { kind: 'found', version } : { kind: 'unreadable', output: `${run.stdout}\n${run.stderr}` };
}

export function checkVagrant(found: VagrantFound): CheckResult {
  const install = `install Vagrant ${minimumVagrant} or newer (HashiCorp's installer or your package manager), or build with --machine ssh://user@host or --machine local`;
  if (found.kind === 'missing') return result('vagrant', 'Vagrant', 'fail', 'not installed (no vagrant on PATH)', install);
  if (found.kind === 'unreadable') {
    return result(
      'vagrant',
      'Vagrant',
      'fail',
      `vagrant --version failed: ${tail(found.output)}`,
      'repair the Vagrant installation; run vagrant --version to see the error',
    );
  }
  if (!versionAtLeast(found.version, minimumVagrant)) {
    return result(
      'vagrant',
      'Vagrant',
      'fail',
      `${found.version} is older than the ${minimumVagrant} stemforge needs`,
      `upgrade Vagrant to ${minimumVagrant} or newer`,
    );
  }
  return result('vagrant', 'Vagrant', 'ok', found.version);
}

interface ProviderTool {
  plugin?: { name: string; install: string };
  /** the tool's command: the first of these that is installed */
  commands: (probe: DoctorProbe) => string[];
  args: string[];
  parse: (output: string) => string | undefined;
  install: string;
  platforms?: NodeJS.Platform[];
}

const providerTools: Record<VagrantProvider, ProviderTool | undefined> = {
  virtualbox: {
    // the Windows installer does not put VBoxManage on PATH; Vagrant looks here too
    commands: (p) => {
      const dir = p.env('VBOX_MSI_INSTALL_PATH')?.replace(/[\\/]+$/, '');
      return dir ? ['VBoxManage', `${dir}\\VBoxManage.exe`] : ['VBoxManage'];
    },
    args: ['--version'],
    parse: parseVBoxManageVersion,
    install: "install VirtualBox (Oracle's installer or your package manager)",
  },
  libvirt: {
    plugin: { name: 'vagrant-libvirt', install: "vagrant plugin install vagrant-libvirt, or your distribution's vagrant-libvirt package" },
    commands: () => ['virsh'],
    args: ['--version'],
    parse: parseVirshVersion,
    install: 'install libvirt and its client (Debian/Ubuntu: libvirt-daemon-system and libvirt-clients)',
    platforms: ['linux'],
  },
  parallels: {
    plugin: { name: 'vagrant-parallels', install: 'vagrant plugin install vagrant-parallels' },
    commands: () => ['prlctl'],
    args: ['--version'],
    parse: parsePrlctlVersion,
    install: 'install Parallels Desktop Pro or Business (the standard edition has no prlctl for Vagrant)',
    platforms: ['darwin'],
  },
  vmware_desktop: {
    plugin: { name: 'vagrant-vmware-desktop', install: 'vagrant plugin install vagrant-vmware-desktop, and install the Vagrant VMware Utility' },
    // Fusion keeps vmrun inside the app bundle
    commands: (p) => ['vmrun', ...(p.platform() === 'darwin' ? ['/Applications/VMware Fusion.app/Contents/Library/vmrun'] : [])],
    args: [], // vmrun has no --version: its usage text starts with the version
    parse: parseVmrunVersion,
    install: 'install VMware Fusion (macOS) or VMware Workstation (Windows, Linux)',
    platforms: ['darwin', 'linux', 'win32'],
  },
  hyperv: undefined, // built into Vagrant
};

/** The Vagrant a provider release needs, when the table names one. */
export function vagrantNeededFor(provider: VagrantProvider, providerVersion: string): string | undefined {
  return providerCompat
    .filter((c) => c.provider === provider && versionAtLeast(providerVersion, c.from))
    .reduce<{ from: string; vagrant: string } | undefined>((best, c) => (!best || versionAtLeast(c.from, best.from) ? c : best), undefined)?.vagrant;
}

/** On an arm64 host, a provider release older than the first that runs arm64 VMs there (VirtualBox before 7.1). */
function arm64TooOld(probe: DoctorProbe, provider: VagrantProvider, version: string): CheckResult | undefined {
  const platform = probe.platform();
  if (probe.arch() !== 'arm64' || arm64VmSupport(provider, platform, version) !== 'too-old') return undefined;
  const { label, arm64Vm } = providerFacts[provider];
  const since = arm64Vm?.since ?? '';
  const host = platform === 'darwin' ? 'Apple Silicon' : `an arm64 ${systemName(platform)} host`;
  const others = arm64VmProviders(platform)
    .filter((p) => p !== provider)
    .map((p) => `vagrant:${p}`);
  const vagrant = vagrantNeededFor(provider, since);
  return result(
    'provider',
    `Provider ${provider}`,
    'fail',
    `${label} ${version} runs no VM on ${host}; ${since} is the first release that does`,
    `upgrade ${label} to ${since} or newer${vagrant ? ` (with Vagrant ${vagrant} or newer)` : ''}${others.length > 0 ? `, or use --machine ${others.join(' or ')}` : ''}`,
  );
}

/** On an arm64 host, a Vagrant too old to pick the arm64 build of the default box. */
function arm64VagrantTooOld(probe: DoctorProbe, provider: VagrantProvider, vagrant: VagrantFound): CheckResult | undefined {
  if (probe.arch() !== 'arm64' || vagrant.kind !== 'found' || versionAtLeast(vagrant.version, multiArchBoxesSinceVagrant)) return undefined;
  if (arm64VmSupport(provider, probe.platform()) !== 'yes') return undefined;
  return result(
    'provider',
    `Provider ${provider}`,
    'fail',
    `Vagrant ${vagrant.version} cannot choose the arm64 build of a box; ${multiArchBoxesSinceVagrant} is the first that does`,
    `upgrade Vagrant to ${multiArchBoxesSinceVagrant} or newer`,
  );
}

async function runFirst(probe: DoctorProbe, tool: ProviderTool): Promise<{ command: string; output: string } | undefined> {
  for (const command of tool.commands(probe)) {
    const run = await probe.run(command, tool.args);
    if (run !== 'missing') return { command, output: `${run.stdout}\n${run.stderr}` };
  }
  return undefined;
}

export async function checkProvider(probe: DoctorProbe, provider: VagrantProvider, vagrant: VagrantFound): Promise<CheckResult> {
  const name = providerFacts[provider].label;
  const title = `Provider ${provider}`;
  const fail = (detail: string, fix: string): CheckResult => result('provider', title, 'fail', detail, fix);
  const other = 'or choose another provider with --machine vagrant:PROVIDER';
  const tool = providerTools[provider];
  const platform = probe.platform();
  if (provider === 'hyperv' || !tool) {
    return platform === 'win32'
      ? result('provider', title, 'ok', 'built into Vagrant; Hyper-V must be enabled and stemforge run as Administrator')
      : fail(`Hyper-V runs only on Windows, not on ${platform}`, `choose another provider with --machine vagrant:PROVIDER`);
  }
  if (tool.platforms && !tool.platforms.includes(platform)) {
    return fail(`${name} does not run on ${platform}`, `choose another provider with --machine vagrant:PROVIDER`);
  }
  const parts: string[] = [];
  if (tool.plugin) {
    if (vagrant.kind !== 'found') return result('provider', title, 'skip', `the ${tool.plugin.name} plugin is checked once Vagrant works`);
    const list = await probe.run('vagrant', ['plugin', 'list', '--machine-readable']);
    const plugin = list === 'missing' ? undefined : parseVagrantPlugins(list.stdout).find((p) => p.name === tool.plugin?.name);
    if (!plugin) return fail(`the ${tool.plugin.name} plugin is not installed`, `${tool.plugin.install}, ${other}`);
    parts.push(`${plugin.name} ${plugin.version ?? '(version unknown)'}`);
  }
  const ran = await runFirst(probe, tool);
  if (!ran) return fail(`${name} is not installed (no ${tool.commands(probe)[0]} on PATH)`, `${tool.install}, ${other}`);
  const version = tool.parse(ran.output);
  if (!version) return fail(`cannot read ${name}'s version from ${ran.command}: ${tail(ran.output)}`, `check the ${name} installation, ${other}`);
  parts.push(`${name} ${version}`);
  const tooOld = arm64TooOld(probe, provider, version) ?? arm64VagrantTooOld(probe, provider, vagrant);
  if (tooOld) return tooOld;
  const needed = vagrantNeededFor(provider, version);
  if (needed && vagrant.kind === 'found' && !versionAtLeast(vagrant.version, needed)) {
    return fail(
      `${name} ${version} needs Vagrant ${needed} or newer; this is Vagrant ${vagrant.version}`,
      `upgrade Vagrant to ${needed} or newer, or install a ${name} release this Vagrant supports`,
    );
  }
  return result('provider', title, 'ok', parts.join(', '));
}

/** Hardware virtualization for the libvirt builder VM, and for `verify --boot` on a local machine. */
export async function checkKvm(probe: DoctorProbe, machine: MachineSpec): Promise<CheckResult> {
  const title = 'KVM';
  const libvirt = machine.kind === 'vagrant' && machine.provider === 'libvirt';
  if (probe.platform() !== 'linux' || !(libvirt || machine.kind === 'local')) {
    return result('kvm', title, 'skip', 'only used by libvirt and local builds on Linux');
  }
  // libvirt's system daemon opens /dev/kvm, not the user: that it exists is what counts
  const usable = await probe.access('/dev/kvm', libvirt ? accessModes.exists : accessModes.readWrite);
  if (usable) return result('kvm', title, 'ok', '/dev/kvm is available');
  return libvirt
    ? result(
        'kvm',
        title,
        'warn',
        '/dev/kvm is missing: no hardware virtualization for the builder VM',
        'enable virtualization (VT-x/AMD-V, nested virtualization in a VM) and load kvm, or pass --libvirt-driver qemu (software emulation, about 10x slower)',
      )
    : result(
        'kvm',
        title,
        'warn',
        '/dev/kvm is missing or not readable and writable: verify --boot falls back to software emulation',
        'enable virtualization (VT-x/AMD-V, nested virtualization in a VM) and load the kvm module; builds work without it',
      );
}

export async function checkDisk(probe: DoctorProbe, which: 'cache' | 'output', dir: string): Promise<CheckResult> {
  const id = `disk-${which}`;
  const title = `Free disk (${which === 'cache' ? 'cache' : 'output'})`;
  const elsewhere = which === 'cache' ? 'choose another folder with --cache-dir DIR' : 'write elsewhere with --out DIR';
  // free space says nothing when the cache folder is a file or unreadable: the cache's own check does
  const fault = which === 'cache' ? cacheFolderFault(dir) : undefined;
  if (fault) return result(id, title, 'fail', fault.message, fault.hint);
  let free;
  try {
    free = await probe.freeBytes(dir);
  } catch (err) {
    return result(id, title, 'warn', `cannot measure the free space at ${dir}: ${(err as Error).message}`, elsewhere);
  }
  const where = free.exists ? free.path : `${free.path}, where ${dir} will be made`;
  if (!(await probe.access(free.path, accessModes.write))) {
    return result(id, title, 'fail', `${free.path} is not writable`, `make it writable for this user, or ${elsewhere}`);
  }
  const detail = `${gib(free.bytes)} free at ${where}`;
  const fix = `free space on that filesystem (an OS image takes ~0.4 GiB, each stemcell ~0.6 GiB), or ${elsewhere}`;
  if (free.bytes < diskFailBelow) return result(id, title, 'fail', `${detail}; at least ${gib(diskFailBelow)} is needed`, fix);
  if (free.bytes < diskWarnBelow) return result(id, title, 'warn', `${detail}; ${gib(diskWarnBelow)} or more is advised`, fix);
  return result(id, title, 'ok', detail);
}

export function checkMemory(probe: DoctorProbe, memoryMiB: number): CheckResult {
  const total = probe.totalMemBytes();
  const wanted = memoryMiB * MiB;
  const detail = `the VM asks for ${memoryMiB} MiB; this host has ${gib(total)}`;
  if (wanted + memoryHeadroom > total) {
    return result(
      'vm-memory',
      'VM memory',
      'fail',
      `${detail}, and keeps ${gib(memoryHeadroom)} for itself`,
      `give the VM less with --memory MIB (at most ${Math.max(0, Math.floor((total - memoryHeadroom) / MiB))})`,
    );
  }
  return result('vm-memory', 'VM memory', 'ok', detail);
}

export function checkCpus(probe: DoctorProbe, cpus: number): CheckResult {
  const host = probe.cpuCount();
  const detail = `the VM asks for ${cpus} CPU${cpus === 1 ? '' : 's'}; this host has ${host}`;
  if (cpus > host) return result('vm-cpus', 'VM CPUs', 'warn', `${detail}: the VM will be slower, not faster`, `pass --cpus ${host} or fewer`);
  return result('vm-cpus', 'VM CPUs', 'ok', detail);
}

/** `shared`: the login the architecture check reads too (one connection), else one made here. */
export async function checkSsh(probe: DoctorProbe, endpoint: SshEndpoint, ssh: SshOptions, shared?: Promise<SshCheck>): Promise<CheckResult> {
  const title = 'SSH machine';
  const check = await (shared ?? probe.sshCheck(endpoint, ssh));
  if (!check.ok) {
    return result(
      'ssh',
      title,
      'fail',
      check.message,
      check.hint ?? 'check the address, that sshd runs there, and the key (--identity FILE) and host key (--known-hosts, --host-key)',
    );
  }
  const who = `logged in as ${endpoint.user}@${endpoint.host}:${endpoint.port}, host key verified`;
  if (check.isRoot) return result('ssh', title, 'ok', who);
  if (check.sudo) return result('ssh', title, 'ok', `${who}; password-less sudo works`);
  return result(
    'ssh',
    title,
    'fail',
    `${who}, but ${endpoint.user} is not root and has no password-less sudo (sudo -n true failed)`,
    `log in as root, or give ${endpoint.user} password-less sudo (NOPASSWD in sudoers)`,
  );
}

export function checkLocalHost(probe: DoctorProbe): CheckResult {
  const title = 'Local machine';
  const platform = probe.platform();
  if (platform !== 'linux') {
    return result(
      'local-host',
      title,
      'fail',
      `--machine local needs a Linux host; this one is ${platform}`,
      'use the default Vagrant builder VM or --machine ssh://user@host',
    );
  }
  if (probe.uid() !== 0) {
    return result(
      'local-host',
      title,
      'fail',
      '--machine local needs root: stages debootstrap, chroot and mount',
      'run stemforge as root (sudo stemforge …) or use --machine ssh://user@host',
    );
  }
  return result('local-host', title, 'ok', 'Linux, running as root');
}

/** The OS lines whose debootstrap script (named on debootstrap's command line) this host's debootstrap lacks. */
async function linesWithoutScript(probe: DoctorProbe): Promise<string[]> {
  const scripts = `${probe.env('DEBOOTSTRAP_DIR') || '/usr/share/debootstrap'}/scripts`;
  const lacking: string[] = [];
  for (const os of operatingSystems) {
    if (!(await probe.access(`${scripts}/${os.debootstrapScript}`, accessModes.read))) lacking.push(`${os.name} ('${os.debootstrapScript}')`);
  }
  return lacking;
}

export async function checkDebootstrap(probe: DoctorProbe): Promise<CheckResult> {
  const title = 'debootstrap';
  if (probe.platform() !== 'linux') return result('debootstrap', title, 'skip', 'only a Linux host runs debootstrap');
  // the PATH local stages run with, whatever this shell's PATH is
  for (const dir of defaultPath.split(':')) {
    const path = `${dir}/debootstrap`;
    if (!(await probe.access(path, accessModes.execute))) continue;
    const run = await probe.run(path, ['--version']);
    const version = run === 'missing' ? undefined : /^debootstrap (\S+)/m.exec(run.stdout)?.[1];
    const detail = version ? `${version} (${path})` : path;
    const lacking = await linesWithoutScript(probe);
    if (lacking.length > 0) {
      return result(
        'debootstrap',
        title,
        'warn',
        `${detail} has no script for ${lacking.join(', ')}: those lines cannot be built here`,
        'install a newer debootstrap (apt-get install debootstrap)',
      );
    }
    return result('debootstrap', title, 'ok', detail);
  }
  return result('debootstrap', title, 'fail', 'not installed', 'install it (Debian/Ubuntu: apt-get install debootstrap), or run scripts/install-build-deps.sh');
}
