// Every setting a command takes, as data: its flag, its environment variable, whether a
// settings file may hold it, and how a value is checked. The flags of every command, the
// wizard, `config` and the resolver all read this one table.
import { defaultProvider, defaultUpTimeoutMinutes, defaultVmSize, minimumVmMemoryMiB, vagrantProviders } from '../catalog/builder-vm.js';
import { infrastructures } from '../catalog/infrastructures.js';
import { operatingSystems } from '../catalog/operating-systems.js';
import { parseMachineSpec } from '../machine/spec.js';
import { defaultBuildRoot, defaultPackageCacheRoot } from '../pipeline/layout.js';
import { UnknownNameError, UsageError } from '../util/errors.js';
import { archiveSchemes, checkAbsolutePath, checkSha256, checkUrl, checkVersion, downloadSchemes, positiveInteger, type IntegerRange } from './validate.js';

export type SettingValue = string | number | string[];

export interface OptionSpec {
  /** the key in stemforge.json and the user settings */
  key: string;
  /** the command-line flag */
  flag: string;
  /** the value's name in the help: --cpus <n> */
  arg: string;
  env: string;
  description: string;
  /** may be kept in the user settings and the project file; the rest are flags and env only */
  stored: boolean;
  kind: 'string' | 'integer' | 'list';
  /** an integer's bounds (default: 1 to any safe integer) */
  range?: IntegerRange;
  /** the valid names, when the value is one of a fixed set */
  choices?: readonly string[];
  /** what the names are, for the commands' messages (unknown operating system 'x') */
  noun?: string;
  /** check a value already of the right kind; throw UsageError naming `subject` */
  check?: (value: SettingValue, subject: string) => void;
  /** the built-in default, when there is one */
  builtin?: SettingValue | ((dirs: BuiltinDirs) => SettingValue);
}

export interface BuiltinDirs {
  cacheDir: string;
  outputDir: string;
}

/**
 * The builder VM's bounds, for the flags, the variables, the settings files and (through the
 * build's checks) the wizard's answers. The minimums are what a build needs; the maximums are
 * far above any laptop or cloud VM, there to catch a typo before a provider does.
 */
export const vmLimits = {
  cpus: { min: 1, max: 256 },
  memoryMiB: { min: minimumVmMemoryMiB, max: 4 * 1024 * 1024 },
  diskGiB: { min: 20, max: 64 * 1024 },
} as const satisfies Record<string, IntegerRange>;

const osNames = operatingSystems.map((o) => o.name);
const iaasNames = infrastructures.map((i) => i.name);

const archiveUrl = (v: SettingValue, subject: string): void => checkUrl(String(v), subject, archiveSchemes);
const buildMachineDir = (v: SettingValue, subject: string): void => checkAbsolutePath(String(v), subject);

export const optionSpecs: readonly OptionSpec[] = [
  {
    key: 'iaas',
    flag: '--iaas',
    arg: 'name',
    env: 'STEMFORGE_IAAS',
    stored: true,
    kind: 'list',
    choices: iaasNames,
    noun: 'infrastructure',
    description: 'infrastructure(s), comma-separated',
  },
  {
    key: 'hypervisor',
    flag: '--hypervisor',
    arg: 'name',
    env: 'STEMFORGE_HYPERVISOR',
    stored: false,
    kind: 'string',
    description: "the infrastructure's hypervisor, where it has a choice",
  },
  {
    key: 'diskFormat',
    flag: '--disk-format',
    arg: 'format',
    env: 'STEMFORGE_DISK_FORMAT',
    stored: false,
    kind: 'string',
    description: 'disk format, where the infrastructure has several',
  },
  {
    key: 'os',
    flag: '--os',
    arg: 'name',
    env: 'STEMFORGE_OS',
    stored: true,
    kind: 'string',
    choices: osNames,
    noun: 'operating system',
    description: 'operating system line',
  },
  {
    key: 'machine',
    flag: '--machine',
    arg: 'machine',
    env: 'STEMFORGE_MACHINE',
    stored: true,
    kind: 'string',
    builtin: 'vagrant',
    description: 'build machine: vagrant[:PROVIDER], local or ssh://user@host[:port]',
    check: (v, subject) => void parseMachineSpec(String(v), subject),
  },
  {
    key: 'identity',
    flag: '--identity',
    arg: 'file',
    env: 'STEMFORGE_IDENTITY',
    stored: true,
    kind: 'string',
    description: 'ssh: private key file (default: ssh-agent, then ~/.ssh/id_*)',
  },
  {
    key: 'knownHosts',
    flag: '--known-hosts',
    arg: 'file',
    env: 'STEMFORGE_KNOWN_HOSTS',
    stored: true,
    kind: 'string',
    description: 'ssh: known_hosts file to check the host key against (default ~/.ssh/known_hosts)',
  },
  {
    key: 'hostKey',
    flag: '--host-key',
    arg: 'fingerprint',
    env: 'STEMFORGE_HOST_KEY',
    stored: true,
    kind: 'string',
    description: 'ssh: accept only this host key (SHA256:… as ssh-keygen -lf prints it)',
  },
  {
    key: 'provider',
    flag: '--provider',
    arg: 'provider',
    env: 'STEMFORGE_PROVIDER',
    stored: true,
    kind: 'string',
    choices: vagrantProviders,
    builtin: defaultProvider,
    description: 'Vagrant provider for --machine vagrant',
  },
  {
    key: 'cpus',
    flag: '--cpus',
    arg: 'n',
    env: 'STEMFORGE_CPUS',
    stored: true,
    kind: 'integer',
    range: vmLimits.cpus,
    builtin: defaultVmSize.cpus,
    description: "the builder VM's CPUs",
  },
  {
    key: 'memory',
    flag: '--memory',
    arg: 'mib',
    env: 'STEMFORGE_MEMORY',
    stored: true,
    kind: 'integer',
    range: vmLimits.memoryMiB,
    builtin: defaultVmSize.memoryMiB,
    description: "the builder VM's memory in MiB",
  },
  {
    key: 'diskSize',
    flag: '--disk-size',
    arg: 'gib',
    env: 'STEMFORGE_DISK_SIZE',
    stored: true,
    kind: 'integer',
    range: vmLimits.diskGiB,
    builtin: defaultVmSize.diskGiB,
    description: "the builder VM's disk in GiB",
  },
  {
    key: 'box',
    flag: '--box',
    arg: 'name',
    env: 'STEMFORGE_BOX',
    stored: true,
    kind: 'string',
    description: "vagrant: the builder VM's box (default: per provider and host architecture)",
  },
  {
    key: 'libvirtDriver',
    flag: '--libvirt-driver',
    arg: 'driver',
    env: 'STEMFORGE_LIBVIRT_DRIVER',
    stored: true,
    kind: 'string',
    choices: ['kvm', 'qemu'],
    description: 'vagrant libvirt: kvm, or qemu (software emulation)',
  },
  {
    key: 'vmTimeout',
    flag: '--vm-timeout',
    arg: 'minutes',
    env: 'STEMFORGE_VM_TIMEOUT',
    stored: true,
    kind: 'integer',
    range: { min: 1, max: 24 * 60 },
    description: `vagrant: bound for bringing the VM up and provisioning it (default ${defaultUpTimeoutMinutes})`,
  },
  {
    key: 'version',
    flag: '--version',
    arg: 'version',
    env: 'STEMFORGE_STEMCELL_VERSION',
    stored: false,
    kind: 'string',
    description: 'stemcell version (default: the next of the counter)',
    check: (v, subject) => checkVersion(String(v), subject),
  },
  {
    key: 'agentFile',
    flag: '--agent-file',
    arg: 'file',
    env: 'STEMFORGE_AGENT_FILE',
    stored: false,
    kind: 'string',
    description: 'install this bosh-agent binary',
  },
  {
    key: 'agentUrl',
    flag: '--agent-url',
    arg: 'url',
    env: 'STEMFORGE_AGENT_URL',
    stored: false,
    kind: 'string',
    description: 'download the bosh-agent from this URL (with --agent-sha256)',
    check: (v, subject) => checkUrl(String(v), subject, downloadSchemes),
  },
  {
    key: 'agentSha256',
    flag: '--agent-sha256',
    arg: 'hex',
    env: 'STEMFORGE_AGENT_SHA256',
    stored: false,
    kind: 'string',
    description: 'the sha256 the agent download must have',
    check: (v, subject) => checkSha256(String(v), subject),
  },
  {
    key: 'monitFile',
    flag: '--monit-file',
    arg: 'file',
    env: 'STEMFORGE_MONIT_FILE',
    stored: false,
    kind: 'string',
    description: 'build monit from this source tarball instead of the pinned download',
  },
  {
    key: 'outputDir',
    flag: '--out',
    arg: 'dir',
    env: 'STEMFORGE_OUTPUT_DIR',
    stored: true,
    kind: 'string',
    builtin: (d) => d.outputDir,
    description: 'where stemcells and the OS image are written',
  },
  {
    key: 'cacheDir',
    flag: '--cache-dir',
    arg: 'dir',
    env: 'STEMFORGE_CACHE_DIR',
    stored: true,
    kind: 'string',
    builtin: (d) => d.cacheDir,
    description: "stemforge's local cache of artifacts",
  },
  {
    key: 'osImageMaxAge',
    flag: '--os-image-max-age',
    arg: 'days',
    env: 'STEMFORGE_OS_IMAGE_MAX_AGE',
    stored: true,
    kind: 'integer',
    range: { min: 1, max: 10 * 365 },
    builtin: 7,
    description: 'days a cached OS image is used before it is rebuilt (security updates); not with BUILD_TIME',
  },
  {
    key: 'layerLimit',
    flag: '--layer-limit',
    arg: 'gib',
    env: 'STEMFORGE_LAYER_LIMIT',
    stored: true,
    kind: 'integer',
    range: { min: 1, max: 64 * 1024 },
    builtin: 30,
    description: 'GiB the stage layers may take on the build machine (the least recently used go first)',
  },
  {
    key: 'buildRoot',
    flag: '--build-root',
    arg: 'dir',
    env: 'STEMFORGE_BUILD_ROOT',
    stored: true,
    kind: 'string',
    builtin: defaultBuildRoot,
    check: buildMachineDir,
    description: "stemforge's folder on the build machine",
  },
  {
    key: 'packageCache',
    flag: '--package-cache',
    arg: 'dir',
    env: 'STEMFORGE_PACKAGE_CACHE',
    stored: true,
    kind: 'string',
    builtin: defaultPackageCacheRoot,
    check: buildMachineDir,
    description: 'where the build machine keeps downloaded .deb files',
  },
  {
    key: 'mirror',
    flag: '--mirror',
    arg: 'url',
    env: 'STEMFORGE_MIRROR',
    stored: true,
    kind: 'string',
    check: archiveUrl,
    description: "the Debian/Ubuntu archive to build from (default: the one the build machine's debootstrap uses)",
  },
  {
    key: 'securityMirror',
    flag: '--security-mirror',
    arg: 'url',
    env: 'STEMFORGE_SECURITY_MIRROR',
    stored: true,
    kind: 'string',
    check: archiveUrl,
    description: 'archive of the SUITE-security pocket (default: Ubuntu the archive, Debian its sibling …/debian-security)',
  },
  {
    key: 'snapshotMirror',
    flag: '--snapshot-mirror',
    arg: 'url',
    env: 'STEMFORGE_SNAPSHOT_MIRROR',
    stored: true,
    kind: 'string',
    check: archiveUrl,
    description: 'dated snapshot archive base, used with BUILD_TIME',
  },
  {
    key: 'proxy',
    flag: '--proxy',
    arg: 'url',
    env: 'STEMFORGE_PROXY',
    stored: true,
    kind: 'string',
    check: archiveUrl,
    description: "HTTP proxy for the build machine's downloads (default: http_proxy)",
  },
  {
    key: 'onError',
    flag: '--on-error',
    arg: 'policy',
    env: 'STEMFORGE_ON_ERROR',
    stored: true,
    kind: 'string',
    choices: ['ask', 'abort', 'keep', 'retry'],
    builtin: 'ask',
    description: 'when a stage fails: ask (on a terminal), abort, keep the machine, or retry once',
  },
];

export const storedKeys = optionSpecs.filter((s) => s.stored).map((s) => s.key);

export function optionSpec(key: string): OptionSpec {
  const spec = optionSpecs.find((s) => s.key === key);
  if (!spec) throw new UnknownNameError('setting', key, storedKeys);
  return spec;
}

/**
 * Who a message is about: the flag itself, or the variable or file with the key
 * (`--cpus`, `STEMFORGE_CPUS: cpus`, `./stemforge.json: cpus: cpus`).
 */
function subjectOf(spec: OptionSpec, where: string): string {
  return where === spec.flag ? where : `${where}: ${spec.key}`;
}

/**
 * Turn a raw value (a flag's or variable's text, or a JSON value from a file) into the option's kind, checked.
 * `naming`: how an unknown name is called, by its setting's key (config, settings files) or by
 * what it is (the commands: unknown operating system 'x').
 */
export function parseOptionValue(spec: OptionSpec, raw: unknown, where: string, naming: 'key' | 'noun' = 'key'): SettingValue {
  let value: SettingValue;
  if (spec.kind === 'integer') {
    value = positiveInteger(raw, subjectOf(spec, where), spec.range);
  } else if (spec.kind === 'list') {
    const items = Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? raw.split(',') : undefined;
    if (!items) throw new UsageError(`${where}: ${spec.key} takes a comma-separated list, not ${JSON.stringify(raw)}`);
    value = items.map((s) => s.trim()).filter((s) => s !== '');
    if (value.length === 0) throw new UsageError(`${where}: ${spec.key} is empty`);
  } else {
    if (typeof raw !== 'string' || raw === '') throw new UsageError(`${where}: ${spec.key} takes a text value, not ${JSON.stringify(raw)}`);
    value = raw;
  }
  if (spec.choices) {
    const noun = naming === 'noun' ? (spec.noun ?? spec.key) : spec.key;
    for (const item of Array.isArray(value) ? value : [String(value)]) {
      if (!spec.choices.includes(item)) throw new UsageError(`${where}: unknown ${noun} '${item}'; valid choices: ${spec.choices.join(', ')}`);
    }
  }
  spec.check?.(value, subjectOf(spec, where));
  return value;
}

/** The settings' JSON schema, for conf's validation of the user settings file. */
export function settingsSchema(): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const spec of optionSpecs.filter((s) => s.stored)) {
    if (spec.kind === 'integer') properties[spec.key] = { type: 'integer', minimum: spec.range?.min ?? 1, maximum: spec.range?.max ?? Number.MAX_SAFE_INTEGER };
    else if (spec.kind === 'list') properties[spec.key] = { type: 'array', items: spec.choices ? { enum: spec.choices } : { type: 'string' }, minItems: 1 };
    else properties[spec.key] = spec.choices ? { enum: spec.choices } : { type: 'string', minLength: 1 };
  }
  return properties;
}

/** What a setting is when nobody says otherwise. Directories depend on the user's paths, so the caller passes them. */
export function builtinValue(spec: OptionSpec, dirs: BuiltinDirs): SettingValue | undefined {
  return typeof spec.builtin === 'function' ? spec.builtin(dirs) : spec.builtin;
}
