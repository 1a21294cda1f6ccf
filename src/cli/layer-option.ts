// The flags of layers and the artifact cache, shared by the commands that build.
import type { RunEvent } from '../pipeline/common.js';
import type { CacheOptions } from '../pipeline/artifact-cache.js';
import type { CommandSettings } from '../settings/sources.js';

/** --no-layers, or the layers' bound from the layerLimit setting (GiB → MiB). */
export function layerOption(flags: { layers?: boolean }, settings: CommandSettings): { maxMiB: number } | undefined {
  if (flags.layers === false) return undefined;
  return { maxMiB: settings.number('layerLimit')! * 1024 };
}

/** --no-cache, --refresh-os-image, --explain-cache with the cacheDir and osImageMaxAge settings. */
export function cacheOption(flags: { cache?: boolean; refreshOsImage?: boolean; explainCache?: boolean }, settings: CommandSettings): CacheOptions {
  return {
    dir: settings.string('cacheDir')!,
    enabled: flags.cache !== false,
    refreshOsImage: !!flags.refreshOsImage,
    osImageMaxAgeDays: settings.number('osImageMaxAge')!,
    explain: !!flags.explainCache,
  };
}

/** Cache lookups as plain lines on stderr (they happen before the task tree starts), or NDJSON on stdout with --json. */
export function cacheLines(explain: boolean, json: boolean): (e: RunEvent) => void {
  return (e) => {
    if (e.type !== 'cache') return;
    if (json) {
      process.stderr.write(`${JSON.stringify(e)}\n`);
      return;
    }
    process.stderr.write(`cache: ${e.artifact} ${e.label}: ${e.hit ? 'hit' : 'miss'}${e.why[0] ? ` (${e.why[0]})` : ''}\n`);
    if (explain) for (const line of e.why.slice(1)) process.stderr.write(`  ${line}\n`);
  };
}
