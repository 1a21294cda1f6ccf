// The builder VM as data: Vagrant providers, their default boxes per host architecture,
// and the VM's default size. A box is a public Vagrant box name; --box overrides it.

export const vagrantProviders = ['virtualbox', 'libvirt', 'parallels', 'vmware_desktop', 'hyperv'] as const;
export type VagrantProvider = (typeof vagrantProviders)[number];

export const defaultProvider: VagrantProvider = 'virtualbox';

type HostArch = 'x64' | 'arm64';

export interface ProviderFacts {
  /** the product's own name */
  label: string;
  /** the host systems the provider exists on (Node's process.platform names) */
  platforms: readonly NodeJS.Platform[];
  /** whether it can run the amd64 builder VM on an arm64 host (only by emulation: libvirt with qemu) */
  amd64OnArm64: boolean;
}

/** Where each provider can exist, as the doctor checks it (src/doctor/checks.ts). */
export const providerFacts: Record<VagrantProvider, ProviderFacts> = {
  virtualbox: { label: 'VirtualBox', platforms: ['darwin', 'linux', 'win32'], amd64OnArm64: false },
  libvirt: { label: 'libvirt', platforms: ['linux'], amd64OnArm64: true },
  parallels: { label: 'Parallels', platforms: ['darwin'], amd64OnArm64: false },
  vmware_desktop: { label: 'VMware', platforms: ['darwin', 'linux', 'win32'], amd64OnArm64: false },
  hyperv: { label: 'Hyper-V', platforms: ['win32'], amd64OnArm64: false },
};

/**
 * Default boxes. Ubuntu 24.04 carries a debootstrap that knows every suite we build.
 * Missing entries have no public default we trust: the user names a box with --box.
 */
export const defaultBoxes: Record<VagrantProvider, Partial<Record<HostArch, string>>> = {
  virtualbox: { x64: 'bento/ubuntu-24.04', arm64: 'bento/ubuntu-24.04' },
  parallels: { x64: 'bento/ubuntu-24.04', arm64: 'bento/ubuntu-24.04' },
  vmware_desktop: { x64: 'bento/ubuntu-24.04', arm64: 'bento/ubuntu-24.04' },
  hyperv: { x64: 'bento/ubuntu-24.04' },
  libvirt: { x64: 'generic/ubuntu2204' },
};

export const defaultVmSize = { cpus: 2, memoryMiB: 4096, diskGiB: 40 } as const;

/** Below this the builder VM cannot build (debootstrap, the kernel's initramfs). */
export const minimumVmMemoryMiB = 2048;

/** How long `vagrant up` (first boot and provisioning included) may take. */
export const defaultUpTimeoutMinutes = 30;
