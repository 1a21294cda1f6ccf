// stemcell.MF: every field the reference writes (facts §6), rendered as YAML with strings
// that look like numbers quoted, so the Director reads version '1.620' and not 1.62.
import { stringify } from 'yaml';
import type { StemcellIdentity } from './naming.js';
import { stemcellName, versionPattern } from './naming.js';

export interface StemcellManifest {
  name: string;
  version: string;
  bosh_protocol: number;
  api_version: number;
  sha1: string;
  operating_system: string;
  stemcell_formats: string[];
  cloud_properties: Record<string, string | number | boolean>;
  /** how this stemcell was made (stemforge's version and commit, agent digest, what was left out) */
  stemforge?: Record<string, string>;
}

/** The highest agent API version our stemcells support, as the reference declares it. */
const agentApiVersion = 3;

export function stemcellManifest(id: StemcellIdentity, version: string, imageSha1: string, provenance?: Record<string, string>): StemcellManifest {
  if (!versionPattern.test(version)) throw new Error(`stemcell version '${version}' is not digits and dots (e.g. 1.622)`);
  if (!/^[0-9a-f]{40}$/.test(imageSha1)) throw new Error(`'${imageSha1}' is not a sha1 hex digest`);
  const name = stemcellName(id);
  const { infrastructure, os, diskFormat } = id;
  return {
    name,
    version,
    bosh_protocol: 1,
    api_version: agentApiVersion,
    sha1: imageSha1,
    operating_system: os.name,
    stemcell_formats: [...infrastructure.stemcellFormats],
    cloud_properties: {
      name,
      version,
      infrastructure: infrastructure.name,
      hypervisor: infrastructure.hypervisor,
      disk: infrastructure.diskSizeMiB,
      disk_format: diskFormat,
      container_format: 'bare',
      os_type: 'linux',
      os_distro: os.distro,
      architecture: 'x86_64',
      ...infrastructure.cloudProperties,
    },
    ...(provenance ? { stemforge: provenance } : {}),
  };
}

export function renderManifest(mf: StemcellManifest): string {
  // defaultStringType PLAIN quotes a string only where YAML would read it as something else
  return stringify(mf, { defaultStringType: 'PLAIN', lineWidth: 0 });
}
