// Turn a --machine spec into a connected Machine.
import { LocalMachine } from './local.js';
import type { Machine } from './machine.js';
import type { MachineSpec } from './spec.js';
import { SshMachine } from './ssh.js';

export interface SshOptions {
  identityFile?: string;
  knownHostsFile?: string;
  hostKeyFingerprint?: string;
}

export async function openMachine(spec: MachineSpec, ssh: SshOptions = {}): Promise<Machine> {
  switch (spec.kind) {
    case 'local':
      LocalMachine.assertUsable();
      return new LocalMachine();
    case 'ssh':
      return SshMachine.connect({ user: spec.user, host: spec.host, port: spec.port, ...ssh });
  }
}
