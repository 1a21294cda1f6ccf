// Benchmark: how long the CLI takes to start, against Node's own start-up. Runs `node -e 0`,
// `stemforge --version`, `stemforge --help` and `stemforge help build` side by side, the
// four interleaved in each round so that a busy machine slows them alike, and prints each
// one's median and its ratio to `node -e 0`. Run: npm run bench:startup [-- path/to/stemforge.js]
// (another checkout's launcher, to compare before and after). ROUNDS sets the rounds (21).
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { packageRoot } from '../src/util/paths.js';

const rounds = Number(process.env.ROUNDS ?? 21);
const cli = resolve(process.argv[2] ?? `${packageRoot}/bin/stemforge.js`);

const runs: { name: string; args: string[] }[] = [
  { name: 'node -e 0', args: ['-e', '0'] },
  { name: 'stemforge --version', args: [cli, '--version'] },
  { name: 'stemforge --help', args: [cli, '--help'] },
  { name: 'stemforge help build', args: [cli, 'help', 'build'] },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Wall time of one run, in ms; a failed run stops the bench (its numbers would mean nothing). */
function timeOne(args: string[]): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

const times = new Map(runs.map((r) => [r.name, [] as number[]]));
timeOne(runs[1]!.args); // one untimed run: the file cache warm for every round alike
for (let i = 0; i < rounds; i++) for (const run of runs) times.get(run.name)!.push(timeOne(run.args));

const base = median(times.get('node -e 0')!);
console.log(`CLI start-up: ${cli}, median of ${rounds} interleaved rounds`);
for (const run of runs) {
  const m = median(times.get(run.name)!);
  console.log(`  ${run.name.padEnd(22)} ${m.toFixed(1).padStart(7)} ms  ${(m / base).toFixed(2)}x node -e 0`);
}
