// Builder sync: make the build machine's copy of stages/ and templates/ equal to ours,
// sending only files whose content or mode changed since the last sync.
import type { Machine } from '../machine/machine.js';
import { runChecked } from '../machine/machine.js';
import { buildManifest, diffManifests, parseManifest, type ManifestDiff } from './manifest.js';

export const manifestName = '.stemforge-sync.json';

export interface SyncResult extends ManifestDiff {
  unchanged: number;
}

function assertRelative(path: string): void {
  if (path.startsWith('/') || path.split('/').includes('..')) {
    throw new Error(`refusing to sync a path that leaves the builder folder: ${path}`);
  }
}

export async function syncBuilder(
  machine: Machine,
  sourceRoot: string,
  folders: readonly string[],
  remoteDir: string,
): Promise<SyncResult> {
  const local = await buildManifest(sourceRoot, folders);
  const remoteText = await runChecked(machine, ['sh', '-c', 'cat -- "$1" 2>/dev/null || true', 'sh', `${remoteDir}/${manifestName}`], { sudo: true });
  const diff = diffManifests(local, parseManifest(remoteText));
  const unchanged = Object.keys(local.files).length - diff.send.length;
  if (diff.send.length === 0 && diff.remove.length === 0) return { ...diff, unchanged };

  for (const path of [...diff.send, ...diff.remove]) assertRelative(path);
  // The old manifest goes first, so an interrupted sync is redone in full next time.
  await runChecked(machine, ['rm', '-f', '--', `${remoteDir}/${manifestName}`], { sudo: true });
  if (diff.send.length > 0) await machine.sendTree(sourceRoot, remoteDir, { files: diff.send, sudo: true });
  if (diff.remove.length > 0) {
    await runChecked(machine, ['rm', '-f', '--', ...diff.remove.map((p) => `${remoteDir}/${p}`)], { sudo: true });
  }
  await machine.sendFile(Buffer.from(JSON.stringify(local)), `${remoteDir}/${manifestName}`, { sudo: true, mode: 0o644 });
  return { ...diff, unchanged };
}
