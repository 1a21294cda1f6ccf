// The build-root lock (stages/lib/build-lock.bash through src/pipeline/build-lock.ts) on the
// local machine with real files and real processes: a second build waits and gets the root
// once the first releases it, --no-wait refuses naming the holder, a dead holder on this host
// and a stale heartbeat are taken over, and only the holder's token releases or refreshes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { LocalMachine } from '../../src/machine/local.js';
import { BuildRootBusy, BuildRootLock, lockCommandLine, showBuildLock, type AcquireOptions } from '../../src/pipeline/build-lock.js';
import { packageRoot } from '../../src/util/paths.js';

const skip = process.getuid?.() === 0 ? undefined : 'needs root (the local machine)';
const machine = new LocalMachine();
const fast = { pollMs: 50, heartbeatMs: 60_000, staleSeconds: 120 };

function options(extra: Partial<AcquireOptions> = {}): AcquireOptions {
  return { signal: new AbortController().signal, timing: fast, ...extra };
}

/** The pid of a real process that has ended. */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((r) => child.once('exit', r));
  return child.pid!;
}

/** The script itself, for what the module never does (another token's release). */
async function script(...args: string[]): Promise<number> {
  const text = readFileSync(join(packageRoot, 'stages', 'lib', 'build-lock.bash'), 'utf8');
  return (await machine.run(['bash', '-c', text, 'build-lock.bash', ...args])).exitCode;
}

describe('the build-root lock', { skip }, () => {
  let root: string;
  beforeEach(() => (root = join(mkdtempSync(join(tmpdir(), 'sf-lock-')), 'root')));
  afterEach(() => rmSync(join(root, '..'), { recursive: true, force: true }));

  it('a second build waits with a line naming the holder, and gets the root once the first releases it', async () => {
    const first = await BuildRootLock.acquire(machine, root, options({ command: 'stemforge build --iaas aws', pid: process.pid }));
    const lines: string[] = [];
    let second: BuildRootLock | undefined;
    const waiting = BuildRootLock.acquire(machine, root, options({ onLine: (l) => lines.push(l) })).then((l) => (second = l));
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(second, undefined, 'the second acquirer must wait while the first holds the root');
    assert.equal(lines.length, 1, `one waiting line, not one per poll: ${lines.join(' | ')}`);
    assert.match(lines[0]!, new RegExp(`^waiting for the build root ${root} on local: in use by \`stemforge build --iaas aws\` \\(pid ${process.pid} on `));
    assert.match(lines[0]!, /since \d\d:\d\d:\d\d\)$/);
    await first.release();
    await waiting;
    assert.equal((await showBuildLock(machine, root))?.token, second!.token);
    await second!.release();
    assert.equal(await showBuildLock(machine, root), undefined, 'released: nobody holds the root');
  });

  it('--no-wait refuses at once with the holder, its pid and what to do', async () => {
    const first = await BuildRootLock.acquire(machine, root, options({ command: 'stemforge os-image --os debian-bookworm', pid: process.pid }));
    const started = Date.now();
    await assert.rejects(BuildRootLock.acquire(machine, root, options({ noWait: true })), (err: unknown) => {
      assert.ok(err instanceof BuildRootBusy);
      assert.match(err.message, /in use by `stemforge os-image --os debian-bookworm` \(pid \d+ on /);
      assert.ok(err.message.includes(`pid ${process.pid} on ${hostname()}`));
      assert.match(err.hint, /without --no-wait/);
      return true;
    });
    assert.ok(Date.now() - started < 5000, 'refused at once');
    assert.equal((await showBuildLock(machine, root))?.token, first.token, 'the refusal leaves the holder alone');
    await first.release();
  });

  it('takes over the lock of a dead holder on this host, saying whose', async () => {
    const pid = await deadPid();
    await BuildRootLock.acquire(machine, root, options({ command: 'stemforge build --iaas warden', pid }));
    const lines: string[] = [];
    const second = await BuildRootLock.acquire(machine, root, options({ onLine: (l) => lines.push(l), noWait: true }));
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, new RegExp(`^taking over the build root .* from \`stemforge build --iaas warden\` \\(pid ${pid} on .*: pid ${pid} on .* is gone$`));
    assert.equal((await showBuildLock(machine, root))?.token, second.token);
    await second.release();
  });

  it('waits for a live holder of another host, and takes over once its heartbeat is older than the bound', async () => {
    const other = await BuildRootLock.acquire(machine, root, options({ host: 'another-laptop', pid: 4242, command: 'stemforge build' }));
    // another host's pid cannot be checked: with a fresh heartbeat the root stays its own
    await assert.rejects(BuildRootLock.acquire(machine, root, options({ noWait: true })), BuildRootBusy);
    const old = new Date(Date.now() - 300_000);
    utimesSync(join(root, 'build.lock'), old, old);
    const lines: string[] = [];
    const mine = await BuildRootLock.acquire(machine, root, options({ onLine: (l) => lines.push(l), noWait: true }));
    assert.match(lines[0] ?? '', /pid 4242 on another-laptop.*: no heartbeat for 3\d\d s$/);
    assert.equal(await other.refresh(), false, 'the old holder learns the lock is no longer its own');
    assert.equal(await mine.refresh(), true);
    await assert.rejects(other.release(), /taken over by another build/);
    assert.equal((await showBuildLock(machine, root))?.token, mine.token, "the old holder's release leaves the new lock");
    await mine.release();
  });

  it('only the holder releases or refreshes; a takeover breaks only the lock judged abandoned', async () => {
    const holder = await BuildRootLock.acquire(machine, root, options());
    const before = readFileSync(join(root, 'build.lock'), 'utf8');
    const stranger = 'f'.repeat(32);
    assert.equal(await script('release', root, stranger), 4);
    assert.equal(await script('refresh', root, stranger), 4);
    assert.equal(await script('takeover', root, stranger, 'e'.repeat(32), hostname(), '1', 'stemforge build'), 3);
    assert.equal(readFileSync(join(root, 'build.lock'), 'utf8'), before, 'the lock is unchanged');
    assert.equal(await script('acquire', root, 'x', hostname(), '1', 'cmd'), 2, 'a bad token is a usage error');
    await holder.release();
  });

  it('Ctrl-C while waiting stops the wait at once and leaves the holder alone', async () => {
    const holder = await BuildRootLock.acquire(machine, root, options({ pid: process.pid }));
    const abort = new AbortController();
    const waiting = BuildRootLock.acquire(machine, root, { ...options(), signal: abort.signal });
    await new Promise((r) => setTimeout(r, 200));
    const at = Date.now();
    abort.abort();
    await assert.rejects(waiting, /interrupted/);
    assert.ok(Date.now() - at < 2000);
    assert.equal((await showBuildLock(machine, root))?.token, holder.token);
    await holder.release();
  });

  it('of many real processes racing for one root, exactly one holds it at a time', async () => {
    // each child takes the lock, appends "in"/"out" around a short hold, and releases it
    const moduleUrl = new URL('../../src/pipeline/build-lock.js', import.meta.url).href;
    const machineUrl = new URL('../../src/machine/local.js', import.meta.url).href;
    const trace = join(root, '..', 'trace');
    const child = (n: number): string =>
      `const { BuildRootLock } = await import(${JSON.stringify(moduleUrl)}); const { LocalMachine } = await import(${JSON.stringify(machineUrl)});` +
      `const { appendFileSync } = await import('node:fs');` +
      `const lock = await BuildRootLock.acquire(new LocalMachine(), ${JSON.stringify(root)}, { signal: new AbortController().signal, timing: { pollMs: 30 } });` +
      `appendFileSync(${JSON.stringify(trace)}, 'in ${n}\\n'); await new Promise((r) => setTimeout(r, 50)); appendFileSync(${JSON.stringify(trace)}, 'out ${n}\\n');` +
      `await lock.release();`;
    const runs = Array.from({ length: 6 }, (_, n) => {
      const p = spawn(process.execPath, ['--input-type=module', '-e', child(n)], { stdio: ['ignore', 'ignore', 'inherit'] });
      return new Promise<number | null>((r) => p.once('exit', r));
    });
    assert.deepEqual(await Promise.all(runs), [0, 0, 0, 0, 0, 0]);
    const lines = readFileSync(trace, 'utf8').trim().split('\n');
    assert.equal(lines.length, 12);
    for (let i = 0; i < lines.length; i += 2) assert.equal(lines[i + 1], lines[i]!.replace('in', 'out'), `interleaved holds: ${lines.join(', ')}`);
  });
});

describe("the lock's command line", () => {
  it('redacts the values of flags that can carry a password, and escapes control characters', () => {
    const line = lockCommandLine(['build', '--proxy', 'http://u:secret@proxy:3128', '--agent-url=https://u:pw@host/a', '--iaas', 'aws\nx']);
    assert.equal(line, 'stemforge build --proxy <redacted> --agent-url=<redacted> --iaas aws\\x0ax');
    assert.ok(!line.includes('secret') && !line.includes('pw@'));
  });
});
