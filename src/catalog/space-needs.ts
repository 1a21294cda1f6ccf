// How much disk a plan needs, as data and one pure function: on the build machine below the
// build root (the stage layers, or the chroot in place, the disk images in them, the archives
// written beside them, the OS image sent to its inputs) and on this machine (the output folder,
// and the cache's copies of the same files).
//
// Where the figures come from: the first whole builds on this 2-core Debian 12 machine
// (debian-bookworm, the os-image e2e and the openstack qcow2 and warden stemcell e2e, on
// layers). Each layer's `meta` records `size_mib=` (du -sm of its upper dir, written by
// stages/lib/layers.bash): `grep size_mib BUILD_ROOT/layers/*/meta` read beside `stage=`. The
// OS image (os-image.tgz on the build machine and in the output folder) was 471600306 bytes,
// the openstack qcow2 stemcell 629496187 bytes (ls -l of the files; 450 and 601 MiB).

/** MiB of a stage's layer, measured (the largest of the runs seen). Stages not listed write about nothing (1 MiB, the smallest du reports). */
export const measuredStageMiB: Readonly<Record<string, number>> = {
  // the OS image phase: 1.2 GiB in all, most of it packages
  base_debootstrap: 259,
  base_apt: 41,
  base_debian_build_essential: 591,
  base_debian_packages: 316,
  base_file_permission: 2,
  bosh_audit_debian: 5,
  bosh_monit: 4,
  system_grub: 68,
  vim_tiny: 44,
  // the stemcell phase: the OS image unpacked, the kernel, the agent, the disk image
  untar_base_os_image: 1235,
  system_kernel: 413,
  bosh_go_agent: 22,
  system_initramfs: 37,
  // the raw disk image as written (sparse: 1764 MiB used of 5 GiB); installing GRUB copies it up into its own layer
  image_create: 1764,
  image_install_grub: 1773,
  prepare_qcow2_image_stemcell: 601,
  prepare_files_image_stemcell: 563,
};

/**
 * Stages not measured here, sized as the measured stage they resemble. Ubuntu's stages carry
 * the distribution's name; every disk image is the same chroot copied into a disk of the
 * infrastructure's kind; every disk format's packing converts and compresses that disk as
 * qcow2's does. The OVF's disk is converted twice (vmdk, then packed).
 */
const likeStage: Readonly<Record<string, string>> = {
  base_ubuntu_build_essential: 'base_debian_build_essential',
  base_ubuntu_packages: 'base_debian_packages',
  bosh_audit_ubuntu: 'bosh_audit_debian',
  image_create_efi: 'image_create',
  image_install_grub_efi: 'image_install_grub',
  image_create_softlayer_two_partitions: 'image_create',
  image_install_grub_softlayer_two_partitions: 'image_install_grub',
  prepare_raw_image_stemcell: 'prepare_qcow2_image_stemcell',
  prepare_rawdisk_image_stemcell: 'prepare_qcow2_image_stemcell',
  prepare_vhd_image_stemcell: 'prepare_qcow2_image_stemcell',
  prepare_vhdx_image_stemcell: 'prepare_qcow2_image_stemcell',
  image_ovf_generate: 'prepare_qcow2_image_stemcell',
  prepare_ovf_image_stemcell: 'prepare_qcow2_image_stemcell',
};

export const spaceFacts = {
  /** what a stage not measured writes: du -sm reports at least 1 */
  smallStageMiB: 1,
  /** the packed OS image (measured: 471600306 bytes) */
  osImageMiB: 450,
  /** a packed stemcell (measured: openstack qcow2, 629496187 bytes; the warden one is the size of its packing layer) */
  stemcellMiB: 601,
  /** free space below need × (1 + this) is a warning: the figures are one machine's builds */
  warnMargin: 0.2,
} as const;

/** Recorded sizes of earlier builds' layers: stage → MiB. */
export type RecordedSizes = Readonly<Record<string, number>>;

/** What one phase of a plan runs, as the planner gives it. */
export interface PlannedPhase {
  stages: readonly string[];
  selected: readonly string[];
  /** how many leading stages have a complete layer on the build machine, where that is known */
  reusable?: number;
  /** --resume-from's stage in this phase: it runs even when its layer is complete */
  resumeFrom?: string;
}

export interface SpacePlan {
  /** the OS-image phase, when this run builds the OS image */
  osImage?: PlannedPhase;
  /** each stemcell this run builds: its phases (stage build, then packaging) */
  stemcells: readonly { phases: readonly PlannedPhase[] }[];
  /** the local cache keeps a copy of the finished files (not when it shares them by hard link) */
  cacheCopies: boolean;
}

export interface SpaceNeed {
  /** below the build root on the build machine */
  buildMachineMiB: number;
  /** in the output folder here */
  outputMiB: number;
  /** in the cache folder here */
  cacheMiB: number;
}

/** MiB one stage's layer takes: an earlier build's recorded size first, then the catalog's. */
export function stageMiB(stage: string, recorded: RecordedSizes = {}): number {
  const seen = recorded[stage];
  if (seen !== undefined) return seen;
  return measuredStageMiB[stage] ?? measuredStageMiB[likeStage[stage] ?? ''] ?? spaceFacts.smallStageMiB;
}

/** The selected stages of a phase ran to its last stage: the phase's file (an archive, a stemcell) is written. */
function reachesEnd(phase: PlannedPhase): boolean {
  return phase.selected.length > 0 && phase.selected.at(-1) === phase.stages.at(-1);
}

/**
 * The stages whose layers a run writes. Unknown layers: the selected ones. Known: from the
 * first stage without a complete layer, or --resume-from's stage when it comes first (a
 * missing layer before it runs again), to the last selected.
 */
export function writtenStages(phase: PlannedPhase): readonly string[] {
  if (phase.reusable === undefined || phase.selected.length === 0) return phase.selected;
  const resumeAt = phase.resumeFrom === undefined ? Number.POSITIVE_INFINITY : phase.stages.indexOf(phase.resumeFrom);
  return phase.stages.slice(Math.min(phase.reusable, resumeAt), phase.stages.indexOf(phase.selected.at(-1)!) + 1);
}

function layersMiB(phases: readonly PlannedPhase[], recorded: RecordedSizes): number {
  return phases.flatMap(writtenStages).reduce((sum, stage) => sum + stageMiB(stage, recorded), 0);
}

/** The packed stemcell a plan's packaging stage makes: the size of that stage's own layer where one was recorded, else the catalog's. */
function packedStemcellMiB(phases: readonly PlannedPhase[], recorded: RecordedSizes): number {
  const packing = phases.at(-1)?.stages.at(-1);
  return packing === 'prepare_files_image_stemcell' ? stageMiB(packing, recorded) : spaceFacts.stemcellMiB;
}

/**
 * The space a plan needs, in MiB per place. Only the layers the run writes count (none of
 * those complete already, none before --resume-from's stage); recorded sizes of earlier builds replace the
 * catalog's figures. On the build machine: every layer the run writes, the OS image archive
 * (when the OS-image phase runs to its end), the OS image sent to the inputs (when stemcells
 * are built) and the tarball of the largest stemcell (packed on a scratch layer, dropped after
 * its fetch). Here: the OS image and the stemcells in the output folder, and as much again in
 * the cache when it copies them.
 */
export function spaceNeeds(plan: SpacePlan, recorded: RecordedSizes = {}): SpaceNeed {
  const osImageWritten = plan.osImage !== undefined && reachesEnd(plan.osImage);
  const packed = plan.stemcells.filter((s) => reachesEnd(s.phases.at(-1)!)).map((s) => packedStemcellMiB(s.phases, recorded));
  let buildMachineMiB = plan.osImage ? layersMiB([plan.osImage], recorded) : 0;
  if (osImageWritten) buildMachineMiB += spaceFacts.osImageMiB;
  if (plan.stemcells.length > 0) buildMachineMiB += spaceFacts.osImageMiB;
  for (const stemcell of plan.stemcells) buildMachineMiB += layersMiB(stemcell.phases, recorded);
  buildMachineMiB += Math.max(0, ...packed);
  const outputMiB = (osImageWritten ? spaceFacts.osImageMiB : 0) + packed.reduce((a, b) => a + b, 0);
  return { buildMachineMiB, outputMiB, cacheMiB: plan.cacheCopies ? outputMiB : 0 };
}

/** Recorded sizes from the layers' `meta` files (stage=, size_mib=), the largest per stage. */
export function recordedSizes(metas: readonly string[]): Record<string, number> {
  const sizes: Record<string, number> = {};
  for (const meta of metas) {
    const stage = /^stage=(\S+)$/m.exec(meta)?.[1];
    const size = /^size_mib=(\d+)$/m.exec(meta)?.[1];
    if (!stage || size === undefined) continue;
    sizes[stage] = Math.max(sizes[stage] ?? 0, Number(size));
  }
  return sizes;
}
