// Stages run as jobs on the build machine: they survive a dropped SSH connection (the
// runner reconnects and follows the log from where it broke) and Ctrl-C stops their whole
// process group. Real sshd on loopback; its connection processes are killed for real.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildLayout, type BuildLayout } from '../../src/pipeline/layout.js';
import { StageFailure, StageRunner } from '../../src/pipeline/stage-runner.js';
import { packageRoot } from '../../src/util/paths.js';
import type { SshMachine } from '../../src/machine/ssh.js';
import { connectToSshd, startSshd, sshdUnavailable, type TestSshd } from '../helpers/sshd.js';

const skip = sshdUnavailable();

function pids(args: string[]): number[] {
  try {
    return execFileSync('pgrep', args)
      .toString()
      .split('\n')
      .filter((l) => l)
      .map(Number);
  } catch {
    return [];
  }
}

describe('stage jobs over ssh', { skip }, () => {
  let sshd: TestSshd;
  let machine: SshMachine;
  let layout: BuildLayout;
  let runner: StageRunner;

  before(async () => {
    sshd = await startSshd();
    machine = await connectToSshd(sshd);
    layout = buildLayout(mkdtempSync(join(tmpdir(), 'sf-job-')), 'os-image-test');
    cpSync(join(packageRoot, 'stages', 'lib'), join(layout.builderDir, 'stages', 'lib'), { recursive: true });
    mkdirSync(layout.workDir, { recursive: true });
    runner = new StageRunner(machine, layout, join(layout.root, 'logs'), { LANG: 'C.UTF-8' });
  });
  after(async () => {
    await machine?.close();
    await sshd?.stop();
  });

  function stage(name: string, body: string): void {
    const dir = join(layout.builderDir, 'stages', name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'apply.sh'), `#!/usr/bin/env bash\nset -euo pipefail\n${body}\n`, { mode: 0o755 });
  }

  it('finishes a stage whose SSH connection is killed in the middle, every line once', async () => {
    stage('slow_counter', 'for i in $(seq 1 60); do echo "count $i"; sleep 0.05; done; echo -n "no newline at the end"');
    const lines: string[] = [];
    let killed = 0;
    const running = runner.runStep('slow_counter', 'apply', (l) => {
      lines.push(l);
      if (l === 'count 15' && killed === 0) {
        // every connection of this sshd is a child process of it: kill them all
        for (const pid of pids(['-P', String(sshd.pid)])) {
          process.kill(pid, 'SIGKILL');
          killed++;
        }
      }
    });
    const record = await running;
    assert.ok(killed > 0, 'a connection was killed');
    assert.equal(record.exitCode, 0);
    const counts = lines.filter((l) => l.startsWith('count '));
    assert.deepEqual(
      counts,
      Array.from({ length: 60 }, (_, i) => `count ${i + 1}`),
    );
    assert.equal(lines.at(-1), 'no newline at the end');
    assert.ok(lines.some((l) => /connection to ssh:\/\/root@127\.0\.0\.1:\d+ lost; reconnecting \(attempt 1\/\d\)/.test(l)));
    assert.ok(lines.some((l) => /reconnected; following slow_counter where it was/.test(l)));
  });

  it('stops the whole process group of a stage on cancel', async () => {
    const marker = `sf-job-${randomBytes(4).toString('hex')}`;
    stage('sleeper', `bash -c 'exec -a ${marker} sleep 300' &\nsleep 301 &\necho started\nwait`);
    const controller = new AbortController();
    let failure: unknown;
    let aliveAtCancel: number[] = [];
    try {
      await runner.runStep(
        'sleeper',
        'apply',
        (l) => {
          if (l === 'started') {
            setTimeout(() => {
              aliveAtCancel = pids(['-f', marker]);
              controller.abort();
            }, 300);
          }
        },
        controller.signal,
      );
    } catch (err) {
      failure = err;
    }
    assert.equal(aliveAtCancel.length, 1, `the marker process runs when the stage is cancelled (pids ${aliveAtCancel.join(', ')})`);
    assert.ok(failure instanceof StageFailure);
    assert.equal(failure.cancelled, true);
    assert.deepEqual(pids(['-f', marker]), []);
  });

  it('reports a stage whose job vanished (supervisor killed) as failed, not hung', async () => {
    stage('victim', 'echo up; sleep 300');
    const running = runner.runStep('victim', 'apply', (l) => {
      if (l === 'up') {
        const dir = join(layout.buildDir, 'jobs', 'victim.apply');
        const supervisor = execFileSync('cat', [join(dir, 'supervisor.pid')])
          .toString()
          .trim();
        const pgid = execFileSync('cat', [join(dir, 'pgid')])
          .toString()
          .trim();
        process.kill(Number(supervisor), 'SIGKILL');
        process.kill(-Number(pgid), 'SIGKILL');
      }
    });
    await assert.rejects(running, (e: unknown) => e instanceof StageFailure && e.exitCode === 254 && /ended without an exit status/.test(e.tail.join('\n')));
  });

  it('a job whose stemforge went away is listed, and a new runner follows it from its start to its result', async () => {
    stage('orphan', 'for i in $(seq 1 20); do echo "tick $i"; sleep 0.05; done; exit 3');
    const jobScript = join(layout.builderDir, 'stages', 'lib', 'stage-job.bash');
    const script = join(layout.builderDir, 'stages', 'orphan', 'apply.sh');
    // started as a stemforge starts it, and nobody follows it: the CLI was killed
    execFileSync('bash', [jobScript, 'start', join(layout.buildDir, 'jobs', 'orphan.apply'), script, layout.workDir, 'abc123']);
    const listed = await runner.jobs();
    assert.deepEqual(
      listed.find((j) => j.stage === 'orphan'),
      { stage: 'orphan', step: 'apply', state: 'running', tag: 'abc123' },
    );
    const lines: string[] = [];
    await assert.rejects(
      runner.runStep('orphan', 'apply', (l) => lines.push(l), undefined, { adopt: true }),
      (e: unknown) => e instanceof StageFailure && e.exitCode === 3,
    );
    assert.match(lines[0]!, /orphan was still running .* following it from its start/);
    assert.deepEqual(
      lines.filter((l) => l.startsWith('tick ')),
      Array.from({ length: 20 }, (_, i) => `tick ${i + 1}`),
    );
    assert.deepEqual(
      (await runner.jobs()).find((j) => j.stage === 'orphan'),
      { stage: 'orphan', step: 'apply', state: 'finished', exitCode: 3, tag: 'abc123' },
    );
  });

  it('stops a job left running, its whole process group', async () => {
    const marker = `sf-left-${randomBytes(4).toString('hex')}`;
    stage('left_running', `bash -c 'exec -a ${marker} sleep 300' &\nwait`);
    const jobScript = join(layout.builderDir, 'stages', 'lib', 'stage-job.bash');
    const script = join(layout.builderDir, 'stages', 'left_running', 'apply.sh');
    execFileSync('bash', [jobScript, 'start', join(layout.buildDir, 'jobs', 'left_running.apply'), script, layout.workDir]);
    for (let i = 0; i < 50 && pids(['-f', marker]).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(pids(['-f', marker]).length, 1);
    await runner.stopJob({ stage: 'left_running', step: 'apply' });
    assert.deepEqual(pids(['-f', marker]), []);
    assert.equal((await runner.jobs()).find((j) => j.stage === 'left_running')?.state, 'finished');
  });
});
