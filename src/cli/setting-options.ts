// The flags that carry a setting, made from the option table: the same spelling, value
// name, variable and settings key on every command. A command lists the keys it takes
// (with its own help text where it says more) and resolves them with commandSettings().
import { Option, type Command } from 'commander';
import { optionSpec, optionSpecs, type OptionSpec } from '../settings/options.js';

/** A key, or a key with this command's help text for it. */
export type SettingOption = string | { key: string; help: string; showDefault?: boolean };

const fromTable = new WeakSet<Option>();

function helpText(spec: OptionSpec, help: string | undefined, showDefault = true): string {
  const text = help ?? spec.description;
  const builtin =
    !showDefault || spec.builtin === undefined || typeof spec.builtin === 'function' || /\(default/.test(text) ? '' : ` (default: ${String(spec.builtin)})`;
  return `${text}${builtin} [env ${spec.env}${spec.stored ? `; setting ${spec.key}` : ''}]`;
}

/** The commander option of a setting. No commander default: the resolver supplies the built-in one last. */
function settingOption(spec: OptionSpec, help?: string, showDefault?: boolean): Option {
  const option = new Option(`${spec.flag} <${spec.arg}>`, helpText(spec, help, showDefault));
  // a list flag may be repeated: --iaas aws --iaas warden is --iaas aws,warden
  if (spec.kind === 'list') option.argParser((v: string, prev?: string) => (prev ? `${prev},${v}` : v));
  fromTable.add(option);
  return option;
}

/** Add the setting options `options` names to `command`; returns their keys, for commandSettings(). */
export function addSettingOptions(command: Command, options: readonly SettingOption[]): string[] {
  return options.map((o) => {
    const { key, help, showDefault } = typeof o === 'string' ? { key: o, help: undefined, showDefault: undefined } : o;
    command.addOption(settingOption(optionSpec(key), help, showDefault));
    return key;
  });
}

/** Whether an option of a command was made from the option table (for the tests and completion). */
export function isSettingOption(option: Option): boolean {
  return fromTable.has(option);
}

/** The settings a command takes: the keys of its options made from the table. */
export function settingKeys(command: Command): string[] {
  return command.options.filter(isSettingOption).map((o) => optionSpecs.find((s) => s.flag === o.long)!.key);
}
