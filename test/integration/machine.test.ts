// The Machine contract, run against the local machine and a real sshd on loopback.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { LocalMachine } from '../../src/machine/local.js';
import type { Machine } from '../../src/machine/machine.js';
import { connectToSshd, startSshd, sshdUnavailable, type TestSshd } from '../helpers/sshd.js';
import { hostileArguments } from '../helpers/hostile.js';

const skip = sshdUnavailable();

function collect(): { lines: string[]; push: (l: string) => void } {
  const lines: string[] = [];
  return { lines, push: (l) => lines.push(l) };
}

function processAlive(marker: string): boolean {
  try {
    execFileSync('pgrep', ['-f', marker]);
    return true;
  } catch {
    return false;
  }
}

/** The file the hostile list's command substitution, `$(touch FILE)`, creates when a shell runs it. */
const listPayloadFile = hostileArguments.map((a) => /^\$\(touch (\S+)\)$/.exec(a)?.[1]).find((f) => f)!;

/** Arguments that each create a file in `dir`, named after the syntax, if a shell ever evaluates them. */
function fileCreatingArguments(dir: string): Record<string, string> {
  return {
    dollar: `$(touch ${dir}/dollar)`,
    backtick: `\`touch ${dir}/backtick\``,
    semicolon: `true; touch ${dir}/semicolon;`,
    and: `true && touch ${dir}/and;`,
    pipe: `true | touch ${dir}/pipe;`,
  };
}

function contract(name: string, open: () => Promise<Machine>): void {
  describe(`${name} machine`, { skip }, () => {
    let machine: Machine;
    before(async () => {
      machine = await open();
    });
    after(async () => {
      await machine?.close();
    });

    it('streams stdout and stderr line by line and returns the exit code', async () => {
      const out = collect();
      const err = collect();
      const seen: string[] = [];
      const result = await machine.run(['sh', '-c', 'echo one; echo two >&2; printf "three\\nfour"; exit 7'], {
        onStdout: (l) => (out.push(l), seen.push(`out:${l}`)),
        onStderr: (l) => (err.push(l), seen.push(`err:${l}`)),
      });
      assert.equal(result.exitCode, 7);
      assert.deepEqual(out.lines, ['one', 'three', 'four']);
      assert.deepEqual(err.lines, ['two']);
    });

    it('delivers lines as they are printed, not at the end', async () => {
      const stamps: number[] = [];
      await machine.run(['sh', '-c', 'echo a; sleep 1; echo b'], { onStdout: () => stamps.push(Date.now()) });
      assert.equal(stamps.length, 2);
      assert.ok(stamps[1]! - stamps[0]! >= 700, `second line came ${stamps[1]! - stamps[0]!} ms after the first`);
    });

    it('passes hostile arguments through unchanged', async () => {
      rmSync(listPayloadFile, { force: true }); // a stale one would prove nothing
      const out = collect();
      const result = await machine.run(['printf', '%s|\\n', ...hostileArguments.filter((a) => !/[\n\r]/.test(a))], { onStdout: out.push });
      assert.equal(result.exitCode, 0);
      assert.deepEqual(
        out.lines,
        hostileArguments.filter((a) => !/[\n\r]/.test(a)).map((a) => `${a}|`),
      );
      assert.ok(!existsSync(listPayloadFile), `${listPayloadFile} was created: an argument was run by a shell`);
    });

    it('never lets a shell run an argument: the files the payloads would create stay absent', async () => {
      // each payload does create its file when a shell evaluates it: the check below can fail
      const control = mkdtempSync(join(tmpdir(), 'sf-payload-control-'));
      for (const payload of Object.values(fileCreatingArguments(control))) execFileSync('sh', ['-c', `: ${payload}`], { cwd: control });
      assert.deepEqual(readdirSync(control).sort(), Object.keys(fileCreatingArguments(control)).sort());
      rmSync(control, { recursive: true });

      const dir = mkdtempSync(join(tmpdir(), 'sf-payload-'));
      const payloads = Object.values(fileCreatingArguments(dir));
      const out = collect();
      const result = await machine.run(['printf', '%s|\\n', ...payloads], { onStdout: out.push });
      assert.equal(result.exitCode, 0);
      assert.deepEqual(
        out.lines,
        payloads.map((a) => `${a}|`),
      );
      assert.deepEqual(readdirSync(dir), [], 'no payload ran');
      rmSync(dir, { recursive: true });
    });

    it('runs with exactly the given environment, in the given folder', async () => {
      const out = collect();
      const dir = mkdtempSync(join(tmpdir(), 'sf-cwd-'));
      process.env.STEMFORGE_TEST_LEAK = 'leaked';
      const result = await machine.run(['sh', '-c', 'pwd; env | sort'], { env: { ONLY: 'this one' }, cwd: dir, onStdout: out.push });
      delete process.env.STEMFORGE_TEST_LEAK;
      assert.equal(result.exitCode, 0);
      assert.equal(out.lines[0], dir);
      const vars = out.lines.slice(1).filter((l) => !l.startsWith('PWD=') && !l.startsWith('SHLVL=') && !l.startsWith('_='));
      assert.deepEqual(
        vars.map((l) => l.split('=')[0]),
        ['ONLY', 'PATH'],
      );
      assert.ok(out.lines.includes('ONLY=this one'));
    });

    it('feeds stdin', async () => {
      const out = collect();
      await machine.run(['tr', 'a-z', 'A-Z'], { stdin: 'hello\nworld\n', onStdout: out.push });
      assert.deepEqual(out.lines, ['HELLO', 'WORLD']);
    });

    it('reports a missing command as exit 127', async () => {
      const result = await machine.run(['/nonexistent/stemforge-command']);
      assert.equal(result.exitCode, 127);
    });

    it('cancels a running command', async () => {
      const marker = `sf-cancel-${randomBytes(4).toString('hex')}`;
      const controller = new AbortController();
      const started = Date.now();
      const running = machine.run(['bash', '-c', `exec -a ${marker} sleep 300`], { sudo: true, signal: controller.signal });
      await new Promise((r) => setTimeout(r, 800));
      assert.ok(processAlive(marker), 'the command runs');
      controller.abort();
      const result = await running;
      assert.ok(result.cancelled);
      assert.notEqual(result.exitCode, 0);
      assert.ok(Date.now() - started < 15_000);
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(!processAlive(marker), 'the command is gone');
    });

    it('sends a tree with its modes and a file atomically with a mode', async () => {
      const src = mkdtempSync(join(tmpdir(), 'sf-src-'));
      mkdirSync(join(src, 'stages', 'x'), { recursive: true });
      writeFileSync(join(src, 'stages', 'x', 'apply.sh'), '#!/bin/sh\n');
      chmodSync(join(src, 'stages', 'x', 'apply.sh'), 0o755);
      writeFileSync(join(src, 'stages', 'x', 'data'), 'd');
      chmodSync(join(src, 'stages', 'x', 'data'), 0o640);
      const dest = join(mkdtempSync(join(tmpdir(), 'sf-dest-')), 'deep', 'builder');
      await machine.sendTree(src, dest);
      assert.equal(statSync(join(dest, 'stages', 'x', 'apply.sh')).mode & 0o777, 0o755);
      assert.equal(statSync(join(dest, 'stages', 'x', 'data')).mode & 0o777, 0o640);
      assert.equal(readFileSync(join(dest, 'stages', 'x', 'data'), 'utf8'), 'd');

      await machine.sendFile(Buffer.from('secret=1\n'), join(dest, 'settings.bash'), { mode: 0o600 });
      assert.equal(statSync(join(dest, 'settings.bash')).mode & 0o777, 0o600);
      assert.equal(readFileSync(join(dest, 'settings.bash'), 'utf8'), 'secret=1\n');
    });

    it('fetches a file as a stream with its sha256', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sf-fetch-'));
      const content = randomBytes(3 * 1024 * 1024 + 17);
      writeFileSync(join(dir, 'blob'), content);
      const sink = new PassThrough();
      const chunks: Buffer[] = [];
      sink.on('data', (c: Buffer) => chunks.push(c));
      const fetched = await machine.fetchFile(join(dir, 'blob'), sink);
      assert.equal(fetched.bytes, content.length);
      assert.equal(fetched.sha256, createHash('sha256').update(content).digest('hex'));
      assert.ok(Buffer.concat(chunks).equals(content));
      await assert.rejects(machine.fetchFile(join(dir, 'missing'), new PassThrough()), /fetching .*missing failed/);
    });
  });
}

let sshd: TestSshd | undefined;
before(async () => {
  if (!skip) sshd = await startSshd();
});
after(async () => {
  await sshd?.stop();
});

contract('local', async () => new LocalMachine());
contract('ssh', async () => connectToSshd(sshd!));
