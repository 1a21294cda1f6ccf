// The stage duration report printed at the end of a run.
import type { StageRecord } from './stage-runner.js';

function seconds(ms: number | undefined): string {
  return ms === undefined ? '-' : `${(ms / 1000).toFixed(1)}s`;
}

/** Seconds per stage and step; when the records come from several groups (the OS image, each infrastructure), a block per group with its subtotal. */
export function durationReport(records: readonly StageRecord[]): string {
  const key = (r: StageRecord): string => `${r.group ?? ''}\u0000${r.stage}`;
  const rows: { group: string; stage: string; config?: number; apply?: number }[] = [];
  const byKey = new Map<string, (typeof rows)[number]>();
  for (const r of records) {
    let row = byKey.get(key(r));
    if (!row) {
      row = { group: r.group ?? '', stage: r.stage };
      byKey.set(key(r), row);
      rows.push(row);
    }
    row[r.step] = (row[r.step] ?? 0) + r.durationMs;
  }
  const groups = [...new Set(rows.map((r) => r.group))];
  const labelled = groups.length > 1;
  const width = Math.max(5, ...rows.map((r) => r.stage.length + (labelled ? 2 : 0)));
  const line = (a: string, b: string, c: string, d: string): string => `${a.padEnd(width)}  ${b.padStart(8)}  ${c.padStart(8)}  ${d.padStart(8)}`;
  const lines = ['Stage duration report', line('stage', 'config', 'apply', 'total')];
  let total = 0;
  for (const group of groups) {
    if (labelled) lines.push(`[${group || 'other'}]`);
    let subtotal = 0;
    for (const row of rows.filter((r) => r.group === group)) {
      const sum = (row.config ?? 0) + (row.apply ?? 0);
      subtotal += sum;
      lines.push(line(`${labelled ? '  ' : ''}${row.stage}`, seconds(row.config), seconds(row.apply), seconds(sum)));
    }
    if (labelled) lines.push(line(`  ${group} total`, '', '', seconds(subtotal)));
    total += subtotal;
  }
  lines.push(line('total', '', '', seconds(total)));
  return lines.join('\n');
}

/** The slowest stages, for notes and --json. */
export function slowest(records: readonly StageRecord[], count: number): { stage: string; ms: number }[] {
  const sums = new Map<string, number>();
  for (const r of records) sums.set(r.stage, (sums.get(r.stage) ?? 0) + r.durationMs);
  return [...sums]
    .map(([stage, ms]) => ({ stage, ms }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, count);
}
