import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkResumable, findOperatingSystem, osForArchitecture, osImageLabel, planOsImage, planStemcell, selectStages } from '../../src/catalog/planner.js';
import { notRerunnable } from '../../src/catalog/stage-traits.js';
import { operatingSystems } from '../../src/catalog/operating-systems.js';
import { osImageSettings } from '../../src/pipeline/settings-file.js';
import { UnknownNameError, UsageError } from '../../src/util/errors.js';

describe('planOsImage', () => {
  it('plans one os-image phase with every stage selected', () => {
    const plan = planOsImage({ os: 'debian-bookworm' });
    assert.equal(plan.phases.length, 1);
    assert.equal(plan.phases[0]!.name, 'os-image');
    assert.deepEqual(plan.phases[0]!.selected, plan.phases[0]!.stages);
    assert.equal(plan.phases[0]!.stages[0], 'base_debootstrap');
  });

  it('names the valid operating systems for an unknown one', () => {
    assert.throws(
      () => planOsImage({ os: 'ubuntu-bionic' }),
      (err: unknown) => {
        assert.ok(err instanceof UnknownNameError);
        assert.match(err.message, /unknown operating system 'ubuntu-bionic'/);
        assert.match(err.message, /ubuntu-jammy, ubuntu-noble, debian-bookworm/);
        return true;
      },
    );
  });

  it('cuts the list with --resume-from and --until', () => {
    const plan = planOsImage({ os: 'ubuntu-jammy', resumeFrom: 'bosh_users', until: 'bosh_ntp' });
    assert.deepEqual(plan.phases[0]!.selected, ['bosh_users', 'bosh_monit', 'bosh_ntp']);
  });

  it('lists the stages when a resume stage is unknown, and checks it against the right OS', () => {
    assert.throws(
      () => planOsImage({ os: 'ubuntu-noble', resumeFrom: 'delay_monit_start' }),
      (err: unknown) => {
        assert.ok(err instanceof UnknownNameError);
        assert.match(err.message, /unknown stage for --resume-from 'delay_monit_start'/);
        assert.match(err.message, /base_debootstrap, base_ubuntu_firstboot/);
        return true;
      },
    );
    assert.equal(planOsImage({ os: 'ubuntu-jammy', resumeFrom: 'delay_monit_start' }).phases[0]!.selected[0], 'delay_monit_start');
  });

  it('refuses to resume from a stage marked as not re-runnable, and names the stage to use instead', () => {
    const refusals = { b: 'it moves /etc/x away, a second run finds nothing to move' };
    assert.throws(
      () => checkResumable(['a', 'b', 'c'], 'b', refusals),
      (err: unknown) => {
        assert.ok(err instanceof UsageError);
        assert.equal(
          err.message,
          'cannot resume from b: it moves /etc/x away, a second run finds nothing to move. ' +
            'Resume from an earlier stage (--resume-from a) or build again without --resume-from.',
        );
        return true;
      },
    );
    assert.doesNotThrow(() => checkResumable(['a', 'b', 'c'], 'c', refusals));
    assert.doesNotThrow(() => checkResumable(['a', 'b', 'c'], undefined, refusals));
  });

  it('marks only stages that exist in some OS list as not re-runnable', () => {
    const all = new Set(operatingSystems.flatMap((o) => o.osImageStages));
    for (const stage of Object.keys(notRerunnable)) assert.ok(all.has(stage), stage);
  });

  it('refuses --until before --resume-from', () => {
    assert.throws(() => selectStages(['a', 'b', 'c'], { resumeFrom: 'c', until: 'a' }), UsageError);
  });
});

describe('planStemcell', () => {
  it('takes the default disk format and appends the packaging phase', () => {
    const plan = planStemcell({ os: 'ubuntu-jammy', iaas: 'openstack' });
    assert.equal(plan.diskFormat, 'qcow2');
    assert.deepEqual(
      plan.phases.map((p) => p.name),
      ['stemcell', 'package-qcow2'],
    );
    const stages = plan.phases[0]!.stages;
    assert.deepEqual(stages.slice(0, 3), ['untar_base_os_image', 'system_kernel', 'system_kernel_modules']);
    assert.equal(stages.at(-1), 'bosh_package_list');
  });

  it('accepts a non-default format and lists the valid ones otherwise', () => {
    assert.equal(planStemcell({ os: 'ubuntu-jammy', iaas: 'openstack', diskFormat: 'raw' }).diskFormat, 'raw');
    assert.throws(() => planStemcell({ os: 'ubuntu-jammy', iaas: 'aws', diskFormat: 'qcow2' }), /unknown disk format for aws 'qcow2'; valid choices: raw$/);
  });

  it('names the valid infrastructures for an unknown one', () => {
    assert.throws(
      () => planStemcell({ os: 'ubuntu-jammy', iaas: 'digitalocean' }),
      /unknown infrastructure 'digitalocean'; valid choices: aws, alicloud, azure, google, openstack, vsphere, vcloud, warden, cloudstack, softlayer/,
    );
  });
});

describe('an OS image of another architecture', () => {
  it('arm64 debian-bookworm: its own kernel package, the same stages, named apart from amd64', () => {
    const plan = planOsImage({ os: 'debian-bookworm', arch: 'arm64' });
    assert.equal(plan.os.arch, 'arm64');
    assert.deepEqual(plan.os.kernelPackages, ['linux-image-arm64']);
    assert.deepEqual(plan.phases[0]!.stages, planOsImage({ os: 'debian-bookworm' }).phases[0]!.stages);
    assert.equal(osImageLabel(plan.os), 'debian-bookworm-arm64');
    assert.equal(osImageLabel(planOsImage({ os: 'debian-bookworm' }).os), 'debian-bookworm');
    const settings = osImageSettings({ os: plan.os, stemforgeVersion: '0', usersPassword: 'x', packageCacheRoot: '/c', buildRoot: '/b' });
    assert.equal(settings.os_arch, 'arm64');
    assert.equal(settings.target_elf_machine, '183');
    assert.equal(settings.target_qemu_cpu, 'aarch64');
    assert.equal(settings.grub_platforms, 'arm64-efi');
    assert.equal(
      osImageSettings({ os: findOperatingSystem('debian-bookworm'), stemforgeVersion: '0', usersPassword: 'x', packageCacheRoot: '/c', buildRoot: '/b' })
        .grub_platforms,
      'i386-pc x86_64-efi',
    );
  });

  it('an architecture a line is not built for names the lines that are; an unknown one lists the known', () => {
    assert.throws(
      () => planOsImage({ os: 'ubuntu-jammy', arch: 'arm64' }),
      /^UsageError: ubuntu-jammy is built for amd64 only; arm64 OS images: debian-bookworm$/,
    );
    assert.throws(
      () => osForArchitecture(findOperatingSystem('debian-bookworm'), 'riscv64'),
      (e: unknown) => e instanceof UnknownNameError && e.message === "unknown architecture 'riscv64'; valid choices: amd64, arm64",
    );
  });

  it('every line is built for amd64, the stemcells’ architecture', () => {
    for (const os of operatingSystems) assert.ok('amd64' in os.architectures, os.name);
  });
});
