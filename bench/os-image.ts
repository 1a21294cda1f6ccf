// Benchmark: the debian-bookworm OS image through the ssh machine (sshd on loopback), side
// by side in one run: cold (empty package cache), warm (same cache, fresh chroot), and a
// resume from a late stage on the kept chroot, all in place (--no-layers; bench/rebuild.ts
// measures the layers and the cache). Run as root: npm run bench:os-image
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../src/util/paths.js';
import { startSshd } from '../test/helpers/sshd.js';

const sshd = await startSshd();
const scratch = mkdtempSync('/var/tmp/stemforge-bench-');
const out = join(scratch, 'debian-bookworm.tgz');
const common = [
  'os-image',
  '--os',
  'debian-bookworm',
  '--machine',
  sshd.machineUrl,
  '--identity',
  sshd.clientKey,
  '--known-hosts',
  sshd.knownHosts,
  '--build-root',
  join(scratch, 'root'),
  '--package-cache',
  join(scratch, 'debs'),
  '--out',
  out,
  '--json',
  '--no-layers',
  '--no-cache',
];

function build(label: string, extra: string[] = []): number {
  const started = performance.now();
  const r = spawnSync(process.execPath, [join(packageRoot, 'bin', 'stemforge.js'), ...common, ...extra], {
    env: { ...process.env, CI: 'true' },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0) throw new Error(`${label} failed (exit ${r.status}):\n${r.stderr.slice(-3000)}`);
  const result = JSON.parse(r.stdout) as { stages: { stage: string; step: string; seconds: number }[] };
  const top = result.stages
    .filter((s) => s.step === 'apply')
    .sort((a, b) => b.seconds - a.seconds)
    .slice(0, 5);
  console.log(`  ${label.padEnd(34)} ${seconds.toFixed(1).padStart(6)} s   slowest: ${top.map((s) => `${s.stage} ${s.seconds.toFixed(1)}s`).join(', ')}`);
  return seconds;
}

try {
  console.log('debian-bookworm OS image over ssh (loopback)');
  const cold = build('cold (empty package cache)');
  const warm = build('warm (package cache kept)');
  const resume = build('resume from bosh_audit_debian', ['--resume-from', 'bosh_audit_debian']);
  console.log(`  image: ${(statSync(out).size / 1048576).toFixed(1)} MiB`);
  console.log(`  warm/cold ${(warm / cold).toFixed(2)}, resume/cold ${(resume / cold).toFixed(2)}`);
} finally {
  await sshd.stop();
  // never cross into a mount that might be left inside a chroot
  execFileSync('rm', ['-rf', '--one-file-system', scratch]);
}
