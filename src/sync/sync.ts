// Builder sync: make the build machine's copy of stages/ and templates/ equal to ours,
// sending only files whose content or mode changed since the last sync.
import * as tar from 'tar';
import type { Machine } from '../machine/machine.js';
import { runChecked } from '../machine/machine.js';
import { treeManifest, diffTrees, parseTreeManifest, type TreeDiff } from './tree-manifest.js';

const manifestName = '.stemforge-sync.json';
const inlineManifestLimit = 48 * 1024;

export interface SyncResult extends TreeDiff {
  unchanged: number;
}

function assertRelative(path: string): void {
  if (path.startsWith('/') || path.split('/').includes('..')) {
    throw new Error(`refusing to sync a path that leaves the builder folder: ${path}`);
  }
}

export async function syncBuilder(machine: Machine, sourceRoot: string, folders: readonly string[], remoteDir: string): Promise<SyncResult> {
  const local = await treeManifest(sourceRoot, folders);
  const remoteText = await runChecked(machine, ['sh', '-c', 'cat -- "$1" 2>/dev/null || true', 'sh', `${remoteDir}/${manifestName}`], { sudo: true });
  const diff = diffTrees(local, parseTreeManifest(remoteText));
  const unchanged = Object.keys(local.files).length - diff.send.length;
  if (diff.send.length === 0 && diff.remove.length === 0) return { ...diff, unchanged };

  for (const path of [...diff.send, ...diff.remove]) assertRelative(path);
  // One remote command: drop the old manifest (an interrupted sync is redone in full next
  // time), unpack the changed files from stdin, remove what is gone, then write the new
  // manifest. One round trip instead of four.
  const script = [
    'set -e',
    'dir=$1 manifest=$2 has_tar=$3; shift 3',
    `mkdir -p -- "$dir"; rm -f -- "$dir/${manifestName}"`,
    'if [ "$has_tar" = 1 ]; then tar -xzf - -C "$dir" --no-same-owner --preserve-permissions; fi',
    'for f in "$@"; do rm -f -- "$dir/$f"; done',
    `if [ -n "$manifest" ]; then printf '%s' "$manifest" > "$dir/${manifestName}.part"; mv -f -- "$dir/${manifestName}.part" "$dir/${manifestName}"; fi`,
  ].join('\n');
  const hasTar = diff.send.length > 0;
  const stdin = hasTar ? tar.c({ cwd: sourceRoot, portable: true, gzip: true, noDirRecurse: true }, [...diff.send].sort()) : '';
  // A command line over ssh is one argument of at most 128 KiB: a large manifest goes
  // as a file of its own afterwards.
  const manifestText = JSON.stringify(local);
  const inline = manifestText.length < inlineManifestLimit;
  await runChecked(machine, ['sh', '-c', script, 'sh', remoteDir, inline ? manifestText : '', hasTar ? '1' : '0', ...diff.remove], {
    sudo: true,
    stdin,
  });
  if (!inline) await machine.sendFile(Buffer.from(manifestText), `${remoteDir}/${manifestName}`, { sudo: true, mode: 0o644 });
  return { ...diff, unchanged };
}
