// The stage duration report printed at the end of a run.
import type { StageRecord } from './stage-runner.js';

function seconds(ms: number | undefined): string {
  return ms === undefined ? '-' : `${(ms / 1000).toFixed(1)}s`;
}

export function durationReport(records: readonly StageRecord[]): string {
  const stages: string[] = [];
  const times = new Map<string, { config?: number; apply?: number }>();
  for (const r of records) {
    if (!times.has(r.stage)) {
      times.set(r.stage, {});
      stages.push(r.stage);
    }
    times.get(r.stage)![r.step] = r.durationMs;
  }
  const width = Math.max(5, ...stages.map((s) => s.length));
  const row = (a: string, b: string, c: string, d: string): string =>
    `${a.padEnd(width)}  ${b.padStart(8)}  ${c.padStart(8)}  ${d.padStart(8)}`;
  const lines = ['Stage duration report', row('stage', 'config', 'apply', 'total')];
  let total = 0;
  for (const stage of stages) {
    const t = times.get(stage)!;
    const sum = (t.config ?? 0) + (t.apply ?? 0);
    total += sum;
    lines.push(row(stage, seconds(t.config), seconds(t.apply), seconds(sum)));
  }
  lines.push(row('total', '', '', seconds(total)));
  return lines.join('\n');
}

/** The slowest stages, for notes and --json. */
export function slowest(records: readonly StageRecord[], count: number): { stage: string; ms: number }[] {
  const sums = new Map<string, number>();
  for (const r of records) sums.set(r.stage, (sums.get(r.stage) ?? 0) + r.durationMs);
  return [...sums].map(([stage, ms]) => ({ stage, ms })).sort((a, b) => b.ms - a.ms).slice(0, count);
}
