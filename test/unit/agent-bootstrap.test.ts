// What the BOSH agent needs of each OS line, checked on the catalog and the stage files, so
// the Ubuntu lines (which cannot be built here) are covered at least at this level: the
// commands it runs come from the line's packages or a stage of its plan, the name service
// is the one the agent drives for the line's service manager, Jammy boots on cgroup v1 and
// supervises monit and the agent under our own runit service.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { agentJsonFor } from '../../src/catalog/agent-settings.js';
import { infrastructures } from '../../src/catalog/infrastructures.js';
import { operatingSystems } from '../../src/catalog/operating-systems.js';
import { planStemcell } from '../../src/catalog/planner.js';
import { stemcellSettings } from '../../src/pipeline/settings-file.js';
import { packageRoot } from '../../src/util/paths.js';
import { agentCommandsFor, agentServicePath } from '../spec/agent-bootstrap.js';

const stageFile = (path: string): string => readFileSync(join(packageRoot, 'stages', path), 'utf8');

function settingsOf(osName: string, iaas: string): Record<string, string> {
  const os = operatingSystems.find((o) => o.name === osName)!;
  const infrastructure = infrastructures.find((i) => i.name === iaas)!;
  return stemcellSettings({
    os,
    stemforgeVersion: '0',
    usersPassword: 'pw',
    packageCacheRoot: '/c',
    buildRoot: '/b',
    infrastructure,
    diskFormat: infrastructure.diskFormats[0]!,
    version: '1',
    osImageTgz: '/i.tgz',
    agent: { file: '/a', sha256: 'a'.repeat(64) },
    blobstoreClis: false,
    builderCommit: 'x',
  });
}

describe("the agent's commands on every OS line", () => {
  for (const os of operatingSystems) {
    it(`${os.name}: each command comes from the line's packages or a stage of its plan`, () => {
      const stages = new Set([...os.osImageStages, ...planStemcell({ os: os.name, iaas: 'openstack' }).phases.flatMap((p) => p.stages)]);
      for (const c of agentCommandsFor(os.serviceManager)) {
        if ('package' in c.from) assert.ok(os.packages.includes(c.from.package), `${c.command}: package ${c.from.package} is in ${os.name}'s package set`);
        if ('stage' in c.from) assert.ok(stages.has(c.from.stage), `${c.command}: stage ${c.from.stage} is in ${os.name}'s plan`);
      }
    });
  }

  it('the service definitions give the agent the PATH the commands are looked up in', () => {
    assert.match(stageFile('bosh_go_agent/assets/bosh-agent.service'), new RegExp(`^Environment=PATH=${agentServicePath}$`, 'm'));
    assert.match(stageFile('bosh_go_agent/assets/agent-run'), new RegExp(`^export PATH=${agentServicePath}$`, 'm'));
  });
});

describe('name service per line', () => {
  for (const os of operatingSystems) {
    it(`${os.name}: the resolver the agent drives for ServiceManager ${os.serviceManager} is installed`, () => {
      // the agent: ServiceManager systemd → systemd-resolved (10-bosh.conf + restart); anything else → resolvconf -u
      const agentServiceManager = (agentJsonFor('openstack', os.serviceManager).Platform as { Linux: { ServiceManager?: string } }).Linux.ServiceManager;
      const expected = agentServiceManager === 'systemd' ? 'systemd-resolved' : 'resolvconf';
      assert.equal(os.dnsResolver, expected);
      assert.ok(os.packages.includes(expected), `${expected} in the package set`);
      const other = expected === 'resolvconf' ? 'systemd-resolved' : 'resolvconf';
      assert.ok(!os.packages.includes(other), `${other} (which conflicts) not in the package set`);
    });
  }

  it("resolvconf lines get networkd's DHCP name servers through the path unit", () => {
    const script = stageFile('base_ubuntu_packages/assets/networkd-dns-to-resolvconf');
    assert.match(script, /\/run\/systemd\/netif\/state/);
    assert.match(script, /\/sbin\/resolvconf -a networkd/);
    const path = stageFile('base_ubuntu_packages/assets/networkd-dns-to-resolvconf.path');
    assert.match(path, /^PathChanged=\/run\/systemd\/netif\/state$/m);
    const apply = stageFile('base_ubuntu_packages/apply.sh');
    assert.match(apply, /systemd_unit enable networkd-dns-to-resolvconf\.path networkd-dns-to-resolvconf\.service/);
    assert.match(apply, /systemd_unit enable systemd-resolved\.service/);
    assert.match(stageFile('base_debian_packages/apply.sh'), /systemd_unit enable systemd-resolved\.service/);
  });
});

describe('cgroups and the monit API filter', () => {
  for (const os of operatingSystems) {
    it(`${os.name}: the kernel command line matches the filter's cgroup version`, () => {
      const cmdline = settingsOf(os.name, 'openstack').kernel_cmdline!.split(' ');
      // iptables matches net_cls classids, a cgroup v1 controller: only on a v1 (legacy) boot
      assert.equal(cmdline.includes('systemd.unified_cgroup_hierarchy=false'), os.monitApiFilter === 'iptables');
      assert.ok(cmdline.includes('audit=1'));
    });
  }

  it("the runit agent joins the monit API cgroup before it starts, as the reference's run script does", () => {
    const run = stageFile('bosh_go_agent/assets/agent-run');
    const join = run.indexOf('permit_monit_access');
    assert.ok(run.includes('. /var/vcap/bosh/etc/monit-access-helper.sh'));
    assert.ok(join > 0 && join < run.indexOf('exec /var/vcap/bosh/bin/bosh-agent'), 'permit_monit_access before exec');
  });
});

describe('runit on Jammy', () => {
  it('runit.service is ours: runsvdir-start, restarted, processes left to runit', () => {
    const unit = stageFile('base_ubuntu_packages/assets/runit.service');
    assert.match(unit, /^ExecStart=\/usr\/sbin\/runsvdir-start$/m);
    assert.match(unit, /^Restart=always$/m);
    assert.match(unit, /^KillMode=process$/m);
    assert.match(unit, /^WantedBy=multi-user\.target$/m);
    assert.match(stageFile('base_ubuntu_packages/apply.sh'), /write_file 0644 "\$\(target \/etc\/systemd\/system\/runit\.service\)"/);
  });

  it("monit's runit service has a down file: runsv starts it only when the agent says sv start", () => {
    assert.match(stageFile('bosh_monit/apply.sh'), /touch \/etc\/sv\/monit\/down/);
    assert.match(stageFile('bosh_monit/assets/sv-monit-run'), /^exec \/var\/vcap\/bosh\/bin\/monit-actual -I -c \/var\/vcap\/bosh\/etc\/monitrc$/m);
  });
});

describe('sudo', () => {
  it("vcap (group admin) sudoes with its password; the agent's ssh users (bosh_sudoers) without", () => {
    const sudoers = stageFile('bosh_users/assets/sudoers');
    assert.match(sudoers, /^%admin\s+ALL=\(ALL\) ALL$/m);
    assert.match(sudoers, /^%bosh_sudoers\s+ALL=\(ALL\) NOPASSWD: ALL$/m);
    assert.match(stageFile('bosh_users/apply.sh'), /vcap_groups=\(admin /);
  });
});
