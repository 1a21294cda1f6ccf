// Stemcell names, file names and stemcell.MF for every infrastructure and disk format.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { infrastructures } from '../../src/catalog/infrastructures.js';
import { findInfrastructure, findOperatingSystem } from '../../src/catalog/planner.js';
import { stemcellManifest, renderManifest, type StemcellManifest } from '../../src/stemcell/manifest.js';
import { stemcellFileName, stemcellName } from '../../src/stemcell/naming.js';

const jammy = findOperatingSystem('ubuntu-jammy');
const noble = findOperatingSystem('ubuntu-noble');
const debian = findOperatingSystem('debian-bookworm');
const id = (iaas: string, os = jammy, diskFormat?: string) => {
  const infrastructure = findInfrastructure(iaas);
  return { os, infrastructure, diskFormat: (diskFormat ?? infrastructure.diskFormats[0]) as never };
};
const sha1 = 'a'.repeat(40);

describe('stemcell names', () => {
  it("match the reference's published file names", () => {
    assert.equal(stemcellFileName(id('vsphere'), '0.0.8'), 'bosh-stemcell-0.0.8-vsphere-esxi-ubuntu-jammy-go_agent.tgz');
    assert.equal(stemcellFileName(id('aws'), '1.622'), 'bosh-stemcell-1.622-aws-xen-hvm-ubuntu-jammy-go_agent.tgz');
    assert.equal(stemcellFileName(id('openstack', jammy, 'raw'), '1.622'), 'bosh-stemcell-1.622-openstack-kvm-ubuntu-jammy-go_agent-raw.tgz');
    assert.equal(stemcellFileName(id('google', noble), '1.5'), 'bosh-stemcell-1.5-google-kvm-ubuntu-noble.tgz');
    assert.equal(stemcellName(id('warden', debian)), 'bosh-warden-boshlite-debian-bookworm');
  });

  it('have a name for every infrastructure, line and disk format, each different', () => {
    const seen = new Set<string>();
    for (const os of [jammy, noble, debian]) {
      for (const iaas of infrastructures) {
        for (const format of iaas.diskFormats) {
          const file = stemcellFileName(id(iaas.name, os, format), '1.0');
          assert.match(file, /^bosh-stemcell-1\.0-[a-z0-9_-]+\.tgz$/);
          assert.ok(!seen.has(file), file);
          seen.add(file);
        }
      }
    }
    assert.equal(seen.size, 3 * infrastructures.reduce((n, i) => n + i.diskFormats.length, 0));
  });

  it('refuse a version a file name or YAML could misread', () => {
    for (const bad of ['1.0; rm -rf /', '', '1..2', 'v1.2', '1.2\n']) assert.throws(() => stemcellFileName(id('aws'), bad), /digits and dots/);
  });
});

describe('stemcell.MF', () => {
  for (const iaas of infrastructures) {
    for (const format of iaas.diskFormats) {
      it(`${iaas.name}/${format}: every field, version a quoted string`, () => {
        const mf = stemcellManifest(id(iaas.name, jammy, format), '1.620', sha1);
        const text = renderManifest(mf);
        assert.match(text, /^version: "1\.620"$/m, 'quoted, so YAML keeps the trailing zero');
        const back = parse(text) as StemcellManifest;
        assert.deepEqual(back, mf);
        assert.equal(back.version, '1.620');
        assert.equal(back.name, stemcellName(id(iaas.name, jammy, format)));
        assert.equal(back.bosh_protocol, 1);
        assert.equal(back.api_version, 3);
        assert.equal(back.sha1, sha1);
        assert.equal(back.operating_system, 'ubuntu-jammy');
        assert.deepEqual(back.stemcell_formats, iaas.stemcellFormats);
        const cp = back.cloud_properties;
        assert.deepEqual(
          {
            name: cp.name,
            version: cp.version,
            infrastructure: cp.infrastructure,
            hypervisor: cp.hypervisor,
            disk: cp.disk,
            disk_format: cp.disk_format,
            container_format: cp.container_format,
            os_type: cp.os_type,
            os_distro: cp.os_distro,
            architecture: cp.architecture,
          },
          {
            name: back.name,
            version: '1.620',
            infrastructure: iaas.name,
            hypervisor: iaas.hypervisor,
            disk: iaas.diskSizeMiB,
            disk_format: format,
            container_format: 'bare',
            os_type: 'linux',
            os_distro: 'ubuntu',
            architecture: 'x86_64',
          },
        );
        for (const [k, v] of Object.entries(iaas.cloudProperties)) assert.equal(cp[k], v, k);
      });
    }
  }

  it('keeps versions like 0000 and 1.10 as written', () => {
    for (const v of ['0000', '1.10', '2.0.0']) assert.equal((parse(renderManifest(stemcellManifest(id('aws'), v, sha1))) as StemcellManifest).version, v);
  });

  it('names the hypervisor of the class (xen), not the file name word (xen-hvm)', () => {
    const mf = stemcellManifest(id('aws'), '1.0', sha1);
    assert.equal(mf.cloud_properties.hypervisor, 'xen');
    assert.match(mf.name, /-xen-hvm-/);
  });
});
