// Version reservations (src/settings/versions.ts): builds that start at the same time in
// real separate processes never get the same version; a reservation whose build is gone is
// ignored and dropped; a build's end releases its own reservation only.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openSettings } from '../../src/settings/store.js';
import { VersionCounter } from '../../src/settings/versions.js';

function counterIn(dir: string): VersionCounter {
  return new VersionCounter(openSettings({ STEMFORGE_CONFIG_DIR: dir }));
}

async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((r) => child.once('exit', r));
  return child.pid!;
}

describe('version reservations', () => {
  it('two processes reserving 20 versions each at the same time never get the same one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sf-reserve-'));
    const moduleUrl = new URL('../../src/settings/versions.js', import.meta.url).href;
    const storeUrl = new URL('../../src/settings/store.js', import.meta.url).href;
    // each process starts reserving on "go" (both loaded, so they overlap) and lives on until
    // its stdin ends, as a build lives on after its reservation: a dead process's would not count
    const script =
      `const { VersionCounter } = await import(${JSON.stringify(moduleUrl)}); const { openSettings } = await import(${JSON.stringify(storeUrl)});` +
      `const c = new VersionCounter(openSettings({ STEMFORGE_CONFIG_DIR: ${JSON.stringify(dir)} })); const got = [];` +
      `process.stdout.write('ready\\n'); await new Promise((r) => process.stdin.once('data', r));` +
      `for (let i = 0; i < 20; i++) got.push(await c.reserve('debian-bookworm', ['aws', 'openstack']));` +
      `process.stdout.write(JSON.stringify(got) + '\\n'); process.stdin.resume(); await new Promise((r) => process.stdin.once('end', r));`;
    const children = [0, 1].map(() => spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] }));
    const lines = children.map((child) => {
      const got: string[] = [];
      let text = '';
      const waiters: (() => void)[] = [];
      child.stdout.on('data', (d: Buffer) => {
        text += d.toString();
        const parts = text.split('\n');
        text = parts.pop()!;
        got.push(...parts);
        waiters.splice(0).forEach((w) => w());
      });
      return async (n: number): Promise<string[]> => {
        while (got.length < n) await new Promise<void>((r) => waiters.push(r));
        return got;
      };
    });
    const ended = children.map((child) => new Promise((r) => child.once('exit', r)));
    let versions: string[];
    try {
      await Promise.all(lines.map((l) => l(1)));
      for (const child of children) child.stdin.write('go\n');
      const outs = await Promise.all(lines.map((l) => l(2)));
      versions = outs.flatMap((o) => JSON.parse(o[1]!) as string[]);
    } finally {
      for (const child of children) child.stdin.end();
      await Promise.all(ended);
    }
    assert.equal(versions.length, 40);
    assert.equal(new Set(versions).size, 40, `a version was given twice: ${versions.join(' ')}`);
    // both processes have ended: their 40 reservations are dead, and the next proposal is the counter's own
    assert.equal(counterIn(dir).next('debian-bookworm', ['aws']), '0.1');
  });

  it('proposes past a live reservation, ignores and drops a dead one, and releases only its own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sf-reserve-'));
    const counter = counterIn(dir);
    await counter.record('debian-bookworm', 'aws', '1.4');
    const dead = { pid: await deadPid(), host: hostname() };
    assert.equal(await counter.reserve('debian-bookworm', ['aws'], undefined, dead), '1.5');
    assert.equal(counter.next('debian-bookworm', ['aws']), '1.5', "a dead build's reservation is ignored");
    // another host's build cannot be checked from here: it holds until it releases or a day passes
    const remote = { pid: 4242, host: 'another-laptop' };
    assert.equal(await counter.reserve('debian-bookworm', ['aws'], undefined, remote), '1.5');
    assert.equal(await counter.reserve('debian-bookworm', ['aws', 'warden']), '1.6');
    assert.deepEqual(
      counter.reservations().map((r) => `${r.key} ${r.version} ${r.host === hostname() ? r.pid === process.pid : r.host}`),
      ['debian-bookworm/aws 1.5 another-laptop', 'debian-bookworm/aws 1.6 true', 'debian-bookworm/warden 1.6 true'],
      'the dead reservation is dropped at the next reserve',
    );
    assert.equal(counter.next('debian-bookworm', ['warden']), '1.7', 'a reservation counts for each of its infrastructures');
    assert.equal(counter.next('ubuntu-jammy', ['aws']), '0.1', "another OS line's counter is not touched");
    await counter.release('debian-bookworm', ['aws', 'warden'], '1.6', remote);
    assert.equal(counter.reservations().length, 3, 'a release by another build leaves ours');
    await counter.record('debian-bookworm', 'aws', '1.6');
    await counter.release('debian-bookworm', ['aws', 'warden'], '1.6');
    assert.equal(counter.next('debian-bookworm', ['aws']), '1.7');
    assert.equal(counter.next('debian-bookworm', ['aws', 'warden']), '1.7');
    assert.equal(counter.next('debian-bookworm', ['warden']), '0.1', "warden's counter: never built, and its reservation released");
  });

  it('reserves a version the user gave, so that proposals go past it, without refusing it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sf-reserve-'));
    const counter = counterIn(dir);
    assert.equal(await counter.reserve('debian-bookworm', ['aws'], '7.0'), '7.0');
    assert.equal(await counter.reserve('debian-bookworm', ['aws'], '7.0', { pid: 4242, host: 'another-laptop' }), '7.0');
    assert.equal(counter.next('debian-bookworm', ['aws']), '7.1');
  });
});
