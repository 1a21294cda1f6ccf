// `stemforge config get|set|unset|list|path|show` and `stemforge version list|set`.
import type { Command } from 'commander';
import { findInfrastructure, findOperatingSystem } from '../catalog/planner.js';
import type * as SettingSources from '../settings/sources.js';
import { optionSpec, optionSpecs, parseOptionValue, storedKeys, type SettingValue } from '../settings/options.js';
import type { ResetResult } from '../settings/store.js';
import type * as SettingsStore from '../settings/store.js';
import type * as Versions from '../settings/versions.js';
import { UnknownNameError, UsageError } from '../util/errors.js';
import { terminalText } from '../util/terminal-text.js';
import { reportError } from './errors.js';

// The settings store (conf) loads when a config or version command runs, not with the CLI.
let { effectiveSettings } = {} as typeof SettingSources;
let { openSettings, resetSettings, settingsPath } = {} as typeof SettingsStore;
let { VersionCounter } = {} as typeof Versions;

async function loadConfigModules(): Promise<void> {
  ({ effectiveSettings } = await import('../settings/sources.js'));
  ({ openSettings, resetSettings, settingsPath } = await import('../settings/store.js'));
  ({ VersionCounter } = await import('../settings/versions.js'));
}

/** A value as text; it may come from a file a person edited, so control characters are shown escaped. */
function show(value: SettingValue | undefined): string {
  if (value === undefined) return '';
  return terminalText(Array.isArray(value) ? value.join(',') : String(value));
}

/** Ask before moving the settings aside: on a terminal a question, elsewhere --yes is needed. */
async function confirmReset(yes: boolean): Promise<boolean> {
  if (yes) return true;
  if (!process.stdin.isTTY || !process.stdout.isTTY || process.env.CI) {
    throw new UsageError(`config reset moves ${settingsPath()} aside and starts from the built-in settings: add --yes to do it without a question`);
  }
  const { confirm } = await import('@inquirer/prompts');
  return confirm({ message: `Move ${settingsPath()} aside and start from the built-in settings?`, default: false });
}

function resetReport(r: ResetResult): string {
  if (!r.movedTo) return `nothing to reset: there is no settings file at ${r.path}`;
  const kept = r.keptCounters > 0 ? `; kept ${r.keptCounters} version counter(s) in the new one` : '';
  const what = r.folderWasFile ? 'the file that stood where the settings folder belongs' : `the ${r.broken ? 'broken ' : ''}settings file`;
  return `moved ${what} aside to ${r.movedTo} (nothing was deleted); the built-in settings apply now${kept}`;
}

function storedSpec(key: string) {
  const spec = optionSpec(key);
  if (!spec.stored) throw new UnknownNameError('setting', key, storedKeys);
  return spec;
}

export function addConfigCommands(program: Command, onExit: (code: number) => void): void {
  const guard = (json: boolean, run: () => void | Promise<void>) => async () => {
    try {
      await loadConfigModules();
      await run();
    } catch (err) {
      onExit(reportError(err, { json }));
    }
  };
  const config = program
    .command('config')
    .description(`user settings (${storedKeys.join(', ')}); precedence: flag > env > ./stemforge.json > user settings > built-in`);
  config
    .command('path')
    .description('print where the user settings file is')
    .action(guard(false, () => void process.stdout.write(`${settingsPath()}\n`)));
  config
    .command('get <key>')
    .description('print a user setting (nothing, and exit 1, when unset)')
    .action((key: string) =>
      guard(false, () => {
        const spec = storedSpec(key);
        const value = openSettings().get(spec.key) as SettingValue | undefined;
        if (value === undefined) onExit(1);
        else process.stdout.write(`${show(value)}\n`);
      })(),
    );
  config
    .command('set <key> <value>')
    .description('store a user setting (checked: unknown names list the valid ones)')
    .action((key: string, raw: string) =>
      guard(false, () => {
        const spec = storedSpec(key);
        const store = openSettings();
        store.set(spec.key, parseOptionValue(spec, raw, `config set ${key}`));
      })(),
    );
  config
    .command('unset <key>')
    .description('remove a user setting (the next layer down applies)')
    .action((key: string) => guard(false, () => openSettings().delete(storedSpec(key).key))());
  config
    .command('list')
    .option('--json', 'print the settings as JSON')
    .description('print the stored user settings')
    .action((flags: { json?: boolean }) =>
      guard(!!flags.json, () => {
        const stored = openSettings().store;
        const values = Object.fromEntries(storedKeys.filter((k) => stored[k] !== undefined).map((k) => [k, stored[k]]));
        if (flags.json) process.stdout.write(`${JSON.stringify(values)}\n`);
        else for (const [k, v] of Object.entries(values)) process.stdout.write(`${k}=${show(v as SettingValue)}\n`);
      })(),
    );
  config
    .command('reset')
    .option('--yes', 'do it without a question')
    .description(
      'move the user settings file aside (to settings.json.broken-TIME when it is broken) and start from the built-in settings; the version counters it can read are kept',
    )
    .action((flags: { yes?: boolean }) =>
      guard(false, async () => {
        if (!(await confirmReset(!!flags.yes))) {
          process.stderr.write('stemforge: nothing reset (you said no)\n');
          return;
        }
        process.stdout.write(`${resetReport(resetSettings())}\n`);
      })(),
    );
  config
    .command('show')
    .option('--json', 'print the settings as JSON')
    .description("print every setting's effective value and where it comes from")
    .action((flags: { json?: boolean }) =>
      guard(!!flags.json, () => {
        // only the environment, the project file and the user settings: show has no build flags
        const resolved = [...effectiveSettings({}).values()];
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(resolved)}\n`);
          return;
        }
        const width = Math.max(...optionSpecs.map((s) => s.key.length));
        for (const r of resolved) {
          const from = r.source === 'unset' ? '(unset)' : r.source === 'built-in' ? 'built-in' : `${r.source}: ${r.origin}`;
          process.stdout.write(`${r.key.padEnd(width)}  ${show(r.value).padEnd(24)}  ${terminalText(from)}\n`);
        }
      })(),
    );

  const version = program.command('version').description('the stemcell version counters, per OS line and infrastructure');
  version
    .command('list')
    .option('--json', 'print the counters as JSON')
    .description('print the last version built and the next one proposed')
    .action((flags: { json?: boolean }) =>
      guard(!!flags.json, () => {
        const rows = new VersionCounter().list();
        if (flags.json) process.stdout.write(`${JSON.stringify(rows)}\n`);
        else if (rows.length === 0) process.stdout.write('no stemcell built yet: the first version is 0.1\n');
        else for (const r of rows) process.stdout.write(`${terminalText(`${r.os} ${r.iaas}: last ${r.last}, next ${r.next}`)}\n`);
      })(),
    );
  version
    .command('set <os> <iaas> <version>')
    .description('set the last version of an OS line and infrastructure (the next build proposes the one after)')
    .action((os: string, iaas: string, v: string) =>
      guard(false, async () => {
        await new VersionCounter().set(findOperatingSystem(os).name, findInfrastructure(iaas).name, v);
      })(),
    );
}
