// Gather every source a setting can come from, for the current process.
import { readProjectFile } from './project-file.js';
import { UsageError } from '../util/errors.js';
import { optionSpec, storedKeys, type BuiltinDirs, type SettingValue } from './options.js';
import { resolveSetting, resolveSettings, type ResolvedSetting, type SettingSources } from './resolve.js';
import { readUserSettings } from './store.js';
import { builtinDirs } from './builtin-dirs.js';

export { builtinDirs };

function loadSettingSources(flags: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): SettingSources {
  // a broken settings file is a warning here: these settings have flags, variables and built-ins
  const user = readUserSettings(env);
  const values = Object.fromEntries(storedKeys.filter((k) => user.values[k] !== undefined).map((k) => [k, user.values[k]]));
  return { flags, env, project: readProjectFile(cwd), user: { path: user.path, values }, dirs: builtinDirs() };
}

/** Every setting's effective value and where it came from. */
export function effectiveSettings(
  flags: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): Map<string, ResolvedSetting> {
  return resolveSettings(loadSettingSources(flags, env, cwd));
}

/** The message for a setting nobody gave, where the command needs one and nobody can be asked. */
export function missingSetting(key: string): UsageError {
  const spec = optionSpec(key);
  const stored = spec.stored ? `, "${key}" in ./stemforge.json, or \`stemforge config set ${key} …\`` : '';
  return new UsageError(
    `missing ${spec.flag} (or set ${spec.env}${stored}): required option '${spec.flag} <${spec.arg}>' not specified; ` +
      `${spec.description}${spec.choices ? `: ${spec.choices.join(', ')}` : ''}`,
  );
}

/** One command's settings, resolved the one way: flag > env > ./stemforge.json > user settings > built-in. */
export class CommandSettings {
  constructor(readonly resolved: ReadonlyMap<string, ResolvedSetting>) {}

  private setting(key: string): ResolvedSetting {
    const r = this.resolved.get(key);
    if (!r) throw new Error(`setting ${key} is not one of this command's options`);
    return r;
  }

  value(key: string): SettingValue | undefined {
    return this.setting(key).value;
  }

  string(key: string): string | undefined {
    const v = this.value(key);
    return v === undefined ? undefined : String(v);
  }

  number(key: string): number | undefined {
    const v = this.value(key);
    return v === undefined ? undefined : Number(v);
  }

  list(key: string): string[] | undefined {
    const v = this.value(key);
    return v === undefined ? undefined : Array.isArray(v) ? v : [String(v)];
  }

  /** The value only when someone chose it (a flag, a variable, a settings file): no built-in default. */
  chosen(key: string): SettingValue | undefined {
    const r = this.setting(key);
    return r.source === 'built-in' ? undefined : r.value;
  }

  /** The value, or a usage error naming the flag, the variable and the settings. */
  required(key: string): SettingValue {
    const v = this.value(key);
    if (v === undefined) throw missingSetting(key);
    return v;
  }
}

/** Resolve `keys` (a command's setting options) from its sources; unknown names are called by what they are. */
export function resolveCommandSettings(keys: readonly string[], sources: SettingSources): CommandSettings {
  return new CommandSettings(new Map(keys.map((key) => [key, resolveSetting(optionSpec(key), sources, 'noun')])));
}

/** A command's settings for this process: its parsed flags, the environment, ./stemforge.json, the user settings. */
export function commandSettings(
  keys: readonly string[],
  flags: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
  dirs?: BuiltinDirs,
): CommandSettings {
  const sources = loadSettingSources(flags, env, cwd);
  return resolveCommandSettings(keys, dirs ? { ...sources, dirs } : sources);
}
