// What the external tools print about their versions, read without touching anything.
// Each parser takes the tool's whole output and returns "X.Y.Z", or undefined when the
// output is not what the tool prints.
import { parseMachineReadable } from '../machine/vagrant/machine-readable.js';

const dotted = String.raw`(\d+\.\d+\.\d+)`;

function firstMatch(output: string, pattern: RegExp): string | undefined {
  return pattern.exec(output)?.[1];
}

/** `vagrant --version`: "Vagrant 2.3.4" (plugin warnings may come first). */
export function parseVagrantVersion(output: string): string | undefined {
  return firstMatch(output, new RegExp(`^Vagrant ${dotted}`, 'm'));
}

/**
 * `VBoxManage --version`: "7.1.4r165100", distribution builds "7.0.20_Ubuntur163906".
 * Warnings (a kernel module not loaded) can come on lines before it.
 */
export function parseVBoxManageVersion(output: string): string | undefined {
  return firstMatch(output, new RegExp(`^\\s*${dotted}\\S*\\s*$`, 'm'));
}

/** `virsh --version`: the libvirt library version alone, "9.0.0". */
export function parseVirshVersion(output: string): string | undefined {
  return firstMatch(output, new RegExp(`^\\s*${dotted}\\s*$`, 'm'));
}

/** `prlctl --version`: "prlctl version 20.1.1 (55740)". */
export function parsePrlctlVersion(output: string): string | undefined {
  return firstMatch(output, new RegExp(`prlctl version ${dotted}`));
}

/** `vmrun` without arguments prints its usage, headed "vmrun version 1.17.0 build-24995812". */
export function parseVmrunVersion(output: string): string | undefined {
  return firstMatch(output, new RegExp(`vmrun version ${dotted}`));
}

/** `process.version`: "v20.12.0". */
export function parseNodeVersion(version: string): string | undefined {
  return firstMatch(version.trim(), new RegExp(`^v?${dotted}$`));
}

export interface VagrantPlugin {
  name: string;
  /** the gem version, without the ", system"/", global"/", local" scope Vagrant appends */
  version?: string;
}

/**
 * `vagrant plugin list --machine-readable`: a "plugin-name" event per plugin, then a
 * "plugin-version" event targeted at it whose data is "0.11.2, system" (commas escaped).
 * "No plugins installed." comes as a ui event only, so it yields [].
 */
export function parseVagrantPlugins(output: string): VagrantPlugin[] {
  const plugins: VagrantPlugin[] = [];
  for (const event of parseMachineReadable(output)) {
    const value = event.data[0];
    if (value === undefined) continue;
    if (event.type === 'plugin-name') {
      plugins.push({ name: value });
    } else if (event.type === 'plugin-version') {
      const plugin = plugins.find((p) => p.name === event.target);
      const version = value.split(',')[0]?.trim();
      if (plugin && version) plugin.version = version;
    }
  }
  return plugins;
}
