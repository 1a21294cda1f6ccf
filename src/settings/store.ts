// The user's settings file (conf): defaults per user and the stemcell version counters.
// It lives in the user's config folder (STEMFORGE_CONFIG_DIR moves it), mode 0600, and is
// checked against a schema whenever it is read.
import Conf from 'conf';
import envPaths from 'env-paths';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { versionPattern } from '../stemcell/naming.js';
import { HintedError } from '../util/errors.js';
import { settingsSchema } from './options.js';

export type SettingsStore = Conf;

/** The folder of the settings file; read at call time so a test's environment counts. */
function settingsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.STEMFORGE_CONFIG_DIR || envPaths('stemforge', { suffix: '' }).config;
}

export function openSettings(env: NodeJS.ProcessEnv = process.env): SettingsStore {
  const dir = settingsDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    const store = new Conf<Record<string, unknown>>({
      projectName: 'stemforge',
      projectSuffix: '',
      cwd: dir,
      configName: 'settings',
      configFileMode: 0o600,
      schema: {
        ...settingsSchema(),
        // "<os>/<iaas>" → the last version built
        versions: { type: 'object', additionalProperties: { type: 'string', pattern: versionPattern.source } },
      } as never,
      rootSchema: { additionalProperties: false },
    });
    // conf applies the mode when it writes; a file made by hand or by an older stemforge may be wider
    if (existsSync(store.path)) chmodSync(store.path, 0o600);
    return store;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new HintedError(
      `the settings file in ${dir} is not valid: ${message}`,
      'fix it with `stemforge config set`/`config unset`, or edit or remove the file',
    );
  }
}
