// The step runner: steps run as a listr tree (silent here), their cleanups unwind in reverse
// on success, failure and Ctrl-C, a failing cleanup is a warning that hides nothing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunEvent } from '../../src/pipeline/common.js';
import { CleanupStack, withSteps, type Outcome, type Step, type StepRunOptions } from '../../src/pipeline/steps.js';

interface Ctx {
  log: string[];
}

/** Options for a silent run that collects warnings and events. */
function recorder(signal = new AbortController().signal): { options: StepRunOptions; warnings: string[]; events: RunEvent[] } {
  const warnings: string[] = [];
  const events: RunEvent[] = [];
  return { options: { renderer: 'silent', signal, emit: (e) => events.push(e), warn: (line) => warnings.push(line) }, warnings, events };
}

/** A step that logs its run and its cleanup (with the outcome's state). */
function logged(name: string, run: (ctx: Ctx) => unknown = () => name): Step<Ctx> {
  return {
    title: name,
    run: async (ctx) => {
      ctx.log.push(`run ${name}`);
      return run(ctx);
    },
    undo: `undo ${name}`,
    cleanup: (outcome, ctx) => void ctx.log.push(`cleanup ${name} ${outcome.state}${outcome.result !== undefined ? ` ${outcome.result as string}` : ''}`),
  };
}

describe('steps', () => {
  it('runs the steps in order and their cleanups in reverse, each with what its step returned', async () => {
    const ctx: Ctx = { log: [] };
    const { options, warnings } = recorder();
    const value = await withSteps(options, async (run) => {
      await run.run([logged('a'), logged('b'), { title: 'no cleanup', run: (c) => void c.log.push('run plain') }, logged('c')], ctx);
      return 'built';
    });
    assert.equal(value, 'built');
    assert.deepEqual(ctx.log, ['run a', 'run b', 'run plain', 'run c', 'cleanup c succeeded c', 'cleanup b succeeded b', 'cleanup a succeeded a']);
    assert.deepEqual(warnings, []);
  });

  it('after a failure cleans up every step that started, the failed one too, and passes the original error on', async () => {
    const ctx: Ctx = { log: [] };
    const { options } = recorder();
    const broken = new Error('stage x failed');
    const outcomes: Outcome[] = [];
    const err = await withSteps(options, (run) =>
      run.run(
        [
          { ...logged('connect'), cleanup: (o, c) => void (outcomes.push(o), c.log.push('cleanup connect')) },
          logged('prepare', () => {
            throw broken;
          }),
          logged('never'),
        ],
        ctx,
      ),
    ).catch((e: unknown) => e);
    assert.equal(err, broken, 'the caller gets the error itself');
    assert.deepEqual(ctx.log, ['run connect', 'run prepare', 'cleanup prepare failed', 'cleanup connect']);
    assert.equal(outcomes[0]!.state, 'failed');
    assert.equal((outcomes[0] as { error: unknown }).error, broken);
  });

  it('after Ctrl-C starts no further step, and the cleanups see an aborted run', async () => {
    const ctx: Ctx = { log: [] };
    const controller = new AbortController();
    const { options } = recorder(controller.signal);
    const err = await withSteps(options, (run) =>
      run.run(
        [
          logged('connect'),
          logged('stage', () => {
            // the stage finishes although Ctrl-C came while it ran
            controller.abort();
            return 'late';
          }),
          logged('fetch'),
        ],
        ctx,
      ),
    ).catch((e: unknown) => e);
    assert.ok(err instanceof Error);
    assert.equal(err.message, 'interrupted');
    assert.deepEqual(ctx.log, ['run connect', 'run stage', 'cleanup stage aborted late', 'cleanup connect aborted connect']);
  });

  it('reports a failing cleanup as a warning and an event, runs the others, and keeps the original error', async () => {
    const ctx: Ctx = { log: [] };
    const { options, warnings, events } = recorder();
    const original = new Error('the stage failed');
    const err = await withSteps(options, (run) =>
      run.run(
        [
          logged('connect'),
          {
            title: 'prepare',
            run: () => undefined,
            undo: 'release the mounts below /build',
            cleanup: () => {
              throw new Error('umount: target is busy');
            },
          },
          logged('stage', () => {
            throw original;
          }),
        ],
        ctx,
      ),
    ).catch((e: unknown) => e);
    assert.equal(err, original);
    assert.deepEqual(
      ctx.log,
      ['run connect', 'run stage', 'cleanup stage failed', 'cleanup connect failed connect'],
      'the cleanups around the failing one ran',
    );
    assert.deepEqual(warnings, ['stemforge: warning: could not release the mounts below /build: umount: target is busy']);
    assert.deepEqual(events, [{ type: 'warning', text: 'could not release the mounts below /build: umount: target is busy' }]);
  });

  it('a failing cleanup after a success is a warning: the result stands', async () => {
    const { options, warnings } = recorder();
    const value = await withSteps(options, async (run) => {
      run.defer('free the lock', () => {
        throw new Error('EPERM');
      });
      await run.run([{ title: 'build', run: () => 1 }], {});
      return 'image';
    });
    assert.equal(value, 'image');
    assert.deepEqual(warnings, ['stemforge: warning: could not free the lock: EPERM']);
  });

  it('unwinds a deferred cleanup after those of the steps, and cleans up the steps of a group', async () => {
    const ctx: Ctx = { log: [] };
    const { options } = recorder();
    await withSteps(options, async (run) => {
      run.defer('release the lock', () => void ctx.log.push('release lock'));
      await run.run([logged('connect'), { title: 'phase', steps: [logged('prepare'), logged('stage')] }, logged('store')], ctx);
    });
    assert.deepEqual(ctx.log, [
      'run connect',
      'run prepare',
      'run stage',
      'run store',
      'cleanup store succeeded store',
      'cleanup stage succeeded stage',
      'cleanup prepare succeeded prepare',
      'cleanup connect succeeded connect',
      'release lock',
    ]);
  });

  it('unwinds the stack once: a failing cleanup does not stop those pushed before it', async () => {
    const stack = new CleanupStack(() => undefined);
    const ran: string[] = [];
    stack.push('one', () => void ran.push('one'));
    stack.push('two', async () => {
      throw new Error('two broke');
    });
    stack.push('three', () => void ran.push('three'));
    const failures = await stack.unwind({ state: 'succeeded' });
    assert.deepEqual(ran, ['three', 'one']);
    assert.deepEqual(
      failures.map((f) => f.what),
      ['two'],
    );
    assert.equal(stack.size, 0, 'each cleanup runs once');
    assert.deepEqual(await stack.unwind({ state: 'succeeded' }), []);
  });

  it('times the top-level steps into events: a group ends with its last sub-step, a skipped step says why, an unseen step says nothing', async () => {
    const { options, events } = recorder();
    const ctx: Ctx = { log: [] };
    await withSteps({ ...options, taskEvents: true }, (run) =>
      run.run(
        [
          { title: 'connect', run: () => undefined },
          { undo: 'remove the build folders', cleanup: () => undefined },
          { title: 'phase', steps: [{ title: 'inner', run: (c) => void c.log.push('inner') }] },
          { title: 'reused', skip: () => 'cached', run: () => assert.fail('a skipped step does not run') },
        ],
        ctx,
      ),
    );
    const seen = events.map((e) => (e.type === 'task' ? `${e.title} ${e.state}${e.reason ? ` ${e.reason}` : ''}` : e.type));
    assert.deepEqual(seen, ['connect started', 'connect completed', 'phase started', 'phase completed', 'reused skipped cached']);
    assert.deepEqual(ctx.log, ['inner']);
  });

  it('a failing step of a group fails the group in the events, with the reason', async () => {
    const { options, events } = recorder();
    const err = await withSteps({ ...options, taskEvents: true }, (run) =>
      run.run([{ title: 'phase', steps: [{ title: 'stage', run: () => Promise.reject(new Error('exit 3')) }] }], {}),
    ).catch((e: unknown) => e);
    assert.ok(err instanceof Error && err.message === 'exit 3');
    const phase = events.filter((e) => e.type === 'task').map((e) => (e.type === 'task' ? [e.state, e.reason] : []));
    assert.deepEqual(phase, [
      ['started', undefined],
      ['failed', 'exit 3'],
    ]);
  });
});
