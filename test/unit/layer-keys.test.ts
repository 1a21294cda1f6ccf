// Layer keys and the settings each stage reads, on the real stages of the checkout.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planStemcell } from '../../src/catalog/planner.js';
import { layerKeys } from '../../src/pipeline/layers.js';
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
    for (const core of ['prelude.bash', 'helpers.bash', 'chroot.bash']) assert.ok(library.includes(core), core);
    for (const program of ['layers.bash', 'stage-job.bash', 'release-mounts.bash']) assert.ok(!library.includes(program), program);
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
