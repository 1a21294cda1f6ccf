// A build machine's free space at the build root, in one remote command, and what a stage
// that failed for space says: where, how much is free, what to prune. Light on imports: the
// CLI's error report loads it at start-up.
import { posix } from 'node:path';
import { runChecked, type Machine } from '../machine/machine.js';

const MiB = 1024 * 1024;

/** The build machine's file system at the build root (its nearest existing folder). */
export interface RemoteSpace {
  /** the folder measured: the build root, or the nearest existing folder above it */
  path: string;
  freeBytes: number;
  sizeBytes: number;
  /** free inodes: a file system can run out of them with blocks to spare */
  freeInodes: number;
  /** the earlier builds' layers' meta files, as text, each after a line key=KEY */
  metas: string[];
}

/** The keys of the complete layers (those with a meta) the probe saw. */
export function completeKeys(space: RemoteSpace): Set<string> {
  return new Set(space.metas.map((m) => /^key=(\S+)$/m.exec(m)?.[1]).filter((k): k is string => k !== undefined));
}

// One command for the whole question (one round trip): df at the nearest existing folder, and
// with "metas" every layer's meta. The root is an argument, never part of the script.
const probeScript = `root=$1 p=$1
while [ ! -e "$p" ]; do p=$(dirname -- "$p"); done
echo "at=$p"
df -Pk -- "$p" | awk 'NR == 2 { print "size_kib=" $2; print "free_kib=" $4 }'
df -Pi -- "$p" | awk 'NR == 2 { print "free_inodes=" $4 }'
if [ "$2" = metas ]; then
  for m in "$root"/layers/*/meta; do
    [ -f "$m" ] && { echo '--meta'; echo "key=$(basename -- "$(dirname -- "$m")")"; cat -- "$m"; }
  done
fi
exit 0`;

export function parseSpaceProbe(out: string): RemoteSpace {
  const [head = '', ...metas] = out.split('\n--meta\n');
  const value = (name: string): string | undefined => new RegExp(`^${name}=(.*)$`, 'm').exec(head)?.[1];
  const free = Number(value('free_kib'));
  const size = Number(value('size_kib'));
  const path = value('at');
  if (!path || !Number.isFinite(free) || !Number.isFinite(size) || value('free_kib') === undefined)
    throw new Error(`cannot read the free space: ${out.slice(0, 200)}`);
  // file systems without inode counts (btrfs) print "-": never short of them
  const inodes = Number(value('free_inodes'));
  return { path, freeBytes: free * 1024, sizeBytes: size * 1024, freeInodes: Number.isFinite(inodes) ? inodes : Number.POSITIVE_INFINITY, metas };
}

/** Free space at the build root on the build machine; with layers' metas for the recorded sizes. */
export async function probeBuildMachine(machine: Machine, buildRoot: string, withMetas = true): Promise<RemoteSpace> {
  const out = await runChecked(machine, ['bash', '-c', probeScript, 'bash', buildRoot, withMetas ? 'metas' : 'df'], { sudo: true });
  return parseSpaceProbe(out);
}

/** "3.1 GiB", or "12 MiB" below a GiB. */
export function formatSize(bytes: number): string {
  return bytes >= 1024 * MiB ? `${(bytes / (1024 * MiB)).toFixed(1)} GiB` : `${Math.floor(bytes / MiB)} MiB`;
}

/** What to prune, for a refusal and for a stage that ran out of space. */
export function pruneHint(buildRoot: string): string {
  return (
    `free space: on the build machine lower --layer-limit (setting layerLimit) or remove old layers in ${posix.join(buildRoot, 'layers')}, ` +
    'or use --build-root on a larger disk; here `stemforge cache prune` (e.g. --max-size 20G)'
  );
}

/** Where a stage that failed for space left the build root. */
export interface SpaceShortage {
  /** the folder measured: the build root, or the nearest existing folder above it */
  path: string;
  freeBytes: number;
  /** set when the file system has no inode left */
  noInodes?: boolean;
  buildRoot: string;
}

/** Below this the file system counts as full whatever the log says: 64 MiB, or 1 % of it. */
function nearlyFull(space: RemoteSpace): boolean {
  return space.freeBytes < Math.max(64 * MiB, space.sizeBytes * 0.01) || space.freeInodes === 0;
}

export const noSpaceText = /No space left on device|ENOSPC/i;

/** After a stage failed: the build root's file system, when the log says it ran out of space or it is (nearly) full now. */
export async function diagnoseSpace(machine: Machine, buildRoot: string, tail: readonly string[]): Promise<SpaceShortage | undefined> {
  let space: RemoteSpace;
  try {
    space = await probeBuildMachine(machine, buildRoot, false);
  } catch {
    // the failure stands as it is; this only explains it
    return undefined;
  }
  if (!tail.some((line) => noSpaceText.test(line)) && !nearlyFull(space)) return undefined;
  return { path: space.path, freeBytes: space.freeBytes, buildRoot, ...(space.freeInodes === 0 ? { noInodes: true } : {}) };
}

/** The failure's words: "no space left on the build machine: 12 MiB free at /var/lib/stemforge". */
export function describeShortage(shortage: SpaceShortage): string {
  const free = shortage.noInodes ? `no inode free (${formatSize(shortage.freeBytes)} of blocks)` : `${formatSize(shortage.freeBytes)} free`;
  return `no space left on the build machine: ${free} at ${shortage.path}`;
}
