// What the wizard needs to know of this host, passed in (never read inside the wizard) so
// the questions for macOS, Windows and Linux can be tested on any of them.
import { availableParallelism, totalmem } from 'node:os';

export interface HostFacts {
  platform: NodeJS.Platform;
  arch: string;
  cpus: number;
  memoryMiB: number;
}

export function thisHost(): HostFacts {
  return { platform: process.platform, arch: process.arch, cpus: availableParallelism(), memoryMiB: Math.floor(totalmem() / 1048576) };
}
