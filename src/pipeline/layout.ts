// Where a build lives on the build machine.
import { posix } from 'node:path';

export interface BuildLayout {
  /** stemforge's root on the build machine */
  root: string;
  /** the synced copy of stages/ and templates/ */
  builderDir: string;
  /** one build: settings.bash, stage-settings/, work/ */
  buildDir: string;
  settingsFile: string;
  workDir: string;
  chroot: string;
}

export const defaultBuildRoot = '/var/lib/stemforge';
export const defaultPackageCacheRoot = '/var/cache/stemforge/debs';

export function buildLayout(root: string, buildName: string): BuildLayout {
  if (!posix.isAbsolute(root)) throw new Error(`the build root must be an absolute path: ${root}`);
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(buildName)) throw new Error(`bad build name: ${buildName}`);
  const buildDir = posix.join(root, 'builds', buildName);
  const workDir = posix.join(buildDir, 'work');
  return {
    root,
    builderDir: posix.join(root, 'builder'),
    buildDir,
    settingsFile: posix.join(buildDir, 'settings.bash'),
    workDir,
    chroot: posix.join(workDir, 'chroot'),
  };
}
