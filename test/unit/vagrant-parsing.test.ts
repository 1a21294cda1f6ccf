// Parsing what Vagrant prints. Fixtures under test/fixtures/vagrant/ were recorded from the
// real tool (see the README there); the VirtualBox ones where VirtualBox cannot run here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { errorMessages, parseMachineReadable, parseStatus } from '../../src/machine/vagrant/machine-readable.js';
import { parseSshConfig } from '../../src/machine/vagrant/ssh-config.js';
import { versionAtLeast } from '../../src/util/dotted-version.js';
import { parseVagrantVersion } from '../../src/doctor/parse.js';
import { packageRoot } from '../../src/util/paths.js';

const fixtures = join(packageRoot, 'test', 'fixtures', 'vagrant');
const fixture = (name: string): string => readFileSync(join(fixtures, name), 'utf8');

describe('vagrant --machine-readable', () => {
  it('splits events and unescapes commas and newlines', () => {
    const events = parseMachineReadable('1700000000,default,ui,info,a%!(VAGRANT_COMMA) b\\nc\nnot an event line\n1700000001,,error-exit,X,y');
    assert.deepEqual(events, [
      { timestamp: 1700000000, target: 'default', type: 'ui', data: ['info', 'a, b\nc'] },
      { timestamp: 1700000001, target: '', type: 'error-exit', data: ['X', 'y'] },
    ]);
  });

  it('reads the error of an unusable provider (real VirtualBox-less output)', () => {
    const out = fixture('status-virtualbox-not-usable.txt');
    const [message] = errorMessages(out);
    assert.match(message!, /The provider 'virtualbox' that was requested to back the machine\n'default' is reporting that it isn't usable/);
    assert.match(message!, /VBoxManage` binary that ships with VirtualBox, and requires/);
    assert.throws(() => parseStatus(out), /printed no machine state/);
  });

  for (const [file, state, provider] of [
    ['status-not_created.machine-readable.txt', 'not_created', 'libvirt'],
    ['status-running.machine-readable.txt', 'running', 'libvirt'],
    ['status-shutoff.machine-readable.txt', 'shutoff', 'libvirt'],
    // VirtualBox cannot run here: these two are written by hand in the recorded format
    ['status-virtualbox-running.handwritten.txt', 'running', 'virtualbox'],
    ['status-virtualbox-poweroff.handwritten.txt', 'poweroff', 'virtualbox'],
  ] as const) {
    it(`reads state ${state} (${provider}, ${file})`, () => {
      const status = parseStatus(fixture(file));
      assert.equal(status.state, state);
      assert.equal(status.provider, provider);
    });
  }
});

describe('vagrant ssh-config', () => {
  it('reads host, port, user and identity files', () => {
    const config = parseSshConfig(
      [
        'Host default',
        '  HostName 127.0.0.1',
        '  User vagrant',
        '  Port 2222',
        '  UserKnownHostsFile /dev/null',
        '  StrictHostKeyChecking no',
        '  IdentityFile "/home/a b/.vagrant/machines/default/virtualbox/private_key"',
        '  IdentityFile /home/ab/.vagrant.d/insecure_private_key',
        '',
      ].join('\n'),
    );
    assert.deepEqual(config, {
      host: '127.0.0.1',
      port: 2222,
      user: 'vagrant',
      identityFiles: ['/home/a b/.vagrant/machines/default/virtualbox/private_key', '/home/ab/.vagrant.d/insecure_private_key'],
    });
  });

  it('reads the real libvirt output', () => {
    const config = parseSshConfig(fixture('ssh-config.txt'));
    assert.match(config.host, /^192\.168\.121\.\d+$/);
    assert.deepEqual(
      { ...config, host: 'the VM' },
      {
        host: 'the VM',
        port: 22,
        user: 'vagrant',
        identityFiles: ['/STATE/dot/machines/default/libvirt/private_key'],
      },
    );
  });

  it('refuses output without a host', () => {
    assert.throws(() => parseSshConfig('Host default\n  User vagrant\n'), /no HostName or User/);
    assert.throws(() => parseSshConfig('HostName x\nUser y\nPort 99999\n'), /bad Port/);
  });
});

describe('vagrant version', () => {
  it('reads the recorded version line', () => {
    assert.match(fixture('vagrant-version.txt'), /^Vagrant 2\.3\.4$/m);
    // the version the doctor's Vagrant check reads from the real output
    assert.equal(parseVagrantVersion(fixture('vagrant-version.txt')), '2.3.4');
  });

  it('compares dotted versions numerically', () => {
    assert.equal(versionAtLeast('2.3.4', '2.3.0'), true);
    assert.equal(versionAtLeast('2.10.0', '2.3.0'), true);
    assert.equal(versionAtLeast('2.2.19', '2.3.0'), false);
    assert.equal(versionAtLeast('2.3', '2.3.0'), true);
  });
});
