// End to end, as root: two real `stemforge stemcell` runs started together against one build
// root on the local machine (openstack and aws from the shared OS image, each to its first
// stage, on layers): one waits for the other with a line naming the holder's pid, both
// complete, their stages do not interleave, and the waiter reuses the layer the holder
// finished (no `.part` is left: no build's prune met another's layer in progress). Then --no-wait refuses at
// once naming the holder, and Ctrl-C stops a waiting run, leaving the holder's lock alone.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalMachine } from '../../src/machine/local.js';
import { BuildRootLock, showBuildLock } from '../../src/pipeline/build-lock.js';
import { packageRoot } from '../../src/util/paths.js';
import { osImageFixture } from '../helpers/os-image-fixture.js';

const skip = process.getuid?.() === 0 ? undefined : 'needs root (--machine local)';
const cli = join(packageRoot, 'bin', 'stemforge.js');

interface Line {
  at: number;
  text: string;
}

/** A real CLI run whose stderr lines are stamped with the time they arrived. */
function startRun(args: string[], configDir: string) {
  const child = spawn(process.execPath, [cli, ...args], {
    env: { ...process.env, CI: 'true', NO_COLOR: '1', STEMFORGE_CONFIG_DIR: configDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Line[] = [];
  let rest = '';
  child.stderr.on('data', (c: Buffer) => {
    const parts = (rest + c.toString()).split('\n');
    rest = parts.pop()!;
    for (const text of parts) lines.push({ at: Date.now(), text });
  });
  child.stdout.resume();
  const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, lines, done, stderr: (): string => lines.map((l) => l.text).join('\n') };
}

async function waitForLine(run: ReturnType<typeof startRun>, pattern: RegExp, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!run.lines.some((l) => pattern.test(l.text))) {
    if (Date.now() > deadline || run.child.exitCode !== null) assert.fail(`no line matching ${pattern}:\n${run.stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('two builds in one build root (local machine)', { skip, timeout: 20 * 60_000 }, () => {
  let scratch: string;
  let root: string;
  let osImage: string;
  const stemcellArgs = (iaas: string, ...extra: string[]): string[] => [
    'stemcell',
    '--os-image',
    osImage,
    '--iaas',
    iaas,
    '--until',
    'untar_base_os_image',
    '--version',
    '0.1',
    '--machine',
    'local',
    '--build-root',
    root,
    '--out',
    join(scratch, 'out'),
    ...extra,
  ];

  before(async () => {
    osImage = await osImageFixture();
    scratch = mkdtempSync('/var/tmp/stemforge-two-builds-');
    root = join(scratch, 'root');
    mkdirSync(join(scratch, 'out'));
  });
  after(() => {
    if (scratch) execFileSync('rm', ['-rf', '--one-file-system', scratch]);
  });

  it('started together: one waits for the other (its line names the pid), both complete, their stages in turn', async () => {
    const runs = { openstack: startRun(stemcellArgs('openstack'), scratch), aws: startRun(stemcellArgs('aws'), scratch) };
    const codes = await Promise.all([runs.openstack.done, runs.aws.done]);
    assert.deepEqual(codes, [0, 0], `both complete:\n--- openstack ---\n${runs.openstack.stderr()}\n--- aws ---\n${runs.aws.stderr()}`);
    const waiting = (r: ReturnType<typeof startRun>): Line | undefined => r.lines.find((l) => l.text.includes('waiting for the build root'));
    const waiters = (['openstack', 'aws'] as const).filter((n) => waiting(runs[n]));
    assert.equal(waiters.length, 1, `exactly one run waited: ${waiters.join(', ')}`);
    const waiter = runs[waiters[0]!];
    const holder = runs[waiters[0] === 'openstack' ? 'aws' : 'openstack'];
    const holderIaas = waiters[0] === 'openstack' ? 'aws' : 'openstack';
    const line = waiting(waiter)!.text;
    assert.ok(line.includes(`waiting for the build root ${root} on local: in use by \`stemforge stemcell`), line);
    assert.ok(line.includes(`--iaas ${holderIaas}`), line);
    assert.ok(line.includes(`(pid ${holder.child.pid} on `), `the line names the holder's pid ${holder.child.pid}: ${line}`);
    // the holder's whole stage ran before (the task lines; the duration report comes after them) the waiter synced the builder or ran anything
    const stageLines = (r: ReturnType<typeof startRun>): Line[] =>
      r.lines.filter((l) => /^\s*[❯✔›] .*(untar_base_os_image|Sync builder)/.test(l.text) && !l.text.includes('waiting for'));
    const holderLast = stageLines(holder).at(-1)!;
    const waiterFirst = stageLines(waiter)[0]!;
    assert.match(holderLast.text, /✔ untar_base_os_image/);
    assert.ok(waiterFirst.at >= holderLast.at, `the waiter's "${waiterFirst.text}" came before the holder's "${holderLast.text}"`);
    // the first stage's layer does not depend on the infrastructure: the waiter takes the one the
    // holder finished (without the lock it would have found it half-made, and its prune removed it)
    assert.ok(
      waiter.lines.some((l) => /untar_base_os_image \[SKIPPED: layer reused/.test(l.text)),
      `the waiter reuses the holder's layer:\n${waiter.stderr()}`,
    );
    const layers = readdirSync(join(root, 'layers')).filter((n) => n !== 'empty');
    assert.equal(layers.filter((n) => n.endsWith('.part')).length, 0, `no unfinished layer: ${layers.join(' ')}`);
    assert.equal(layers.filter((n) => existsSync(join(root, 'layers', n, 'meta'))).length, 1, `one complete layer: ${layers.join(' ')}`);
    assert.equal(await showBuildLock(new LocalMachine(), root), undefined, 'both released the root');
  });

  it('--no-wait refuses at once, naming the holder and its pid; Ctrl-C stops a waiting run', async () => {
    const machine = new LocalMachine();
    const held = await BuildRootLock.acquire(machine, root, { signal: new AbortController().signal, command: 'stemforge build --iaas aws', pid: process.pid });
    try {
      const refused = startRun(stemcellArgs('openstack', '--no-wait'), scratch);
      assert.equal(await refused.done, 1, refused.stderr());
      assert.match(
        refused.stderr(),
        new RegExp(
          `stemforge: error: the build root ${root} on local: in use by \`stemforge build --iaas aws\` \\(pid ${process.pid} on [^,]+, since \\d\\d:\\d\\d:\\d\\d\\)`,
        ),
      );
      assert.match(refused.stderr(), /what to do: .*without --no-wait.*--build-root/);
      assert.ok(!refused.stderr().includes('Sync builder'), 'refused before the builder sync');

      const waiting = startRun(stemcellArgs('openstack'), scratch);
      await waitForLine(waiting, new RegExp(`waiting for the build root .* \\(pid ${process.pid} on `));
      const at = Date.now();
      waiting.child.kill('SIGINT');
      assert.equal(await waiting.done, 130, waiting.stderr());
      assert.ok(Date.now() - at < 10_000, 'Ctrl-C ends the wait promptly');
      assert.equal((await showBuildLock(machine, root))?.token, held.token, "the holder's lock stands");
    } finally {
      await held.release();
    }
  });
});
