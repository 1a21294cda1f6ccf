// One cold build of the OS-image phase shared by every e2e file: the debian-bookworm image
// and the build root whose stage layers made it, kept in the test cache and keyed by the
// content of stages/ and the OS catalog, so a change to any OS stage makes new ones. The
// os-image e2e makes them (over ssh, through a proxy); the stemcell e2e starts from the image,
// the build e2e from the layers (its OS-image phase reuses every one).
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { treeManifest } from '../../src/sync/tree-manifest.js';
import { packageRoot } from '../../src/util/paths.js';

const testCache = process.env.STEMFORGE_TEST_CACHE ?? '/var/cache/stemforge-test';
const cacheDir = join(testCache, 'os-images');
const buildRootsDir = join(testCache, 'build-roots');

async function key(): Promise<string> {
  const manifest = await treeManifest(packageRoot, ['stages']);
  const catalog = readFileSync(join(packageRoot, 'src', 'catalog', 'operating-systems.ts'));
  return createHash('sha256').update(JSON.stringify(manifest)).update(catalog).digest('hex').slice(0, 16);
}

async function fixturePath(): Promise<string> {
  return join(cacheDir, `debian-bookworm-${await key()}.tgz`);
}

/** The build root whose layers make the fixture image. */
export async function layeredBuildRoot(): Promise<string> {
  return join(buildRootsDir, `debian-bookworm-${await key()}`);
}

/** An empty build root for a cold layered build of the fixture; those of older stages are removed. */
export async function freshLayeredBuildRoot(): Promise<string> {
  mkdirSync(buildRootsDir, { recursive: true });
  for (const name of readdirSync(buildRootsDir)) spawnSync('rm', ['-rf', '--one-file-system', join(buildRootsDir, name)]);
  return layeredBuildRoot();
}

/** Keep an OS image the os-image e2e built (copied in through a temp name). */
export async function storeOsImageFixture(image: string): Promise<void> {
  const path = await fixturePath();
  mkdirSync(cacheDir, { recursive: true });
  copyFileSync(image, `${path}.part`);
  renameSync(`${path}.part`, path);
}

/** The cached OS image for the current stages and its layers, built on the local machine when missing. */
export async function osImageFixture(): Promise<string> {
  const path = await fixturePath();
  if (existsSync(path) && existsSync(join(await layeredBuildRoot(), 'layers'))) return path;
  const buildRoot = await freshLayeredBuildRoot();
  mkdirSync(cacheDir, { recursive: true });
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
      buildRoot,
      '--out',
      `${path}.part`,
      '--quiet',
      '--no-cache',
    ],
    { encoding: 'utf8', env: { ...process.env, CI: 'true' } },
  );
  if (r.status !== 0) throw new Error(`building the OS image fixture failed (exit ${r.status}):\n${r.stderr.slice(-3000)}`);
  renameSync(`${path}.part`, path);
  rmSync(`${path}.part.sha256`, { force: true });
  return path;
}
