// One debian-bookworm OS image shared by the tests that start from one (the stemcell e2e, the
// build e2e's layered-vs-in-place comparison), kept in the test cache and keyed by the
// content of stages/ and the OS catalog, so a change to any OS stage makes a new one. The
// os-image e2e stores the image it built.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildManifest } from '../../src/sync/manifest.js';
import { packageRoot } from '../../src/util/paths.js';

const cacheDir = join(process.env.STEMFORGE_TEST_CACHE ?? '/var/cache/stemforge-test', 'os-images');

async function key(): Promise<string> {
  const manifest = await buildManifest(packageRoot, ['stages']);
  const catalog = readFileSync(join(packageRoot, 'src', 'catalog', 'operating-systems.ts'));
  return createHash('sha256').update(JSON.stringify(manifest)).update(catalog).digest('hex').slice(0, 16);
}

async function fixturePath(): Promise<string> {
  return join(cacheDir, `debian-bookworm-${await key()}.tgz`);
}

/** Keep an OS image the os-image e2e built (copied in through a temp name). */
export async function storeOsImageFixture(image: string): Promise<void> {
  const path = await fixturePath();
  mkdirSync(cacheDir, { recursive: true });
  copyFileSync(image, `${path}.part`);
  renameSync(`${path}.part`, path);
}

/** The cached OS image for the current stages, built on the local machine when missing. */
export async function osImageFixture(): Promise<string> {
  const path = await fixturePath();
  if (existsSync(path)) return path;
  mkdirSync(cacheDir, { recursive: true });
  const scratch = mkdtempSync('/var/tmp/stemforge-fixture-');
  try {
    const r = spawnSync(
      process.execPath,
      [
        join(packageRoot, 'bin', 'stemforge.js'),
        'os-image',
        '--os',
        'debian-bookworm',
        '--machine',
        'local',
        '--build-root',
        join(scratch, 'root'),
        '--out',
        `${path}.part`,
        '--quiet',
        '--no-cache',
        '--no-layers',
      ],
      { encoding: 'utf8', env: { ...process.env, CI: 'true' } },
    );
    if (r.status !== 0) throw new Error(`building the OS image fixture failed (exit ${r.status}):\n${r.stderr.slice(-3000)}`);
    renameSync(`${path}.part`, path);
    rmSync(`${path}.part.sha256`, { force: true });
    return path;
  } finally {
    spawnSync('rm', ['-rf', '--one-file-system', scratch]);
  }
}
