// Benchmark: the time the build-root lock adds to a run, as root. Takes and releases the lock
// ROUNDS times (20) on the local machine and over a real sshd on 127.0.0.1 (one connection,
// as a build has), each in a fresh temp build root, and prints the median and the slowest of
// the step's acquire and the cleanup's release, and of both. The heartbeat adds one such
// command every 20 s while a build runs, off its path. Run: npm run bench:build-lock
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Machine } from '../src/machine/machine.js';
import { LocalMachine } from '../src/machine/local.js';
import { BuildRootLock } from '../src/pipeline/build-lock.js';
import { connectToSshd, sshdUnavailable, startSshd } from '../test/helpers/sshd.js';

const rounds = Number(process.env.ROUNDS ?? 20);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function measure(name: string, machine: Machine): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sf-lock-bench-'));
  const acquire: number[] = [];
  const release: number[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      const root = join(dir, `root-${i}`);
      let t = performance.now();
      const lock = await BuildRootLock.acquire(machine, root, { signal: new AbortController().signal });
      acquire.push(performance.now() - t);
      t = performance.now();
      await lock.release();
      release.push(performance.now() - t);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const both = acquire.map((a, i) => a + release[i]!);
  const ms = (x: number): string => `${x.toFixed(1)} ms`;
  console.log(
    `${name.padEnd(6)} acquire median ${ms(median(acquire))} (max ${ms(Math.max(...acquire))}), release median ${ms(median(release))} (max ${ms(Math.max(...release))}), both median ${ms(median(both))} (max ${ms(Math.max(...both))}) over ${rounds}`,
  );
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root (the local machine and the test sshd need it)');
  await measure('local', new LocalMachine());
  const why = sshdUnavailable();
  if (why) {
    console.log(`ssh    skipped: ${why}`);
    return;
  }
  const sshd = await startSshd();
  try {
    const machine = await connectToSshd(sshd);
    try {
      await measure('ssh', machine);
    } finally {
      await machine.close();
    }
  } finally {
    await sshd.stop();
  }
}

await main();
