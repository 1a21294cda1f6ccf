// Gather every layer a setting can come from, for the current process.
import envPaths from 'env-paths';
import { readProjectFile } from './project-file.js';
import { storedKeys, type BuiltinDirs } from './options.js';
import { resolveSettings, type ResolvedSetting, type SettingLayers } from './resolve.js';
import { openSettings } from './store.js';

/** Read at call time, not import time: XDG_CACHE_HOME may be set by the caller (tests, CI). */
export function builtinDirs(): BuiltinDirs {
  return { cacheDir: envPaths('stemforge', { suffix: '' }).cache, outputDir: 'out' };
}

export function loadLayers(flags: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): SettingLayers {
  const store = openSettings(env);
  const stored = store.store;
  const values = Object.fromEntries(storedKeys.filter((k) => stored[k] !== undefined).map((k) => [k, stored[k]]));
  return { flags, env, project: readProjectFile(cwd), user: { path: store.path, values }, dirs: builtinDirs() };
}

/** Every setting's effective value and where it came from. */
export function effectiveSettings(
  flags: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): Map<string, ResolvedSetting> {
  return resolveSettings(loadLayers(flags, env, cwd));
}
