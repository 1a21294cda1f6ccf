// Pieces every build command shares: the UI options, abort checks, fetching an artifact.
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { runChecked, type Machine } from '../machine/machine.js';
import type { RendererChoice } from './ui.js';

export interface RunUi {
  renderer: RendererChoice;
  signal: AbortSignal;
}

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new Error('interrupted');
}

export function phaseSummary(selected: number, total: number, unwritten: number): string {
  const parts = [selected === total ? `${total} stages` : `${selected} of ${total} stages`];
  if (unwritten > 0) parts.push(`${unwritten} not written yet`);
  return parts.join(', ');
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** Fetch a file of the build machine to OUT (streamed, via a .part file), checked against the build machine's own sha256, with OUT.sha256 beside it. */
export async function fetchArtifact(machine: Machine, remote: string, out: string, what: string): Promise<{ sha256: string; bytes: number }> {
  await mkdir(dirname(out), { recursive: true });
  const part = join(dirname(out), `.${basename(out)}.part`);
  // the build machine's own digest, to check what arrived against
  const expected = (await runChecked(machine, ['sha256sum', '--', remote], { sudo: true })).split(/\s+/)[0];
  try {
    const fetched = await machine.fetchFile(remote, createWriteStream(part, { mode: 0o644 }), { sudo: true });
    if (fetched.sha256 !== expected) {
      throw new Error(`${what} arrived damaged: sha256 ${fetched.sha256}, the build machine has ${expected}`);
    }
    await rename(part, out);
    await writeFile(`${out}.sha256`, `${fetched.sha256}  ${basename(out)}\n`);
    return fetched;
  } catch (err) {
    await rm(part, { force: true });
    throw err;
  }
}

