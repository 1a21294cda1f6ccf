import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkKnownHosts, fingerprint, keyType, knownHostsName } from '../../src/machine/host-keys.js';

function newKey(dir: string, name: string): { blob: Buffer; line: string; path: string } {
  const path = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', path]);
  const line = readFileSync(`${path}.pub`, 'utf8').trim();
  return { blob: Buffer.from(line.split(' ')[1]!, 'base64'), line, path };
}

describe('host keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sf-hostkeys-'));
  const a = newKey(dir, 'a');
  const b = newKey(dir, 'b');
  const typeAndKey = a.line.split(' ').slice(0, 2).join(' ');

  it('computes the fingerprint ssh-keygen prints', () => {
    const printed = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${a.path}.pub`])
      .toString()
      .split(' ')[1];
    assert.equal(fingerprint(a.blob), printed);
    assert.equal(keyType(a.blob), 'ssh-ed25519');
  });

  it('names non-22 ports the OpenSSH way', () => {
    assert.equal(knownHostsName('10.0.0.1', 22), '10.0.0.1');
    assert.equal(knownHostsName('127.0.0.1', 2222), '[127.0.0.1]:2222');
  });

  it('matches, mismatches and ignores unknown hosts', () => {
    const file = `# comment\n[127.0.0.1]:2222 ${typeAndKey}\nother.example ${typeAndKey}\n`;
    assert.deepEqual(checkKnownHosts(file, '127.0.0.1', 2222, a.blob), { kind: 'match' });
    assert.deepEqual(checkKnownHosts(file, '127.0.0.1', 2222, b.blob), { kind: 'mismatch', knownTypes: ['ssh-ed25519'] });
    assert.deepEqual(checkKnownHosts(file, '127.0.0.1', 22, a.blob), { kind: 'unknown' });
    assert.deepEqual(checkKnownHosts('', '127.0.0.1', 2222, a.blob), { kind: 'unknown' });
  });

  it('reads hashed entries written by ssh-keygen -H', () => {
    const file = join(dir, 'known_hosts');
    writeFileSync(file, `[127.0.0.1]:2200 ${typeAndKey}\n`);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', file]);
    const hashed = readFileSync(file, 'utf8');
    assert.match(hashed, /^\|1\|/);
    assert.deepEqual(checkKnownHosts(hashed, '127.0.0.1', 2200, a.blob), { kind: 'match' });
    assert.deepEqual(checkKnownHosts(hashed, '127.0.0.1', 2201, a.blob), { kind: 'unknown' });
  });

  it('honours wildcards, negation and @revoked', () => {
    assert.deepEqual(checkKnownHosts(`*.lab,!bad.lab ${typeAndKey}\n`, 'vm1.lab', 22, a.blob), { kind: 'match' });
    assert.deepEqual(checkKnownHosts(`*.lab,!bad.lab ${typeAndKey}\n`, 'bad.lab', 22, a.blob), { kind: 'unknown' });
    assert.deepEqual(checkKnownHosts(`@revoked * ${typeAndKey}\n127.0.0.1 ${typeAndKey}\n`, '127.0.0.1', 22, a.blob), { kind: 'revoked' });
  });
});
