// The commit of stemforge's own checkout, recorded in each stemcell (system_parameters).
import { execFileSync } from 'node:child_process';

/** HEAD's sha, with a + when the checkout has changes; 'unknown' outside a git checkout. */
export function builderCommit(root: string): string {
  try {
    const sha = execFileSync('git', ['-C', root, 'rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return dirty ? `${sha}+` : sha;
  } catch {
    return 'unknown';
  }
}
