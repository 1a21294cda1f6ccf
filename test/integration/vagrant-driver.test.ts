// The Vagrant driver against the real vagrant command where it is installed, and its
// refusals when Vagrant is missing or too old.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { VagrantDriver } from '../../src/machine/vagrant/driver.js';
import { BuilderVm } from '../../src/machine/vagrant/builder-vm.js';
import { HintedError } from '../../src/util/errors.js';
import { packageRoot } from '../../src/util/paths.js';

function vagrantInstalled(): boolean {
  try {
    execFileSync('vagrant', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function commandExists(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

function driver(command?: string): VagrantDriver {
  const dir = mkdtempSync(join(tmpdir(), 'sf-vagrant-'));
  return new VagrantDriver({ vagrantfileDir: packageRoot, dotfilePath: join(dir, 'dot'), configFile: join(dir, 'vm.json'), provider: 'libvirt', command });
}

describe('vagrant driver', () => {
  it('says how to get Vagrant when it is missing', async () => {
    await assert.rejects(
      driver('/nonexistent/vagrant').version(),
      (e: unknown) => e instanceof HintedError && /vagrant is not installed/.test(e.message) && /--machine ssh/.test(e.hint),
    );
  });

  it('refuses a Vagrant older than it supports', async () => {
    // A stand-in for an old Vagrant release, which cannot be installed here: it prints
    // the version line an old vagrant prints, nothing else.
    const stub = join(mkdtempSync(join(tmpdir(), 'sf-oldvagrant-')), 'vagrant');
    writeFileSync(stub, '#!/bin/sh\necho "Vagrant 2.2.19"\n');
    chmodSync(stub, 0o755);
    await assert.rejects(driver(stub).version(), /Vagrant 2\.2\.19 is too old; stemforge needs 2\.3\.0 or newer/);
  });

  it("reads the installed Vagrant's version", { skip: vagrantInstalled() ? undefined : 'vagrant is not installed' }, async () => {
    assert.match(await driver().version(), /^\d+\.\d+\.\d+$/);
  });

  it('reports a VM that does not exist yet through the real Vagrantfile', { skip: vagrantInstalled() ? undefined : 'vagrant is not installed' }, async () => {
    const vm = new BuilderVm({ provider: 'libvirt', box: 'stemforge-test/none', proxy: {}, stateRoot: mkdtempSync(join(tmpdir(), 'sf-state-')) });
    const status = await vm.status();
    assert.equal(status.state, 'not_created');
    assert.equal(status.provider, 'libvirt');
  });

  it(
    'says VirtualBox is not usable where it is not installed (real vagrant, exit 1)',
    {
      skip: vagrantInstalled() && !commandExists('VBoxManage') ? undefined : 'needs vagrant without VirtualBox',
    },
    () => {
      const r = spawnSync(process.execPath, [join(packageRoot, 'bin', 'stemforge.js'), 'vm', 'status', '--provider', 'virtualbox'], {
        env: { ...process.env, XDG_DATA_HOME: mkdtempSync(join(tmpdir(), 'sf-xdg-')), CI: 'true' },
        encoding: 'utf8',
      });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /the Vagrant provider 'virtualbox' is not usable on this machine: Vagrant could not detect VirtualBox/);
      assert.match(r.stderr, /what to do: install virtualbox, or choose another provider with --machine vagrant:PROVIDER/);
    },
  );
});
