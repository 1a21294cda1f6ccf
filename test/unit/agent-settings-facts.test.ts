// The catalog's agent.json (src/catalog/agent-settings.ts) against the facts written out from the
// reference builder's stages (test/spec/stemcell-checks/agent-settings-facts.ts), for every
// infrastructure and both service managers: a slip in the catalog fails here, not only in an e2e build.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { agentJsonFor } from '../../src/catalog/agent-settings.js';
import { infrastructures } from '../../src/catalog/infrastructures.js';
import { operatingSystems } from '../../src/catalog/operating-systems.js';
import { agentSettingsFacts, firstDifference, promisedAgentJson } from '../spec/stemcell-checks/agent-settings-facts.js';

const serviceManagers = [...new Set(operatingSystems.map((o) => o.serviceManager))].sort();

describe('agent.json facts', () => {
  it('cover exactly the infrastructures of the catalog', () => {
    assert.deepEqual(Object.keys(agentSettingsFacts).sort(), infrastructures.map((i) => i.name).sort());
  });

  it('the OS lines use both service managers', () => {
    assert.deepEqual(serviceManagers, ['runit', 'systemd']);
  });

  for (const iaas of infrastructures.map((i) => i.name)) {
    for (const manager of serviceManagers) {
      it(`${iaas} on a ${manager} line: the catalog's agent.json is the promised one`, () => {
        const ours = agentJsonFor(iaas, manager);
        const promised = promisedAgentJson(iaas, manager);
        const diff = firstDifference(ours, promised);
        assert.equal(diff, undefined, `agentJsonFor('${iaas}', '${manager}') differs from the facts at ${diff}`);
        assert.deepEqual(ours, promised);
      });
    }
  }

  it('ServiceManager is added on systemd lines only', () => {
    for (const iaas of Object.keys(agentSettingsFacts)) {
      const linux = (j: Record<string, unknown>) => (j.Platform as { Linux: Record<string, unknown> }).Linux;
      assert.equal(linux(promisedAgentJson(iaas, 'systemd')).ServiceManager, 'systemd', iaas);
      assert.equal('ServiceManager' in linux(promisedAgentJson(iaas, 'runit')), false, iaas);
      // the facts themselves stay untouched
      assert.equal('ServiceManager' in linux(agentSettingsFacts[iaas]!), false, iaas);
    }
  });

  it('firstDifference names the first differing key path', () => {
    const promised = promisedAgentJson('openstack', 'runit');
    assert.equal(firstDifference(promised, promisedAgentJson('openstack', 'runit')), undefined);

    const broken = promisedAgentJson('openstack', 'runit') as { Infrastructure: { Settings: { Sources: Record<string, unknown>[] } } };
    broken.Infrastructure.Settings.Sources[1]!.DiskPaths = ['/dev/disk/by-label/config-2'];
    assert.match(firstDifference(broken, promised) ?? '', /^Infrastructure\.Settings\.Sources\[1\]\.DiskPaths\[0\]: /);

    const aws = promisedAgentJson('aws', 'runit') as { Infrastructure: { Settings: { Sources: Record<string, unknown>[] } } };
    aws.Infrastructure.Settings.Sources[0]!.URI = 'http://169.254.169.253';
    assert.equal(
      firstDifference(aws, promisedAgentJson('aws', 'runit')),
      'Infrastructure.Settings.Sources[0].URI: "http://169.254.169.253" where "http://169.254.169.254" is promised',
    );

    const extra = promisedAgentJson('vsphere', 'runit') as { Platform: { Linux: Record<string, unknown> } };
    extra.Platform.Linux.CreatePartitionIfNoEphemeralDisk = true;
    assert.equal(
      firstDifference(extra, promisedAgentJson('vsphere', 'runit')),
      'Platform.Linux.CreatePartitionIfNoEphemeralDisk: true where (absent) is promised',
    );
  });
});
