// Printing results: human text, or one JSON document on stdout with --json.
import type { OsImageDescription, OsImageResult } from '../pipeline/os-image.js';
import { durationReport, slowest } from '../pipeline/report.js';

export function printOsImageDescription(d: OsImageDescription, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(d, null, 2)}\n`);
    return;
  }
  const lines = [
    `Plan: os-image ${d.os}${d.arch === 'amd64' ? '' : ` (${d.arch})`}`,
    `  machine:    ${d.machine}`,
    `  build dir:  ${d.buildDir}`,
    `  output:     ${d.out ?? '(none)'}`,
    '  settings:',
    ...Object.entries(d.settings).map(([k, v]) => `    ${k}=${v}`),
  ];
  for (const phase of d.phases) {
    lines.push(`  phase ${phase.name}:`);
    phase.stages.forEach((s, i) => {
      const marks = [s.selected ? '' : 'not selected', s.written ? '' : 'NOT WRITTEN YET', s.hasConfig ? 'config.sh' : ''].filter((m) => m !== '').join(', ');
      lines.push(`    ${String(i + 1).padStart(2)}. ${s.name}${marks ? `  (${marks})` : ''}`);
    });
  }
  if (d.unwritten.length > 0) {
    lines.push(`  ${d.unwritten.length} selected stage(s) are not written yet; a real run needs --allow-unwritten to skip them.`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

export function printOsImageResult(r: OsImageResult, json: boolean): void {
  // the report is part of the UI and goes to stderr, --json or not
  const err = process.stderr;
  if (r.cached) err.write(`from the cache: ${r.cached}\n`);
  else err.write(`\n${durationReport(r.records)}\n`);
  if (json) {
    const stages = r.records.map((x) => ({ stage: x.stage, step: x.step, seconds: x.durationMs / 1000 }));
    process.stdout.write(
      `${JSON.stringify({ ok: true, out: r.out ?? null, partial: r.partial, sha256: r.sha256 ?? null, bytes: r.bytes ?? null, cached: r.cached ?? null, skipped: r.skipped, logDir: r.logDir, stages })}\n`,
    );
    return;
  }
  if (r.skipped.length > 0) err.write(`\nnot written yet, skipped: ${r.skipped.join(', ')}\n`);
  const top = slowest(r.records, 5)
    .map((s) => `${s.stage} ${(s.ms / 1000).toFixed(1)}s`)
    .join(', ');
  if (top) err.write(`slowest: ${top}\n`);
  err.write(`logs: ${r.logDir}\n`);
  if (r.out) process.stdout.write(`${r.out} (${((r.bytes ?? 0) / 1048576).toFixed(1)} MiB, sha256 ${r.sha256})\n`);
}
