// What the stage tests make on and read from the build machine (this one, as root): a stage
// of their own in a build's builder folder, and the mounts left at or below a folder.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BuildLayout } from '../../src/pipeline/layout.js';

/** A test stage: `stages/NAME/apply.sh` running BODY under `set -euo pipefail`. */
export function writeStage(layout: Pick<BuildLayout, 'builderDir'>, name: string, body: string): void {
  const dir = join(layout.builderDir, 'stages', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'apply.sh'), `#!/usr/bin/env bash\nset -euo pipefail\n${body}\n`, { mode: 0o755 });
}

/** The mount points at or below `dir`, in /proc/self/mounts order. */
export function mountsBelow(dir: string): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
}
