// Input keys: the sha256 of a canonical JSON manifest of everything that goes into an
// artifact — the phase, the settings the stages read, the content of every stage (and the
// shared library) the phase runs, and for a stemcell the digest of the OS image it starts
// from. Same manifest, same key; a miss can say which input changed.
import { createHash } from 'node:crypto';
import type { TreeManifest } from '../sync/tree-manifest.js';
import type { CacheEntry } from './store.js';

/** Bump when the meaning of a key changes, so old entries stop matching. */
const keySchema = 1;

/**
 * Settings that do not change what is built: where the build machine keeps its .deb files,
 * which git commit ran (the stage contents are hashed instead), and where monit's source
 * comes from (its sha256 is keyed: the same tarball from a URL or a local file builds the same).
 */
const settingsOutsideKey = new Set(['pkg_cache_root', 'stemforge_commit', 'monit_source_url', 'monit_source_file']);

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function inputKey(manifest: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(manifest)).digest('hex');
}

/** The digest of the files under a folder of the builder tree (paths, modes and contents). */
export function folderDigest(tree: TreeManifest, folder: string): string {
  const prefix = `${folder}/`;
  const hash = createHash('sha256');
  for (const [path, file] of Object.entries(tree.files)) {
    if (path.startsWith(prefix)) hash.update(`${path}\0${file.mode.toString(8)}\0${file.sha256}\n`);
  }
  return hash.digest('hex');
}

export interface PhaseInputs {
  phase: 'os-image' | 'stemcell';
  /** the builder tree as synced (src/sync/tree-manifest.ts) */
  tree: TreeManifest;
  /** the stages the phase runs, in order */
  stages: readonly string[];
  /** the settings file's values */
  settings: Readonly<Record<string, string>>;
  /** what the stages cannot see in their settings: e.g. which archive the build machine's debootstrap defaults to */
  extra?: Record<string, unknown>;
}

/** The settings that go into keys. */
export function keyedSettings(settings: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(settings).filter(([k]) => !settingsOutsideKey.has(k)));
}

export function phaseManifest(inputs: PhaseInputs): Record<string, unknown> {
  return {
    schema: keySchema,
    phase: inputs.phase,
    settings: keyedSettings(inputs.settings),
    stages: inputs.stages.map((name) => ({ name, digest: folderDigest(inputs.tree, `stages/${name}`) })),
    library: folderDigest(inputs.tree, 'stages/lib'),
    templates: folderDigest(inputs.tree, 'templates'),
    ...inputs.extra,
  };
}

/** The leaves of a manifest as path → canonical value, for diffs. */
function leaves(value: unknown, path = '', out = new Map<string, string>()): Map<string, string> {
  if (Array.isArray(value) && value.every((v) => v && typeof v === 'object' && 'name' in (v as object))) {
    // lists of named things (stages) diff by name, not by position
    for (const item of value as { name: string }[]) leaves(item, `${path}[${item.name}]`, out);
  } else if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) leaves(v, path ? `${path}.${k}` : k, out);
  } else {
    out.set(path, canonicalJson(value));
  }
  return out;
}

/** What differs between two manifests, one line per input. */
export function diffKeyInputs(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const a = leaves(before);
  const b = leaves(after);
  const lines: string[] = [];
  for (const [path, value] of b) {
    if (!a.has(path)) lines.push(`${path}: new (${value})`);
    else if (a.get(path) !== value) lines.push(`${path}: ${a.get(path)} → ${value}`);
  }
  for (const path of a.keys()) if (!b.has(path)) lines.push(`${path}: gone`);
  return lines;
}

/** Why a key missed: the difference to the closest entry of the same kind and label, or that there is none. */
export function explainMiss(manifest: Record<string, unknown>, candidates: readonly CacheEntry[]): string[] {
  if (candidates.length === 0) return ['nothing of this kind is cached yet'];
  const ranked = candidates
    .map((entry) => ({ entry, diff: diffKeyInputs(entry.manifest, manifest) }))
    .sort((x, y) => x.diff.length - y.diff.length || y.entry.createdAt.localeCompare(x.entry.createdAt));
  const best = ranked[0]!;
  return [`closest cached entry ${best.entry.key.slice(0, 12)} (${best.entry.label}, ${best.entry.createdAt}) differs in:`, ...best.diff.map((d) => `  ${d}`)];
}
