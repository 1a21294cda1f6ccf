// An OpenStack-style config drive: a small vfat image (dosfstools) filled with mtools, so no mount and no root.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';

// mtools refuses some geometries of images it did not format itself unless told not to check
const mtoolsEnv = { MTOOLS_SKIP_CHECK: '1' };

/** `mkfs.vfat -n LABEL -C IMAGE KiB`: a new image file holding an empty FAT file system. */
async function mkfsVfat(image: string, label: string, sizeKiB: number): Promise<void> {
  await execa('mkfs.vfat', ['-n', label, '-C', image, String(sizeKiB)]);
}

/** `mcopy -i IMAGE -s DIR ::`: DIR and everything under it into the image's root. */
async function mcopyTree(image: string, dir: string): Promise<void> {
  await execa('mcopy', ['-i', image, '-s', dir, '::'], { env: mtoolsEnv });
}

/**
 * A config drive image at `image` holding `files` (paths relative to its root, e.g. ec2/latest/user-data).
 * The files are staged under `stageDir` first; all of them must share one top-level directory.
 */
export async function makeConfigDrive(image: string, label: string, stageDir: string, files: Record<string, string>): Promise<void> {
  const tops = new Set(Object.keys(files).map((p) => p.split('/')[0]));
  const [top] = [...tops];
  if (tops.size !== 1 || !top || Object.keys(files).some((p) => p.split('/').some((part) => part === '' || part === '.' || part === '..'))) {
    throw new Error(`config drive files must lie under one top-level directory: ${Object.keys(files).join(', ')}`);
  }
  for (const [path, content] of Object.entries(files)) {
    const target = join(stageDir, path);
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    // the user data holds the mbus key and the password hash
    await writeFile(target, content, { mode: 0o600 });
  }
  await mkfsVfat(image, label, 2048);
  await chmod(image, 0o600);
  await mcopyTree(image, join(stageDir, top));
}
