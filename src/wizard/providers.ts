// Which Vagrant providers the machine question offers on a host: only those that can exist
// there (Hyper-V on Windows, Parallels on macOS, libvirt on Linux, …) and run a builder VM of
// the host's own architecture (on arm64: a native arm64 VM); the installed ones as choices,
// the others as one line of what to install.
import { arm64VmSupport, providerFacts, vagrantProviders, type VagrantProvider } from '../catalog/builder-vm.js';
import type { HostFacts } from './host.js';

export interface ProviderChoice {
  provider: VagrantProvider;
  /** vagrant and the provider are installed and fit this host */
  usable: boolean;
  /** what the doctor found, e.g. "VirtualBox 7.1.4" or why not */
  note: string;
}

export interface ProviderOffer {
  /** the choices to offer, in the catalog's order */
  usable: ProviderChoice[];
  /** one line of what to install for the others, when some could run here */
  installHint?: string;
}

/** The providers that exist on this host and run a native builder VM on its architecture. */
export function possibleProviders(host: Pick<HostFacts, 'platform' | 'arch'>): VagrantProvider[] {
  return vagrantProviders.filter(
    (p) => providerFacts[p].platforms.includes(host.platform) && (host.arch !== 'arm64' || arm64VmSupport(p, host.platform) === 'yes'),
  );
}

/** The words after a provider's choice: on arm64 it is the way we recommend (a native arm64 VM). */
export function providerChoiceTag(host: Pick<HostFacts, 'arch'>): string {
  return host.arch === 'arm64' ? ', native arm64 VM, recommended' : '';
}

/** A provider as the install line names it: on arm64 with the first release that runs arm64 VMs, where there is one. */
function installName(provider: VagrantProvider, arch: string): string {
  const { label, arm64Vm } = providerFacts[provider];
  return arch === 'arm64' && arm64Vm?.since ? `${label} ${arm64Vm.since} or newer` : label;
}

export function providerOffer(host: Pick<HostFacts, 'platform' | 'arch'>, found: readonly ProviderChoice[], vagrantInstalled: boolean): ProviderOffer {
  const possible = possibleProviders(host);
  const usable = possible.flatMap((p) => found.filter((f) => f.provider === p && f.usable && vagrantInstalled));
  const missing = possible.filter((p) => !usable.some((u) => u.provider === p)).map((p) => installName(p, host.arch));
  if (missing.length === 0) return { usable };
  const list = missing.length === 1 ? missing[0] : `${missing.slice(0, -1).join(', ')} or ${missing.at(-1)}`;
  // the doctor names plugins and versions; here only what to install
  const installHint = vagrantInstalled
    ? `Also usable once installed: ${list} (stemforge doctor says what is missing)`
    : `Install Vagrant with ${list} to build in a VM here`;
  return { usable, installHint };
}
