// What happens after a stage fails (runStage): retry after the stage was fixed, keep, no
// policy, and an interrupt that is never asked about. Real stage jobs on the local machine.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { LocalMachine } from '../../src/machine/local.js';
import { runStage, StoppedAfterFailure, type RunEvent, type StageDecision } from '../../src/pipeline/common.js';
import { buildLayout, type BuildLayout } from '../../src/pipeline/layout.js';
import { StageFailure, StageRunner } from '../../src/pipeline/stage-runner.js';
import { packageRoot } from '../../src/util/paths.js';
import { writeStage } from '../helpers/build-machine.js';

const skip = process.getuid?.() === 0 ? undefined : 'needs root (stage jobs run as root)';

describe("a failed stage and the run's policy", { skip }, () => {
  let layout: BuildLayout;
  let runner: StageRunner;
  before(async () => {
    layout = buildLayout(mkdtempSync(join(tmpdir(), 'sf-policy-')), 'os-image-test');
    cpSync(join(packageRoot, 'stages', 'lib'), join(layout.builderDir, 'stages', 'lib'), { recursive: true });
    runner = new StageRunner(new LocalMachine(), layout, join(layout.root, 'logs'), { LANG: 'C.UTF-8' });
    await runner.prepare({ resume: false });
  });

  it('retries a stage after the fix landed, and records every step as an event', async () => {
    writeStage(layout, 'flaky', 'echo "broken"; exit 7');
    const events: RunEvent[] = [];
    const asked: string[] = [];
    const task = { output: '', title: 'flaky' };
    const record = await runStage(runner, 'test', 'flaky', 'apply', task, {
      renderer: 'silent',
      signal: new AbortController().signal,
      emit: (e) => events.push(e),
      onStageError: async (failure, _task, buildDir) => {
        asked.push(`${failure.stage}:${failure.exitCode}:${buildDir}`);
        return 'retry';
      },
      // what `build` does before a retry is to sync the builder again; here the "fix" is written
      beforeRetry: async () => writeStage(layout, 'flaky', 'echo "fixed"'),
    });
    assert.equal(record.exitCode, 0);
    assert.deepEqual(asked, [`flaky:7:${layout.buildDir}`]);
    assert.equal(task.output, 'fixed');
    assert.deepEqual(
      events.map((e) => ('state' in e ? e.state : e.type === 'decision' ? `decision:${e.decision}` : e.type)),
      ['started', 'failed', 'decision:retry', 'started', 'completed'],
    );
  });

  for (const decision of ['keep', 'cleanup', 'abort'] as const) {
    it(`stops with the decision '${decision}' attached`, async () => {
      writeStage(layout, 'broken', 'exit 4');
      const err = await runStage(
        runner,
        'test',
        'broken',
        'apply',
        { output: '', title: '' },
        {
          renderer: 'silent',
          signal: new AbortController().signal,
          onStageError: async (): Promise<StageDecision> => decision,
        },
      ).catch((e: unknown) => e);
      assert.ok(err instanceof StoppedAfterFailure, String(err));
      assert.equal(err.decision, decision);
      assert.equal(err.exitCode, 4);
      assert.ok(err instanceof StageFailure, 'reported like any stage failure: log tail, log path, resume command');
    });
  }

  it('without a policy the failure stops the run at once', async () => {
    writeStage(layout, 'broken', 'exit 5');
    const err = await runStage(
      runner,
      'test',
      'broken',
      'apply',
      { output: '', title: '' },
      { renderer: 'silent', signal: new AbortController().signal },
    ).catch((e: unknown) => e);
    assert.ok(err instanceof StageFailure && !(err instanceof StoppedAfterFailure));
    assert.equal(err.exitCode, 5);
  });

  it('an interrupted stage is never asked about', async () => {
    writeStage(layout, 'slow', 'sleep 30');
    const controller = new AbortController();
    let asked = false;
    setTimeout(() => controller.abort(), 500);
    const started = Date.now();
    const err = await runStage(
      runner,
      'test',
      'slow',
      'apply',
      { output: '', title: '' },
      {
        renderer: 'silent',
        signal: controller.signal,
        onStageError: async () => {
          asked = true;
          return 'retry';
        },
      },
    ).catch((e: unknown) => e);
    assert.ok(err instanceof StageFailure && err.cancelled);
    assert.equal(asked, false);
    assert.ok(Date.now() - started < 10_000, 'the stage was stopped, not waited for');
  });
});
