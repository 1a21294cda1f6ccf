// Where stemforge's own files are, and where it keeps state on this host.
import envPaths from 'env-paths';
import { fileURLToPath } from 'node:url';

/** The installed package's root (holds stages/, templates/, Vagrantfile). */
export const packageRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** The folders of the builder that are synced to the build machine. */
export const builderFolders = ['stages', 'templates'] as const;

export const userPaths = envPaths('stemforge', { suffix: '' });
