// The plan's space need (pure), the verdict on free space, and the build machine's probe as parsed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planOsImage, planStemcell } from '../../src/catalog/planner.js';
import { measuredStageMiB, recordedSizes, spaceFacts, spaceNeeds, stageMiB, writtenStages, type SpacePlan } from '../../src/catalog/space-needs.js';
import { judgeSpace, phasesReusing } from '../../src/pipeline/space-check.js';
import { completeKeys, describeShortage, formatSize, parseSpaceProbe } from '../../src/pipeline/space-shortage.js';

const MiB = 1024 * 1024;
const os = 'debian-bookworm';

function stemcellPlan(iaas: string, diskFormat?: string, range: { resumeFrom?: string; until?: string } = {}): SpacePlan['stemcells'][number] {
  return { phases: planStemcell({ os, iaas, diskFormat, ...range }).phases };
}

const need = (plan: Partial<SpacePlan>, recorded = {}): ReturnType<typeof spaceNeeds> => spaceNeeds({ stemcells: [], cacheCopies: false, ...plan }, recorded);

describe('space needs of a plan', () => {
  it('the OS image phase: its layers from the catalog, the archive, and the image here', () => {
    const phase = planOsImage({ os }).phases[0]!;
    const layers = phase.stages.reduce((sum, s) => sum + stageMiB(s), 0);
    assert.ok(layers > 1000, `the chroot's layers are over a GiB (${layers} MiB)`);
    const got = need({ osImage: phase });
    assert.equal(got.buildMachineMiB, layers + spaceFacts.osImageMiB);
    assert.equal(got.outputMiB, spaceFacts.osImageMiB);
    assert.equal(got.cacheMiB, 0, 'the cache links the output file: no second copy');
    assert.equal(need({ osImage: phase, cacheCopies: true }).cacheMiB, spaceFacts.osImageMiB, 'on another file system it copies');
  });

  it('a run cut short writes no archive, and a resumed one no layer before its first stage', () => {
    const whole = need({ osImage: planOsImage({ os }).phases[0]! });
    const until = need({ osImage: planOsImage({ os, until: 'base_debootstrap' }).phases[0]! });
    assert.equal(until.buildMachineMiB, measuredStageMiB.base_debootstrap);
    assert.equal(until.outputMiB, 0);
    const resumed = need({ osImage: planOsImage({ os, resumeFrom: 'base_ssh' }).phases[0]! });
    assert.ok(resumed.buildMachineMiB < whole.buildMachineMiB - 1000, 'debootstrap and the packages are not written again');
  });

  it('complete layers are not written again, but a missing one before --resume-from is', () => {
    const phase = planOsImage({ os }).phases[0]!;
    const all = need({ osImage: phase }).buildMachineMiB;
    const reused = need({ osImage: { ...phase, reusable: 4 } }).buildMachineMiB;
    const firstFour = phase.stages.slice(0, 4).reduce((sum, s) => sum + stageMiB(s), 0);
    assert.equal(all - reused, firstFour);
    assert.deepEqual(writtenStages({ ...phase, reusable: phase.stages.length }), [], 'every layer complete: none written');
    const resumed = { ...planOsImage({ os, resumeFrom: 'base_ssh' }).phases[0]!, resumeFrom: 'base_ssh' };
    assert.deepEqual(writtenStages({ ...resumed, reusable: 1 }), phase.stages.slice(1), 'from the first missing layer, before the resume stage');
    assert.deepEqual(writtenStages({ ...resumed, reusable: 20 }), resumed.selected, 'from the resume stage when the layers before it are there');
    assert.deepEqual(writtenStages(resumed), resumed.selected, 'unknown layers: the selected stages');
    const fromFirst = { ...phase, resumeFrom: phase.stages[0]! };
    assert.deepEqual(writtenStages({ ...fromFirst, reusable: 4 }), phase.stages, '--resume-from the first stage writes every layer again');
  });

  it("a stemcell's complete layers are split between its build and packing phases, as one chain", () => {
    const phases = planStemcell({ os, iaas: 'openstack' }).phases;
    const buildLength = phases[0]!.stages.length;
    const [some, none] = phasesReusing(phases, 3);
    assert.deepEqual([some!.reusable, none!.reusable], [3, 0]);
    const [all, pack] = phasesReusing(phases, buildLength + 1);
    assert.deepEqual([all!.reusable, pack!.reusable], [buildLength, 1]);
    const whole = need({ stemcells: [{ phases }] });
    const reused = need({ stemcells: [{ phases: phasesReusing(phases, buildLength + phases[1]!.stages.length) }] });
    assert.equal(
      whole.buildMachineMiB - reused.buildMachineMiB,
      [...phases[0]!.stages, ...phases[1]!.stages].reduce((sum, s) => sum + stageMiB(s), 0),
    );
    assert.equal(reused.outputMiB, whole.outputMiB, 'the stemcell is still packed and fetched');
  });

  it('a disk image needs more than the files of warden, and the OVF (two conversions) more than qcow2', () => {
    const warden = need({ stemcells: [stemcellPlan('warden')] }).buildMachineMiB;
    const qcow2 = need({ stemcells: [stemcellPlan('openstack', 'qcow2')] }).buildMachineMiB;
    const ovf = need({ stemcells: [stemcellPlan('vsphere')] }).buildMachineMiB;
    assert.ok(qcow2 > warden + 3000, `qcow2 ${qcow2} MiB, warden ${warden} MiB`);
    assert.ok(ovf > qcow2, `ovf ${ovf} MiB, qcow2 ${qcow2} MiB`);
  });

  it('each stemcell adds its layers, the OS image is sent once, and only the largest tarball is on the build machine at a time', () => {
    const one = need({ stemcells: [stemcellPlan('aws')] });
    const two = need({ stemcells: [stemcellPlan('aws'), stemcellPlan('openstack')] });
    const awsLayers = one.buildMachineMiB - spaceFacts.osImageMiB - spaceFacts.stemcellMiB;
    assert.ok(two.buildMachineMiB > one.buildMachineMiB + awsLayers * 0.9);
    assert.ok(two.buildMachineMiB < 2 * one.buildMachineMiB - spaceFacts.osImageMiB, 'the inputs and the scratch tarball are not counted twice');
    assert.equal(two.outputMiB, 2 * spaceFacts.stemcellMiB);
  });

  it('a stemcell cut short before packing leaves nothing here', () => {
    const cut = need({ stemcells: [stemcellPlan('openstack', 'qcow2', { until: 'system_kernel' })] });
    assert.equal(cut.outputMiB, 0);
    assert.equal(cut.buildMachineMiB, spaceFacts.osImageMiB + measuredStageMiB.untar_base_os_image! + measuredStageMiB.system_kernel!);
  });

  it("earlier builds' recorded sizes replace the catalog's", () => {
    const phase = planOsImage({ os }).phases[0]!;
    const catalog = need({ osImage: phase });
    const recorded = need({ osImage: phase }, { base_debootstrap: 1000, bosh_users: 50 });
    assert.equal(recorded.buildMachineMiB - catalog.buildMachineMiB, 1000 - measuredStageMiB.base_debootstrap! + (50 - spaceFacts.smallStageMiB));
    assert.equal(stageMiB('image_create_efi'), measuredStageMiB.image_create, 'an unmeasured stage is sized as the one it resembles');
    assert.equal(stageMiB('image_create_efi', { image_create_efi: 7 }), 7);
    const warden = (r = {}): number => need({ stemcells: [stemcellPlan('warden')] }, r).outputMiB;
    assert.equal(warden({ prepare_files_image_stemcell: 900 }), 900, "warden's stemcell is the size of its packing layer");
    assert.notEqual(warden(), 900);
  });

  it('reads the recorded sizes from layer metas: the largest per stage, broken ones skipped', () => {
    const metas = [
      'stage=base_apt\ncommitted=2026-01-01T00:00:00Z\nsize_mib=38\n',
      'stage=base_apt\ncommitted=2026-01-02T00:00:00Z\nsize_mib=41\n',
      'stage=vim_tiny\nsize_mib=\n',
      'size_mib=12\n',
      'stage=bosh_ntp\nsize_mib=1',
    ];
    assert.deepEqual(recordedSizes(metas), { base_apt: 41, bosh_ntp: 1 });
  });
});

describe('the free space verdict', () => {
  const place = (needMiB: number, freeMiB: number): { where: string; path: string; needBytes: number; freeBytes: number } => ({
    where: 'the build machine',
    path: '/srv/sf',
    needBytes: needMiB * MiB,
    freeBytes: freeMiB * MiB,
  });

  it('refuses below the need, warns within the margin, passes above it, with the numbers', () => {
    const short = judgeSpace([place(3174, 1229)]);
    assert.deepEqual(short.blocking, ['needs 3.1 GiB on the build machine at /srv/sf, 1.2 GiB free']);
    const edge = judgeSpace([place(900, 1000)]);
    assert.deepEqual(edge.blocking, []);
    assert.match(edge.warnings[0]!, /^needs 900 MiB on the build machine at \/srv\/sf, 1000 MiB free \(less than 20 % to spare\)$/);
    const fine = judgeSpace([place(1000, 1300)]);
    assert.deepEqual([fine.blocking, fine.warnings], [[], []]);
    assert.equal(fine.lines.length, 1);
    assert.deepEqual(judgeSpace([place(0, 0)]).lines, [], 'nothing to write there: nothing to judge');
  });

  it('sizes: MiB below a GiB, GiB to one place above', () => {
    assert.equal(formatSize(12 * MiB + 5), '12 MiB');
    assert.equal(formatSize(1024 * MiB), '1.0 GiB');
    assert.equal(
      describeShortage({ path: '/srv/sf', freeBytes: 12 * MiB, buildRoot: '/srv/sf' }),
      'no space left on the build machine: 12 MiB free at /srv/sf',
    );
  });
});

describe("the build machine's space probe", () => {
  it('parses the folder, the free and total space, the inodes and the metas', () => {
    const out = 'at=/srv\nsize_kib=1048576\nfree_kib=2048\nfree_inodes=0\n--meta\nkey=k1\nstage=a\nsize_mib=3\n--meta\nkey=k2\nstage=b\nsize_mib=4';
    const probe = parseSpaceProbe(out);
    assert.deepEqual(probe, {
      path: '/srv',
      freeBytes: 2 * MiB,
      sizeBytes: 1024 * MiB,
      freeInodes: 0,
      metas: ['key=k1\nstage=a\nsize_mib=3', 'key=k2\nstage=b\nsize_mib=4'],
    });
    assert.deepEqual([...completeKeys(probe)], ['k1', 'k2']);
    assert.deepEqual(recordedSizes(probe.metas), { a: 3, b: 4 });
    assert.equal(parseSpaceProbe('at=/srv\nsize_kib=1\nfree_kib=1\nfree_inodes=-').freeInodes, Number.POSITIVE_INFINITY);
    assert.throws(() => parseSpaceProbe('df: /srv: no such file'), /cannot read the free space/);
  });
});
