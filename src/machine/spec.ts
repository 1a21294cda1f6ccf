// Parsing --machine: which build machine a command runs its stages on.
import { userInfo } from 'node:os';
import { defaultProvider, vagrantProviders, type VagrantProvider } from '../catalog/builder-vm.js';
import { UnknownNameError, UsageError } from '../util/errors.js';

export type MachineSpec = { kind: 'local' } | { kind: 'ssh'; user: string; host: string; port: number } | { kind: 'vagrant'; provider: VagrantProvider };

const machineForms = ['vagrant[:PROVIDER]', 'local', 'ssh://user@host[:port]'];

export function parseProvider(value: string): VagrantProvider {
  const provider = vagrantProviders.find((p) => p === value);
  if (!provider) throw new UnknownNameError('Vagrant provider', value, vagrantProviders);
  return provider;
}

/** The one check of a machine address; `subject` names where it came from (the flag, or a variable or file). */
export function parseMachineSpec(value: string, subject = '--machine'): MachineSpec {
  if (value === 'local') return { kind: 'local' };
  if (value === 'vagrant') return { kind: 'vagrant', provider: defaultProvider };
  if (value.startsWith('vagrant:')) {
    const provider = vagrantProviders.find((p) => p === value.slice('vagrant:'.length));
    if (!provider) {
      const unknown = new UnknownNameError('Vagrant provider', value.slice('vagrant:'.length), vagrantProviders);
      throw new UsageError(
        `${subject} '${value}': ${unknown.message} (valid forms: vagrant, ${vagrantProviders.map((p) => `vagrant:${p}`).join(', ')}, local, ssh://user@host[:port])`,
      );
    }
    return { kind: 'vagrant', provider };
  }
  if (value.startsWith('ssh://')) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new UsageError(`${subject} ${value}: not a valid ssh:// address (form: ssh://user@host[:port])`);
    }
    if (url.pathname && url.pathname !== '/' && url.pathname !== '') {
      throw new UsageError(`${subject} ${value}: an ssh:// address takes no path`);
    }
    if (url.password) throw new UsageError(`${subject}: passwords in the address are not accepted; use --identity FILE`);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    if (!host) throw new UsageError(`${subject} ${value}: no host`);
    const port = url.port ? Number(url.port) : 22;
    const user = url.username ? decodeURIComponent(url.username) : userInfo().username;
    return { kind: 'ssh', user, host, port };
  }
  throw new UsageError(`${subject} '${value}' is not a machine; valid forms: ${machineForms.join(', ')}`);
}

export function describeSpec(spec: MachineSpec): string {
  if (spec.kind === 'local') return 'local';
  if (spec.kind === 'vagrant') return `vagrant:${spec.provider}`;
  const host = spec.host.includes(':') ? `[${spec.host}]` : spec.host;
  return `ssh://${spec.user}@${host}:${spec.port}`;
}
