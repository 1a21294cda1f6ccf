// Which value a setting takes, and from where: flag > environment > stemforge.json in the
// current folder > the user's settings > built-in.
import { optionSpecs, parseOptionValue, builtinValue, type BuiltinDirs, type OptionSpec, type SettingValue } from './options.js';
import type { ProjectFile } from './project-file.js';

export type SettingSource = 'flag' | 'env' | 'project' | 'user' | 'built-in' | 'unset';

export interface ResolvedSetting {
  key: string;
  value: SettingValue | undefined;
  source: SettingSource;
  /** the flag, the variable, or the file the value came from */
  origin: string;
}

export interface SettingSources {
  /** commander's parsed options (camelCase names), raw */
  flags: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  project?: ProjectFile;
  user?: { path: string; values: Record<string, unknown> };
  dirs: BuiltinDirs;
}

/** commander's attribute name for a long flag: --disk-size → diskSize */
function flagAttribute(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** `naming`: see parseOptionValue; the commands name unknown names by what they are. */
export function resolveSetting(spec: OptionSpec, sources: SettingSources, naming: 'key' | 'noun' = 'key'): ResolvedSetting {
  const flagValue = sources.flags[flagAttribute(spec.flag)];
  if (flagValue !== undefined) return { key: spec.key, value: parseOptionValue(spec, flagValue, spec.flag, naming), source: 'flag', origin: spec.flag };
  const envValue = sources.env[spec.env];
  if (envValue !== undefined && envValue !== '')
    return { key: spec.key, value: parseOptionValue(spec, envValue, spec.env, naming), source: 'env', origin: spec.env };
  if (spec.stored) {
    const projectValue = sources.project?.values[spec.key];
    if (projectValue !== undefined) return { key: spec.key, value: projectValue, source: 'project', origin: sources.project!.path };
    const userValue = sources.user?.values[spec.key];
    if (userValue !== undefined)
      return {
        key: spec.key,
        value: parseOptionValue(spec, userValue, `${sources.user!.path}: ${spec.key}`, naming),
        source: 'user',
        origin: sources.user!.path,
      };
  }
  const builtin = builtinValue(spec, sources.dirs);
  if (builtin !== undefined) return { key: spec.key, value: builtin, source: 'built-in', origin: 'built-in' };
  return { key: spec.key, value: undefined, source: 'unset', origin: '' };
}

export function resolveSettings(sources: SettingSources): Map<string, ResolvedSetting> {
  return new Map(optionSpecs.map((spec) => [spec.key, resolveSetting(spec, sources)]));
}
