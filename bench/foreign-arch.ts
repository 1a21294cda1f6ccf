// Benchmark: the whole debian-bookworm OS image, native amd64 and arm64 under emulation
// (qemu-user through binfmt_misc), side by side in one run on this amd64 machine, stage by
// stage: which stages pay for emulation. Both start from an empty package cache of their own
// (the downloads are in both), in place (--no-layers), without the artifact cache. The arm64
// image is then unpacked and checked by the OS-image spec, as the e2e checks the amd64 one.
// Run as root, with STEMFORGE_MONIT_FILE set where monit's source cannot be downloaded:
//   npm run bench:foreign-arch
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { findOperatingSystem, osForArchitecture } from '../src/catalog/planner.js';
import { packageRoot } from '../src/util/paths.js';
import { ImageView } from '../test/spec/image.js';
import { checksFor } from '../test/spec/os-image-spec.js';

const scratch = mkdtempSync('/var/tmp/stemforge-bench-arch-');

interface Build {
  seconds: number;
  stages: Map<string, number>;
  out: string;
}

function build(arch: string): Build {
  const out = join(scratch, `os-image-${arch}.tgz`);
  const args = ['os-image', '--os', 'debian-bookworm', '--arch', arch, '--machine', 'local', '--build-root', join(scratch, `root-${arch}`)];
  args.push('--package-cache', join(scratch, `debs-${arch}`), '--out', out, '--json', '--no-layers', '--no-cache');
  const started = performance.now();
  const r = spawnSync(process.execPath, [join(packageRoot, 'bin', 'stemforge.js'), ...args], {
    env: { ...process.env, CI: 'true' },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0) throw new Error(`${arch} failed (exit ${r.status}):\n${r.stderr.slice(-3000)}`);
  const result = JSON.parse(r.stdout) as { stages: { stage: string; step: string; seconds: number }[] };
  const stages = new Map(result.stages.filter((s) => s.step === 'apply').map((s) => [s.stage, s.seconds]));
  console.log(`  ${arch}: ${seconds.toFixed(0)} s, image ${(statSync(out).size / 1048576).toFixed(1)} MiB`);
  return { seconds, stages, out };
}

function table(native: Build, emulated: Build): void {
  const row = (name: string, a: number, b: number): string =>
    `  ${name.padEnd(30)} ${a.toFixed(1).padStart(8)} ${b.toFixed(1).padStart(8)} ${(a > 0.05 ? `${(b / a).toFixed(1)}x` : '-').padStart(7)}`;
  console.log(`  ${'stage'.padEnd(30)} ${'amd64 s'.padStart(8)} ${'arm64 s'.padStart(8)} ${'ratio'.padStart(7)}`);
  for (const [stage, a] of native.stages) console.log(row(stage, a, emulated.stages.get(stage) ?? NaN));
  const sum = (b: Build): number => [...b.stages.values()].reduce((x, y) => x + y, 0);
  console.log(row('stages, in all', sum(native), sum(emulated)));
  console.log(row('the whole command', native.seconds, emulated.seconds));
}

/** The OS-image spec on the unpacked arm64 image; returns the failures. */
function spec(image: string): string[] {
  const dir = join(scratch, 'arm64-unpacked');
  mkdirSync(dir);
  execFileSync('tar', ['--numeric-owner', '-xzf', image, '-C', dir]);
  const view = new ImageView(dir, osForArchitecture(findOperatingSystem('debian-bookworm'), 'arm64'));
  const failures: string[] = [];
  let passed = 0;
  for (const { stage, check } of checksFor(view.os)) {
    try {
      check.run(view);
      passed++;
    } catch (e) {
      failures.push(`${stage}: ${check.title}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  console.log(`  OS-image spec on the arm64 image: ${passed} passed, ${failures.length} failed`);
  for (const f of failures) console.log(`    FAIL ${f}`);
  return failures;
}

try {
  console.log('debian-bookworm OS image, --machine local on this amd64 machine');
  const native = build('amd64');
  const emulated = build('arm64');
  table(native, emulated);
  process.exitCode = spec(emulated.out).length > 0 ? 1 : 0;
} finally {
  execFileSync('rm', ['-rf', '--one-file-system', scratch]);
}
