// The machine question's providers per host system and architecture. Those hosts cannot
// exist here, so the host is the injected value the wizard takes (and, for the doctor, a
// stand-in probe that answers only platform and arch); everything else is the real code.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { vagrantProviders, type VagrantProvider } from '../../src/catalog/builder-vm.js';
import { checkArch, checkProvider } from '../../src/doctor/checks.js';
import type { DoctorProbe } from '../../src/doctor/probe.js';
import { possibleProviders, providerOffer, type ProviderChoice } from '../../src/wizard/providers.js';
import { standInHosts } from '../helpers/stand-in-hosts.js';

const hosts = standInHosts;

/** What the doctor would report: these providers installed and working, the others not. */
function found(installed: VagrantProvider[]): ProviderChoice[] {
  return vagrantProviders.map((provider) => ({
    provider,
    usable: installed.includes(provider),
    note: installed.includes(provider) ? `${provider} 1.0` : 'not installed',
  }));
}

describe('wizard: providers this host can have', () => {
  it('offers Hyper-V only on Windows, Parallels only on macOS, libvirt only on Linux, VirtualBox and VMware on all three', () => {
    assert.deepEqual(possibleProviders(hosts.linux), ['virtualbox', 'libvirt', 'vmware_desktop']);
    assert.deepEqual(possibleProviders(hosts.macIntel), ['virtualbox', 'parallels', 'vmware_desktop']);
    assert.deepEqual(possibleProviders(hosts.windows), ['virtualbox', 'vmware_desktop', 'hyperv']);
  });

  it('on arm64 offers only what runs a native arm64 builder VM: libvirt on Linux, VirtualBox, Parallels and VMware on Apple Silicon, none on Windows', async () => {
    assert.deepEqual(possibleProviders(hosts.linuxArm), ['libvirt']);
    assert.deepEqual(possibleProviders(hosts.appleSilicon), ['virtualbox', 'parallels', 'vmware_desktop']);
    assert.deepEqual(possibleProviders(hosts.windowsArm), []);
    // the doctor refuses the others there for the same reason
    for (const [host, provider] of [
      [hosts.linuxArm, 'virtualbox'],
      [hosts.linuxArm, 'vmware_desktop'],
      [hosts.windowsArm, 'hyperv'],
      [hosts.windowsArm, 'virtualbox'],
    ] as const) {
      const check = await checkArch(probeOf(host.platform, host.arch), { kind: 'vagrant', provider });
      assert.equal(check.status, 'fail', `${provider} on ${host.platform}`);
      assert.match(check.detail, /runs no arm64 builder VM on an arm64/);
    }
    for (const provider of possibleProviders(hosts.appleSilicon)) {
      assert.equal((await checkArch(probeOf('darwin', 'arm64'), { kind: 'vagrant', provider })).status, 'ok', provider);
    }
  });

  it('agrees with the doctor on where a provider cannot run', async () => {
    for (const platform of ['linux', 'darwin', 'win32'] as const) {
      for (const provider of vagrantProviders) {
        const check = await checkProvider(probeOf(platform, 'x64'), provider, { kind: 'found', version: '2.4.9' });
        const wrongHost = /does not run on|runs only on Windows/.test(check.detail);
        assert.equal(possibleProviders({ platform, arch: 'x64' }).includes(provider), !wrongHost, `${provider} on ${platform}: ${check.detail}`);
      }
    }
  });

  it('lists the installed ones as choices and the missing ones in one install line', () => {
    const offer = providerOffer(hosts.linux, found(['libvirt', 'hyperv', 'parallels']), true);
    // Hyper-V and Parallels "installed" on Linux are not offered: they cannot exist here
    assert.deepEqual(
      offer.usable.map((p) => p.provider),
      ['libvirt'],
    );
    assert.ok(offer.installHint);
    assert.equal(offer.installHint.split('\n').length, 1);
    assert.equal(offer.installHint, 'Also usable once installed: VirtualBox or VMware (stemforge doctor says what is missing)');
    assert.doesNotMatch(offer.installHint, /libvirt|Hyper-V|Parallels|Vagrant with/);
  });

  it('says Vagrant comes first when it is missing, and offers nothing then', () => {
    const offer = providerOffer(hosts.macIntel, found(['virtualbox']), false);
    assert.deepEqual(offer.usable, []);
    assert.equal(offer.installHint, 'Install Vagrant with VirtualBox, Parallels or VMware to build in a VM here');
  });

  it('has no install line when every possible provider is installed', () => {
    const offer = providerOffer(hosts.windows, found(['virtualbox', 'vmware_desktop', 'hyperv']), true);
    assert.deepEqual(
      offer.usable.map((p) => p.provider),
      ['virtualbox', 'vmware_desktop', 'hyperv'],
    );
    assert.equal(offer.installHint, undefined);
  });

  it('on Apple Silicon offers the installed native ones and names the others to install', () => {
    const offer = providerOffer(hosts.appleSilicon, found(['parallels', 'vmware_desktop', 'libvirt']), true);
    assert.deepEqual(
      offer.usable.map((p) => p.provider),
      ['parallels', 'vmware_desktop'],
    );
    // installed but older than 7.1, or not installed: the line says which release works
    assert.equal(offer.installHint, 'Also usable once installed: VirtualBox 7.1 or newer (stemforge doctor says what is missing)');
  });
});

/** A stand-in probe for a host that cannot exist here: only its system and architecture; no tool is installed. */
function probeOf(platform: NodeJS.Platform, arch: string): DoctorProbe {
  const unused = (): never => {
    throw new Error('not asked by these checks');
  };
  return {
    run: async () => 'missing',
    freeBytes: unused,
    totalMemBytes: unused,
    cpuCount: unused,
    arch: () => arch,
    platform: () => platform,
    uid: unused,
    access: unused,
    nodeVersion: unused,
    env: () => undefined,
    sshCheck: unused,
  };
}
