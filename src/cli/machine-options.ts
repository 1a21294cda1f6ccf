// The flags every stage-running command shares: which machine, how to reach it over SSH,
// and how to size the builder VM.
import { Option, type Command } from 'commander';
import { defaultProvider, defaultUpTimeoutMinutes, defaultVmSize } from '../catalog/builder-vm.js';
import type { SshOptions, VmOptions } from '../machine/open.js';
import { UsageError } from '../util/errors.js';
import { proxyEnvironment } from './request.js';

export interface VmFlags {
  box?: string;
  cpus?: string;
  memory?: string;
  diskSize?: string;
  libvirtDriver?: 'kvm' | 'qemu';
  vmTimeout?: string;
}

export interface SshFlags {
  identity?: string;
  knownHosts?: string;
  hostKey?: string;
}

export const defaultMachine = process.env.STEMFORGE_MACHINE ?? 'vagrant';
export const providerFromEnv = process.env.STEMFORGE_PROVIDER ?? defaultProvider;

export function addSshOptions(command: Command): Command {
  return command
    .option('--identity <file>', 'ssh: private key file (default: ssh-agent, then ~/.ssh/id_*)')
    .option('--known-hosts <file>', 'ssh: known_hosts file to check the host key against (default ~/.ssh/known_hosts)')
    .option('--host-key <fingerprint>', 'ssh: accept only this host key (SHA256:… as ssh-keygen -lf prints it)');
}

// No commander defaults here: a flag not given keeps what the VM was made with (vm.json).
export function addVmOptions(command: Command): Command {
  return command
    .option('--box <name>', "vagrant: the builder VM's box (default: per provider and host architecture)")
    .option('--cpus <n>', `vagrant: the builder VM's CPUs (default ${defaultVmSize.cpus})`)
    .option('--memory <mib>', `vagrant: the builder VM's memory in MiB (default ${defaultVmSize.memoryMiB})`)
    .option('--disk-size <gib>', "vagrant: grow the builder VM's disk to this many GiB (where the provider can)")
    .addOption(
      new Option('--libvirt-driver <driver>', 'vagrant libvirt: kvm, or qemu (software emulation) where hardware virtualization is missing').choices([
        'kvm',
        'qemu',
      ]),
    )
    .option('--vm-timeout <minutes>', `vagrant: bound for bringing the VM up and provisioning it (default ${defaultUpTimeoutMinutes})`);
}

export function positiveInteger(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} takes a whole number above 0, not '${value}'`);
  return n;
}

export function sshOptions(flags: SshFlags): SshOptions {
  return { identityFile: flags.identity, knownHostsFile: flags.knownHosts, hostKeyFingerprint: flags.hostKey };
}

export function vmOptions(flags: VmFlags): VmOptions {
  return {
    box: flags.box,
    cpus: positiveInteger('--cpus', flags.cpus),
    memoryMiB: positiveInteger('--memory', flags.memory),
    diskGiB: positiveInteger('--disk-size', flags.diskSize),
    libvirtDriver: flags.libvirtDriver,
    upTimeoutMinutes: positiveInteger('--vm-timeout', flags.vmTimeout),
    proxy: proxyEnvironment(process.env),
  };
}
