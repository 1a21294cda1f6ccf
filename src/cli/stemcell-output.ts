// Printing `stemforge stemcell` plans and results: human text, or JSON on stdout.
import { durationReport, slowest } from '../pipeline/report.js';
import type { StemcellDescription, StemcellResult } from '../pipeline/stemcell.js';

export function printStemcellDescription(d: StemcellDescription, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(d, null, 2)}\n`);
    return;
  }
  const lines = [
    `Plan: stemcell ${d.version} from ${d.osImage ?? 'the OS image the run names (--os-image)'} (${d.os})`,
    `  machine:        ${d.machine}`,
    `  agent:          ${d.agent}`,
    `  blobstore CLIs: ${d.blobstoreClis}`,
    `  output dir:     ${d.outDir}`,
  ];
  for (const s of d.stemcells) {
    lines.push(`  ${s.file}`, `    name ${s.name}, disk format ${s.diskFormat}, build dir ${s.buildDir}`);
    for (const phase of s.phases) {
      lines.push(`    phase ${phase.name}:`);
      phase.stages.forEach((st, i) => {
        const marks = [st.selected ? '' : 'not selected', st.written ? '' : 'NOT WRITTEN YET', st.hasConfig ? 'config.sh' : ''].filter((m) => m).join(', ');
        lines.push(`      ${String(i + 1).padStart(2)}. ${st.name}${marks ? `  (${marks})` : ''}`);
      });
    }
    if (s.unwritten.length > 0) lines.push(`    ${s.unwritten.length} selected stage(s) are not written yet; a real run needs --allow-unwritten.`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

export function printStemcellResult(r: StemcellResult, json: boolean): void {
  const err = process.stderr;
  err.write(`\n${durationReport(r.records)}\n`);
  if (json) {
    const stages = r.records.map((x) => ({ stage: x.stage, step: x.step, seconds: x.durationMs / 1000 }));
    process.stdout.write(`${JSON.stringify({ ok: true, partial: r.partial, stemcells: r.stemcells, skipped: r.skipped, logDir: r.logDir, stages })}\n`);
    return;
  }
  if (r.skipped.length > 0) err.write(`\nnot written yet, skipped: ${r.skipped.join(', ')}\n`);
  const top = slowest(r.records, 5)
    .map((s) => `${s.stage} ${(s.ms / 1000).toFixed(1)}s`)
    .join(', ');
  if (top) err.write(`slowest: ${top}\n`);
  err.write(`logs: ${r.logDir}\n`);
  for (const s of r.stemcells) {
    if (s.out) process.stdout.write(`${s.out} (${((s.bytes ?? 0) / 1048576).toFixed(1)} MiB, sha256 ${s.sha256})\n`);
  }
}
