// Settings: precedence flag > env > stemforge.json > user settings > built-in, checked
// values, the settings file's mode, and the version counter across processes.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { optionSpec, parseOptionValue } from '../../src/settings/options.js';
import { readProjectFile } from '../../src/settings/project-file.js';
import { resolveSetting, type SettingSources } from '../../src/settings/resolve.js';
import { openSettings } from '../../src/settings/store.js';
import { bumpVersion, VersionCounter } from '../../src/settings/versions.js';
import { compareVersions } from '../../src/util/dotted-version.js';
import { UsageError } from '../../src/util/errors.js';

const run = promisify(execFile);
const dirs = { cacheDir: '/cache', outputDir: 'out' };

function sources(over: Partial<SettingSources>): SettingSources {
  return { flags: {}, env: {}, dirs, ...over };
}

describe('setting precedence', () => {
  const all = sources({
    flags: { cpus: '8' },
    env: { STEMFORGE_CPUS: '6' },
    project: { path: '/p/stemforge.json', values: { cpus: 4 } },
    user: { path: '/u/settings.json', values: { cpus: 3 } },
  });
  it('a flag beats everything', () => {
    assert.deepEqual(resolveSetting(optionSpec('cpus'), all), { key: 'cpus', value: 8, source: 'flag', origin: '--cpus' });
  });
  it('then the environment', () => {
    const r = resolveSetting(optionSpec('cpus'), { ...all, flags: {} });
    assert.deepEqual([r.value, r.source, r.origin], [6, 'env', 'STEMFORGE_CPUS']);
  });
  it('then the project file, then the user settings, then the built-in', () => {
    assert.deepEqual(resolveSetting(optionSpec('cpus'), { ...all, flags: {}, env: {} }).source, 'project');
    assert.deepEqual(resolveSetting(optionSpec('cpus'), { ...all, flags: {}, env: {}, project: undefined }).value, 3);
    const builtin = resolveSetting(optionSpec('cpus'), sources({}));
    assert.deepEqual([builtin.value, builtin.source], [2, 'built-in']);
    assert.equal(resolveSetting(optionSpec('cacheDir'), sources({})).value, '/cache');
  });
  it('an empty variable counts as unset', () => {
    assert.equal(resolveSetting(optionSpec('os'), sources({ env: { STEMFORGE_OS: '' } })).source, 'unset');
  });
  it('answers that are not settings ignore the files', () => {
    const r = resolveSetting(optionSpec('version'), sources({ user: { path: '/u', values: { version: '9' } } }));
    assert.equal(r.source, 'unset');
  });
  it("the flag name maps to commander's attribute (--out → outputDir, --disk-size → diskSize)", () => {
    assert.equal(resolveSetting(optionSpec('outputDir'), sources({ flags: { out: 'x' } })).value, 'x');
    assert.equal(resolveSetting(optionSpec('diskSize'), sources({ flags: { diskSize: '60' } })).value, 60);
  });
});

describe('checked values', () => {
  it('unknown names list the valid choices, naming where they came from', () => {
    assert.throws(
      () => resolveSetting(optionSpec('os'), sources({ env: { STEMFORGE_OS: 'ubuntu-bionic' } })),
      (e: unknown) =>
        e instanceof UsageError && /STEMFORGE_OS: unknown os 'ubuntu-bionic'; valid choices: ubuntu-jammy, ubuntu-noble, debian-bookworm/.test(e.message),
    );
    assert.throws(() => parseOptionValue(optionSpec('iaas'), 'aws,nimbus', '--iaas'), /unknown iaas 'nimbus'; valid choices: aws/);
    assert.throws(() => parseOptionValue(optionSpec('cpus'), '0', '--cpus'), /whole number from 1 to 256/);
    assert.throws(() => parseOptionValue(optionSpec('machine'), 'vagrant:qemu', '--machine'), /valid forms: vagrant, vagrant:virtualbox/);
    assert.throws(() => parseOptionValue(optionSpec('mirror'), 'gopher://x', '--mirror'), /scheme/);
    assert.deepEqual(parseOptionValue(optionSpec('iaas'), ' aws, warden ,', '--iaas'), ['aws', 'warden']);
  });
  it('stemforge.json: unknown keys and bad values are refused with the file named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sf-project-'));
    writeFileSync(join(dir, 'stemforge.json'), JSON.stringify({ os: 'debian-bookworm', iaas: ['aws'], cpus: 4 }));
    assert.deepEqual(readProjectFile(dir)?.values, { os: 'debian-bookworm', iaas: ['aws'], cpus: 4 });
    writeFileSync(join(dir, 'stemforge.json'), JSON.stringify({ version: '1.0' }));
    assert.throws(() => readProjectFile(dir), /unknown setting in .*stemforge\.json: 'version'; valid choices: iaas, os/);
    writeFileSync(join(dir, 'stemforge.json'), JSON.stringify({ cpus: 'many' }));
    assert.throws(() => readProjectFile(dir), /stemforge\.json: cpus: cpus takes a whole number/);
    writeFileSync(join(dir, 'stemforge.json'), '{');
    assert.throws(() => readProjectFile(dir), /not valid JSON/);
    assert.equal(readProjectFile(mkdtempSync(join(tmpdir(), 'sf-empty-'))), undefined);
  });
});

describe('the user settings file', () => {
  it('is 0600, and a value its schema refuses is an error naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sf-conf-'));
    const store = openSettings({ STEMFORGE_CONFIG_DIR: dir });
    store.set('cpus', 4);
    assert.equal(statSync(store.path).mode & 0o777, 0o600);
    assert.throws(() => store.set('cpus', 0), /cpus/);
    writeFileSync(store.path, JSON.stringify({ provider: 'qemu' }));
    assert.throws(
      () => openSettings({ STEMFORGE_CONFIG_DIR: dir }),
      (e: unknown) => e instanceof Error && e.message.includes(dir) && /provider/.test(e.message),
    );
  });
});

describe('the version counter', () => {
  it('bumps the last number and compares numerically', () => {
    assert.equal(bumpVersion('1.9'), '1.10');
    assert.equal(bumpVersion('7'), '8');
    assert.equal(compareVersions('1.10', '1.9'), 1);
    assert.equal(compareVersions('1.0', '1'), 0);
  });
  it('proposes 0.1 first, then one past the highest of the infrastructures built', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sf-versions-'));
    const counter = new VersionCounter(openSettings({ STEMFORGE_CONFIG_DIR: dir }));
    assert.equal(counter.next('debian-bookworm', ['aws']), '0.1');
    await counter.record('debian-bookworm', 'aws', '1.4');
    await counter.record('debian-bookworm', 'warden', '1.9');
    await counter.record('debian-bookworm', 'aws', '1.2'); // never down
    assert.equal(counter.last('debian-bookworm', 'aws'), '1.4');
    assert.equal(counter.next('debian-bookworm', ['aws', 'warden']), '1.10');
    await counter.set('debian-bookworm', 'aws', '1.1'); // by hand, down too
    assert.equal(counter.next('debian-bookworm', ['aws']), '1.2');
  });
  it('persists across processes, and parallel writers lose nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sf-versions-'));
    const moduleUrl = new URL('../../src/settings/versions.js', import.meta.url).href;
    const storeUrl = new URL('../../src/settings/store.js', import.meta.url).href;
    const script = (iaas: string, version: string): string =>
      `const { VersionCounter } = await import(${JSON.stringify(moduleUrl)}); const { openSettings } = await import(${JSON.stringify(storeUrl)});` +
      `await new VersionCounter(openSettings({ STEMFORGE_CONFIG_DIR: ${JSON.stringify(dir)} })).record('debian-bookworm', ${JSON.stringify(iaas)}, ${JSON.stringify(version)});`;
    const infrastructures = ['aws', 'azure', 'google', 'openstack', 'vsphere', 'warden', 'alicloud', 'vcloud'];
    await Promise.all(infrastructures.map((iaas, i) => run(process.execPath, ['--input-type=module', '-e', script(iaas, `3.${i}`)])));
    const counter = new VersionCounter(openSettings({ STEMFORGE_CONFIG_DIR: dir }));
    for (const [i, iaas] of infrastructures.entries()) assert.equal(counter.last('debian-bookworm', iaas), `3.${i}`, iaas);
    const stored = JSON.parse(readFileSync(join(dir, 'settings.json'), 'utf8')) as { versions: Record<string, string> };
    assert.equal(stored.versions['debian-bookworm/aws'], '3.0');
  });
});
