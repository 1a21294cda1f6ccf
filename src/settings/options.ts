// Every answer `stemforge build` needs, as data: its flag, its environment variable,
// whether a settings file may hold it, and how a value is checked. The wizard, the flags,
// `config` and the resolver all read this one table.
import { defaultProvider, defaultVmSize, vagrantProviders } from '../catalog/builder-vm.js';
import { infrastructures } from '../catalog/infrastructures.js';
import { operatingSystems } from '../catalog/operating-systems.js';
import { versionPattern } from '../stemcell/naming.js';
import { UnknownNameError, UsageError } from '../util/errors.js';

export type SettingValue = string | number | string[];

export interface OptionSpec {
  /** the key in stemforge.json and the user settings */
  key: string;
  /** the command-line flag */
  flag: string;
  env: string;
  description: string;
  /** may be kept in the user settings and the project file; the rest are flags and env only */
  stored: boolean;
  kind: 'string' | 'integer' | 'list';
  /** the valid names, when the value is one of a fixed set */
  choices?: readonly string[];
  /** check a value already of the right kind; throw UsageError naming `where` */
  check?: (value: SettingValue, where: string) => void;
  /** the built-in default, when there is one */
  builtin?: SettingValue | ((dirs: BuiltinDirs) => SettingValue);
}

export interface BuiltinDirs {
  cacheDir: string;
  outputDir: string;
}

const osNames = operatingSystems.map((o) => o.name);
const iaasNames = infrastructures.map((i) => i.name);

function checkUrl(value: SettingValue, where: string): void {
  const v = String(value);
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new UsageError(`${where}: '${v}' is not a URL`);
  }
  if (!['http:', 'https:', 'ftp:', 'file:'].includes(url.protocol)) throw new UsageError(`${where}: '${v}': the scheme must be http, https, ftp or file`);
  if (/\s/.test(v)) throw new UsageError(`${where}: '${v}' contains white space`);
}

function checkMachine(value: SettingValue, where: string): void {
  const v = String(value);
  if (v === 'local' || v === 'vagrant' || v.startsWith('ssh://')) return;
  if (v.startsWith('vagrant:') && (vagrantProviders as readonly string[]).includes(v.slice(8))) return;
  throw new UsageError(
    `${where}: '${v}' is not a machine; valid forms: vagrant, ${vagrantProviders.map((p) => `vagrant:${p}`).join(', ')}, local, ssh://user@host[:port]`,
  );
}

export const optionSpecs: readonly OptionSpec[] = [
  { key: 'iaas', flag: '--iaas', env: 'STEMFORGE_IAAS', stored: true, kind: 'list', choices: iaasNames, description: 'infrastructure(s), comma-separated' },
  {
    key: 'hypervisor',
    flag: '--hypervisor',
    env: 'STEMFORGE_HYPERVISOR',
    stored: false,
    kind: 'string',
    description: "the infrastructure's hypervisor, where it has a choice",
  },
  {
    key: 'diskFormat',
    flag: '--disk-format',
    env: 'STEMFORGE_DISK_FORMAT',
    stored: false,
    kind: 'string',
    description: 'disk format, where the infrastructure has several',
  },
  { key: 'os', flag: '--os', env: 'STEMFORGE_OS', stored: true, kind: 'string', choices: osNames, description: 'operating system line' },
  {
    key: 'machine',
    flag: '--machine',
    env: 'STEMFORGE_MACHINE',
    stored: true,
    kind: 'string',
    check: checkMachine,
    builtin: 'vagrant',
    description: 'build machine: vagrant[:PROVIDER], local or ssh://user@host[:port]',
  },
  {
    key: 'provider',
    flag: '--provider',
    env: 'STEMFORGE_PROVIDER',
    stored: true,
    kind: 'string',
    choices: vagrantProviders,
    builtin: defaultProvider,
    description: 'Vagrant provider for --machine vagrant',
  },
  { key: 'cpus', flag: '--cpus', env: 'STEMFORGE_CPUS', stored: true, kind: 'integer', builtin: defaultVmSize.cpus, description: "the builder VM's CPUs" },
  {
    key: 'memory',
    flag: '--memory',
    env: 'STEMFORGE_MEMORY',
    stored: true,
    kind: 'integer',
    builtin: defaultVmSize.memoryMiB,
    description: "the builder VM's memory in MiB",
  },
  {
    key: 'diskSize',
    flag: '--disk-size',
    env: 'STEMFORGE_DISK_SIZE',
    stored: true,
    kind: 'integer',
    builtin: defaultVmSize.diskGiB,
    description: "the builder VM's disk in GiB",
  },
  {
    key: 'version',
    flag: '--version',
    env: 'STEMFORGE_STEMCELL_VERSION',
    stored: false,
    kind: 'string',
    description: 'stemcell version (default: the next of the counter)',
    check: (v, where) => {
      const s = String(v);
      if (!versionPattern.test(s)) throw new UsageError(`${where}: '${s}' is not digits and dots (e.g. 1.622)`);
    },
  },
  { key: 'agentFile', flag: '--agent-file', env: 'STEMFORGE_AGENT_FILE', stored: false, kind: 'string', description: 'install this bosh-agent binary' },
  {
    key: 'agentUrl',
    flag: '--agent-url',
    env: 'STEMFORGE_AGENT_URL',
    stored: false,
    kind: 'string',
    check: checkUrl,
    description: 'download the bosh-agent from this URL (with --agent-sha256)',
  },
  {
    key: 'agentSha256',
    flag: '--agent-sha256',
    env: 'STEMFORGE_AGENT_SHA256',
    stored: false,
    kind: 'string',
    description: 'the sha256 the agent download must have',
    check: (v, where) => {
      const s = String(v);
      if (!/^[0-9a-f]{64}$/.test(s)) throw new UsageError(`${where}: '${s}' is not 64 lowercase hex digits`);
    },
  },
  {
    key: 'monitFile',
    flag: '--monit-file',
    env: 'STEMFORGE_MONIT_FILE',
    stored: false,
    kind: 'string',
    description: 'build monit from this source tarball instead of the pinned download',
  },
  {
    key: 'outputDir',
    flag: '--out',
    env: 'STEMFORGE_OUTPUT_DIR',
    stored: true,
    kind: 'string',
    builtin: (d) => d.outputDir,
    description: 'where stemcells and the OS image are written',
  },
  {
    key: 'cacheDir',
    flag: '--cache-dir',
    env: 'STEMFORGE_CACHE_DIR',
    stored: true,
    kind: 'string',
    builtin: (d) => d.cacheDir,
    description: "stemforge's local cache of artifacts",
  },
  {
    key: 'osImageMaxAge',
    flag: '--os-image-max-age',
    env: 'STEMFORGE_OS_IMAGE_MAX_AGE',
    stored: true,
    kind: 'integer',
    builtin: 7,
    description: 'days a cached OS image is used before it is rebuilt (security updates); not with BUILD_TIME',
  },
  {
    key: 'layerLimit',
    flag: '--layer-limit',
    env: 'STEMFORGE_LAYER_LIMIT',
    stored: true,
    kind: 'integer',
    builtin: 30,
    description: 'GiB the stage layers may take on the build machine (the least recently used go first)',
  },
  {
    key: 'mirror',
    flag: '--mirror',
    env: 'STEMFORGE_MIRROR',
    stored: true,
    kind: 'string',
    check: checkUrl,
    description: 'the Debian/Ubuntu archive to build from',
  },
  {
    key: 'proxy',
    flag: '--proxy',
    env: 'STEMFORGE_PROXY',
    stored: true,
    kind: 'string',
    check: checkUrl,
    description: "HTTP proxy for the build machine's downloads (default: http_proxy)",
  },
  {
    key: 'onError',
    flag: '--on-error',
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

/** Turn a raw value (a flag's or variable's text, or a JSON value from a file) into the option's kind, checked. */
export function parseOptionValue(spec: OptionSpec, raw: unknown, where: string): SettingValue {
  let value: SettingValue;
  if (spec.kind === 'integer') {
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${where}: ${spec.key} takes a whole number above 0, not '${String(raw)}'`);
    value = n;
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
    for (const item of Array.isArray(value) ? value : [String(value)]) {
      if (!spec.choices.includes(item)) throw new UsageError(`${where}: unknown ${spec.key} '${item}'; valid choices: ${spec.choices.join(', ')}`);
    }
  }
  spec.check?.(value, where);
  return value;
}

/** The settings' JSON schema, for conf's validation of the user settings file. */
export function settingsSchema(): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const spec of optionSpecs.filter((s) => s.stored)) {
    if (spec.kind === 'integer') properties[spec.key] = { type: 'integer', minimum: 1 };
    else if (spec.kind === 'list') properties[spec.key] = { type: 'array', items: spec.choices ? { enum: spec.choices } : { type: 'string' }, minItems: 1 };
    else properties[spec.key] = spec.choices ? { enum: spec.choices } : { type: 'string', minLength: 1 };
  }
  return properties;
}

/** What a setting is when nobody says otherwise. Directories depend on the user's paths, so the caller passes them. */
export function builtinValue(spec: OptionSpec, dirs: BuiltinDirs): SettingValue | undefined {
  return typeof spec.builtin === 'function' ? spec.builtin(dirs) : spec.builtin;
}
