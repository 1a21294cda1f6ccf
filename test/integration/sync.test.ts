// Builder sync over a real SSH connection: first sync sends all, a repeat sends nothing,
// edits send only what changed, deletions are mirrored.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { syncBuilder } from '../../src/sync/sync.js';
import type { SshMachine } from '../../src/machine/ssh.js';
import { connectToSshd, startSshd, sshdUnavailable, type TestSshd } from '../helpers/sshd.js';

const skip = sshdUnavailable();

describe('builder sync over ssh', { skip }, () => {
  let sshd: TestSshd;
  let machine: SshMachine;
  let src: string;
  let dest: string;
  before(async () => {
    sshd = await startSshd();
    machine = await connectToSshd(sshd);
    src = mkdtempSync(join(tmpdir(), 'sf-syncsrc-'));
    dest = join(mkdtempSync(join(tmpdir(), 'sf-syncdest-')), 'builder');
    for (let i = 0; i < 20; i++) {
      mkdirSync(join(src, 'stages', `s${i}`, 'assets'), { recursive: true });
      writeFileSync(join(src, 'stages', `s${i}`, 'apply.sh'), `#!/bin/bash\necho ${i}\n`);
      chmodSync(join(src, 'stages', `s${i}`, 'apply.sh'), 0o755);
      writeFileSync(join(src, 'stages', `s${i}`, 'assets', 'file with space.conf'), `value=${i}\n`);
    }
    mkdirSync(join(src, 'templates'));
    writeFileSync(join(src, 'templates', 'provision.sh'), 'true\n');
  });
  after(async () => {
    await machine?.close();
    await sshd?.stop();
  });

  it('sends everything the first time, with modes', async () => {
    const r = await syncBuilder(machine, src, ['stages', 'templates'], dest);
    assert.equal(r.send.length, 41);
    assert.equal(r.unchanged, 0);
    assert.equal(statSync(join(dest, 'stages', 's3', 'apply.sh')).mode & 0o777, 0o755);
    assert.equal(readFileSync(join(dest, 'stages', 's3', 'assets', 'file with space.conf'), 'utf8'), 'value=3\n');
  });

  it('sends nothing when nothing changed', async () => {
    const r = await syncBuilder(machine, src, ['stages', 'templates'], dest);
    assert.deepEqual([r.send.length, r.remove.length, r.unchanged], [0, 0, 41]);
  });

  it('sends only changed files and mirrors deletions and mode changes', async () => {
    writeFileSync(join(src, 'stages', 's7', 'apply.sh'), '#!/bin/bash\necho changed\n');
    chmodSync(join(src, 'templates', 'provision.sh'), 0o700);
    rmSync(join(src, 'stages', 's9'), { recursive: true });
    const r = await syncBuilder(machine, src, ['stages', 'templates'], dest);
    assert.deepEqual(r.send, ['stages/s7/apply.sh', 'templates/provision.sh']);
    assert.deepEqual(r.remove.sort(), ['stages/s9/apply.sh', 'stages/s9/assets/file with space.conf']);
    assert.equal(readFileSync(join(dest, 'stages', 's7', 'apply.sh'), 'utf8'), '#!/bin/bash\necho changed\n');
    assert.equal(statSync(join(dest, 'templates', 'provision.sh')).mode & 0o777, 0o700);
    assert.ok(!existsSync(join(dest, 'stages', 's9', 'apply.sh')));
  });

  it('resends in full when the remote manifest is gone (an interrupted sync)', async () => {
    rmSync(join(dest, '.stemforge-sync.json'));
    const r = await syncBuilder(machine, src, ['stages', 'templates'], dest);
    assert.equal(r.send.length, 39);
  });
});
