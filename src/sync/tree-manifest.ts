// A manifest of the builder tree (path → sha256 + mode), and the difference between two
// manifests: what must be sent and what must be removed on the build machine.
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';

export interface TreeFile {
  sha256: string;
  /** permission bits; the executable bits matter to the stages */
  mode: number;
}

export interface TreeManifest {
  version: 1;
  files: Record<string, TreeFile>;
}

export interface TreeDiff {
  send: string[];
  remove: string[];
}

/** Hash every regular file under root/folders; paths are relative to root, '/'-separated. */
export async function treeManifest(root: string, folders: readonly string[]): Promise<TreeManifest> {
  const files: Record<string, TreeFile> = {};
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(root, rel), { withFileTypes: true });
    for (const entry of entries) {
      const child = posix.join(rel, entry.name);
      if (entry.isDirectory()) await walk(child);
      else if (entry.isFile()) {
        const path = join(root, child);
        const [content, info] = await Promise.all([readFile(path), stat(path)]);
        files[child] = { sha256: createHash('sha256').update(content).digest('hex'), mode: info.mode & 0o777 };
      }
      // symlinks and other kinds are not part of the builder and are not sent
    }
  };
  for (const folder of folders) {
    // a folder the checkout does not have is simply not synced
    const info = await stat(join(root, folder)).catch(() => undefined);
    if (info?.isDirectory()) await walk(folder);
  }
  const sorted = Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { version: 1, files: sorted };
}

export function parseTreeManifest(text: string): TreeManifest | undefined {
  try {
    const value = JSON.parse(text) as Partial<TreeManifest>;
    if (value?.version !== 1 || typeof value.files !== 'object' || value.files === null) return undefined;
    return value as TreeManifest;
  } catch {
    return undefined;
  }
}

export function diffTrees(local: TreeManifest, remote: TreeManifest | undefined): TreeDiff {
  const theirs = remote?.files ?? {};
  const send = Object.keys(local.files).filter((path) => {
    const a = local.files[path];
    const b = theirs[path];
    return !b || !a || a.sha256 !== b.sha256 || a.mode !== b.mode;
  });
  const remove = Object.keys(theirs).filter((path) => !(path in local.files));
  return { send, remove };
}
