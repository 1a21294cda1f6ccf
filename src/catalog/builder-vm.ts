// The builder VM as data: Vagrant providers, their default boxes per host architecture,
// and the VM's default size. A box is a public Vagrant box name; --box overrides it.

export const vagrantProviders = ['virtualbox', 'libvirt', 'parallels', 'vmware_desktop', 'hyperv'] as const;
export type VagrantProvider = (typeof vagrantProviders)[number];

export const defaultProvider: VagrantProvider = 'virtualbox';

type HostArch = 'x64' | 'arm64';

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
