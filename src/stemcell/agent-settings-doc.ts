// The settings document a Director (or bosh create-env) hands the agent through its infrastructure's
// settings source: the agent's Settings JSON, with a manual network that names a DNS server as a Director's does.
import { randomBytes, randomUUID } from 'node:crypto';
import type { MbusCerts } from './mbus-certs.js';
import type { GuestNetwork } from './settings-sources.js';

export const mbusUser = 'mbus';
export const mbusPort = 6868;

export interface AgentSettingsInput {
  agentId: string;
  vmName: string;
  mbusPassword: string;
  certs: MbusCerts;
  /** env.bosh.password: a crypt hash, never the password */
  passwordHash: string;
  network: GuestNetwork;
  mac: string;
}

export interface AgentSettingsDocument {
  agent_id: string;
  vm: { name: string };
  mbus: string;
  env: { bosh: { mbus: { cert: { ca: string; certificate: string; private_key: string } }; password: string } };
  blobstore: { provider: string; options: Record<string, string> };
  disks: { system: string; persistent: Record<string, never> };
  ntp: string[];
  networks: Record<
    string,
    {
      type: string;
      ip: string;
      netmask: string;
      gateway: string;
      dns: string[];
      default: string[];
      mac: string;
    }
  >;
}

/** A random password safe inside a URL's userinfo (hex). */
export function randomPassword(): string {
  return randomBytes(16).toString('hex');
}

/** A locally administered unicast MAC in QEMU's 52:54:00 range. */
export function randomMac(): string {
  return ['52', '54', '00', ...[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

export function newIdentity(): { agentId: string; vmName: string } {
  const agentId = randomUUID();
  return { agentId, vmName: `vm-${agentId}` };
}

export function agentSettingsDocument(input: AgentSettingsInput): AgentSettingsDocument {
  const { network } = input;
  return {
    agent_id: input.agentId,
    vm: { name: input.vmName },
    // 0.0.0.0: the agent listens on every address, so QEMU's forward to the guest's port reaches it
    mbus: `https://${mbusUser}:${input.mbusPassword}@0.0.0.0:${mbusPort}`,
    env: {
      bosh: {
        mbus: { cert: { ca: input.certs.ca, certificate: input.certs.certificate, private_key: input.certs.privateKey } },
        password: input.passwordHash,
      },
    },
    blobstore: { provider: 'local', options: { blobstore_path: '/var/vcap/micro_bosh/data/cache' } },
    disks: { system: '/dev/vda', persistent: {} },
    ntp: [],
    networks: {
      default: {
        type: 'manual',
        ip: network.ip,
        netmask: network.netmask,
        gateway: network.gateway,
        dns: [network.dns],
        default: ['dns', 'gateway'],
        mac: input.mac,
      },
    },
  };
}

/** EC2-style user data (HTTP metadata, config drive): the settings plus the server name the CPI gave the VM. */
export function userData(settings: AgentSettingsDocument): Record<string, unknown> {
  return { ...settings, server: { name: settings.vm.name } };
}
