// The option table is the one source of every command's setting flags: each command's flags,
// variables, stemforge.json keys and user settings resolve the same way, and one value is
// checked by one function, whichever command reads it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Command } from 'commander';
import { doctorRequest } from '../../src/cli/doctor-command.js';
import { buildProgram, osImageRequest } from '../../src/cli/main.js';
import { isSettingOption, settingKeys } from '../../src/cli/setting-options.js';
import { stemcellRequest } from '../../src/cli/stemcell-command.js';
import { builderOptions } from '../../src/cli/vm-command.js';
import { resolveCommandSettings } from '../../src/settings/sources.js';
import { optionSpecs } from '../../src/settings/options.js';
import type { SettingSources } from '../../src/settings/resolve.js';
import { packageRoot } from '../../src/util/paths.js';

const dirs = { cacheDir: '/cache', outputDir: 'out' };
const sources = (over: Partial<SettingSources>): SettingSources => ({ flags: {}, env: {}, dirs, ...over });

const program = (onExit: (code: number) => void = () => {}): Command => buildProgram(['node', 'stemforge'], onExit, new AbortController().signal);

/** Every command and subcommand with its path: [['vm', 'up'], command], … */
function commands(root: Command): [string[], Command][] {
  const walk = (c: Command, path: string[]): [string[], Command][] => [[path, c], ...c.commands.flatMap((s) => walk(s, [...path, s.name()]))];
  return walk(root, []).filter(([path]) => path.length > 0);
}

const find = (root: Command, path: string): Command => commands(root).find(([p]) => p.join(' ') === path)![1];
const keysOf = (path: string): string[] => settingKeys(find(program(), path));

/** Flags that share a setting's spelling but mean something else on that command. */
const notSettings: Record<string, string[]> = {
  // os-image --out names the OS image file, not the output folder
  'os-image': ['--out'],
};

describe("the option table makes every command's setting flags", () => {
  it("each flag spelled like a setting is the table's option, with its variable and key in the help", () => {
    const flags = new Map(optionSpecs.map((s) => [s.flag, s]));
    let seen = 0;
    for (const [path, command] of commands(program())) {
      for (const option of command.options) {
        const spec = option.long ? flags.get(option.long) : undefined;
        if (!spec || notSettings[path.join(' ')]?.includes(option.long!)) continue;
        seen++;
        assert.ok(isSettingOption(option), `${path.join(' ')} ${option.long} is declared by hand`);
        assert.equal(option.flags, `${spec.flag} <${spec.arg}>`);
        assert.ok(
          option.description.endsWith(`[env ${spec.env}${spec.stored ? `; setting ${spec.key}` : ''}]`),
          `${path.join(' ')} ${option.long}: ${option.description}`,
        );
        assert.equal(option.defaultValue, undefined, 'no commander default: the resolver gives the built-in one last');
      }
    }
    assert.ok(seen > 100, `${seen} setting flags`);
  });

  it('the build commands, doctor and vm take the settings they act on', () => {
    const machine = ['machine', 'provider', 'identity', 'knownHosts', 'hostKey'];
    const stages = [
      'buildRoot',
      'packageCache',
      'mirror',
      'securityMirror',
      'snapshotMirror',
      'proxy',
      'layerLimit',
      'cpus',
      'memory',
      'diskSize',
      'box',
      'libvirtDriver',
      'vmTimeout',
    ];
    assert.deepEqual(keysOf('build').sort(), optionSpecs.map((s) => s.key).sort());
    for (const key of [...machine, ...stages, 'os', 'monitFile', 'cacheDir', 'osImageMaxAge']) assert.ok(keysOf('os-image').includes(key), `os-image ${key}`);
    for (const key of [...machine, ...stages, 'iaas', 'os', 'version', 'agentFile', 'agentUrl', 'agentSha256', 'outputDir'])
      assert.ok(keysOf('stemcell').includes(key), `stemcell ${key}`);
    for (const key of [...machine, 'cpus', 'memory', 'cacheDir', 'outputDir']) assert.ok(keysOf('doctor').includes(key), `doctor ${key}`);
    for (const key of ['provider', 'cpus', 'memory', 'diskSize', 'box', 'libvirtDriver', 'vmTimeout', 'proxy'])
      assert.ok(keysOf('vm up').includes(key), `vm up ${key}`);
    assert.deepEqual(keysOf('vm status'), ['provider']);
    assert.deepEqual(keysOf('cache ls'), ['cacheDir']);
  });
});

describe('every build command resolves a setting the same way', () => {
  // a stand-in OS image: a gzip tar with the one file stemcell reads to learn its line
  const osImage = join(mkdtempSync(join(tmpdir(), 'sf-options-')), 'os-image.tgz');
  before(() => {
    const root = mkdtempSync(join(tmpdir(), 'sf-options-root-'));
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'etc', 'os-release'), 'ID=debian\nVERSION_CODENAME=bookworm\n');
    execFileSync('tar', ['-czf', osImage, '-C', root, './etc/os-release']);
  });

  it("STEMFORGE_MIRROR and stemforge.json's mirror reach os-image and stemcell as they reach build", async () => {
    const env = { STEMFORGE_MIRROR: 'http://env.example/debian', STEMFORGE_OS: 'debian-bookworm', STEMFORGE_IAAS: 'aws', STEMFORGE_STEMCELL_VERSION: '1.2' };
    const project = {
      path: '/p/stemforge.json',
      values: { mirror: 'http://project.example/debian', proxy: 'http://proxy.example:3128', buildRoot: '/srv/sf' },
    };
    for (const command of ['build', 'os-image', 'stemcell']) {
      const fromEnv = resolveCommandSettings(keysOf(command), sources({ env, project }));
      assert.equal(fromEnv.string('mirror'), 'http://env.example/debian', command);
      const fromFile = resolveCommandSettings(keysOf(command), sources({ env: { ...env, STEMFORGE_MIRROR: undefined }, project }));
      assert.equal(fromFile.string('mirror'), 'http://project.example/debian', command);
      assert.equal(fromFile.resolved.get('mirror')!.origin, '/p/stemforge.json');
    }
    const settings = (command: string) => resolveCommandSettings(keysOf(command), sources({ env: { ...env, STEMFORGE_MIRROR: undefined }, project }));
    const image = osImageRequest({}, settings('os-image'), {});
    assert.equal(image.mirror, 'http://project.example/debian');
    assert.equal(image.os, 'debian-bookworm');
    assert.equal(image.buildRoot, '/srv/sf');
    assert.deepEqual(image.stageEnv, { http_proxy: 'http://proxy.example:3128', https_proxy: 'http://proxy.example:3128' });
    const stemcell = await stemcellRequest({ osImage }, settings('stemcell'), {});
    assert.deepEqual(
      [stemcell.mirror, stemcell.iaas, stemcell.version, stemcell.os.name, stemcell.buildRoot],
      ['http://project.example/debian', ['aws'], '1.2', 'debian-bookworm', '/srv/sf'],
    );
  });

  it('stemcell takes the OS line from the image, not from a variable or a stored default: only --os overrides it', async () => {
    const env = { STEMFORGE_OS: 'ubuntu-jammy', STEMFORGE_IAAS: 'aws', STEMFORGE_STEMCELL_VERSION: '1.2' };
    const user = { path: '/u/settings.json', values: { os: 'ubuntu-noble' } };
    const fromImage = await stemcellRequest({ osImage }, resolveCommandSettings(keysOf('stemcell'), sources({ env, user })), {});
    assert.equal(fromImage.os.name, 'debian-bookworm');
    const flagged = await stemcellRequest({ osImage }, resolveCommandSettings(keysOf('stemcell'), sources({ env, user, flags: { os: 'ubuntu-jammy' } })), {});
    assert.equal(flagged.os.name, 'ubuntu-jammy');
  });

  it('the provider setting picks the Vagrant provider of --machine vagrant, and sizes only when chosen', () => {
    const user = { path: '/u/settings.json', values: { provider: 'libvirt', memory: 8192 } };
    const image = osImageRequest({}, resolveCommandSettings(keysOf('os-image'), sources({ flags: { os: 'ubuntu-jammy' }, user })), {});
    assert.deepEqual(image.machine, { kind: 'vagrant', provider: 'libvirt' });
    assert.equal(image.vm.memoryMiB, 8192);
    assert.equal(image.vm.cpus, undefined, 'a size nobody chose keeps what the VM was made with');
    const vm = builderOptions(resolveCommandSettings(keysOf('vm up'), sources({ user })));
    assert.deepEqual([vm.provider, vm.memoryMiB, vm.cpus], ['libvirt', 8192, undefined]);
  });

  it('a missing required setting names its flag, variable and key', () => {
    assert.throws(
      () => osImageRequest({}, resolveCommandSettings(keysOf('os-image'), sources({})), {}),
      /missing --os \(or set STEMFORGE_OS, "os" in \.\/stemforge\.json, or `stemforge config set os …`\): required option '--os <name>' not specified/,
    );
  });
});

describe('doctor reads the settings as the build does', () => {
  it('STEMFORGE_PROVIDER, and cpus and memory from the settings files', () => {
    const settings = resolveCommandSettings(
      keysOf('doctor'),
      sources({
        env: { STEMFORGE_PROVIDER: 'libvirt' },
        project: { path: '/p/stemforge.json', values: { cpus: 6 } },
        user: { path: '/u/settings.json', values: { memory: 12288, cacheDir: '/var/cache/sf' } },
      }),
    );
    const request = doctorRequest(settings);
    assert.deepEqual(request.machine, { kind: 'vagrant', provider: 'libvirt' });
    assert.deepEqual(request.vm, { cpus: 6, memoryMiB: 12288 });
    assert.equal(request.cacheDir, '/var/cache/sf');
  });

  it('flags beat the variables, and the built-in size is the default', () => {
    const request = doctorRequest(
      resolveCommandSettings(
        keysOf('doctor'),
        sources({ flags: { machine: 'vagrant:parallels', cpus: '3' }, env: { STEMFORGE_PROVIDER: 'libvirt', STEMFORGE_CPUS: '9' } }),
      ),
    );
    assert.deepEqual(request.machine, { kind: 'vagrant', provider: 'parallels' });
    assert.deepEqual(request.vm, { cpus: 3, memoryMiB: 4096 });
  });
});

describe('an invalid value gets the same message from every command', () => {
  const saved = { ...process.env };
  before(() => {
    // the commands read the user settings and the cache folder of this process: an empty, private one
    const home = mkdtempSync(join(tmpdir(), 'sf-option-table-'));
    process.env.STEMFORGE_CONFIG_DIR = join(home, 'config');
    process.env.XDG_CACHE_HOME = join(home, 'cache');
    process.env.CI = 'true';
    for (const name of Object.keys(process.env)) if (name.startsWith('STEMFORGE_') && name !== 'STEMFORGE_CONFIG_DIR') delete process.env[name];
  });
  after(() => {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  });

  /** Run the real program in this process; the usage error's line on stderr. */
  async function usageLine(args: string[], env: Record<string, string> = {}): Promise<{ code: number; line: string }> {
    let code = 0;
    const err: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    Object.assign(process.env, env);
    process.stderr.write = ((chunk: string) => (err.push(chunk), true)) as typeof process.stderr.write;
    try {
      await program((c) => (code = c)).parseAsync(['node', 'stemforge', ...args]);
    } finally {
      process.stderr.write = write;
      for (const name of Object.keys(env)) delete process.env[name];
    }
    return { code, line: err.join('').trim() };
  }

  const image = join(packageRoot, 'package.json');
  const base: Record<string, string[]> = {
    build: ['build', '--yes', '--iaas', 'aws', '--os', 'debian-bookworm', '--dry-run'],
    'os-image': ['os-image', '--os', 'debian-bookworm', '--out', 'os-image.tgz', '--dry-run'],
    stemcell: ['stemcell', '--iaas', 'aws', '--os', 'debian-bookworm', '--version', '1.0', '--os-image', image, '--dry-run'],
    doctor: ['doctor'],
    'vm up': ['vm', 'up'],
  };
  const cases: { what: string; args: string[]; env?: Record<string, string>; message: string; commands: string[] }[] = [
    {
      what: 'a flag that is no positive integer',
      args: ['--cpus', 'two'],
      message: "--cpus takes a whole number from 1 to 256, not 'two'",
      commands: ['build', 'os-image', 'stemcell', 'doctor', 'vm up'],
    },
    {
      what: 'a variable that is no positive integer',
      args: [],
      env: { STEMFORGE_MEMORY: '4G' },
      message: "STEMFORGE_MEMORY: memory takes a whole number from 2048 to 4194304, not '4G'",
      commands: ['build', 'os-image', 'stemcell', 'doctor', 'vm up'],
    },
    {
      what: 'a mirror that is no archive URL',
      args: [],
      env: { STEMFORGE_MIRROR: 'gopher://x' },
      message: "STEMFORGE_MIRROR: mirror 'gopher://x': the scheme must be http, https, ftp or file",
      commands: ['build', 'os-image', 'stemcell'],
    },
    {
      what: 'a machine that is none',
      args: ['--machine', 'docker'],
      message: "--machine 'docker' is not a machine; valid forms: vagrant[:PROVIDER], local, ssh://user@host[:port]",
      commands: ['build', 'os-image', 'stemcell', 'doctor'],
    },
    {
      what: 'an ssh address with a path',
      args: [],
      env: { STEMFORGE_MACHINE: 'ssh://root@host/x' },
      message: 'STEMFORGE_MACHINE: machine ssh://root@host/x: an ssh:// address takes no path',
      commands: ['build', 'os-image', 'stemcell', 'doctor'],
    },
    {
      what: 'an unknown provider',
      args: ['--provider', 'qemu'],
      message: "--provider: unknown provider 'qemu'; valid choices: virtualbox, libvirt, parallels, vmware_desktop, hyperv",
      commands: ['build', 'os-image', 'stemcell', 'doctor', 'vm up'],
    },
    {
      what: 'a relative build root',
      args: [],
      env: { STEMFORGE_BUILD_ROOT: 'build' },
      message: "STEMFORGE_BUILD_ROOT: buildRoot must be an absolute path on the build machine, not 'build'",
      commands: ['build', 'os-image', 'stemcell'],
    },
  ];
  for (const c of cases) {
    it(c.what, async () => {
      for (const command of c.commands) {
        const r = await usageLine([...base[command]!, ...c.args], c.env);
        assert.equal(r.code, 2, `${command}: ${r.line}`);
        assert.equal(r.line, `stemforge: error: ${c.message}`, command);
      }
    });
  }

  it('the agent: a digest that is not one, and the rules between the three flags', async () => {
    for (const command of ['build', 'stemcell']) {
      const sha = await usageLine([...base[command]!, '--agent-url', 'https://example.invalid/agent', '--agent-sha256', 'ABC']);
      assert.equal(sha.line, "stemforge: error: --agent-sha256 'ABC' is not 64 lowercase hex digits", command);
      const url = await usageLine([...base[command]!, '--agent-url', 'ftp://example.invalid/agent', '--agent-sha256', 'a'.repeat(64)]);
      assert.equal(url.line, "stemforge: error: --agent-url 'ftp://example.invalid/agent': the scheme must be http or https", command);
      const alone = await usageLine([...base[command]!, '--agent-url', 'https://example.invalid/agent']);
      assert.match(alone.line, /--agent-url needs --agent-sha256/, command);
    }
  });
});

/** The README's settings table, rendered from the table and the commands that take each setting. */
function readmeRows(): string[] {
  const all = commands(program());
  return optionSpecs.map((spec) => {
    const takers = all.filter(([, c]) => settingKeys(c).includes(spec.key)).map(([p]) => p);
    const names: string[] = [];
    for (const path of takers) {
      const parent = all.find(([p]) => p.join(' ') === path[0])![1];
      const everySub = parent.commands.length > 0 && parent.commands.every((s) => settingKeys(s).includes(spec.key));
      const name = path.length > 1 && everySub ? `${path[0]} …` : path.join(' ');
      if (!names.includes(name)) names.push(name);
    }
    return `| \`${spec.key}\` | \`${spec.flag}\` | \`${spec.env}\` | ${spec.stored ? 'yes' : ''} | ${names.join(', ')} |`;
  });
}

describe('the README', () => {
  it('lists every setting with its flag, variable, file and commands as the table says', () => {
    const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8');
    for (const row of readmeRows()) assert.ok(readme.includes(`${row}\n`), `README.md lacks the row\n${row}`);
  });
});

// Rendering the rows for the README by hand: STEMFORGE_PRINT_README_ROWS=1 node --test dist/test/unit/option-table.test.js
if (process.env.STEMFORGE_PRINT_README_ROWS) writeFileSync(1, `${readmeRows().join('\n')}\n`);
