// A digest of every entry below a directory (type, mode, owner, size, content hash or link
// target), to compare two chroots: a re-run against its first run, a warm build against a cold one.
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

export type TreeDigest = Map<string, string>;

export function digestTree(root: string, skip: (path: string) => boolean = () => false): TreeDigest {
  const out: TreeDigest = new Map();
  const rootDev = lstatSync(root).dev;
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      if (skip(path)) continue;
      const st = lstatSync(join(root, path));
      const meta = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
      if (st.isSymbolicLink()) out.set(path, `link ${meta} -> ${readlinkSync(join(root, path))}`);
      else if (st.isFile())
        out.set(
          path,
          `file ${meta} ${st.size} ${createHash('sha256')
            .update(readFileSync(join(root, path)))
            .digest('hex')}`,
        );
      else if (st.isDirectory()) {
        out.set(path, `dir ${meta}`);
        if (st.dev === rootDev) walk(path);
      } else out.set(path, `special ${meta} ${st.rdev}`);
    }
  };
  walk('');
  return out;
}

/** Human-readable differences: added, removed and changed paths. */
export function diffTrees(a: TreeDigest, b: TreeDigest): string[] {
  const diffs: string[] = [];
  for (const [path, v] of a) {
    const w = b.get(path);
    if (w === undefined) diffs.push(`- ${path}`);
    else if (w !== v) diffs.push(`~ ${path}: ${v} => ${w}`);
  }
  for (const path of b.keys()) if (!a.has(path)) diffs.push(`+ ${path}`);
  return diffs;
}
