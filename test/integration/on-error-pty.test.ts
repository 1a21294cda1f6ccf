// A failed stage in a terminal: the question inside the task tree (retry / shell / keep /
// clean up / stop), answered with the keyboard in a real pseudo-terminal (tmux). The stage
// that fails is a real one: untar_base_os_image, given an "OS image" that is not a tarball.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { packageRoot } from '../../src/util/paths.js';
import { startPty, tmuxUnavailable, type Pty } from '../helpers/pty.js';

const cli = join(packageRoot, 'bin', 'stemforge.js');
const skip = tmuxUnavailable() ?? (process.getuid?.() === 0 ? undefined : 'needs root (--machine local)');
const stage = 'untar_base_os_image';

function failingBuild(t: TestContext): { pty: Pty; dir: string; buildDir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sf-on-error-'));
  const image = join(dir, 'not-an-image.tgz');
  writeFileSync(image, 'this is not a gzip tarball\n');
  const env: Record<string, string | undefined> = {
    STEMFORGE_CONFIG_DIR: join(dir, 'config'),
    XDG_CACHE_HOME: join(dir, 'cache'),
    XDG_STATE_HOME: join(dir, 'state'),
    NO_COLOR: undefined,
  };
  for (const name of Object.keys(process.env)) if (name.startsWith('STEMFORGE_') && !(name in env)) env[name] = undefined;
  const pty = startPty(
    [
      process.execPath,
      cli,
      'build',
      '--yes',
      '--iaas',
      'warden',
      '--os',
      'debian-bookworm',
      '--machine',
      'local',
      '--skip-doctor',
      '--os-image',
      image,
      '--agent-file',
      join(packageRoot, 'test', 'fixtures', 'test-agent.sh'),
      '--skip-blobstore-clis',
      '--version',
      '0.3',
      '--build-root',
      join(dir, 'root'),
      '--out',
      join(dir, 'out'),
    ],
    { cwd: dir, env, height: 60 },
  );
  t.after(() => {
    pty.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return { pty, dir, buildDir: join(dir, 'root', 'builds', 'stemcell-debian-bookworm-warden-files') };
}

const question = new RegExp(`${stage} failed \\(exit \\d+\\)\\. What now\\?`);

describe('a failed stage on a terminal', { skip, timeout: 120_000 }, () => {
  it('shows how to open a shell, retries on request, then stops keeping the build for --resume-from', async (t) => {
    const { pty, buildDir } = failingBuild(t);
    await pty.waitFor(question, 60_000);
    pty.sendKeys('Down', 'Enter'); // open a shell
    const shell = await pty.waitFor(/In another terminal: .*sudo -i/);
    assert.ok(shell.includes(`cd ${buildDir}`), shell);
    assert.match(shell, /What now\?/, 'asked again after showing the command');
    pty.sendKeys('Enter'); // retry (the first choice): the same stage runs again, and fails again
    await pty.waitFor(
      (screen) =>
        (screen.match(/What now\?/g) ?? []).length >= 1 &&
        /retry this stage/.test(screen) &&
        !/In another terminal/.test(screen.split(`${stage} failed`).at(-1)!),
      60_000,
    );
    pty.sendKeys('Down', 'Down', 'Down', 'Down', 'Enter'); // stop; keep the build for --resume-from
    const code = await pty.waitForExit(60_000);
    const screen = pty.capture(true);
    assert.equal(code, 1, screen);
    assert.match(screen, new RegExp(`resume: stemforge build --yes .*--resume-from ${stage}`));
    const runLog = /run log: (\S+run\.log)/.exec(screen)?.[1];
    assert.ok(runLog && existsSync(runLog), screen);
    const events = readFileSync(runLog, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; stage?: string; step?: string; state?: string; decision?: string });
    const mine = events.filter((e) => e.stage === stage);
    assert.deepEqual(
      mine.filter((e) => e.type === 'stage' && e.step === 'apply').map((e) => e.state),
      ['started', 'failed', 'started', 'failed'],
      'the stage really ran twice',
    );
    assert.deepEqual(
      mine.filter((e) => e.type === 'decision').map((e) => e.decision),
      ['retry', 'abort'],
    );
    assert.match(screen, /--- last \d+ lines of/);
    assert.ok(existsSync(buildDir), 'the build stays for --resume-from');
  });

  it('cleans up on request: the build folder is gone and no resume is offered', async (t) => {
    const { pty, buildDir } = failingBuild(t);
    await pty.waitFor(question, 60_000);
    pty.sendKeys('Down', 'Down', 'Down', 'Enter'); // clean up
    const code = await pty.waitForExit(60_000);
    const screen = pty.capture(true);
    assert.equal(code, 1, screen);
    assert.match(screen, /cleaned up: this build's folders on the build machine are gone/);
    assert.doesNotMatch(screen, /resume: /);
    assert.ok(!existsSync(buildDir), 'the build folder was removed');
  });

  it('Ctrl-C at the question stops as an interrupt (130) with the resume command', async (t) => {
    const { pty, buildDir } = failingBuild(t);
    await pty.waitFor(question, 60_000);
    pty.sendKeys('C-c');
    const code = await pty.waitForExit(60_000);
    const screen = pty.capture(true);
    assert.equal(code, 130, screen);
    assert.match(screen, new RegExp(`resume: stemforge build --yes .*--resume-from ${stage}`));
    assert.ok(existsSync(buildDir), 'the build stays for --resume-from');
  });
});
