// One builder VM managed through Vagrant: its settings file, Vagrant state and recorded
// SSH host key live in stemforge's state dir (one folder per provider), so stemforge runs
// from any folder. Up → provisioned → an ssh Machine with the host key pinned on first use.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { arch } from 'node:os';
import { join } from 'node:path';
import { defaultBoxFor, defaultUpTimeoutMinutes, defaultVmSize, type VagrantProvider } from '../../catalog/builder-vm.js';
import { HintedError } from '../../util/errors.js';
import { packageRoot, userPaths } from '../../util/paths.js';
import { SshMachine } from '../ssh.js';
import { VagrantDriver, type CallOptions } from './driver.js';
import type { VagrantStatus } from './machine-readable.js';

/** Settings left undefined keep what the VM was made with (vm.json), else the defaults. */
export interface BuilderVmOptions {
  provider: VagrantProvider;
  box?: string;
  cpus?: number;
  memoryMiB?: number;
  diskGiB?: number;
  /** libvirt only: kvm (hardware virtualization) or qemu (software emulation) */
  libvirtDriver?: 'kvm' | 'qemu';
  /** bound for `vagrant up` / `vagrant provision` */
  upTimeoutMinutes?: number;
  /** http_proxy/https_proxy/no_proxy for provisioning */
  proxy: Record<string, string>;
  /** stemforge's state dir; default the user's (tests use their own) */
  stateRoot?: string;
}

/** The JSON the Vagrantfile reads (STEMFORGE_VM_CONFIG). */
export interface VmSettings {
  name: string;
  box: string;
  cpus: number;
  memory_mib: number;
  disk_gib?: number;
  libvirt_driver?: 'kvm' | 'qemu';
  proxy: Record<string, string>;
}

const provisionScript = join(packageRoot, 'templates', 'provision.sh');
const provisionMarker = '/var/lib/stemforge/provisioned';

function defaultBox(provider: VagrantProvider, hostArch = arch()): string {
  const box = defaultBoxFor(provider, hostArch);
  if (!box) {
    const vmArch = hostArch === 'x64' ? 'x86_64' : hostArch;
    throw new HintedError(
      `there is no default ${provider} box for a ${hostArch} host`,
      `name an Ubuntu 24.04 or Debian 12 box built for ${vmArch} and ${provider} with --box NAME`,
    );
  }
  return box;
}

export class BuilderVm {
  readonly stateDir: string;
  readonly configFile: string;
  readonly knownHostsFile: string;
  readonly driver: VagrantDriver;

  constructor(readonly options: BuilderVmOptions) {
    this.stateDir = join(options.stateRoot ?? userPaths.data, 'builders', `vagrant-${options.provider}`);
    this.configFile = join(this.stateDir, 'vm.json');
    this.knownHostsFile = join(this.stateDir, 'known_hosts');
    this.driver = new VagrantDriver({
      vagrantfileDir: packageRoot,
      dotfilePath: join(this.stateDir, 'vagrant'),
      configFile: this.configFile,
      provider: options.provider,
    });
  }

  private get upTimeoutMs(): number {
    return (this.options.upTimeoutMinutes ?? defaultUpTimeoutMinutes) * 60_000;
  }

  /**
   * Write the settings the Vagrantfile reads (0600: proxy settings may hold credentials):
   * the given options over what the VM was made with, over the defaults.
   */
  async writeConfig(): Promise<VmSettings> {
    const o = this.options;
    const previous: Partial<VmSettings> = await readFile(this.configFile, 'utf8')
      .then((t) => JSON.parse(t) as Partial<VmSettings>)
      .catch(() => ({}));
    const settings: VmSettings = {
      // unique per state dir: provider-side names (libvirt domains, VirtualBox VMs) are global
      name: `stemforge-${o.provider.replace(/_/g, '-')}-${createHash('sha256').update(this.stateDir).digest('hex').slice(0, 8)}`,
      box: o.box ?? previous.box ?? defaultBox(o.provider),
      cpus: o.cpus ?? previous.cpus ?? defaultVmSize.cpus,
      memory_mib: o.memoryMiB ?? previous.memory_mib ?? defaultVmSize.memoryMiB,
      disk_gib: o.diskGiB ?? previous.disk_gib,
      libvirt_driver: o.libvirtDriver ?? previous.libvirt_driver,
      proxy: o.proxy,
    };
    await mkdir(this.stateDir, { recursive: true, mode: 0o700 });
    await writeFile(this.configFile, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
    return settings;
  }

  async status(options: CallOptions = {}): Promise<VagrantStatus> {
    await this.driver.version();
    await this.writeConfig();
    return this.driver.status({ signal: options.signal });
  }

  /** Bring the VM up (create, boot or resume it) and make sure it is provisioned. */
  async up(options: CallOptions = {}): Promise<SshMachine> {
    const status = await this.status(options);
    if (status.state !== 'running') {
      if (status.state === 'not_created') await rm(this.knownHostsFile, { force: true });
      await this.driver.up(this.options.provider, { ...options, timeoutMs: this.upTimeoutMs });
    }
    const machine = await this.connect(options);
    try {
      await this.ensureProvisioned(machine, options);
    } catch (err) {
      await machine.close();
      throw err;
    }
    return machine;
  }

  /** An ssh Machine to the running VM; its host key is recorded on first use, then pinned. */
  async connect(options: CallOptions = {}): Promise<SshMachine> {
    const ssh = await this.driver.sshConfig({ signal: options.signal });
    const identityFile = ssh.identityFiles[0];
    try {
      return await SshMachine.connect({
        user: ssh.user,
        host: ssh.host,
        port: ssh.port,
        identityFile,
        knownHostsFile: this.knownHostsFile,
        trustOnFirstUse: true,
        readyTimeoutMs: 60_000,
      });
    } catch (err) {
      if (err instanceof HintedError && /HOST KEY MISMATCH/.test(err.message)) {
        throw new HintedError(err.message, `if you rebuilt the VM outside stemforge, forget its old key: rm ${this.knownHostsFile}; otherwise do not connect`);
      }
      throw err;
    }
  }

  /** Run the provisioning script again when it changed since the VM was provisioned. */
  private async ensureProvisioned(machine: SshMachine, options: CallOptions): Promise<void> {
    const wanted = createHash('sha256')
      .update(await readFile(provisionScript))
      .digest('hex');
    const lines: string[] = [];
    await machine.run(['cat', provisionMarker], { sudo: true, onStdout: (l) => lines.push(l) });
    if (lines[0]?.trim() === wanted) return;
    options.onLine?.(`provisioning script changed (${wanted.slice(0, 12)}…): running vagrant provision`);
    await this.driver.provision({ ...options, timeoutMs: this.upTimeoutMs });
  }

  async provision(options: CallOptions = {}): Promise<void> {
    await this.status(options);
    await this.driver.provision({ ...options, timeoutMs: this.upTimeoutMs });
  }

  async halt(options: CallOptions = {}): Promise<void> {
    await this.status(options);
    await this.driver.halt(options);
  }

  async destroy(options: CallOptions = {}): Promise<void> {
    await this.status(options);
    await this.driver.destroy(options);
    // a new VM gets new host keys: forget the old one with the VM
    await rm(this.knownHostsFile, { force: true });
  }
}
