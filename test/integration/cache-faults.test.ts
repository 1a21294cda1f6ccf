// Crash safety of the artifact cache: `stemforge cache import` (a real CLI process that
// writes blobs and entries) is killed with SIGKILL at random points, 50 times. After every
// kill no reader may see an entry whose blob is missing or damaged, and at the end
// `stemforge cache verify` finds no corrupt entry and clears what the dead writers left.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { ArtifactCache } from '../../src/cache/store.js';
import { sha256File } from '../../src/util/stream-hash.js';
import { exportEntries } from '../../src/cache/transfer.js';
import { packageRoot } from '../../src/util/paths.js';

const cli = join(packageRoot, 'bin', 'stemforge.js');
const rounds = 50;

function importRun(tarFile: string, cacheDir: string): { done: Promise<number | null>; kill: () => void } {
  const child = spawn(process.execPath, [cli, 'cache', 'import', tarFile, '--cache-dir', cacheDir], { stdio: 'ignore' });
  return { done: new Promise((resolve) => child.on('close', (code) => resolve(code))), kill: () => child.kill('SIGKILL') };
}

describe('the cache under kill -9', { timeout: 10 * 60_000 }, () => {
  it(`${rounds} imports killed at random points leave no corrupt entry`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sf-cache-faults-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const source = new ArtifactCache(join(dir, 'source'));
    const entries = [];
    for (let n = 1; n <= 4; n++) {
      const file = join(dir, `artifact-${n}`);
      writeFileSync(file, randomBytes(6 * 1024 * 1024));
      entries.push(await source.putFile(file, { key: String(n).repeat(64), kind: 'os-image', name: `a-${n}.tgz`, label: `artifact ${n}`, manifest: { n } }));
    }
    const tarFile = join(dir, 'export.tar');
    await exportEntries(source, entries, tarFile);

    const targetDir = join(dir, 'target');
    const target = new ArtifactCache(targetDir);
    // how long one whole import takes here: kills land anywhere from start-up to the end
    const started = Date.now();
    assert.equal(await importRun(tarFile, targetDir).done, 0);
    const full = Date.now() - started;
    t.diagnostic(`one import of 4 × 6 MiB takes ${full} ms`);

    let killedMidway = 0;
    for (let round = 0; round < rounds; round++) {
      // drop one entry (and its blob) so the next import writes it again; the others stay for the readers
      const present = await target.list();
      if (present.length > 0) await target.remove(present[Math.floor(Math.random() * present.length)]!);
      const run = importRun(tarFile, targetDir);
      await sleep(Math.random() * full * 1.1);
      run.kill();
      const code = await run.done;
      if (code !== 0) killedMidway += 1;
      // what any reader sees right after the crash: only whole entries with whole blobs
      for (const e of await target.list()) {
        assert.equal(await sha256File(target.blobPath(e.digest)), e.digest, `round ${round}: entry ${e.key.slice(0, 8)} has a damaged blob`);
      }
    }
    t.diagnostic(`${killedMidway} of ${rounds} imports were killed before they finished`);
    assert.ok(killedMidway >= rounds / 2, 'most runs were really cut short');

    const verify = spawnSync(process.execPath, [cli, 'cache', 'verify', '--cache-dir', targetDir, '--json'], { encoding: 'utf8' });
    assert.equal(verify.status, 0, verify.stderr);
    const report = JSON.parse(verify.stdout) as { entries: number; corrupt: unknown[]; tempFiles: string[] };
    assert.deepEqual(report.corrupt, []);
    t.diagnostic(`verify: ${report.entries} entries good, ${report.tempFiles.length} dead writers' temp files removed`);
    assert.deepEqual(readdirSync(target.tmpDir), []);
    // and the cache still works: a last import completes every entry
    assert.equal(await importRun(tarFile, targetDir).done, 0);
    assert.equal((await target.list()).length, 4);
  });
});
