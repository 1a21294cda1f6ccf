// Layer keys and the settings each stage reads, on the real stages of the checkout.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findOperatingSystem, planOsImage, planStemcell } from '../../src/catalog/planner.js';
import { layerKeys } from '../../src/pipeline/layers.js';
import { osImageSettings } from '../../src/pipeline/settings-file.js';
import { StageReads } from '../../src/pipeline/stage-reads.js';
import { treeManifest, type TreeManifest } from '../../src/sync/tree-manifest.js';
import { builderFolders, packageRoot } from '../../src/util/paths.js';

const reads = new StageReads();
const tree = await treeManifest(packageRoot, builderFolders);
const stages = planStemcell({ os: 'debian-bookworm', iaas: 'aws' }).phases.flatMap((p) => p.stages);
const settings = {
  os_suite: 'bookworm',
  os_image_tgz: '/x/os-image-1.tgz',
  kernel_packages: 'linux-image-amd64',
  agent_json: '{"aws":1}',
  stemcell_version: '1.0',
  mirror: '',
};

describe('settings a stage reads', () => {
  it('come from its own scripts and the library files it calls, not from programs the runner starts', () => {
    assert.ok(reads.settingsFor('untar_base_os_image', Object.keys(settings)).includes('os_image_tgz'));
    assert.ok(!reads.settingsFor('untar_base_os_image', Object.keys(settings)).includes('agent_json'));
    assert.ok(reads.settingsFor('system_kernel', Object.keys(settings)).includes('kernel_packages'));
    assert.ok(reads.settingsFor('bosh_go_agent', Object.keys(settings)).includes('agent_json'));
    const library = reads.libraryFor('bosh_go_agent');
    for (const core of ['prelude.bash', 'helpers.bash', 'chroot.bash', 'emulation.bash']) assert.ok(library.includes(core), core);
    for (const program of ['layers.bash', 'stage-job.bash', 'release-mounts.bash']) assert.ok(!library.includes(program), program);
  });
});

describe('layer keys of an image of another architecture', () => {
  it('every stage reads the architecture: no layer of an amd64 image is ever an arm64 one', () => {
    const osStages = planOsImage({ os: 'debian-bookworm' }).phases[0]!.stages;
    const amd64 = osImageSettings({
      os: findOperatingSystem('debian-bookworm'),
      stemforgeVersion: '0',
      usersPassword: 'x',
      packageCacheRoot: '/c',
      buildRoot: '/b',
    });
    const arm64 = osImageSettings({
      os: planOsImage({ os: 'debian-bookworm', arch: 'arm64' }).os,
      stemforgeVersion: '0',
      usersPassword: 'x',
      packageCacheRoot: '/c',
      buildRoot: '/b',
    });
    const a = layerKeys({ phase: 'os-image' }, osStages, tree, amd64, reads);
    const b = layerKeys({ phase: 'os-image' }, osStages, tree, arm64, reads);
    for (const stage of osStages) assert.ok(reads.settingsFor(stage, ['os_arch', 'target_elf_machine']).length === 2, stage);
    assert.ok(a.every((k, i) => k !== b[i]));
  });
});

describe('layer keys', () => {
  const keys = layerKeys({ phase: 'stemcell', osImage: 'a'.repeat(64) }, stages, tree, settings, reads);
  it('one short key per stage', () => {
    assert.equal(keys.length, stages.length);
    assert.ok(keys.every((k) => /^[0-9a-f]{32}$/.test(k)));
    assert.equal(new Set(keys).size, keys.length);
  });
  it('a setting read late changes the keys from its first reader on, not before', () => {
    const other = layerKeys({ phase: 'stemcell', osImage: 'a'.repeat(64) }, stages, tree, { ...settings, agent_json: '{"openstack":1}' }, reads);
    const first = stages.findIndex((s) => reads.settingsFor(s, ['agent_json']).length > 0);
    assert.ok(first > 2, `the kernel stages come before the first reader of agent_json (${stages[first]})`);
    assert.deepEqual(other.slice(0, first), keys.slice(0, first));
    assert.ok(other.slice(first).every((k, i) => k !== keys[first + i]));
  });
  it('an edited stage changes its key and every key after it; another OS image changes all', () => {
    const at = stages.indexOf('bosh_harden');
    const path = Object.keys(tree.files).find((p) => p.startsWith('stages/bosh_harden/'))!;
    const edited: TreeManifest = { version: 1, files: { ...tree.files, [path]: { ...tree.files[path]!, sha256: '0'.repeat(64) } } };
    const after = layerKeys({ phase: 'stemcell', osImage: 'a'.repeat(64) }, stages, edited, settings, reads);
    assert.deepEqual(after.slice(0, at), keys.slice(0, at));
    assert.ok(after.slice(at).every((k, i) => k !== keys[at + i]));
    const otherImage = layerKeys({ phase: 'stemcell', osImage: 'b'.repeat(64) }, stages, tree, settings, reads);
    assert.ok(otherImage.every((k, i) => k !== keys[i]));
  });
});
