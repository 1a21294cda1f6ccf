// A node:test reporter that prints how long each test file took, slowest first, and the
// total: CI's per-file time table. Used beside the spec reporter (package.json "test").
// Files run one after another (--test-concurrency=1), so a file's time is the wall clock
// from its first event to its last: hooks and set-up count, not only the tests' own time.
// The runner enqueues every file at the start (test:enqueue), so those events are not a
// file's start; its dequeue is.
import { basename, dirname } from 'node:path';

export default async function* fileTimes(source) {
  const files = new Map();
  for await (const event of source) {
    const file = event.data?.file;
    if (!file || event.type === 'test:enqueue') continue;
    const now = Date.now();
    const entry = files.get(file) ?? { first: now, last: now, tests: 0, failed: 0 };
    entry.last = now;
    if (event.type === 'test:pass' || event.type === 'test:fail') {
      if (!event.data.details?.type) entry.tests += 1;
      if (event.type === 'test:fail' && !event.data.details?.type) entry.failed += 1;
    }
    files.set(file, entry);
  }
  const rows = [...files]
    .map(([file, e]) => ({ name: `${basename(dirname(file))}/${basename(file)}`, s: (e.last - e.first) / 1000, ...e }))
    .sort((a, b) => b.s - a.s);
  const width = Math.max(...rows.map((r) => r.name.length), 4);
  yield `\nper-file times (${rows.length} files, slowest first)\n`;
  for (const r of rows)
    yield `  ${r.name.padEnd(width)}  ${r.s.toFixed(1).padStart(8)} s  ${String(r.tests).padStart(4)} tests${r.failed ? `, ${r.failed} failed` : ''}\n`;
  yield `  ${'all'.padEnd(width)}  ${rows
    .reduce((t, r) => t + r.s, 0)
    .toFixed(1)
    .padStart(8)} s\n`;
}
