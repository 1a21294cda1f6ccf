// The flags of layers and the artifact cache, shared by the commands that build.
import type { RunEvent } from '../pipeline/common.js';
import type { CacheOptions } from '../pipeline/artifact-cache.js';
import { effectiveSettings } from '../settings/layers.js';

/** --no-layers, or the layers' bound from --layer-limit and the settings (GiB → MiB). */
export function layerOption(flags: { layers?: boolean; layerLimit?: string }): { maxMiB: number } | undefined {
  if (flags.layers === false) return undefined;
  const gib = Number(effectiveSettings({ layerLimit: flags.layerLimit }).get('layerLimit')!.value);
  return { maxMiB: gib * 1024 };
}

/** --no-cache, --cache-dir, --refresh-os-image, --os-image-max-age, --explain-cache with the settings. */
export function cacheOption(flags: {
  cache?: boolean;
  cacheDir?: string;
  refreshOsImage?: boolean;
  osImageMaxAge?: string;
  explainCache?: boolean;
}): CacheOptions {
  const settings = effectiveSettings({ cacheDir: flags.cacheDir, osImageMaxAge: flags.osImageMaxAge });
  return {
    dir: String(settings.get('cacheDir')!.value),
    enabled: flags.cache !== false,
    refreshOsImage: !!flags.refreshOsImage,
    osImageMaxAgeDays: Number(settings.get('osImageMaxAge')!.value),
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
