// The stage times of this host's last finished builds, kept in one small file in the user's
// state folder, so the next build's estimate says what builds here really take. One entry
// per phase: the OS image of an OS line, or the stemcell of an OS line and infrastructure.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { userPaths } from '../util/paths.js';
import type { StageRecord } from './stage-runner.js';

export interface RecordedPhase {
  /** milliseconds per stage, config and apply together */
  stages: Record<string, number>;
  totalMs: number;
  /** when the build finished (ISO time) */
  at: string;
}

export type RecordedDurations = Record<string, RecordedPhase>;

/** The file, beside the run logs. */
export function durationsFile(stateDir: string = userPaths.log): string {
  return join(stateDir, 'stage-durations.json');
}

export const osImageKey = (os: string): string => `os-image/${os}`;
export const stemcellKey = (os: string, iaas: string): string => `stemcell/${os}/${iaas}`;

/** What was recorded; nothing when the file is missing or not ours (an estimate is no reason to fail). */
export function readDurations(file: string = durationsFile()): RecordedDurations {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
    return Object.fromEntries(Object.entries(parsed as Record<string, RecordedPhase>).filter(([, p]) => typeof p?.totalMs === 'number'));
  } catch {
    return {};
  }
}

/** The records of one build per phase: the OS line's group is the OS-image phase, every other group a stemcell. */
export function phasesOf(os: string, records: readonly StageRecord[], at: Date): RecordedDurations {
  const phases: RecordedDurations = {};
  for (const r of records) {
    const key = r.group === undefined || r.group === os ? osImageKey(os) : stemcellKey(os, r.group);
    const phase = (phases[key] ??= { stages: {}, totalMs: 0, at: at.toISOString() });
    phase.stages[r.stage] = (phase.stages[r.stage] ?? 0) + r.durationMs;
    phase.totalMs += r.durationMs;
  }
  return phases;
}

/** Keep a finished build's phases (a phase that ran no stage, e.g. taken from the cache, keeps its last entry). Written whole through a temp file. */
export function recordDurations(os: string, records: readonly StageRecord[], file: string = durationsFile(), at = new Date()): void {
  const merged = { ...readDurations(file), ...phasesOf(os, records, at) };
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(merged, null, 2)}\n`, { mode: 0o600 });
  renameSync(temp, file);
}
