// `stemforge cache ls|info|verify|prune|rm|pin|unpin|export|import|dir`: the local artifact cache.
import type { Command } from 'commander';
import { ArtifactCache, type CacheEntry } from '../cache/store.js';
import { explainCacheError } from '../cache/folder.js';
import type * as CacheTransfer from '../cache/transfer.js';
import type * as SettingSources from '../settings/sources.js';
import { UsageError } from '../util/errors.js';
import { terminalText } from '../util/terminal-text.js';
import { reportError } from './errors.js';
import { addSettingOptions } from './setting-options.js';

// The modules that do the work, loaded when a cache command runs (not when the CLI starts).
let { exportEntries, importEntries } = {} as typeof CacheTransfer;
let { commandSettings } = {} as typeof SettingSources;

async function loadCacheModules(): Promise<void> {
  ({ exportEntries, importEntries } = await import('../cache/transfer.js'));
  ({ commandSettings } = await import('../settings/sources.js'));
}

interface CacheFlags {
  cacheDir?: string;
  json?: boolean;
  maxSize?: string;
  maxAge?: string;
}

const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`;

function openCache(flags: CacheFlags & Record<string, unknown>): ArtifactCache {
  return new ArtifactCache(commandSettings(['cacheDir'], flags).string('cacheDir')!);
}

async function one(cache: ArtifactCache, selector: string): Promise<CacheEntry> {
  const found = await cache.find(selector);
  if (found.length === 0)
    throw new UsageError(`no cache entry matches '${selector}' (a key or digest prefix of 6+ hex digits, a file name, or a label; see stemforge cache ls)`);
  if (found.length > 1)
    throw new UsageError(`'${selector}' matches ${found.length} entries (${found.map((e) => e.key.slice(0, 12)).join(', ')}): give more of the key`);
  return found[0]!;
}

/** One entry on one line; its fields come from a file, so no control character reaches the terminal. */
function line(e: CacheEntry): string {
  return terminalText(
    `${e.key.slice(0, 12)}  ${e.kind.padEnd(8)}  ${mib(e.size).padStart(10)}  ${e.lastUsedAt.slice(0, 19)}  ${e.pinned ? 'pinned ' : '       '} ${e.label}  (${e.name})`,
  );
}

/** Sizes like 50G, 500M, 1024 (bytes). */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?$/i.exec(text.trim());
  if (!m) throw new UsageError(`'${text}' is not a size (e.g. 500M, 50G)`);
  const power = ' KMGT'.indexOf((m[2] || ' ').toUpperCase());
  return Math.round(Number(m[1]) * 1024 ** power);
}

export function addCacheCommands(program: Command, onExit: (code: number) => void): void {
  const cache = program.command('cache').description('the local artifact cache: OS images and stemcells by their inputs');
  const sub = (
    spec: string,
    description: string,
    run: (c: ArtifactCache, flags: CacheFlags & Record<string, unknown>, args: string[]) => Promise<number | void>,
  ): Command => {
    const command = cache.command(spec).description(description);
    addSettingOptions(command, [{ key: 'cacheDir', help: 'the cache folder (default: the cacheDir setting)' }]);
    command.option('--json', 'print the result as JSON');
    command.action(async (...params: unknown[]) => {
      const flags = command.opts<CacheFlags & Record<string, unknown>>();
      const args = params
        .slice(0, -2)
        .flat()
        .filter((p): p is string => typeof p === 'string');
      let c: ArtifactCache | undefined;
      try {
        await loadCacheModules();
        c = openCache(flags);
        const code = await run(c, flags, args);
        if (typeof code === 'number' && code !== 0) onExit(code);
      } catch (err) {
        onExit(reportError(c ? explainCacheError(err, c.dir) : err, { json: !!flags.json }));
      }
    });
    return command;
  };
  // text is built from sanitized lines (see line()); JSON escapes control characters itself
  const out = (flags: CacheFlags, value: unknown, text: string): void => void process.stdout.write(flags.json ? `${JSON.stringify(value)}\n` : `${text}\n`);

  sub('dir', 'print the cache folder', async (c, flags) => out(flags, { dir: c.dir }, terminalText(c.dir)));
  sub('ls', 'list the entries, oldest first', async (c, flags) => {
    const entries = await c.list();
    const total = [...new Map(entries.map((e) => [e.digest, e.size])).values()].reduce((a, b) => a + b, 0);
    out(
      flags,
      entries.map(({ manifest: _m, ...rest }) => rest),
      terminalText(
        entries.length === 0 ? `the cache in ${c.dir} is empty` : [...entries.map(line), `${entries.length} entries, ${mib(total)} in ${c.dir}`].join('\n'),
        {
          multiline: true,
        },
      ),
    );
  });
  sub('info <selector>', 'an entry in full: its digest, size, times and the inputs its key was made from', async (c, flags, [selector]) => {
    const e = await one(c, selector!);
    out(
      flags,
      e,
      [
        line(e),
        ...[`key       ${e.key}`, `digest    sha256:${e.digest}`, `blob      ${c.blobPath(e.digest)}`, `created   ${e.createdAt}`, 'inputs:']
          .concat(JSON.stringify(e.manifest, null, 2).split('\n'))
          .map((l) => terminalText(l)),
      ].join('\n'),
    );
  });
  sub('verify', "re-hash every blob: drop damaged or dangling entries, unreferenced blobs and dead writers' temp files", async (c, flags) => {
    const r = await c.verify();
    out(
      flags,
      r,
      [
        `${r.entries} entries good, ${r.corrupt.length} dropped as corrupt`,
        ...r.corrupt.map((x) => terminalText(`  dropped ${x.key.slice(0, 12)}: ${x.reason}`)),
        `${r.orphanBlobs.length} unreferenced blob(s) and ${r.tempFiles.length} temp file(s) removed, ${mib(r.reclaimedBytes)} reclaimed`,
      ].join('\n'),
    );
    return r.corrupt.length > 0 ? 1 : 0;
  });
  sub('prune', 'remove unpinned entries, least recently used first, down to --max-size and/or older than --max-age', async (c, flags) => {
    const maxBytes = flags.maxSize ? parseSize(flags.maxSize) : undefined;
    const maxAgeDays = flags.maxAge !== undefined ? Number(flags.maxAge) : undefined;
    if (maxBytes === undefined && maxAgeDays === undefined) throw new UsageError('say how much to keep: --max-size SIZE and/or --max-age DAYS');
    if (maxAgeDays !== undefined && !(maxAgeDays >= 0)) throw new UsageError(`--max-age takes days, not '${flags.maxAge}'`);
    const r = await c.prune({ maxBytes, maxAgeDays, dryRun: !!flags.dryRun });
    out(
      flags,
      { ...r, removed: r.removed.map((e) => e.key), dryRun: !!flags.dryRun },
      [
        ...r.removed.map((e) => `${flags.dryRun ? 'would remove' : 'removed'} ${line(e)}`),
        `${mib(r.freedBytes)} ${flags.dryRun ? 'would be ' : ''}freed, ${mib(r.keptBytes)} kept`,
      ].join('\n'),
    );
  })
    .option('--max-size <size>', 'keep at most this much (e.g. 50G)')
    .option('--max-age <days>', 'remove entries not used for this many days')
    .option('--dry-run', 'say what would go, remove nothing');
  sub('rm <selector>', 'remove an entry (and its blob, unless another entry uses it)', async (c, flags, [selector]) => {
    const e = await one(c, selector!);
    const freed = await c.remove(e);
    out(flags, { removed: e.key, freedBytes: freed }, `removed ${line(e)}`);
  });
  for (const [name, pinned] of [
    ['pin', true],
    ['unpin', false],
  ] as const) {
    sub(`${name} <selector>`, pinned ? 'keep an entry through prune' : 'let prune remove an entry again', async (c, flags, [selector]) => {
      const e = await one(c, selector!);
      await c.setPinned(e, pinned);
      out(flags, { key: e.key, pinned }, terminalText(`${pinned ? 'pinned' : 'unpinned'} ${e.key.slice(0, 12)} (${e.label})`));
    });
  }
  sub('export <file> <selectors...>', 'write entries and their blobs to a tar file, to hand to a teammate', async (c, flags, [file, ...selectors]) => {
    const entries: CacheEntry[] = [];
    for (const s of selectors) entries.push(await one(c, s));
    await exportEntries(c, entries, file!);
    out(flags, { file, entries: entries.map((e) => e.key) }, terminalText(`exported ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} to ${file}`));
  });
  sub('import <file>', 'read entries from an export; every blob is checked against its digest', async (c, flags, [file]) => {
    const r = await importEntries(c, file!);
    out(
      flags,
      { imported: r.imported.map((e) => e.key), blobs: r.blobs },
      [...r.imported.map(line), `imported ${r.imported.length} entr${r.imported.length === 1 ? 'y' : 'ies'}`].join('\n'),
    );
  });
}
