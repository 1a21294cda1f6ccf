// A file written in the output folder arrives under a temporary name beside it
// (.NAME.part) and is renamed into place only when complete, so a reader never sees half a
// file. The temporary name must never outlive the write: not after success (a rename onto a
// hard link of the same file does nothing and leaves it), not after a failure, not when the
// process exits mid-write (a second Ctrl-C).
import { rmSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** The temporary name of `out` while it is written. */
export function partPath(out: string): string {
  return join(dirname(out), `.${basename(out)}.part`);
}

/** Parts being written now, removed if the process exits first. */
const pending = new Set<string>();
let hooked = false;

function removePendingOnExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const part of pending) rmSync(part, { force: true });
  });
}

/** Write `out` through its .part file: `fill` writes the part; it then replaces `out`, and no .part is left whatever happens. */
export async function writeViaPart<T>(out: string, fill: (part: string) => Promise<T>): Promise<T> {
  await mkdir(dirname(out), { recursive: true });
  const part = partPath(out);
  removePendingOnExit();
  pending.add(part);
  try {
    await rm(part, { force: true });
    const result = await fill(part);
    await rename(part, out);
    return result;
  } finally {
    // after a rename this is a no-op, unless part and out were links of one file
    await rm(part, { force: true });
    pending.delete(part);
  }
}
