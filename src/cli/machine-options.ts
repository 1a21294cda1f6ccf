// The settings every stage-running command shares: which machine, how to reach it over SSH,
// and how to size the builder VM. The flags come from the option table; these turn the
// resolved settings into the parts of a request.
import { defaultUpTimeoutMinutes, defaultVmSize } from '../catalog/builder-vm.js';
import type { SshOptions, VmOptions } from '../machine/open.js';
import { parseMachineSpec, type MachineSpec } from '../machine/spec.js';
import type { CommandSettings } from '../settings/sources.js';
import { proxyEnvironment } from './request.js';
import type { SettingOption } from './setting-options.js';

export const sshKeys = ['identity', 'knownHosts', 'hostKey'] as const;
export const machineKeys = ['machine', 'provider', ...sshKeys] as const;

/** The VM flags with the help the commands that keep a VM's size unless told have always shown. */
export const vmOptionHelp: readonly SettingOption[] = [
  'box',
  { key: 'cpus', help: `vagrant: the builder VM's CPUs (default ${defaultVmSize.cpus})` },
  { key: 'memory', help: `vagrant: the builder VM's memory in MiB (default ${defaultVmSize.memoryMiB})` },
  { key: 'diskSize', help: "vagrant: grow the builder VM's disk to this many GiB (where the provider can)", showDefault: false },
  { key: 'libvirtDriver', help: 'vagrant libvirt: kvm, or qemu (software emulation) where hardware virtualization is missing' },
  { key: 'vmTimeout', help: `vagrant: bound for bringing the VM up and provisioning it (default ${defaultUpTimeoutMinutes})` },
];

/** vagrant + provider → vagrant:PROVIDER; anything else as given. */
export function machineAddress(settings: CommandSettings): string {
  const machine = String(settings.value('machine'));
  return machine === 'vagrant' ? `vagrant:${String(settings.value('provider'))}` : machine;
}

export function machineSpec(settings: CommandSettings): MachineSpec {
  return parseMachineSpec(machineAddress(settings));
}

export function sshOptions(settings: CommandSettings): SshOptions {
  return { identityFile: settings.string('identity'), knownHostsFile: settings.string('knownHosts'), hostKeyFingerprint: settings.string('hostKey') };
}

/** The proxy setting for both schemes, else the host's proxy variables. */
export function proxyOptions(settings: CommandSettings, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const proxy = settings.string('proxy');
  return proxy ? { http_proxy: proxy, https_proxy: proxy } : proxyEnvironment(env);
}

export function vmOptions(settings: CommandSettings, proxy: Record<string, string>): VmOptions {
  const chosen = (key: string): number | undefined => {
    const v = settings.chosen(key);
    return v === undefined ? undefined : Number(v);
  };
  return {
    box: settings.string('box'),
    cpus: chosen('cpus'),
    memoryMiB: chosen('memory'),
    diskGiB: chosen('diskSize'),
    libvirtDriver: settings.string('libvirtDriver') as VmOptions['libvirtDriver'],
    upTimeoutMinutes: settings.number('vmTimeout'),
    proxy,
  };
}
