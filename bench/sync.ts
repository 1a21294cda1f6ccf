// Benchmark: builder sync over a real SSH connection (sshd on loopback), side by side in
// one run: a full sync to an empty machine, an unchanged resync, and a resync after one
// stage file changed. Run as root: npm run bench:sync
import { randomBytes } from 'node:crypto';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syncBuilder } from '../src/sync/sync.js';
import { builderFolders, packageRoot } from '../src/util/paths.js';
import { connectToSshd, startSshd } from '../test/helpers/sshd.js';

const rounds = Number(process.env.ROUNDS ?? 7);
// Later stages bundle tarballs (monit source, CLIs): a binary asset stands in for them.
const assetMiB = Number(process.env.ASSET_MIB ?? 8);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const sshd = await startSshd();
const machine = await connectToSshd(sshd);
const src = mkdtempSync(join(tmpdir(), 'sf-bench-src-'));
for (const f of builderFolders) cpSync(join(packageRoot, f), join(src, f), { recursive: true });
if (assetMiB > 0) {
  mkdirSync(join(src, 'stages', 'bench_asset', 'assets'), { recursive: true });
  writeFileSync(join(src, 'stages', 'bench_asset', 'assets', 'bundle.tgz'), randomBytes(assetMiB * 1024 * 1024));
}
const dests: string[] = [];

const times = { full: [] as number[], unchanged: [] as number[], oneChanged: [] as number[] };
let files = 0;
try {
  for (let i = 0; i < rounds; i++) {
    const dest = mkdtempSync(join(tmpdir(), 'sf-bench-dest-'));
    dests.push(dest);
    let t = performance.now();
    const full = await syncBuilder(machine, src, builderFolders, dest);
    times.full.push(performance.now() - t);
    files = full.send.length;

    t = performance.now();
    await syncBuilder(machine, src, builderFolders, dest);
    times.unchanged.push(performance.now() - t);

    appendFileSync(join(src, 'stages', 'base_ssh', 'apply.sh'), `# bench edit ${i}\n`);
    t = performance.now();
    const one = await syncBuilder(machine, src, builderFolders, dest);
    times.oneChanged.push(performance.now() - t);
    if (one.send.length !== 1) throw new Error(`expected one file sent, got ${one.send.length}`);
  }
} finally {
  await machine.close();
  await sshd.stop();
  for (const d of [src, ...dests]) rmSync(d, { recursive: true, force: true });
}

const full = median(times.full);
const unchanged = median(times.unchanged);
const one = median(times.oneChanged);
console.log(`builder sync over ssh on loopback: ${files} files (the repo's stages/ and templates/ + a ${assetMiB} MiB asset), median of ${rounds} rounds`);
console.log(`  full sync (empty machine)   ${full.toFixed(1)} ms`);
console.log(`  unchanged resync            ${unchanged.toFixed(1)} ms   (${(full / unchanged).toFixed(1)}x faster than full)`);
console.log(`  one stage file changed      ${one.toFixed(1)} ms   (${(full / one).toFixed(1)}x faster than full)`);
