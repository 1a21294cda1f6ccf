// The user settings file on disk: each way it can be broken is named exactly, the tolerant
// reader falls back to no stored settings, and reset moves files aside without deleting them.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openSettings, resetSettings, SettingsFileError } from '../../src/settings/store.js';

const scratch = mkdtempSync(join(tmpdir(), 'sf-settings-store-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let n = 0;

/** A config folder holding `text` as its settings file. */
function withFile(text: string): NodeJS.ProcessEnv {
  const dir = join(scratch, `c${++n}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'settings.json'), text);
  return { STEMFORGE_CONFIG_DIR: dir };
}

function problemOf(env: NodeJS.ProcessEnv): string {
  try {
    openSettings(env);
  } catch (err) {
    assert.ok(err instanceof SettingsFileError, String(err));
    return err.problem;
  }
  return 'no problem';
}

describe('the settings file, broken', () => {
  it('names line and column of a JSON error, counting lines as an editor does', () => {
    assert.equal(problemOf(withFile('{\n  "cpus": 2,\n  "memory" 4096\n}')), 'is not valid JSON at line 3, column 12');
    assert.equal(problemOf(withFile('{"cpus": 2,}')), 'is not valid JSON at line 1, column 12');
    assert.equal(problemOf(withFile('{"cpus": 2,\n')), 'is not valid JSON: it ends early, at line 2, column 1');
    assert.equal(problemOf(withFile('')), 'is empty, not a JSON object');
    assert.equal(problemOf(withFile('[1, 2]')), 'is JSON, but not a JSON object');
  });

  it('names the setting that does not fit, with its control characters escaped', () => {
    assert.equal(problemOf(withFile('{"cpus": "two"}')), 'does not fit the settings: `cpus` must be integer');
    assert.match(problemOf(withFile('{"nope\\u001b[2J": 1}')), /does not fit the settings: .*must NOT have additional properties/);
    assert.equal(problemOf(withFile('{"cpus": 2}')), 'no problem');
  });

  it('a folder where the file should be, and a file where the folder should be', () => {
    const env = withFile('{}');
    rmSync(join(env.STEMFORGE_CONFIG_DIR!, 'settings.json'));
    mkdirSync(join(env.STEMFORGE_CONFIG_DIR!, 'settings.json'));
    assert.equal(problemOf(env), 'is a folder, not a file');
    const file = join(scratch, 'plain-file');
    writeFileSync(file, '');
    assert.throws(() => openSettings({ STEMFORGE_CONFIG_DIR: file }), /^SettingsFileError: the settings folder .*plain-file is a file, not a folder$/);
    assert.throws(
      () => openSettings({ STEMFORGE_CONFIG_DIR: join(file, 'deeper') }),
      (err: SettingsFileError) => /move .*plain-file away/.test(err.hint),
    );
  });
});

describe('config reset', () => {
  it('moves a broken file aside under a time-stamped name, keeps the readable counters, never deletes', () => {
    const env = withFile('{"cpus": "two", "versions": {"debian-bookworm/aws": "2.3", "x": "not a version"}}');
    const r = resetSettings(env, new Date('2026-12-06T07:15:00.123Z'));
    assert.equal(r.broken, true);
    assert.equal(r.keptCounters, 1);
    assert.equal(r.movedTo, join(env.STEMFORGE_CONFIG_DIR!, 'settings.json.broken-20261206T071500Z'));
    assert.match(readFileSync(r.movedTo, 'utf8'), /"cpus": "two"/);
    assert.deepEqual({ ...openSettings(env).store }, { versions: { 'debian-bookworm/aws': '2.3' } });
    // the same second again: a second name, the first file untouched
    writeFileSync(join(env.STEMFORGE_CONFIG_DIR!, 'settings.json'), '{');
    const again = resetSettings(env, new Date('2026-12-06T07:15:00.999Z'));
    assert.equal(again.movedTo, `${r.movedTo}-2`);
    assert.deepEqual(readdirSync(env.STEMFORGE_CONFIG_DIR!).sort(), ['settings.json.broken-20261206T071500Z', 'settings.json.broken-20261206T071500Z-2']);
  });

  it('a healthy file goes aside as .old-, a missing one is nothing to do', () => {
    const env = withFile('{"cpus": 4}');
    const r = resetSettings(env, new Date('2026-01-02T03:04:05Z'));
    assert.deepEqual([r.broken, r.movedTo?.endsWith('settings.json.old-20260102T030405Z')], [false, true]);
    assert.equal(resetSettings(env).movedTo, undefined);
  });

  it('does not move a file further up that stands in the way; it says which one to move', () => {
    const file = join(scratch, 'another-file');
    writeFileSync(file, 'keep me');
    assert.throws(() => resetSettings({ STEMFORGE_CONFIG_DIR: join(file, 'config') }), /cannot be made: .*another-file is a file/);
    assert.equal(readFileSync(file, 'utf8'), 'keep me');
  });
});
