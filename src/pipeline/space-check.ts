// Free space before and during a build: the plan's need (src/catalog/space-needs.ts) held
// against what the build machine has at the build root and this machine at the output and
// cache folders, before the first stage; and, when a stage fails, whether the build root's
// file system ran full, so the failure says so and what to prune.
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { OsImagePlan, StemcellPlan } from '../catalog/planner.js';
import { recordedSizes, spaceFacts, spaceNeeds, type PlannedPhase, type SpacePlan } from '../catalog/space-needs.js';
import { realProbe } from '../doctor/probe.js';
import { completeKeys, formatSize, probeBuildMachine, pruneHint, type RemoteSpace } from './space-shortage.js';
import { HintedError } from '../util/errors.js';
import type { Step } from './steps.js';
import type { SessionCtx } from './session.js';

const MiB = 1024 * 1024;

export interface SpacePlace {
  /** "the build machine", "this machine (output)" */
  where: string;
  path: string;
  needBytes: number;
  freeBytes: number;
}

export interface SpaceVerdict {
  blocking: string[];
  warnings: string[];
  /** one line per place, for the run log and the task's title */
  lines: string[];
}

/** Each place: refused when free < need, a warning when free < need plus the margin. */
export function judgeSpace(places: readonly SpacePlace[], margin: number = spaceFacts.warnMargin): SpaceVerdict {
  const verdict: SpaceVerdict = { blocking: [], warnings: [], lines: [] };
  for (const place of places) {
    if (place.needBytes <= 0) continue;
    const line = `needs ${formatSize(place.needBytes)} on ${place.where} at ${place.path}, ${formatSize(place.freeBytes)} free`;
    verdict.lines.push(line);
    if (place.freeBytes < place.needBytes) verdict.blocking.push(line);
    else if (place.freeBytes < place.needBytes * (1 + margin)) verdict.warnings.push(`${line} (less than ${Math.round(margin * 100)} % to spare)`);
  }
  return verdict;
}

/** The device of the nearest existing folder at or above `dir`: two folders on one device share their free space. */
async function deviceOf(dir: string): Promise<number> {
  const free = await realProbe.freeBytes(dir);
  return (await stat(free.path)).dev;
}

export interface SpaceCheckInput {
  /** the plan, less whether the cache copies (that depends on the folders' devices) */
  plan: Omit<SpacePlan, 'cacheCopies'>;
  buildRoot: string;
  /** the folder the results land in here */
  outputDir?: string;
  /** the cache folder, when the cache is used and stores what this run makes */
  cacheDir?: string;
  /** report instead of refusing (--ignore-space) */
  ignore?: boolean;
  /** the OS-image phase's layer keys, where they can be known before it runs (with layers) */
  osImageKeys?: () => Promise<readonly string[]>;
  /** each stemcell's layer keys (its phases as one list), where they can be known (the OS image exists) */
  stemcellKeys?: () => Promise<readonly (readonly string[])[]>;
}

/** A stemcell's phases with the complete layers of its stage list (both phases as one chain) split between them. */
export function phasesReusing(phases: readonly PlannedPhase[], reusable: number): PlannedPhase[] {
  let left = reusable;
  return phases.map((phase) => {
    const here = Math.min(left, phase.stages.length);
    // a later phase reuses only when every layer before it is complete
    left = here === phase.stages.length ? left - here : 0;
    return { ...phase, reusable: here };
  });
}

/** How many leading keys have a complete layer (as layers.bash probe counts them). */
function leadingComplete(keys: readonly string[], complete: ReadonlySet<string>): number {
  const missing = keys.findIndex((k) => !complete.has(k));
  return missing < 0 ? keys.length : missing;
}

/** The plan with what the build machine already holds: the complete layers, where the keys are known. */
async function withReusable(input: SpaceCheckInput, remote: RemoteSpace): Promise<SpaceCheckInput['plan']> {
  const complete = completeKeys(remote);
  let { osImage, stemcells } = input.plan;
  if (osImage && input.osImageKeys) osImage = { ...osImage, reusable: leadingComplete(await input.osImageKeys(), complete) };
  if (input.stemcellKeys) {
    const keys = await input.stemcellKeys();
    stemcells = stemcells.map((s, i) => ({ phases: phasesReusing(s.phases, leadingComplete(keys[i] ?? [], complete)) }));
  }
  return { osImage, stemcells };
}

/** The places of a plan with their free space: the build machine's probe and this machine's statfs. */
export async function spacePlaces(input: SpaceCheckInput, remote: RemoteSpace): Promise<SpacePlace[]> {
  const { outputDir, cacheDir } = input;
  // the cache hard-links what the output folder holds when both are on one file system
  const cacheCopies = !!cacheDir && (!outputDir || (await deviceOf(cacheDir)) !== (await deviceOf(outputDir)));
  const need = spaceNeeds({ ...(await withReusable(input, remote)), cacheCopies }, recordedSizes(remote.metas));
  const places: SpacePlace[] = [{ where: 'the build machine', path: remote.path, needBytes: need.buildMachineMiB * MiB, freeBytes: remote.freeBytes }];
  for (const [what, dir, mib] of [
    ['output', outputDir, need.outputMiB],
    ['cache', cacheDir, need.cacheMiB],
  ] as const) {
    if (!dir || mib === 0) continue;
    const free = await realProbe.freeBytes(dir);
    places.push({ where: `this machine (${what})`, path: free.path, needBytes: mib * MiB, freeBytes: free.bytes });
  }
  return places;
}

/** The step after connecting (the build machine is known only then): refuse with the numbers when a place is short, warn near the edge. */
export function spaceCheckStep(input: SpaceCheckInput, note: (line: string) => void = () => undefined): Step<SessionCtx> {
  return {
    title: 'Check free space (build machine, output, cache)',
    run: async (c, task) => {
      const remote = await probeBuildMachine(c.machine!, input.buildRoot);
      const verdict = judgeSpace(await spacePlaces(input, remote));
      for (const line of verdict.lines) note(`space: ${line}`);
      if (verdict.blocking.length > 0 && !input.ignore) {
        throw new HintedError(`not enough free space: ${verdict.blocking.join('; ')}`, `${pruneHint(input.buildRoot)}; --ignore-space builds anyway`);
      }
      const short = [...verdict.blocking, ...verdict.warnings];
      task.title = short.length > 0 ? `Free space is short: ${short.join('; ')}` : `Free space: ${verdict.lines.join('; ') || 'nothing to write'}`;
    },
  };
}

/** A phase of the planner, as the estimate reads it. */
function phaseOf(phase: { stages: readonly string[]; selected: readonly string[] }, resumeFrom?: string): PlannedPhase {
  return { stages: phase.stages, selected: phase.selected, ...(resumeFrom && phase.stages.includes(resumeFrom) ? { resumeFrom } : {}) };
}

/** The plan's space for `os-image`: its stages, the image at --out, and the cache when it stores the whole image. */
export function osImageSpace(
  plan: OsImagePlan,
  request: { buildRoot: string; out?: string; cacheDir?: string; ignoreSpace?: boolean; resumeFrom?: string },
  osImageKeys?: () => Promise<readonly string[]>,
): SpaceCheckInput {
  return {
    osImageKeys,
    plan: { osImage: phaseOf(plan.phases[0]!, request.resumeFrom), stemcells: [] },
    buildRoot: request.buildRoot,
    outputDir: request.out ? dirname(resolve(request.out)) : undefined,
    cacheDir: request.cacheDir,
    ignore: request.ignoreSpace,
  };
}

/** The plan's space for stemcells (`stemcell`, or `build`'s stemcell phase after an OS-image phase). */
export function stemcellSpace(
  plans: readonly StemcellPlan[],
  request: { buildRoot: string; outputDir: string; cacheDir?: string; ignoreSpace?: boolean; resumeFrom?: string },
  osImage?: OsImagePlan,
  keys: Pick<SpaceCheckInput, 'osImageKeys' | 'stemcellKeys'> = {},
): SpaceCheckInput {
  return {
    ...keys,
    plan: {
      osImage: osImage ? phaseOf(osImage.phases[0]!, request.resumeFrom) : undefined,
      stemcells: plans.map((p) => ({ phases: p.phases.map((phase) => phaseOf(phase, request.resumeFrom)) })),
    },
    buildRoot: request.buildRoot,
    outputDir: request.outputDir,
    cacheDir: request.cacheDir,
    ignore: request.ignoreSpace,
  };
}
