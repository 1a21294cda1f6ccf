// The built-in cache and output folders, apart from the settings sources so that the CLI can
// name them at start-up without loading the settings store.
import envPaths from 'env-paths';
import type { BuiltinDirs } from './options.js';

/** Read at call time, not import time: XDG_CACHE_HOME may be set by the caller (tests, CI). */
export function builtinDirs(): BuiltinDirs {
  return { cacheDir: envPaths('stemforge', { suffix: '' }).cache, outputDir: 'out' };
}
