// The build commands and the local artifact cache: the input key of an OS image or a
// stemcell, the lookup (with the OS image's periodic rebuild), handing a cached file out to
// the output folder, and storing what a build made.
import { createReadStream, createWriteStream } from 'node:fs';
import { link, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { OperatingSystem } from '../catalog/operating-systems.js';
import { osImageLabel, planOsImage, type StemcellPlan } from '../catalog/planner.js';
import { explainMiss, inputKey, phaseManifest } from '../cache/keys.js';
import { ArtifactCache, type CacheEntry } from '../cache/store.js';
import { treeManifest, type TreeManifest } from '../sync/tree-manifest.js';
import { writeViaPart } from '../util/part-file.js';
import { builderFolders, packageRoot } from '../util/paths.js';
import { version } from '../util/version.js';
import type { RunEvent } from './common.js';
import { osImageSettings, osSettingsInput, stemcellSettings, type OsSettingsRequest } from './settings-file.js';
import type { Step, StepRun } from './steps.js';

export interface CacheOptions {
  dir: string;
  /** false with --no-cache: neither read nor written */
  enabled: boolean;
  /** --refresh-os-image: build the OS image even when a fresh one is cached */
  refreshOsImage: boolean;
  /** an OS image older than this is rebuilt, so security updates land (not with BUILD_TIME: a snapshot does not change) */
  osImageMaxAgeDays: number;
  /** print why a lookup missed */
  explain: boolean;
}

export interface CacheKey {
  key: string;
  manifest: Record<string, unknown>;
  label: string;
  name: string;
}

export interface Lookup {
  entry?: CacheEntry;
  /** why there was no hit (missing, stale, refreshed, dropped as damaged), and with explain the inputs that changed */
  why: string[];
}

let treeOnce: Promise<TreeManifest> | undefined;
/** The builder tree as it will be synced: the stage contents the keys hash. */
export function builderTree(): Promise<TreeManifest> {
  treeOnce ??= treeManifest(packageRoot, builderFolders);
  return treeOnce;
}

/**
 * Where the archive comes from. With no flag the build machine's debootstrap picks it (the
 * line's script's default, else debootstrap's own), which a key made before the machine is
 * reached cannot read: it names the script and the machine, so another script or machine is
 * another key (and a cached OS image is rebuilt after osImageMaxAge days in any case).
 */
function archiveSource(request: { mirror?: string; snapshotMirror?: string; buildTime?: string }, os: OperatingSystem, machine: string): string {
  if (request.mirror) return request.mirror;
  if (request.snapshotMirror && request.buildTime) return `${request.snapshotMirror}/${request.buildTime}`;
  return `the default archive of debootstrap's ${os.debootstrapScript} script on ${machine}`;
}

export interface OsKeyRequest extends OsSettingsRequest {
  os: string;
  arch?: string;
}

async function osImageKey(request: OsKeyRequest, machine: string): Promise<CacheKey> {
  const plan = planOsImage({ os: request.os, arch: request.arch });
  const settings = osImageSettings(osSettingsInput(plan.os, request, version));
  const manifest = phaseManifest({
    phase: 'os-image',
    tree: await builderTree(),
    stages: plan.phases[0]!.stages,
    settings,
    extra: { archive: archiveSource(request, plan.os, machine) },
  });
  return { key: inputKey(manifest), manifest, label: osImageLabel(plan.os), name: `os-image-${osImageLabel(plan.os)}.tgz` };
}

export interface StemcellKeyRequest extends OsKeyRequest {
  version: string;
  blobstoreClis: boolean;
  agentSha256: string;
}

export async function stemcellKey(
  request: StemcellKeyRequest,
  plan: StemcellPlan,
  osImageDigest: string,
  fileName: string,
  machine: string,
): Promise<CacheKey> {
  const settings = stemcellSettings({
    ...osSettingsInput(plan.os, request, version),
    infrastructure: plan.infrastructure,
    diskFormat: plan.diskFormat,
    version: request.version,
    // paths on the build machine: the digests below stand for them
    osImageTgz: '',
    agent: { file: '', sha256: request.agentSha256 },
    blobstoreClis: request.blobstoreClis,
    builderCommit: '',
  });
  const manifest = phaseManifest({
    phase: 'stemcell',
    tree: await builderTree(),
    stages: plan.phases.flatMap((p) => p.stages),
    settings,
    extra: { osImage: osImageDigest, archive: archiveSource(request, plan.os, machine) },
  });
  return { key: inputKey(manifest), manifest, label: `${plan.os.name} ${plan.infrastructure.name} ${plan.diskFormat} ${request.version}`, name: fileName };
}

function age(entry: CacheEntry): string {
  const hours = (Date.now() - Date.parse(entry.createdAt)) / 3600_000;
  return hours < 1 ? `${Math.round(hours * 60)} min` : hours < 48 ? `${hours.toFixed(1)} h` : `${(hours / 24).toFixed(1)} days`;
}

/** A cached entry's one-line description, for skipped tasks and messages. */
export function describeHit(entry: CacheEntry): string {
  return `cached sha256:${entry.digest.slice(0, 12)}… (${(entry.size / 1048576).toFixed(1)} MiB, ${age(entry)} old)`;
}

export async function lookup(
  cache: ArtifactCache,
  wanted: CacheKey,
  options: CacheOptions,
  policy: { maxAgeDays?: number; refresh?: boolean } = {},
): Promise<Lookup> {
  if (!options.enabled) return { why: ['--no-cache'] };
  const explain = async (): Promise<string[]> =>
    options.explain
      ? explainMiss(
          wanted.manifest,
          (await cache.list()).filter((e) => e.manifest.phase === wanted.manifest.phase && e.label.split(' ')[0] === wanted.label.split(' ')[0]),
        )
      : [];
  if (policy.refresh) return { why: ['a rebuild was asked for (--refresh-os-image)'] };
  const found = await cache.lookup(wanted.key, { verify: true });
  if (found.dropped) return { why: [`the cached entry was dropped: ${found.dropped}; building again`] };
  if (!found.entry) return { why: ['not cached', ...(await explain())] };
  const maxAge = policy.maxAgeDays;
  if (maxAge !== undefined && Date.now() - Date.parse(found.entry.createdAt) > maxAge * 86_400_000) {
    return { why: [`the cached one is ${age(found.entry)} old (more than ${maxAge} days): rebuilding so security updates land`] };
  }
  return { entry: found.entry, why: [] };
}

/** Put a cached artifact at `out` (a hard link when the cache is on the same file system, else a copy), with OUT.sha256 beside it. */
export async function handOut(cache: ArtifactCache, entry: CacheEntry, out: string): Promise<void> {
  await writeViaPart(out, async (part) => {
    try {
      await link(cache.blobPath(entry.digest), part);
    } catch {
      await pipeline(createReadStream(cache.blobPath(entry.digest)), createWriteStream(part, { mode: 0o644 }));
    }
  });
  await writeFile(`${out}.sha256`, `${entry.digest}  ${basename(out)}\n`);
}

/** Store a file a build made; its sha256, when the fetch computed it, spares a second read. */
export function store(cache: ArtifactCache, wanted: CacheKey, kind: CacheEntry['kind'], path: string, sha256?: string): Promise<CacheEntry> {
  return cache.putFile(path, { key: wanted.key, kind, name: wanted.name, label: wanted.label, manifest: wanted.manifest }, sha256);
}

/**
 * The OS image's lookup for a build: on a miss, take the key's lock (one build of an image
 * at a time; a second waits, then finds it cached) and look again. `release` is set while
 * the lock is held: the caller frees it once the image is stored (or the build ends).
 */
async function lookupOsImage(
  cache: ArtifactCache,
  key: CacheKey,
  options: CacheOptions,
  policy: { maxAgeDays?: number; refresh?: boolean },
  emit?: (e: RunEvent) => void,
): Promise<Lookup & { release?: () => void }> {
  let found = await lookup(cache, key, options, policy);
  let release: (() => void) | undefined;
  if (!found.entry) {
    release = await cache.lockKey(key.key, (pid) =>
      emit?.({ type: 'cache', artifact: 'os-image', label: key.label, key: key.key, hit: false, why: [`waiting for another build of it (pid ${pid})`] }),
    );
    const again = await lookup(cache, key, { ...options, explain: false }, policy);
    if (again.entry) found = again;
  }
  emit?.({ type: 'cache', artifact: 'os-image', label: key.label, key: key.key, hit: !!found.entry, why: found.why });
  if (found.entry) {
    release?.();
    release = undefined;
  }
  return { ...found, release };
}

export interface CachedOsImage {
  key: CacheKey;
  /** a hit, handed out to `out` already */
  entry?: CacheEntry;
  /** on a miss, the step that stores the image the run built at `out` (its sha256 when the fetch computed it) and frees the key's lock */
  store(sha256: () => string | undefined): Step<object>;
}

/**
 * The OS image through the cache, for `os-image` and `build` alike: look it up (rebuilt when
 * older than the bound, unless BUILD_TIME pins a snapshot); a hit is handed out to `out`; a
 * miss holds the key's lock until the store step has stored the image, or else until `run`
 * ends (one of its cleanups).
 */
export async function osImageThroughCache(
  run: StepRun,
  cache: ArtifactCache,
  options: CacheOptions,
  request: OsKeyRequest,
  at: { machine: string; out: string; refresh: boolean; emit?: (e: RunEvent) => void },
): Promise<CachedOsImage> {
  const key = await osImageKey(request, at.machine);
  const policy = { maxAgeDays: request.buildTime ? undefined : options.osImageMaxAgeDays, refresh: at.refresh };
  const looked = await lookupOsImage(cache, key, options, policy, at.emit);
  let release = looked.release;
  const unlock = (): void => {
    const held = release;
    release = undefined;
    held?.();
  };
  if (release) run.defer(`release the cache's lock of the ${key.label} OS image`, unlock);
  if (looked.entry) await handOut(cache, looked.entry, at.out);
  return {
    key,
    entry: looked.entry,
    store: (sha256) => ({
      title: 'Store the OS image in the cache',
      run: async (_c, task) => {
        const entry = await store(cache, key, 'os-image', at.out, sha256());
        // stored: a build of the same image waiting for the lock finds it now, not when this run ends
        unlock();
        task.title = `Stored the OS image in the cache (key ${entry.key.slice(0, 12)}…)`;
      },
    }),
  };
}
