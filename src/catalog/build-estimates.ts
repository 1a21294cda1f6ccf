// Typical time and disk of a build, as data, for the estimate the wizard shows before it
// builds. Rough on purpose: once this host has finished a build, the stage times recorded
// then (src/pipeline/stage-durations.ts) replace the stage minutes below.
//
// Where the figures come from (2 cores, as the test machines). Measured: a first build from
// the wizard (debian-bookworm, openstack qcow2, this Linux host as the build machine, packages
// downloaded from the archive) ran its OS-image stages in 175 s and its openstack stages in
// 152 s, 6.5 min in all from "Build this?" to the stemcell; the build root then held 9.1 GB
// (7 GB of it stage layers) and the output folder 1.1 GB (the cache shares its files). Below
// these are rounded up, for slower downloads and a VM's disk. Older notes:
// - OS image: the reference builder's notes put an OS image at 10–15 min on a 16-CPU VM with
//   a local apt cache; here base_debootstrap alone is the bulk of it (1094 s under 10x
//   emulation in CI, so about 2 min natively) and the packed image is 409 MiB (archived in
//   27.5 s with pigz). The chroot unpacked is about 1.5 GB; its layers and the package
//   cache about as much again.
// - Stemcell: measured for openstack, the kernel stages take 16 s + 5 s + 1 s and
//   system_initramfs 76 s; the disk image is the infrastructure's size (5 GiB, softlayer
//   25 GiB) next to an unpacked chroot; a packed stemcell is about 0.5 GB.
// - Builder VM: a first `vagrant up` here took 37 s before provisioning; provisioning
//   installs the build tools (download-bound), so a new VM is a few minutes.
// - A whole emulated VM (libvirt with --libvirt-driver qemu): about 10x slower, as the README says.
// - An arm64 build machine (Apple Silicon's builder VM): the image's amd64 programs run through
//   Rosetta or qemu-user, the machine's own tools natively; see chrootEmulationFactor.

export const buildEstimates = {
  /** a new builder VM: boot and provisioning (a VM that exists already is up in under a minute) */
  builderVm: { minutes: 4 },
  osImage: {
    /** the stages themselves (what a recorded build replaces) */
    stageMinutes: 4,
    /** sync, archive and fetch around the stages */
    overheadMinutes: 1,
    /** chroot, its layers and the downloaded packages on the build machine */
    buildMachineGB: 3.5,
    /** the OS image kept in the output folder */
    hereGB: 0.45,
  },
  stemcell: {
    /** per stemcell with a disk image (kernel, agent, hardening, the image, packing) */
    diskStageMinutes: 3,
    /** per warden stemcell (no disk image: the chroot is packed) */
    filesStageMinutes: 2,
    overheadMinutes: 1,
    /** the OS image unpacked once on the build machine, shared by every infrastructure */
    chrootGB: 1.5,
    /** one packed stemcell, on the build machine and again here */
    packedGB: 0.5,
  },
  /** how much slower stages run in a whole emulated VM (libvirt with --libvirt-driver qemu) */
  emulationFactor: 10,
} as const;

/**
 * How much slower a phase's stages run on a build machine of another architecture, where only
 * the image's programs (the chroot) are emulated. Measured by bench/foreign-arch.ts in the
 * mirror direction (the whole debian-bookworm OS image, arm64 on this 2-core amd64 machine
 * through qemu-user): stages 1021.9 s against 143.6 s native, 7.1x (debootstrap 5.5x, apt
 * 6.9x, the package set 10.6x, monit's compile 12.9x). Rosetta, where a VM shares it, is faster.
 */
export const chrootEmulationFactor = 7;
