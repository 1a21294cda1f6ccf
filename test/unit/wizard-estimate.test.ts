// The time and disk estimate shown before "Build this?": from the catalog's typical figures,
// and from stage times a finished build recorded in a real file.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { chrootEmulationFactor, buildEstimates as typical } from '../../src/catalog/build-estimates.js';
import { infrastructures } from '../../src/catalog/infrastructures.js';
import { durationsFile, osImageKey, readDurations, recordDurations, stemcellKey } from '../../src/pipeline/stage-durations.js';
import type { StageRecord } from '../../src/pipeline/stage-runner.js';
import { emulationOf, estimateBuild, estimateLine, formatEstimate } from '../../src/wizard/estimate.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'sf-estimate-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const record = (group: string, stage: string, step: 'config' | 'apply', seconds: number): StageRecord => ({
  group,
  stage,
  step,
  durationMs: seconds * 1000,
  exitCode: 0,
  logPath: `/logs/${stage}.${step}.log`,
});

describe('estimate from the catalog', () => {
  it('adds the OS image, one stemcell per infrastructure and, for Vagrant, the builder VM', () => {
    const local = estimateBuild({ os: 'debian-bookworm', iaas: ['warden'], machine: 'local' });
    const vagrant = estimateBuild({ os: 'debian-bookworm', iaas: ['warden'], machine: 'vagrant:libvirt' });
    const two = estimateBuild({ os: 'debian-bookworm', iaas: ['warden', 'openstack'], machine: 'local' });
    assert.equal(vagrant.minutes - local.minutes, typical.builderVm.minutes);
    // a disk stemcell takes longer than warden, and its disk image (5 GiB) on the build machine
    assert.equal(two.minutes - local.minutes, typical.stemcell.diskStageMinutes + typical.stemcell.overheadMinutes);
    assert.ok(Math.abs(two.buildMachineGB - local.buildMachineGB - (5120 * 1048576) / 1e9 - typical.stemcell.packedGB) < 1e-9);
    assert.ok(Math.abs(two.hereGB - local.hereGB - typical.stemcell.packedGB) < 1e-9);
    assert.deepEqual([local.recordedPhases, local.phases, two.phases], [0, 2, 3]);
  });

  it('sizes the disk by the infrastructure (softlayer 25 GiB) and leaves out the OS image given with --os-image', () => {
    const softlayer = estimateBuild({ os: 'debian-bookworm', iaas: ['softlayer'], machine: 'local', osImageGiven: true });
    const aws = estimateBuild({ os: 'debian-bookworm', iaas: ['aws'], machine: 'local', osImageGiven: true });
    const softlayerMiB = infrastructures.find((i) => i.name === 'softlayer')!.diskSizeMiB;
    assert.ok(Math.abs(softlayer.buildMachineGB - aws.buildMachineGB - ((softlayerMiB - 5120) * 1048576) / 1e9) < 1e-9);
    assert.equal(aws.phases, 1);
    assert.ok(Math.abs(aws.hereGB - typical.stemcell.packedGB) < 1e-9, 'no OS image lands here');
  });

  it('is ten times slower in a whole emulated VM (libvirt with --libvirt-driver qemu)', () => {
    const native = estimateBuild({ os: 'debian-bookworm', iaas: ['openstack'], machine: 'local' });
    const emulated = estimateBuild({ os: 'debian-bookworm', iaas: ['openstack'], machine: 'local', emulation: 'vm' });
    const stages = typical.osImage.stageMinutes + typical.stemcell.diskStageMinutes;
    assert.equal(emulated.minutes - native.minutes, stages * (typical.emulationFactor - 1));
    assert.match(
      estimateLine({ os: 'debian-bookworm', iaas: ['openstack'], machine: 'vagrant:libvirt' }, { hostArch: 'x64', libvirtDriver: 'qemu' }),
      new RegExp(`about ${Math.round(emulated.minutes + typical.builderVm.minutes)} min`),
    );
  });

  it("counts the stages slower on an arm64 host's builder VM or local build, where the image's programs are emulated", () => {
    const answers = { os: 'debian-bookworm', iaas: ['openstack'] };
    const stages = typical.osImage.stageMinutes + typical.stemcell.diskStageMinutes;
    const native = estimateBuild({ ...answers, machine: 'vagrant:parallels' });
    const arm = estimateBuild({ ...answers, machine: 'vagrant:parallels', emulation: 'chroot' });
    assert.equal(arm.minutes - native.minutes, stages * (chrootEmulationFactor - 1));
    for (const machine of ['vagrant:parallels', 'vagrant:vmware_desktop', 'vagrant:virtualbox', 'vagrant:libvirt', 'local']) {
      assert.equal(emulationOf(machine, { hostArch: 'arm64' }), 'chroot', machine);
      assert.equal(emulationOf(machine, { hostArch: 'x64' }), undefined, machine);
    }
    // an ssh machine's architecture is not known before it is reached: no factor
    assert.equal(emulationOf('ssh://b@h:22', { hostArch: 'arm64' }), undefined);
    assert.equal(emulationOf('vagrant:libvirt', { hostArch: 'arm64', libvirtDriver: 'qemu' }), 'vm');
    assert.match(estimateLine({ ...answers, machine: 'vagrant:vmware_desktop' }, { hostArch: 'arm64' }), new RegExp(`about ${Math.round(arm.minutes)} min`));
  });

  it('reads "about N min, N GB on the build machine, N GB here" and says the figures are typical', () => {
    const text = formatEstimate({ minutes: 24.4, buildMachineGB: 11.37, hereGB: 0.95, recordedPhases: 0, phases: 2 });
    assert.equal(text, 'about 24 min, 11 GB on the build machine, 1 GB here (typical figures; your first build here records real ones)');
    assert.match(
      formatEstimate({ minutes: 0.2, buildMachineGB: 5.55, hereGB: 0.5, recordedPhases: 1, phases: 2 }),
      /^about 1 min, 5\.6 GB .*\(1 of 2 phases from this host's last builds, the rest typical\)$/,
    );
  });
});

describe('estimate from the recorded stage times', () => {
  it('records each phase of a finished build and takes its minutes from them', (t) => {
    const file = durationsFile(tempDir(t));
    recordDurations(
      'debian-bookworm',
      [
        record('debian-bookworm', 'base_debootstrap', 'apply', 150),
        record('debian-bookworm', 'bosh_monit', 'config', 1),
        record('debian-bookworm', 'bosh_monit', 'apply', 89),
        record('warden', 'base_warden', 'apply', 60),
      ],
      file,
      new Date('2026-01-02T03:04:05Z'),
    );
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const recorded = readDurations(file);
    assert.deepEqual(Object.keys(recorded).sort(), [osImageKey('debian-bookworm'), stemcellKey('debian-bookworm', 'warden')]);
    assert.deepEqual(recorded[osImageKey('debian-bookworm')], {
      stages: { base_debootstrap: 150_000, bosh_monit: 90_000 },
      totalMs: 240_000,
      at: '2026-01-02T03:04:05.000Z',
    });

    const e = estimateBuild({ os: 'debian-bookworm', iaas: ['warden'], machine: 'local', recorded });
    // 4 min of OS-image stages and 1 of warden's, plus the catalog's time around the stages
    assert.equal(e.minutes, 4 + typical.osImage.overheadMinutes + 1 + typical.stemcell.overheadMinutes);
    assert.deepEqual([e.recordedPhases, e.phases], [2, 2]);
    assert.match(formatEstimate(e), /\(from this host's last builds\)$/);

    // another OS line or infrastructure has no record: typical figures for it
    const other = estimateBuild({ os: 'debian-bookworm', iaas: ['warden', 'aws'], machine: 'local', recorded });
    assert.deepEqual([other.recordedPhases, other.phases], [2, 3]);
    assert.equal(other.minutes - e.minutes, typical.stemcell.diskStageMinutes + typical.stemcell.overheadMinutes);
  });

  it('keeps the entries a later build did not run (an OS image from the cache runs no stage)', (t) => {
    const file = durationsFile(tempDir(t));
    recordDurations('debian-bookworm', [record('debian-bookworm', 'base_debootstrap', 'apply', 120), record('warden', 'base_warden', 'apply', 60)], file);
    recordDurations('debian-bookworm', [record('openstack', 'image_create', 'apply', 30)], file);
    const recorded = readDurations(file);
    assert.equal(recorded[osImageKey('debian-bookworm')]?.totalMs, 120_000);
    assert.equal(recorded[stemcellKey('debian-bookworm', 'warden')]?.totalMs, 60_000);
    assert.equal(recorded[stemcellKey('debian-bookworm', 'openstack')]?.totalMs, 30_000);
    // a build of the same phase replaces its entry
    recordDurations('debian-bookworm', [record('warden', 'base_warden', 'apply', 45)], file);
    assert.equal(readDurations(file)[stemcellKey('debian-bookworm', 'warden')]?.totalMs, 45_000);
    assert.equal((JSON.parse(readFileSync(file, 'utf8')) as Record<string, { totalMs: number }>)[osImageKey('debian-bookworm')]?.totalMs, 120_000);
  });

  it('takes a missing or damaged file as no record', (t) => {
    const dir = tempDir(t);
    assert.deepEqual(readDurations(join(dir, 'none.json')), {});
    const file = join(dir, 'bad.json');
    writeFileSync(file, '{"os-image/debian-bookworm": {"totalMs": 1');
    assert.deepEqual(readDurations(file), {});
    writeFileSync(file, '[1,2]');
    assert.deepEqual(readDurations(file), {});
    writeFileSync(file, '{"os-image/debian-bookworm": {"stages": {}}, "stemcell/debian-bookworm/aws": {"stages": {}, "totalMs": 60000, "at": "x"}}');
    assert.deepEqual(Object.keys(readDurations(file)), ['stemcell/debian-bookworm/aws']);
  });
});
