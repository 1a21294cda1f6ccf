// Which of an infrastructure's agent settings sources `verify --agent` serves to the guest, derived from what
// the stemcell's agent.json lists (src/catalog/agent-settings.ts), and the guest network that goes with it.
// An infrastructure is verifiable when one of its disk formats boots under QEMU and we serve one of its sources.
import { agentSettings } from '../catalog/agent-settings.js';
import { infrastructures } from '../catalog/infrastructures.js';
import { bootableDisks } from './boot-prep.js';

export type ServedSourceType = 'ConfigDrive' | 'HTTP' | 'InstanceMetadata';

/** A config drive: a vfat disk with this label holding the files at these paths. */
export interface ConfigDriveSource {
  type: 'ConfigDrive';
  label: string;
  metaDataPath: string;
  userDataPath: string;
}

/** An HTTP metadata service the guest reaches at address:port (the EC2 layout, or Google's instance metadata). */
export interface HttpSource {
  type: 'HTTP' | 'InstanceMetadata';
  address: string;
  port: number;
  /** headers the agent sends and the service insists on (Metadata-Flavor: Google) */
  headers: Record<string, string>;
  /** IMDSv2: PUT here for a token that every GET must then carry */
  tokenPath?: string;
  /** HTTP: the user data (settings + server name); InstanceMetadata: the settings themselves */
  userDataPath: string;
  instanceIdPath?: string;
  sshKeysPath?: string;
}

export type ServedSource = ConfigDriveSource | HttpSource;

/** QEMU user-mode network the guest lives on: slirp's DHCP gives it .15 of the network, its gateway is .2 and its DNS .3. */
export interface GuestNetwork {
  /** a.b.c.d/bits */
  net: string;
  ip: string;
  netmask: string;
  gateway: string;
  dns: string;
}

export type Verifiability =
  | { verifiable: true; infrastructure: string; source: ServedSource; network: GuestNetwork; sourceTypes: string[] }
  | { verifiable: false; infrastructure: string; reason: string; sourceTypes: string[] };

/**
 * The one thing not in agent.json: which source type stemforge serves per infrastructure. The others (File,
 * CDROM) come from a provisioning agent or a CPI-attached ISO we do not make yet.
 */
const servedSourceTypes: Readonly<Record<string, ServedSourceType>> = {
  openstack: 'ConfigDrive',
  aws: 'HTTP',
  alicloud: 'HTTP',
  cloudstack: 'HTTP',
  google: 'InstanceMetadata',
};

// QEMU's default user network; a config drive needs no metadata address inside it
const defaultNet = '10.0.2.0';

type Json = unknown;

function str(source: Record<string, Json>, key: string): string | undefined {
  const value = source[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The settings sources agent.json lists for `iaas`, in the agent's order. */
function agentSources(iaas: string): Record<string, Json>[] {
  const doc = agentSettings[iaas] as { Infrastructure?: { Settings?: { Sources?: Json[] } } } | undefined;
  const sources = doc?.Infrastructure?.Settings?.Sources ?? [];
  return sources.filter((s): s is Record<string, Json> => typeof s === 'object' && s !== null && !Array.isArray(s));
}

/**
 * The guest network that holds `address` (the metadata service's: slirp forwards only addresses inside its
 * network), or QEMU's default one. Its /24 — except for a link-local address (169.254.169.254): the guest
 * would get a link-local lease there, which systemd-networkd's DHCP client refuses, so the guest lives on the
 * /8 around it (169.0.0.15), where the metadata address is still inside.
 */
export function guestNetwork(address?: string): GuestNetwork {
  const octets = (address ?? defaultNet).split('.').map(Number);
  const linkLocal = octets[0] === 169 && octets[1] === 254;
  const bits = linkLocal ? 8 : 24;
  const kept = bits / 8;
  const base = octets.map((o, i) => (i < kept ? o : 0));
  const host = (last: number): string => [...base.slice(0, 3), last].join('.');
  const netmask = [0, 1, 2, 3].map((i) => (i < kept ? 255 : 0)).join('.');
  return { net: `${base.join('.')}/${bits}`, ip: host(15), netmask, gateway: host(2), dns: host(3) };
}

function configDrive(source: Record<string, Json>): ConfigDriveSource {
  const paths = Array.isArray(source.DiskPaths) ? source.DiskPaths.filter((p): p is string => typeof p === 'string') : [];
  const labels = paths.map((p) => /\/by-label\/([^/]+)$/.exec(p)?.[1]).filter((l): l is string => !!l);
  // OpenStack's own config drives say config-2; the agent looks for either spelling
  const label = labels.find((l) => l === l.toLowerCase()) ?? labels[0];
  const metaDataPath = str(source, 'MetaDataPath');
  const userDataPath = str(source, 'UserDataPath');
  if (!label || !metaDataPath || !userDataPath) throw new Error('agent.json ConfigDrive source lacks a by-label DiskPath, MetaDataPath or UserDataPath');
  return { type: 'ConfigDrive', label, metaDataPath, userDataPath };
}

function httpSource(type: 'HTTP' | 'InstanceMetadata', source: Record<string, Json>): HttpSource {
  const uri = new URL(str(source, 'URI') ?? '');
  if (uri.protocol !== 'http:' || !/^\d{1,3}(\.\d{1,3}){3}$/.test(uri.hostname)) {
    throw new Error(`agent.json ${type} source URI ${uri.href} is not http://IPv4`);
  }
  const headers: Record<string, string> = {};
  if (typeof source.Headers === 'object' && source.Headers !== null) {
    for (const [k, v] of Object.entries(source.Headers as Record<string, Json>)) if (typeof v === 'string') headers[k] = v;
  }
  const userDataPath = type === 'HTTP' ? str(source, 'UserDataPath') : str(source, 'SettingsPath');
  if (!userDataPath) throw new Error(`agent.json ${type} source has no ${type === 'HTTP' ? 'UserDataPath' : 'SettingsPath'}`);
  return {
    type,
    address: uri.hostname,
    port: uri.port ? Number(uri.port) : 80,
    headers,
    userDataPath,
    tokenPath: str(source, 'TokenPath'),
    instanceIdPath: str(source, 'InstanceIDPath'),
    sshKeysPath: str(source, 'SSHKeysPath'),
  };
}

/** Whether `verify --agent` can verify stemcells of `iaas`, with the source and network it would give the guest. */
export function verifiability(iaas: string): Verifiability {
  const infra = infrastructures.find((i) => i.name === iaas);
  const sources = agentSources(iaas);
  const sourceTypes = sources.map((s) => String(s.Type));
  if (!infra) return { verifiable: false, infrastructure: iaas, reason: `'${iaas}' is not an infrastructure stemforge knows`, sourceTypes };
  const formats = infra.diskFormats;
  if (!formats.some((f) => bootableDisks[f])) {
    const what = formats.includes('files')
      ? 'a root filesystem for containers (disk_format files), not a disk to boot'
      : `${formats.join(', ')} images, which stemforge cannot boot under QEMU`;
    return { verifiable: false, infrastructure: iaas, reason: `its stemcells are ${what}`, sourceTypes };
  }
  const wanted = servedSourceTypes[iaas];
  const source = wanted ? sources.find((s) => s.Type === wanted) : undefined;
  if (!wanted || !source) {
    const reason = `stemforge does not serve its agent settings source (${sourceTypes.join(', ') || 'none'}) yet`;
    return { verifiable: false, infrastructure: iaas, reason, sourceTypes };
  }
  const served = wanted === 'ConfigDrive' ? configDrive(source) : httpSource(wanted, source);
  const network = guestNetwork(served.type === 'ConfigDrive' ? undefined : served.address);
  return { verifiable: true, infrastructure: iaas, source: served, network, sourceTypes };
}

/** One line per infrastructure: what `verify --agent` does for it (for error messages and --help). */
export function describeVerifiable(): string {
  return infrastructures
    .map((i) => {
      const v = verifiability(i.name);
      return v.verifiable ? `${i.name} (${describeSource(v.source)})` : undefined;
    })
    .filter(Boolean)
    .join(', ');
}

export function describeSource(source: ServedSource): string {
  if (source.type === 'ConfigDrive') return `config drive labelled ${source.label}`;
  const what = source.type === 'HTTP' ? `metadata service${source.tokenPath ? ' (IMDSv2)' : ''}` : 'instance metadata';
  return `${what} at http://${source.address}${source.port === 80 ? '' : `:${source.port}`}`;
}
