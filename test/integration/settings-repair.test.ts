// A broken user settings file, through the real CLI with a temporary config folder: each
// fault is named exactly (path, line and column, permission denied, a folder that is a file);
// commands that only read settings run on the built-in ones with one warning line; the ones
// that need the file stop and name `config reset`, which moves the file aside (never deletes
// it), keeps the version counters it can read, and so repairs every command.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { packageRoot } from '../../src/util/paths.js';
import { startPty, tmuxUnavailable } from '../helpers/pty.js';

const cli = join(packageRoot, 'bin', 'stemforge.js');
const scratch = mkdtempSync(join(tmpdir(), 'sf-settings-repair-'));
chmodSync(scratch, 0o755);
after(() => rmSync(scratch, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let count = 0;
/** A fresh config folder (not made yet) and a runner for the CLI with it. */
function configHome(): { dir: string; file: string; run: (args: string[], asNobody?: boolean) => Run } {
  const home = join(scratch, `home-${++count}`);
  mkdirSync(home);
  const dir = join(home, 'config');
  const env = {
    ...process.env,
    CI: 'true',
    NO_COLOR: '1',
    HOME: home,
    XDG_CONFIG_HOME: join(home, 'xdg'),
    XDG_CACHE_HOME: join(home, 'cache'),
    STEMFORGE_CONFIG_DIR: dir,
  };
  const run = (args: string[], asNobody = false): Run => {
    const r = asNobody
      ? spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', process.execPath, cli, ...args], { env, encoding: 'utf8' })
      : spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  return { dir, file: join(dir, 'settings.json'), run };
}

/** A settings file with a setting and a version counter, then broken by `breakIt`. */
function brokenHome(text: string) {
  const home = configHome();
  assert.equal(home.run(['config', 'set', 'cpus', '3']).code, 0);
  assert.equal(home.run(['version', 'set', 'debian-bookworm', 'aws', '1.9']).code, 0);
  writeFileSync(home.file, text);
  return home;
}

/** The commands that read settings but can run without them: one warning line, built-in values. */
function assertRunsWithWarning(home: ReturnType<typeof configHome>, problem: RegExp): void {
  const show = home.run(['config', 'show', '--json']);
  assert.equal(show.code, 0, show.stderr);
  const lines = show.stderr.trim().split('\n');
  assert.equal(lines.length, 1, show.stderr);
  assert.match(lines[0]!, /^stemforge: warning: /);
  assert.match(lines[0]!, problem);
  assert.match(lines[0]!, /this run uses the built-in settings \(to repair it: stemforge config reset\)$/);
  const cpus = (JSON.parse(show.stdout) as { key: string; value: unknown; source: string }[]).find((s) => s.key === 'cpus');
  assert.deepEqual([cpus?.value, cpus?.source], [2, 'built-in']);
  // flags and variables still count
  const dir = home.run(['cache', 'dir'], false);
  assert.equal(dir.code, 0, dir.stderr);
  assert.match(dir.stderr, problem);
  const viaEnv = spawnSync(process.execPath, [cli, 'config', 'show', '--json'], {
    env: { ...process.env, CI: 'true', STEMFORGE_CONFIG_DIR: home.dir, STEMFORGE_CPUS: '5' },
    encoding: 'utf8',
  });
  assert.equal((JSON.parse(viaEnv.stdout) as { key: string; value: unknown }[]).find((s) => s.key === 'cpus')?.value, 5);
}

/** The commands that need the file: exit 1, the problem, and `config reset` as the fix. */
function assertNeedsReset(home: ReturnType<typeof configHome>, problem: RegExp): void {
  for (const args of [
    ['config', 'set', 'cpus', '4'],
    ['config', 'unset', 'cpus'],
    ['config', 'get', 'cpus'],
    ['config', 'list'],
    ['version', 'list'],
  ]) {
    const r = home.run(args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, problem, args.join(' '));
    assert.match(r.stderr, /what to do: .*stemforge config reset/, args.join(' '));
  }
}

function aside(dir: string, tag: string): string[] {
  return readdirSync(dir).filter((n) => n.startsWith(`settings.json.${tag}-`));
}

describe('a broken settings file', () => {
  it('not JSON: names line and column; read-only commands warn and run; set/unset/get/list need `config reset`', () => {
    const home = brokenHome('{\n  "cpus": 3,\n  oops\n}\n');
    const problem = new RegExp(`the settings file ${home.file} is not valid JSON at line 3, column 3`);
    assertNeedsReset(home, problem);
    assertRunsWithWarning(home, problem);
    assert.equal(readFileSync(home.file, 'utf8'), '{\n  "cpus": 3,\n  oops\n}\n', 'nothing rewrote the broken file');
  });

  it('cut short: says it ends early and where', () => {
    const home = brokenHome('{"cpus": 3, "versions": {');
    assertNeedsReset(home, /is not valid JSON: it ends early, at line 1, column 26/);
  });

  it('JSON off the schema: names the setting; `config reset` keeps the readable version counters', () => {
    const home = brokenHome(JSON.stringify({ cpus: 'two', versions: { 'debian-bookworm/aws': '1.9', 'ubuntu-jammy/aws': 'x' } }));
    const problem = /does not fit the settings: `cpus` must be integer/;
    assertNeedsReset(home, problem);
    assertRunsWithWarning(home, problem);
    const reset = home.run(['config', 'reset', '--yes']);
    assert.equal(reset.code, 0, reset.stderr);
    const moved = aside(home.dir, 'broken');
    assert.equal(moved.length, 1);
    assert.match(moved[0]!, /^settings\.json\.broken-\d{8}T\d{6}Z$/);
    assert.ok(reset.stdout.includes(join(home.dir, moved[0]!)), reset.stdout);
    assert.match(reset.stdout, /kept 1 version counter/);
    assert.equal(
      readFileSync(join(home.dir, moved[0]!), 'utf8'),
      JSON.stringify({ cpus: 'two', versions: { 'debian-bookworm/aws': '1.9', 'ubuntu-jammy/aws': 'x' } }),
    );
    assert.match(home.run(['version', 'list']).stdout, /^debian-bookworm aws: last 1\.9, next 1\.10$/m);
  });

  it('`config reset` repairs every command: set works again, nothing is warned, the old file is kept', () => {
    const home = brokenHome('not json at all');
    const reset = home.run(['config', 'reset', '--yes']);
    assert.equal(reset.code, 0, reset.stderr);
    assert.match(
      reset.stdout,
      /^moved the broken settings file aside to .*settings\.json\.broken-.* \(nothing was deleted\); the built-in settings apply now$/m,
    );
    assert.equal(readFileSync(join(home.dir, aside(home.dir, 'broken')[0]!), 'utf8'), 'not json at all');
    assert.equal(home.run(['config', 'set', 'cpus', '4']).code, 0);
    const show = home.run(['config', 'show']);
    assert.equal(show.stderr, '');
    assert.match(show.stdout, /^cpus +4 +user/m);
    // a second reset moves the healthy file aside too, under another name; a third finds nothing
    assert.match(home.run(['config', 'reset', '--yes']).stdout, /settings\.json\.old-/);
    assert.match(home.run(['config', 'reset', '--yes']).stdout, /nothing to reset: there is no settings file at /);
  });

  it('`config reset` off a terminal without --yes is a usage error (exit 2) and moves nothing', () => {
    const home = brokenHome('{');
    const r = home.run(['config', 'reset']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /add --yes to do it without a question/);
    assert.equal(readFileSync(home.file, 'utf8'), '{');
    assert.deepEqual(aside(home.dir, 'broken'), []);
  });

  it('`config reset` on a terminal asks first: no keeps the file, yes moves it aside', async (t) => {
    const unavailable = tmuxUnavailable();
    if (unavailable) return t.skip(unavailable);
    const home = brokenHome('{');
    const answer = async (key: string): Promise<{ screen: string; code: number }> => {
      const pty = startPty([process.execPath, cli, 'config', 'reset'], { cwd: scratch, env: { STEMFORGE_CONFIG_DIR: home.dir, NO_COLOR: '1' } });
      try {
        await pty.waitFor(/start from the built-in settings\?/);
        pty.type(key);
        pty.sendKeys('Enter');
        const code = await pty.waitForExit();
        return { screen: pty.capture(), code };
      } finally {
        pty.stop();
      }
    };
    const no = await answer('n');
    assert.equal(no.code, 0, no.screen);
    assert.match(no.screen, /nothing reset \(you said no\)/);
    assert.equal(readFileSync(home.file, 'utf8'), '{');
    const yes = await answer('y');
    assert.equal(yes.code, 0, yes.screen);
    assert.match(yes.screen, /moved the broken settings file aside to /);
    assert.equal(aside(home.dir, 'broken').length, 1);
    assert.ok(!existsSync(home.file));
  });

  it('unreadable (mode 000, as nobody): "cannot be read: permission denied"; reset moves it aside', (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root to run as nobody');
    if (spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', 'test', '-r', cli]).status !== 0)
      return t.skip('nobody cannot read this checkout');
    const home = brokenHome('{}');
    chmodSync(home.file, 0o000);
    chownSync(home.dir, 65534, 65534);
    const problem = new RegExp(`the settings file ${home.file} cannot be read: permission denied`);
    const list = home.run(['config', 'list'], true);
    assert.equal(list.code, 1);
    assert.match(list.stderr, problem);
    assert.match(list.stderr, /make it readable for this user/);
    const dir = home.run(['cache', 'dir'], true);
    assert.equal(dir.code, 0, dir.stderr);
    assert.match(dir.stderr, /^stemforge: warning: .*cannot be read: permission denied/);
    const reset = home.run(['config', 'reset', '--yes'], true);
    assert.equal(reset.code, 0, reset.stderr);
    assert.equal(aside(home.dir, 'broken').length, 1);
    assert.equal(home.run(['config', 'set', 'cpus', '4'], true).code, 0);
  });

  it('a config folder that is a file: named with its path; reset moves the file aside', () => {
    const home = configHome();
    writeFileSync(home.dir, 'I am a file\n');
    const problem = new RegExp(`the settings folder ${home.dir} is a file, not a folder`);
    const set = home.run(['config', 'set', 'cpus', '4']);
    assert.equal(set.code, 1);
    assert.match(set.stderr, problem);
    assert.doesNotMatch(set.stderr, /EEXIST/);
    assertRunsWithWarning(home, problem);
    const reset = home.run(['config', 'reset', '--yes']);
    assert.equal(reset.code, 0, reset.stderr);
    assert.match(reset.stdout, /moved the file that stood where the settings folder belongs aside to /);
    const moved = readdirSync(join(home.dir, '..')).find((n) => n.startsWith('config.broken-'));
    assert.ok(moved, 'the file is kept beside');
    assert.equal(readFileSync(join(home.dir, '..', moved), 'utf8'), 'I am a file\n');
    assert.equal(home.run(['config', 'set', 'cpus', '4']).code, 0);
    assert.ok(existsSync(home.file));
  });

  it('a stored value with escape sequences is shown escaped by config get, list and show', () => {
    const home = configHome();
    mkdirSync(home.dir, { recursive: true });
    writeFileSync(home.file, JSON.stringify({ buildRoot: '/srv/\u001b[2Jbuild\u0007' }));
    for (const args of [
      ['config', 'get', 'buildRoot'],
      ['config', 'list'],
      ['config', 'show'],
    ]) {
      const r = home.run(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      // eslint-disable-next-line no-control-regex -- the test looks for control characters
      assert.doesNotMatch(r.stdout, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
      assert.ok(r.stdout.includes('/srv/\\x1b[2Jbuild\\x07'), r.stdout);
    }
    assert.equal((JSON.parse(home.run(['config', 'list', '--json']).stdout) as { buildRoot: string }).buildRoot, '/srv/\u001b[2Jbuild\u0007');
  });
});
