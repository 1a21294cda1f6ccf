// How a person opens a shell on the build machine, to look at a failed build by hand.
import type { SshOptions } from './open.js';
import { shellJoin } from './quote.js';
import type { MachineSpec } from './spec.js';

export function shellCommand(spec: MachineSpec, ssh: SshOptions): string {
  switch (spec.kind) {
    case 'local':
      return '(this machine) sudo -i';
    case 'vagrant':
      return shellJoin(['stemforge', 'vm', 'ssh', '--provider', spec.provider]);
    case 'ssh': {
      const argv = ['ssh', '-p', String(spec.port)];
      if (ssh.identityFile) argv.push('-i', ssh.identityFile);
      if (ssh.knownHostsFile) argv.push('-o', `UserKnownHostsFile=${ssh.knownHostsFile}`);
      argv.push(`${spec.user}@${spec.host.includes(':') ? `[${spec.host}]` : spec.host}`);
      return shellJoin(argv);
    }
  }
}
