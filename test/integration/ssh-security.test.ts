// What the ssh machine refuses: unknown or changed host keys, wrong keys, dead ports.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fingerprint } from '../../src/machine/host-keys.js';
import { SshMachine, type SshTarget } from '../../src/machine/ssh.js';
import { HintedError } from '../../src/util/errors.js';
import { startSshd, sshdUnavailable, type TestSshd } from '../helpers/sshd.js';

const skip = sshdUnavailable();

describe('ssh machine security', { skip }, () => {
  let sshd: TestSshd;
  let scratch: string;
  let base: SshTarget;
  before(async () => {
    sshd = await startSshd();
    scratch = mkdtempSync(join(tmpdir(), 'sf-sec-'));
    base = { user: 'root', host: '127.0.0.1', port: sshd.port, identityFile: sshd.clientKey, knownHostsFile: sshd.knownHosts };
  });
  after(async () => {
    await sshd?.stop();
  });

  const hostBlob = (): Buffer => Buffer.from(sshd.hostPublicKey.split(' ')[1]!, 'base64');

  async function refused(target: SshTarget, pattern: RegExp): Promise<HintedError> {
    let caught: unknown;
    try {
      const m = await SshMachine.connect(target);
      await m.close();
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof HintedError, `expected a HintedError, got ${String(caught)}`);
    assert.match(caught.message, pattern);
    return caught;
  }

  it('connects when known_hosts has the key', async () => {
    const m = await SshMachine.connect(base);
    assert.equal(m.isRoot, true);
    await m.close();
  });

  it('refuses an unknown host and says how to record its key', async () => {
    const empty = join(scratch, 'empty_known_hosts');
    writeFileSync(empty, '');
    const err = await refused({ ...base, knownHostsFile: empty }, /host key of \[127\.0\.0\.1\]:\d+ is not known/);
    assert.match(err.hint, /ssh-keyscan -p \d+ 127\.0\.0\.1/);
    assert.ok(err.hint.includes(fingerprint(hostBlob())));
  });

  it('refuses a changed host key', async () => {
    const other = join(scratch, 'other');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const wrong = join(scratch, 'wrong_known_hosts');
    const otherKey = readFileSync(`${other}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(wrong, `[127.0.0.1]:${sshd.port} ${otherKey}\n`);
    const err = await refused({ ...base, knownHostsFile: wrong }, /HOST KEY MISMATCH/);
    assert.match(err.hint, /ssh-keygen -R/);
  });

  it('accepts the pinned fingerprint and refuses another one', async () => {
    const m = await SshMachine.connect({ ...base, knownHostsFile: join(scratch, 'none'), hostKeyFingerprint: fingerprint(hostBlob()) });
    await m.close();
    await refused({ ...base, hostKeyFingerprint: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, /not the pinned SHA256:A+/);
  });

  it('reports a key the server does not accept as an authentication failure', async () => {
    const stranger = join(scratch, 'stranger');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger]);
    const err = await refused({ ...base, identityFile: stranger }, /ssh authentication as root on 127\.0\.0\.1:\d+ failed/);
    assert.match(err.hint, /--identity/);
  });

  it('reports a missing identity file and a closed port clearly', async () => {
    await refused({ ...base, identityFile: join(scratch, 'nope') }, /cannot read the identity file/);
    // a port nobody listens on: bind-and-release gives one that is free right now
    const closed = sshd.port === 1 ? 2 : 1;
    await refused({ ...base, port: closed, knownHostsFile: join(scratch, 'none') }, /cannot reach 127\.0\.0\.1:\d+ over ssh: ECONNREFUSED/);
  });
});
