// The builder VM as data: Vagrant providers, which of them run a native arm64 builder VM on
// an arm64 host, their default boxes per host architecture, and the VM's default size. A box
// is a public Vagrant box name; --box overrides it.
//
// The builder VM is always the host's own architecture (hardware virtualization). On an
// arm64 host the VM is arm64 and runs the amd64 image's programs through binfmt_misc
// (Rosetta where the hypervisor shares it, else qemu-user-static): only the chroot is
// emulated. A whole emulated x86_64 VM (libvirt with --libvirt-driver qemu and an amd64 box)
// still works but is about 10x slower, and nothing recommends it.
import { versionAtLeast } from '../util/dotted-version.js';

export const vagrantProviders = ['virtualbox', 'libvirt', 'parallels', 'vmware_desktop', 'hyperv'] as const;
export type VagrantProvider = (typeof vagrantProviders)[number];

export const defaultProvider: VagrantProvider = 'virtualbox';

export type HostArch = 'x64' | 'arm64';

export interface Arm64Vm {
  /** the host systems on which an arm64 host runs it natively (Node's process.platform names) */
  platforms: readonly NodeJS.Platform[];
  /** the first release of the provider that does, where older ones run no VM there */
  since?: string;
}

export interface ProviderFacts {
  /** the product's own name */
  label: string;
  /** the host systems the provider exists on (Node's process.platform names) */
  platforms: readonly NodeJS.Platform[];
  /** where it runs a native arm64 builder VM on an arm64 host; absent: nowhere */
  arm64Vm?: Arm64Vm;
}

/** Where each provider can exist, as the doctor checks it (src/doctor/checks.ts). */
export const providerFacts: Record<VagrantProvider, ProviderFacts> = {
  // 7.1 is the first VirtualBox for Apple Silicon hosts
  virtualbox: { label: 'VirtualBox', platforms: ['darwin', 'linux', 'win32'], arm64Vm: { platforms: ['darwin'], since: '7.1' } },
  // KVM on an arm64 Linux host
  libvirt: { label: 'libvirt', platforms: ['linux'], arm64Vm: { platforms: ['linux'] } },
  parallels: { label: 'Parallels', platforms: ['darwin'], arm64Vm: { platforms: ['darwin'] } },
  // VMware Fusion; Workstation has no arm64 host
  vmware_desktop: { label: 'VMware', platforms: ['darwin', 'linux', 'win32'], arm64Vm: { platforms: ['darwin'] } },
  hyperv: { label: 'Hyper-V', platforms: ['win32'] },
};

/**
 * Default boxes, per host architecture (the box's own architecture: Vagrant picks the one of
 * the host). Ubuntu 24.04 carries a debootstrap that knows every suite we build. Missing
 * entries have no public default we trust: the user names a box with --box.
 */
export const defaultBoxes: Record<VagrantProvider, Partial<Record<HostArch, string>>> = {
  virtualbox: { x64: 'bento/ubuntu-24.04', arm64: 'bento/ubuntu-24.04' },
  parallels: { x64: 'bento/ubuntu-24.04', arm64: 'bento/ubuntu-24.04' },
  vmware_desktop: { x64: 'bento/ubuntu-24.04', arm64: 'bento/ubuntu-24.04' },
  hyperv: { x64: 'bento/ubuntu-24.04' },
  libvirt: { x64: 'generic/ubuntu2204' },
};

/** The first Vagrant that picks a box's build for the host architecture (box_architecture :auto): older ones cannot fetch the arm64 box. */
export const multiArchBoxesSinceVagrant = '2.4.0';

/** The default box of a provider on a host architecture, if there is one. */
export function defaultBoxFor(provider: VagrantProvider, hostArch: string): string | undefined {
  return hostArch === 'x64' || hostArch === 'arm64' ? defaultBoxes[provider][hostArch] : undefined;
}

/**
 * Whether a provider runs a native arm64 builder VM on an arm64 host of this system:
 * 'yes', 'no', or 'too-old' when its version (if known) predates the first that does.
 */
export function arm64VmSupport(provider: VagrantProvider, platform: NodeJS.Platform, version?: string): 'yes' | 'no' | 'too-old' {
  const vm = providerFacts[provider].arm64Vm;
  if (!vm?.platforms.includes(platform)) return 'no';
  if (vm.since && version !== undefined && !versionAtLeast(version, vm.since)) return 'too-old';
  return 'yes';
}

/** The providers that run a native arm64 builder VM on an arm64 host of this system, in the catalog's order. */
export function arm64VmProviders(platform: NodeJS.Platform): VagrantProvider[] {
  return vagrantProviders.filter((p) => arm64VmSupport(p, platform) === 'yes');
}

export const defaultVmSize = { cpus: 2, memoryMiB: 4096, diskGiB: 40 } as const;

/** Below this the builder VM cannot build (debootstrap, the kernel's initramfs). */
export const minimumVmMemoryMiB = 2048;

/** How long `vagrant up` (first boot and provisioning included) may take. */
export const defaultUpTimeoutMinutes = 30;
