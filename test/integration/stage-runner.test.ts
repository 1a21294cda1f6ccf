// The stage runner on the local machine (root), with small stages written by the test.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { execFileSync } from 'node:child_process';
import { LocalMachine } from '../../src/machine/local.js';
import { buildLayout, type BuildLayout } from '../../src/pipeline/layout.js';
import { StageFailure, StageRunner } from '../../src/pipeline/stage-runner.js';
import { HintedError } from '../../src/util/errors.js';
import { packageRoot } from '../../src/util/paths.js';
import { mountsBelow, writeStage } from '../helpers/build-machine.js';

const skip = process.getuid?.() === 0 ? undefined : 'needs root (mounts)';

describe('stage runner', { skip }, () => {
  let layout: BuildLayout;
  let runner: StageRunner;
  before(() => {
    layout = buildLayout(mkdtempSync(join(tmpdir(), 'sf-runner-')), 'os-image-test');
    cpSync(join(packageRoot, 'stages', 'lib'), join(layout.builderDir, 'stages', 'lib'), { recursive: true });
    writeStage(layout, 'noisy_failure', 'for i in $(seq 1 100); do echo "line $i"; done; echo "to stderr" >&2; exit 3');
    writeStage(layout, 'show_env', 'env | sort');
    writeStage(layout, 'leave_mount', 'mkdir -p "$1/chroot/tmp-mount"; mount -t tmpfs none "$1/chroot/tmp-mount"');
    runner = new StageRunner(new LocalMachine(), layout, join(layout.root, 'logs'), { LANG: 'C.UTF-8', http_proxy: 'http://proxy.invalid:3128' });
  });

  it('refuses to resume without a chroot, then prepares a fresh build', async () => {
    await assert.rejects(runner.prepare({ resume: true }), (e: unknown) => e instanceof HintedError && /nothing to resume/.test(e.message));
    mkdirSync(layout.buildDir, { recursive: true });
    writeFileSync(join(layout.buildDir, 'stale-file'), 'old');
    await runner.prepare({ resume: false });
    assert.ok(!existsSync(join(layout.buildDir, 'stale-file')));
    assert.ok(existsSync(layout.workDir));
  });

  it('writes the settings file readable by root only', async () => {
    await runner.writeSettings("bosh_users_password='secret'\n");
    assert.equal(statSync(layout.settingsFile).mode & 0o777, 0o600);
  });

  it('gives stages only PATH, LANG and the proxy variables', async () => {
    process.env.STEMFORGE_SHOULD_NOT_LEAK = '1';
    const lines: string[] = [];
    await runner.runStep('show_env', 'apply', (l) => lines.push(l));
    delete process.env.STEMFORGE_SHOULD_NOT_LEAK;
    const names = lines.map((l) => l.split('=')[0]).filter((n) => !['PWD', 'SHLVL', '_'].includes(n!));
    assert.deepEqual(names, ['LANG', 'PATH', 'http_proxy']);
  });

  it('fails a stage with its exit code, the last 40 lines and a full log', async () => {
    let failure: unknown;
    try {
      await runner.runStep('noisy_failure', 'apply', () => undefined);
    } catch (err) {
      failure = err;
    }
    assert.ok(failure instanceof StageFailure);
    assert.equal(failure.exitCode, 3);
    assert.equal(failure.stage, 'noisy_failure');
    assert.equal(failure.tail.length, 40);
    assert.equal(failure.tail.at(-1), 'to stderr');
    assert.equal(failure.tail[0], 'line 62');
    const log = readFileSync(failure.logPath, 'utf8');
    assert.match(log, /^line 1\n/);
    assert.match(log, /noisy_failure apply\.sh exited 3/);
    assert.equal(statSync(failure.logPath).mode & 0o777, 0o600);
    assert.equal(runner.records.at(-1)?.exitCode, 3);
  });

  it('releases mounts a stage left below the build directory', async () => {
    await runner.runStep('leave_mount', 'apply', () => undefined);
    assert.equal(mountsBelow(layout.buildDir).length, 1);
    const released = await runner.releaseMounts();
    assert.equal(released.length, 1);
    assert.match(released[0]!, /released mount .*tmp-mount/);
    assert.deepEqual(mountsBelow(layout.buildDir), []);
  });

  it('archives the chroot with ./ entries and numeric owners', async () => {
    mkdirSync(join(layout.chroot, 'etc'), { recursive: true });
    writeFileSync(join(layout.chroot, 'etc', 'hostname'), 'x\n');
    execFileSync('chown', ['12345:54321', join(layout.chroot, 'etc', 'hostname')]);
    const target = join(layout.buildDir, 'os-image.tgz');
    await runner.archiveChroot(target);
    const listing = execFileSync('tar', ['-tvzf', target, '--numeric-owner']).toString();
    assert.match(listing, / 12345\/54321 .* \.\/etc\/hostname$/m);
    assert.ok(
      listing
        .split('\n')
        .filter((l) => l)
        .every((l) => / \.\//.test(l)),
      'every entry starts with ./',
    );
  });
});
