// stemforge.json in the current folder: a project's committed defaults.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UnknownNameError, UsageError } from '../util/errors.js';
import { optionSpecs, parseOptionValue, storedKeys, type SettingValue } from './options.js';

const projectFileName = 'stemforge.json';

export interface ProjectFile {
  path: string;
  values: Record<string, SettingValue>;
}

export function readProjectFile(cwd: string): ProjectFile | undefined {
  const path = join(cwd, projectFileName);
  if (!existsSync(path)) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`${path} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new UsageError(`${path} must hold one JSON object of settings`);
  const values: Record<string, SettingValue> = {};
  for (const [key, raw] of Object.entries(data)) {
    const spec = optionSpecs.find((s) => s.key === key && s.stored);
    if (!spec) throw new UnknownNameError(`setting in ${path}:`, key, storedKeys);
    values[key] = parseOptionValue(spec, raw, `${path}: ${key}`);
  }
  return { path, values };
}
