// CPU architectures as data: how each is named by Debian (dpkg), the kernel (uname -m), Node
// (process.arch) and the ELF header, and how another architecture's build machine runs its
// programs (binfmt_misc with qemu-user, or Apple's Rosetta for amd64 programs on an arm64 VM).

export const architectures = ['amd64', 'arm64'] as const;
export type Architecture = (typeof architectures)[number];

/** The only architecture stemcells are built for; arm64 OS images test the emulation path. */
export const stemcellArchitecture: Architecture = 'amd64';

export interface ArchitectureFacts {
  /** `uname -m` on a machine of this architecture */
  machine: string;
  /** Node's process.arch */
  node: NodeJS.Architecture;
  /** e_machine of its ELF programs (EM_X86_64, EM_AARCH64) */
  elfMachine: number;
  /** qemu-user's name for it: the emulator is qemu-NAME-static (Debian's qemu-user-static) */
  qemuCpu: string;
  /**
   * where a Linux VM on an Apple Silicon Mac finds Rosetta, when its hypervisor shares it
   * (Parallels: its shared folder; Apple's Virtualization framework: a virtiofs share tagged
   * "rosetta", mounted by the guest at one of these). Only for amd64 programs.
   */
  rosettaPaths: readonly string[];
  /** Debian's multiarch folder name (usr/lib/TRIPLET) */
  triplet: string;
  /**
   * GRUB in the OS image (system_grub): the *-bin packages only (tools and modules, nothing
   * that installs to a disk) and the platforms whose modules go to /boot/grub
   */
  grub: { packages: readonly string[]; platforms: readonly string[] };
}

export const architectureFacts: Record<Architecture, ArchitectureFacts> = {
  amd64: {
    machine: 'x86_64',
    node: 'x64',
    elfMachine: 0x3e,
    qemuCpu: 'x86_64',
    rosettaPaths: ['/media/psf/RosettaLinux/rosetta', '/media/rosetta/rosetta', '/mnt/rosetta/rosetta'],
    triplet: 'x86_64-linux-gnu',
    grub: { packages: ['grub2-common', 'grub-pc-bin', 'grub-efi-amd64-bin'], platforms: ['i386-pc', 'x86_64-efi'] },
  },
  arm64: {
    machine: 'aarch64',
    node: 'arm64',
    elfMachine: 0xb7,
    qemuCpu: 'aarch64',
    rosettaPaths: [],
    triplet: 'aarch64-linux-gnu',
    // UEFI is the only firmware of arm64 VMs
    grub: { packages: ['grub2-common', 'grub-efi-arm64-bin'], platforms: ['arm64-efi'] },
  },
};

/** The architecture a `uname -m` answer names, if stemforge knows it. */
export function architectureOfMachine(unameM: string): Architecture | undefined {
  return architectures.find((a) => architectureFacts[a].machine === unameM.trim());
}

/** The architecture of a Node process.arch, if stemforge knows it. */
export function architectureOfNode(arch: string): Architecture | undefined {
  return architectures.find((a) => architectureFacts[a].node === arch);
}

/** Debian's and Ubuntu's package of the qemu-user emulators, registered in binfmt_misc by the stages. */
export const qemuUserPackage = 'qemu-user-static';

/** The qemu-user emulator that runs programs of this architecture (from qemuUserPackage). */
export function qemuUserProgram(arch: Architecture): string {
  return `qemu-${architectureFacts[arch].qemuCpu}-static`;
}
