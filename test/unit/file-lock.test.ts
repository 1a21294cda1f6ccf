// The lock between processes: several processes racing for it, each doing a read-modify-write of
// one file under it, lose no update; an abandoned lock (its pid gone) is broken, a live one waited for.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { acquireFileLock, lockHeld } from '../../src/util/file-lock.js';

const run = promisify(execFile);

describe('the file lock', () => {
  it('lets racing processes update one file without losing a write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sf-lock-'));
    const counter = join(dir, 'counter');
    writeFileSync(counter, '0');
    const moduleUrl = new URL('../../src/util/file-lock.js', import.meta.url).href;
    const script =
      `const { withFileLock } = await import(${JSON.stringify(moduleUrl)}); const fs = await import('node:fs');` +
      `for (let i = 0; i < 60; i++) await withFileLock(${JSON.stringify(join(dir, 'counter.lock'))}, () => {` +
      ` const n = Number(fs.readFileSync(${JSON.stringify(counter)}, 'utf8')); fs.writeFileSync(${JSON.stringify(counter)}, String(n + 1)); }, { waitMs: 60_000 });`;
    await Promise.all(Array.from({ length: 8 }, () => run(process.execPath, ['--input-type=module', '-e', script])));
    assert.equal(readFileSync(counter, 'utf8'), '480');
    assert.deepEqual(readdirSync(dir), ['counter'], 'no lock or temporary name is left behind');
  });

  it('breaks a lock whose owner is gone, and waits for a live one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sf-lock-'));
    const path = join(dir, 'x.lock');
    writeFileSync(path, '2147483646'); // no such process
    assert.equal(lockHeld(path), false);
    const release = await acquireFileLock(path, { waitMs: 1000 });
    assert.equal(readFileSync(path, 'utf8'), String(process.pid));
    assert.equal(lockHeld(path), true);
    const waited: string[] = [];
    await assert.rejects(
      acquireFileLock(path, { waitMs: 200, what: 'the test', onWait: (h) => waited.push(h) }),
      /the test is locked by another stemforge \(pid \d+/,
    );
    assert.deepEqual(waited, [String(process.pid)]);
    release();
    assert.equal(existsSync(path), false);
  });
});
