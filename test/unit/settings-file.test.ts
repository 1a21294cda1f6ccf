import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findOperatingSystem } from '../../src/catalog/planner.js';
import { osImageSettings, renderSettings } from '../../src/pipeline/settings-file.js';
import { hostileArguments } from '../helpers/hostile.js';

function sourceInBash(text: string, keys: string[]): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'sf-settings-'));
  const file = join(dir, 'settings.bash');
  writeFileSync(file, text);
  const script = `set -eu; source "$1"; shift; for k in "$@"; do printf '%s\\0%s\\0' "$k" "\${!k}"; done`;
  const out = execFileSync('bash', ['-c', script, 'bash', file, ...keys]).toString('utf8').split('\0');
  const result: Record<string, string> = {};
  for (let i = 0; i + 1 < out.length; i += 2) result[out[i]!] = out[i + 1]!;
  return result;
}

describe('renderSettings', () => {
  it('is read back by bash exactly, hostile values included', () => {
    const values: Record<string, string> = {};
    hostileArguments.filter((v) => !v.includes('\n')).forEach((v, i) => (values[`key_${i}`] = v));
    assert.deepEqual(sourceInBash(renderSettings(values), Object.keys(values)), values);
  });

  it('refuses keys that are not shell names and values that span lines', () => {
    assert.throws(() => renderSettings({ 'bad-key': 'x' }), /invalid settings key/);
    assert.throws(() => renderSettings({ good: 'a\nb' }), /spans lines/);
  });
});

describe('osImageSettings', () => {
  it('carries the catalog entry into the keys the stages read', () => {
    const s = osImageSettings({
      os: findOperatingSystem('debian-bookworm'),
      stemforgeVersion: '0.1.0',
      usersPassword: 'pw',
      packageCacheRoot: '/var/cache/x',
    });
    assert.equal(s.os_suite, 'bookworm');
    assert.equal(s.os_distro, 'debian');
    assert.equal(s.mirror_policy, 'host-apt');
    assert.equal(s.mirror, '');
    assert.ok(s.os_packages!.split(' ').includes('openssh-server'));
    const back = sourceInBash(renderSettings(s), Object.keys(s));
    assert.deepEqual(back, s);
  });
});
