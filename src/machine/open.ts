// Turn a --machine spec into a connected Machine.
import { LocalMachine } from './local.js';
import type { Machine } from './machine.js';
import type { MachineSpec } from './spec.js';
import { SshMachine } from './ssh.js';
import { BuilderVm, type BuilderVmOptions } from './vagrant/builder-vm.js';

export interface SshOptions {
  identityFile?: string;
  knownHostsFile?: string;
  hostKeyFingerprint?: string;
}

export type VmOptions = Omit<BuilderVmOptions, 'provider'>;

export interface OpenOptions {
  ssh?: SshOptions;
  vm: VmOptions;
  /** progress lines (Vagrant's output while the VM comes up) */
  onLine?: (line: string) => void;
  signal?: AbortSignal;
}

export async function openMachine(spec: MachineSpec, options: OpenOptions): Promise<Machine> {
  switch (spec.kind) {
    case 'local':
      LocalMachine.assertUsable();
      return new LocalMachine();
    case 'ssh':
      return SshMachine.connect({ user: spec.user, host: spec.host, port: spec.port, ...options.ssh });
    case 'vagrant':
      return new BuilderVm({ provider: spec.provider, ...options.vm }).up({ onLine: options.onLine, signal: options.signal });
  }
}
