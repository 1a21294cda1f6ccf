// The Ubuntu lines cannot be built on this machine (their archives are out of reach), so
// what keeps their hardening equal to the Debian line's is checked here, on the files and
// plans they are made from: the same hardening stages in every line's plan, audit stages that
// run the one shared code path, and the runit unit Jammy's reference examples describe.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { operatingSystems } from '../../src/catalog/operating-systems.js';

const repo = (p: string): string => readFileSync(fileURLToPath(new URL(`../../../${p}`, import.meta.url)), 'utf8');

/** Stages whose files carry the settings the reference examples check, shared by every line. */
const sharedHardening = [
  'base_file_permission',
  'base_ssh',
  'bosh_sysctl',
  'bosh_users',
  'bosh_sudoers',
  'password_policies',
  'restrict_su_command',
  'tty_config',
  'rsyslog_config',
  'cron_config',
  'escape_ctrl_alt_del',
  'bosh_log_audit_start',
];

describe('hardening on the Ubuntu lines', () => {
  for (const os of operatingSystems) {
    it(`${os.name} runs every shared hardening stage and its distribution's audit stage`, () => {
      assert.deepEqual(
        sharedHardening.filter((s) => !os.osImageStages.includes(s)),
        [],
      );
      assert.ok(os.osImageStages.includes(`bosh_audit_${os.distro}`), `bosh_audit_${os.distro}`);
    });
  }

  it('both audit stages run the same shared audit code, guarded by distribution only', () => {
    const body = (distro: string): string[] =>
      repo(`stages/bosh_audit_${distro}/apply.sh`)
        .split('\n')
        .filter((l) => l.trim() && !l.startsWith('#'))
        .map((l) => l.replaceAll(distro, 'DISTRO'));
    assert.deepEqual(body('ubuntu'), body('debian'));
    assert.ok(body('debian').includes('bosh_audit_apply'));
  });

  it('the shared assets carry the reference values whatever the line (sysctl, securetty)', () => {
    const sysctl = new Map(
      repo('stages/bosh_sysctl/assets/60-bosh-sysctl.conf')
        .split('\n')
        .filter((l) => l.includes('=') && !l.startsWith('#'))
        .map((l) => l.split(/\s*=\s*/) as [string, string]),
    );
    for (const [k, v] of Object.entries({
      'net.ipv4.ip_forward': '0',
      'net.ipv6.conf.all.accept_ra': '0',
      'net.ipv6.route.flush': '1',
      'net.ipv4.tcp_max_syn_backlog': '1280',
      'kernel.keys.maxkeys': '1000000',
    })) {
      assert.equal(sysctl.get(k), v, k);
    }
    const securetty = repo('stages/tty_config/assets/securetty')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'));
    assert.deepEqual(securetty, ['console']);
  });

  it("Jammy's runit.service restarts runsvdir always, kills only it, starts after the first boot and is enabled by the package stage", () => {
    const unit = repo('stages/base_ubuntu_packages/assets/runit.service');
    assert.match(unit, /^Restart=always$/m);
    assert.match(unit, /^KillMode=process$/m);
    assert.match(unit, /^After=.*\bbosh-firstboot\.service\b/m);
    assert.match(repo('stages/base_ubuntu_packages/apply.sh'), /systemd_unit enable runit\.service/);
  });
});
