// The key pair verify --agent logs in with: ssh2's own generator makes, about once in 256 pairs,
// an ed25519 key that ssh2 cannot read back (a CI run failed its login so); ours never does.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import ssh2 from 'ssh2';
import { loginKeyPair } from '../../src/stemcell/guest-ssh.js';

describe('the login key pair of verify --agent', () => {
  it('is one ssh2 reads back, both halves, every time (3000 pairs)', () => {
    for (let i = 0; i < 3000; i++) {
      const keys = loginKeyPair();
      const parsed = [ssh2.utils.parseKey(keys.public), ssh2.utils.parseKey(keys.private)];
      assert.ok(
        parsed.every((k) => !(k instanceof Error)),
        `pair ${i}: ${parsed.map(String).join(', ')}`,
      );
      assert.match(keys.public, /^ssh-ed25519 /);
    }
  });
});
