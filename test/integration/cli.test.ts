// The CLI as a user meets it: help, the dry-run plan, and one clear message with the right
// exit code for each kind of bad input.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';
import { packageRoot } from '../../src/util/paths.js';
import { startSshd, sshdUnavailable, type TestSshd } from '../helpers/sshd.js';

const cli = join(packageRoot, 'bin', 'stemforge.js');

function dropTo(uid: string): string[] {
  return ['--reuid', uid, '--regid', uid, '--clear-groups'];
}

/** Root can drop to nobody (65534) only where nobody can read the checkout. */
function nobodyUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to drop to nobody';
  const probe = spawnSync('setpriv', [...dropTo('65534'), 'test', '-r', cli]);
  return probe.status === 0 ? undefined : 'user nobody cannot read this checkout';
}

function stemforge(args: string[], options: { env?: NodeJS.ProcessEnv; asUser?: string } = {}): { code: number | null; stdout: string; stderr: string } {
  const env = { ...process.env, CI: 'true', NO_COLOR: '1', ...options.env };
  const r = options.asUser
    ? spawnSync('setpriv', [...dropTo(options.asUser), process.execPath, cli, ...args], { env, encoding: 'utf8' })
    : spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every command the program registers, by its path ("cache ls"), subcommands included. */
function registeredCommands(): { path: string; command: Command }[] {
  const walk = (parent: Command, prefix: string): { path: string; command: Command }[] =>
    parent.commands
      .filter((c) => c.name() !== 'help')
      .flatMap((c) => {
        const path = `${prefix}${c.name()}`;
        return [{ path, command: c }, ...walk(c, `${path} `)];
      });
  return walk(
    buildProgram(['node', 'stemforge'], () => {}, new AbortController().signal),
    '',
  );
}

describe('stemforge CLI', () => {
  it("--help lists every command in one line; `help PATH` prints each command's flags", () => {
    const overview = stemforge(['--help']);
    assert.equal(overview.code, 0, overview.stderr);
    const registered = registeredCommands();
    assert.ok(registered.length > 10, `the program registers ${registered.length} commands`);
    for (const { path, command } of registered.filter((c) => !c.path.includes(' '))) {
      assert.match(overview.stdout, new RegExp(`^  ${command.name()}\\b.*\\S$`, 'm'), `${path} in the overview`);
    }
    assert.ok(!overview.stdout.includes('--resume-from'), "no command's flags in the overview");
    for (const { path, command } of registered) {
      const r = stemforge(['help', ...path.split(' ')]);
      assert.equal(r.code, 0, `${path}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage: stemforge ${path} `), path);
      for (const option of command.options) assert.ok(r.stdout.includes(option.long ?? option.short!), `${path}: ${option.flags}`);
    }
  });

  it('--dry-run --json prints the plan and touches nothing', () => {
    const buildRoot = join(mkdtempSync(join(tmpdir(), 'sf-dry-')), 'never-created');
    const r = stemforge([
      'os-image',
      '--os',
      'ubuntu-jammy',
      '--machine',
      'ssh://builder@192.0.2.1',
      '--build-root',
      buildRoot,
      '--resume-from',
      'bosh_users',
      '--out',
      join(buildRoot, 'jammy.tgz'),
      '--dry-run',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout) as {
      machine: string;
      settings: Record<string, string>;
      phases: { name: string; stages: { name: string; selected: boolean; written: boolean }[] }[];
      unwritten: string[];
    };
    assert.equal(plan.machine, 'ssh://builder@192.0.2.1:22');
    assert.equal(plan.settings.bosh_users_password, '<redacted>');
    assert.equal(plan.settings.os_suite, 'jammy');
    const stages = plan.phases[0]!.stages;
    assert.equal(stages.length, 28);
    assert.equal(stages.find((s) => s.name === 'base_debootstrap')!.selected, false);
    assert.equal(stages.find((s) => s.name === 'bosh_users')!.selected, true);
    assert.ok(
      stages.every((s) => s.written),
      'every OS-image stage is written',
    );
    assert.deepEqual(plan.unwritten, []);
    assert.ok(!existsSync(buildRoot));
  });

  it('the human dry run lists the stages in order, marking the ones with a config.sh', () => {
    const r = stemforge(['os-image', '--os', 'debian-bookworm', '--machine', 'local', '--out', join(tmpdir(), 'never-written.tgz'), '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, / 1\. base_debootstrap {2}\(config\.sh\)/);
    assert.match(r.stdout, /27\. clean_machine_id$/m);
    assert.doesNotMatch(r.stdout, /NOT WRITTEN YET/);
    assert.doesNotMatch(r.stdout, /c1oudc0w/);
  });

  it('stemcell --dry-run --json plans one stemcell per infrastructure from one OS image', () => {
    const r = stemforge([
      'stemcell',
      '--iaas',
      'aws,openstack',
      '--iaas',
      'warden',
      '--os',
      'ubuntu-jammy',
      '--os-image',
      cli,
      '--version',
      '1.622',
      '--machine',
      'local',
      '--disk-format',
      'raw',
      '--dry-run',
      '--json',
    ]);
    // openstack takes raw; warden does not: the plan refuses it with the valid formats
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /unknown disk format for warden 'raw'; valid choices: files/);
    const ok = stemforge([
      'stemcell',
      '--iaas',
      'aws,openstack',
      '--iaas',
      'warden',
      '--os',
      'ubuntu-jammy',
      '--os-image',
      cli,
      '--version',
      '1.622',
      '--machine',
      'local',
      '--dry-run',
      '--json',
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    const plan = JSON.parse(ok.stdout) as { stemcells: { file: string; phases: { name: string; stages: { name: string }[] }[] }[]; blobstoreClis: string };
    assert.deepEqual(
      plan.stemcells.map((s) => s.file),
      [
        'bosh-stemcell-1.622-aws-xen-hvm-ubuntu-jammy-go_agent.tgz',
        'bosh-stemcell-1.622-openstack-kvm-ubuntu-jammy-go_agent.tgz',
        'bosh-stemcell-1.622-warden-boshlite-ubuntu-jammy-go_agent.tgz',
      ],
    );
    assert.deepEqual(
      plan.stemcells[1]!.phases.map((p) => p.name),
      ['stemcell', 'package-qcow2'],
    );
    assert.equal(plan.stemcells[0]!.phases[0]!.stages[0]!.name, 'untar_base_os_image');
    assert.equal(plan.blobstoreClis, 'install');
  });

  const usage: [string, string[], RegExp][] = [
    [
      'an unknown OS',
      ['--os', 'ubuntu-bionic', '--machine', 'local', '--dry-run'],
      /unknown operating system 'ubuntu-bionic'; valid choices: ubuntu-jammy, ubuntu-noble, debian-bookworm/,
    ],
    [
      'an unknown resume stage',
      ['--os', 'debian-bookworm', '--machine', 'local', '--resume-from', 'bosh_nothing', '--dry-run'],
      /unknown stage for --resume-from 'bosh_nothing'; valid choices: base_debootstrap, /,
    ],
    [
      'an unknown machine form',
      ['--os', 'debian-bookworm', '--machine', 'docker://x', '--dry-run'],
      /--machine 'docker:\/\/x' is not a machine; valid forms: vagrant\[:PROVIDER\], local, ssh:\/\/user@host\[:port\]/,
    ],
    [
      'an unknown Vagrant provider',
      ['--os', 'debian-bookworm', '--machine', 'vagrant:qemu', '--dry-run'],
      /unknown Vagrant provider 'qemu'; valid choices: virtualbox, libvirt, parallels, vmware_desktop, hyperv/,
    ],
    [
      'a bad --cpus',
      ['--os', 'debian-bookworm', '--machine', 'vagrant:libvirt', '--cpus', 'two', '--dry-run'],
      /--cpus takes a whole number from 1 to 256, not 'two'/,
    ],
    ['a missing --os', ['--machine', 'local'], /required option '--os <name>' not specified/],
    [
      'a relative --build-root',
      ['--os', 'debian-bookworm', '--machine', 'local', '--build-root', 'build', '--dry-run'],
      /--build-root must be an absolute path on the build machine, not 'build'/,
    ],
    ['a malformed BUILD_TIME', ['--os', 'debian-bookworm', '--machine', 'local', '--dry-run'], /BUILD_TIME '2024-10-23' is not of the form/],
  ];
  const stemcellBase = ['stemcell', '--os', 'ubuntu-jammy', '--os-image', cli, '--machine', 'local', '--dry-run'];
  const stemcellUsage: [string, string[], RegExp][] = [
    [
      'an unknown infrastructure',
      [...stemcellBase, '--iaas', 'digitalocean', '--version', '1.0'],
      /unknown infrastructure 'digitalocean'; valid choices: aws, alicloud, azure, /,
    ],
    [
      'a hypervisor the infrastructure does not have',
      [...stemcellBase, '--iaas', 'aws', '--hypervisor', 'kvm', '--version', '1.0'],
      /unknown hypervisor for aws 'kvm'; valid choices: xen-hvm, xen/,
    ],
    ['a version that is not digits and dots', [...stemcellBase, '--iaas', 'aws', '--version', '1.0-rc1'], /--version '1\.0-rc1' is not digits and dots/],
    [
      'an agent URL without its digest',
      [...stemcellBase, '--iaas', 'aws', '--version', '1.0', '--agent-url', 'https://example.invalid/agent'],
      /--agent-url needs --agent-sha256/,
    ],
    [
      '--resume-from with two infrastructures',
      [...stemcellBase, '--iaas', 'aws,warden', '--version', '1.0', '--resume-from', 'bosh_clean'],
      /--resume-from and --until work on one infrastructure at a time/,
    ],
    [
      'a missing OS image',
      ['stemcell', '--iaas', 'aws', '--version', '1.0', '--os-image', '/nonexistent/x.tgz', '--machine', 'local', '--dry-run'],
      /--os-image \/nonexistent\/x\.tgz: no such file/,
    ],
  ];
  for (const [what, args, message] of stemcellUsage) {
    it(`stemcell exits 2 with one clear line for ${what}`, () => {
      const r = stemforge(args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
    });
  }

  for (const [what, args, message] of usage) {
    it(`exits 2 with one clear line for ${what}`, () => {
      const r = stemforge(['os-image', ...args], what.includes('BUILD_TIME') ? { env: { BUILD_TIME: '2024-10-23' } } : {});
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
    });
  }

  it('refuses --machine local for a non-root user, saying what to do', { skip: nobodyUnavailable() }, () => {
    const r = stemforge(['os-image', '--os', 'debian-bookworm', '--machine', 'local', '--until', 'base_debootstrap'], {
      asUser: '65534',
      env: { HOME: '/tmp' },
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /--machine local needs root/);
    assert.match(r.stderr, /what to do: run stemforge as root/);
  });

  it('base_debootstrap says how to install a missing debootstrap', { skip: process.getuid?.() === 0 ? undefined : 'needs root' }, () => {
    const build = mkdtempSync(join(tmpdir(), 'sf-nodebootstrap-'));
    writeFileSync(
      join(build, 'settings.bash'),
      "os_name='debian-bookworm'\nos_suite='bookworm'\nos_arch='amd64'\nos_keyring='/nonexistent'\nos_components='main'\nmirror='http://127.0.0.1:9/debian'\n",
    );
    // debootstrap lives in /usr/sbin: a PATH without it is a build machine without it
    const r = spawnSync(
      'env',
      ['-i', 'PATH=/usr/bin:/bin', 'bash', join(packageRoot, 'stages', 'base_debootstrap', 'config.sh'), join(build, 'settings.bash')],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 1);
    assert.match(r.stderr, /'debootstrap' is not installed on the build machine \(install it, e\.g\. apt-get install debootstrap\)/);
  });

  describe('over ssh', { skip: sshdUnavailable() }, () => {
    let sshd: TestSshd;
    before(async () => {
      sshd = await startSshd();
    });
    after(async () => {
      await sshd?.stop();
    });

    it('exits 1 for an unreachable host', () => {
      const r = stemforge([
        'os-image',
        '--os',
        'debian-bookworm',
        '--machine',
        'ssh://root@127.0.0.1:1',
        '--identity',
        sshd.clientKey,
        '--known-hosts',
        sshd.knownHosts,
        '--until',
        'base_debootstrap',
      ]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /cannot reach 127\.0\.0\.1:1 over ssh: ECONNREFUSED/);
      assert.match(r.stderr, /what to do: check the address and port/);
    });

    it('exits 1 for an unknown host key, printing its fingerprint', () => {
      const empty = join(mkdtempSync(join(tmpdir(), 'sf-kh-')), 'known_hosts');
      writeFileSync(empty, '');
      const r = stemforge([
        'os-image',
        '--os',
        'debian-bookworm',
        '--machine',
        sshd.machineUrl,
        '--identity',
        sshd.clientKey,
        '--known-hosts',
        empty,
        '--until',
        'base_debootstrap',
      ]);
      assert.equal(r.code, 1);
      const fp = execFileSync('ssh-keygen', ['-l', '-f', join(sshd.dir, 'host_ed25519.pub')])
        .toString()
        .split(' ')[1]!;
      assert.match(r.stderr, /is not known \(ssh-ed25519 SHA256:/);
      assert.ok(r.stderr.includes(`--host-key ${fp}`));
    });

    it('exits 1 for a key the host does not accept', () => {
      const dir = mkdtempSync(join(tmpdir(), 'sf-key-'));
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'k')]);
      const r = stemforge([
        'os-image',
        '--os',
        'debian-bookworm',
        '--machine',
        sshd.machineUrl,
        '--identity',
        join(dir, 'k'),
        '--known-hosts',
        sshd.knownHosts,
        '--until',
        'base_debootstrap',
      ]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /ssh authentication as root on 127\.0\.0\.1:\d+ failed/);
    });
  });
});

describe('a failure outside any stage names the run log', () => {
  // no key anywhere (no agent, an empty home): the Connect step fails before any traffic
  // build: its OS image is made by its own first phase, so a missing one is no error before the run
  for (const command of ['os-image', 'stemcell', 'build'] as const) {
    it(`${command}: "run log: PATH" on stderr, and the log records the failure`, () => {
      const scratch = mkdtempSync(join(tmpdir(), 'sf-runlog-'));
      const image = join(scratch, 'os-image.tgz');
      writeFileSync(image, '');
      const args = {
        'os-image': ['os-image', '--os', 'debian-bookworm', '--out', join(scratch, 'out', 'os.tgz'), '--no-cache'],
        stemcell: ['stemcell', '--iaas', 'aws', '--os', 'debian-bookworm', '--os-image', image, '--version', '1.0', '--out', join(scratch, 'out')],
        build: ['build', '--yes', '--iaas', 'warden', '--os', 'debian-bookworm', '--skip-doctor', '--skip-blobstore-clis', '--out', join(scratch, 'out')],
      }[command];
      const r = stemforge([...args, '--machine', 'ssh://nobody@127.0.0.1:1'], {
        env: {
          HOME: join(scratch, 'home'),
          XDG_STATE_HOME: join(scratch, 'state'),
          STEMFORGE_CONFIG_DIR: join(scratch, 'config'),
          STEMFORGE_CACHE_DIR: join(scratch, 'cache'),
          SSH_AUTH_SOCK: '',
        },
      });
      try {
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /^stemforge: error: no SSH key to log in to 127\.0\.0\.1/m);
        const path = /^run log: (.+)$/m.exec(r.stderr)?.[1];
        assert.ok(path?.startsWith(join(scratch, 'state')), r.stderr);
        assert.match(readFileSync(path!, 'utf8'), /"type":"note","text":"failed: no SSH key to log in/);
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    });
  }
});
