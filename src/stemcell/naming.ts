// Stemcell names and file names, as the reference builder forms them (facts §6):
//   name: bosh-<iaas>-<hypervisor word>-<os>[-go_agent][-<disk format, when not the default>]
//   file: bosh-stemcell-<version>-<iaas>-<hypervisor word>-<os>[-go_agent][-<format>].tgz
import type { DiskFormat, Infrastructure } from '../catalog/infrastructures.js';
import type { OperatingSystem } from '../catalog/operating-systems.js';

export interface StemcellIdentity {
  os: OperatingSystem;
  infrastructure: Infrastructure;
  diskFormat: DiskFormat;
}

/** The part shared by the name and the file name, e.g. aws-xen-hvm-ubuntu-jammy-go_agent. */
function stem({ os, infrastructure, diskFormat }: StemcellIdentity): string {
  const parts = [infrastructure.name, infrastructure.nameHypervisor, os.name];
  if (os.goAgentSuffix) parts.push('go_agent');
  if (diskFormat !== infrastructure.diskFormats[0]) parts.push(diskFormat);
  return parts.join('-');
}

/** The stemcell's name in stemcell.MF, e.g. bosh-openstack-kvm-ubuntu-jammy-go_agent-raw. */
export function stemcellName(id: StemcellIdentity): string {
  return `bosh-${stem(id)}`;
}

/** Versions are strings of digits and dots (e.g. 1.622, 0.0.8); nothing a file name or YAML could misread. */
export const versionPattern = /^\d+(\.\d+)*$/;

/** The tarball's file name, e.g. bosh-stemcell-1.622-aws-xen-hvm-ubuntu-jammy-go_agent.tgz. */
export function stemcellFileName(id: StemcellIdentity, version: string): string {
  if (!versionPattern.test(version)) throw new Error(`stemcell version '${version}' is not digits and dots (e.g. 1.622)`);
  return `bosh-stemcell-${version}-${stem(id)}.tgz`;
}
