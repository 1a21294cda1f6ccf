// Bad input to build, os-image and stemcell, through the real CLI: each is refused with one
// line naming the fix and exit 2, the same by the dry run and by the run (one validation,
// before any machine), and nothing is written: no output folder, cache, settings or logs.
// The run's machine is an ssh:// address where nothing listens, so a probe that got past the
// checks would fail there instead of building.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { packageRoot } from '../../src/util/paths.js';

const cli = join(packageRoot, 'bin', 'stemforge.js');
const nowhere = 'ssh://nobody@127.0.0.1:1';

let home: string;
let work: string;

before(() => {
  home = mkdtempSync(join(tmpdir(), 'sf-probes-'));
  work = join(home, 'work');
  mkdirSync(work);
  writeFileSync(join(work, 'a-file'), 'not a folder');
  mkdirSync(join(work, 'a-folder'));
  writeFileSync(join(work, 'os-image.tgz'), 'stands for an OS image: only its being a file is checked before the machine');
});

after(() => rmSync(home, { recursive: true, force: true }));

/** The user's folders, all below the test's home: what a refused command must leave as they were. */
function userEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    CI: 'true',
    NO_COLOR: '1',
    STEMFORGE_CONFIG_DIR: join(home, 'config'),
    XDG_CONFIG_HOME: join(home, 'xdg-config'),
    XDG_CACHE_HOME: join(home, 'xdg-cache'),
    XDG_STATE_HOME: join(home, 'xdg-state'),
    XDG_DATA_HOME: join(home, 'xdg-data'),
  };
}

function stemforge(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: work, env: userEnv(), encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every file below `dir` (none when it is missing). */
function filesBelow(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => !e.isDirectory())
    .map((e) => join(e.parentPath, e.name));
}

/** What the test's home holds beyond the fixtures: the user's folders and the work folder. */
function written(): string[] {
  const fixtures = ['a-file', 'os-image.tgz'].map((n) => join(work, n));
  return filesBelow(home).filter((f) => !fixtures.includes(f));
}

interface Probe {
  what: string;
  /** the command and its flags, without --dry-run */
  args: string[];
  message: RegExp;
}

const build = (...flags: string[]): string[] => ['build', '--yes', '--os', 'debian-bookworm', '--machine', nowhere, '--skip-doctor', ...flags];
const osImage = (...flags: string[]): string[] => ['os-image', '--os', 'debian-bookworm', '--machine', nowhere, ...flags];
const stemcell = (...flags: string[]): string[] => ['stemcell', '--version', '1.0', '--machine', nowhere, ...flags];

const probes: Probe[] = [
  {
    what: 'build: a disk format the infrastructure lacks',
    args: build('--iaas', 'aws', '--disk-format', 'qcow2'),
    message: /unknown disk format for aws 'qcow2'; valid choices: raw$/,
  },
  {
    what: 'build: an unknown hypervisor',
    args: build('--iaas', 'aws', '--hypervisor', 'nosuch'),
    message: /unknown hypervisor for aws 'nosuch'; valid choices: xen-hvm, xen$/,
  },
  { what: 'build: an infrastructure twice', args: build('--iaas', 'aws,aws'), message: /--iaas names an infrastructure twice \(aws, aws\): name each once$/ },
  { what: 'build: an unknown infrastructure', args: build('--iaas', 'aws,nosuch'), message: /unknown infrastructure 'nosuch'; valid choices: .*\baws\b/ },
  {
    what: 'build: --resume-from a stage of no phase',
    args: build('--iaas', 'aws', '--resume-from', 'nosuch'),
    message: /--resume-from nosuch: not a stage of the debian-bookworm OS image or of the aws stemcell; see the plan with --dry-run$/,
  },
  {
    what: 'build: --os-image that is not there',
    args: build('--iaas', 'aws', '--os-image', 'nope.tgz'),
    message: /--os-image nope\.tgz: no such file; name an OS image tarball/,
  },
  { what: 'build: --os-image a folder', args: build('--iaas', 'aws', '--os-image', 'a-folder'), message: /--os-image a-folder: is a folder, not a file/ },
  {
    what: 'build: --agent-file a folder',
    args: build('--iaas', 'aws', '--agent-file', 'a-folder'),
    message: /--agent-file a-folder: is a folder, not a file; name the bosh-agent binary$/,
  },
  {
    what: 'build: --out an existing file',
    args: build('--iaas', 'aws', '--out', 'a-file'),
    message: /--out a-file is a file, not a folder; name a folder \(it is made when missing\)$/,
  },
  { what: 'build: --out below a file', args: build('--iaas', 'aws', '--out', 'a-file/out'), message: /--out a-file\/out: .*a-file is a file, not a folder/ },
  { what: 'build: --cache-dir an existing file', args: build('--iaas', 'aws', '--cache-dir', 'a-file'), message: /--cache-dir a-file is a file, not a folder/ },
  {
    what: 'build: --build-root /',
    args: build('--iaas', 'aws', '--build-root', '/'),
    message: /--build-root '\/' is a system folder of the build machine; name a folder of stemforge's own/,
  },
  { what: 'build: --build-root /usr/', args: build('--iaas', 'aws', '--build-root', '/usr/'), message: /--build-root '\/usr\/' is a system folder/ },
  {
    what: 'build: --build-root with ..',
    args: build('--iaas', 'aws', '--build-root', '/srv/x/../..'),
    message: /--build-root '\/srv\/x\/\.\.\/\.\.' has a '\.\.' component/,
  },
  {
    what: 'build: --cpus beyond safe integers',
    args: build('--iaas', 'aws', '--cpus', '99999999999999999999'),
    message: /--cpus takes a whole number from 1 to 256, not '99999999999999999999'$/,
  },
  {
    what: 'build: --memory below the minimum',
    args: build('--iaas', 'aws', '--memory', '1'),
    message: /--memory takes a whole number from 2048 to \d+, not '1'$/,
  },
  {
    what: 'build: --version with a 24-digit part',
    args: build('--iaas', 'aws', '--version', `1.${'1'.repeat(24)}`),
    message: /--version '1\.1{24}': the part '1{24}' is longer than 9 digits/,
  },
  {
    what: 'os-image: --monit-file a folder',
    args: osImage('--out', 'x.tgz', '--monit-file', 'a-folder'),
    message: /--monit-file a-folder: is a folder, not a file; name a monit source tarball/,
  },
  { what: 'os-image: --out a folder', args: osImage('--out', 'a-folder'), message: /--out a-folder is a folder; name the file to write/ },
  { what: 'os-image: no --out', args: osImage(), message: /--out FILE is required: where to write the OS image/ },
  {
    what: 'os-image: --arch unknown',
    args: osImage('--out', 'x.tgz', '--arch', 'riscv64'),
    message: /unknown architecture 'riscv64'; valid choices: amd64, arm64/,
  },
  {
    what: 'os-image: --arch a line is not built for',
    args: ['os-image', '--os', 'ubuntu-jammy', '--machine', nowhere, '--out', 'x.tgz', '--arch', 'arm64'],
    message: /ubuntu-jammy is built for amd64 only; arm64 OS images: debian-bookworm/,
  },
  {
    what: 'os-image: --resume-from an unknown stage',
    args: osImage('--out', 'x.tgz', '--resume-from', 'nosuch'),
    message: /unknown stage for --resume-from 'nosuch'; valid choices: base_debootstrap, /,
  },
  { what: 'os-image: --package-cache /var', args: osImage('--out', 'x.tgz', '--package-cache', '/var'), message: /--package-cache '\/var' is a system folder/ },
  {
    what: 'stemcell: --os-image that is not there (with --os)',
    args: stemcell('--iaas', 'aws', '--os', 'debian-bookworm', '--os-image', 'nope.tgz'),
    message: /--os-image nope\.tgz: no such file/,
  },
  {
    what: 'stemcell: a disk format the infrastructure lacks',
    args: stemcell('--iaas', 'aws', '--os', 'debian-bookworm', '--os-image', 'os-image.tgz', '--disk-format', 'qcow2'),
    message: /unknown disk format for aws 'qcow2'; valid choices: raw$/,
  },
  {
    what: 'stemcell: an infrastructure twice',
    args: stemcell('--iaas', 'openstack,openstack', '--os', 'debian-bookworm', '--os-image', 'os-image.tgz'),
    message: /--iaas names an infrastructure twice/,
  },
  {
    what: 'stemcell: --until an unknown stage',
    args: stemcell('--iaas', 'aws', '--os', 'debian-bookworm', '--os-image', 'os-image.tgz', '--until', 'nosuch'),
    message: /unknown stage for --until 'nosuch'/,
  },
  {
    what: 'stemcell: --agent-file missing',
    args: stemcell('--iaas', 'aws', '--os', 'debian-bookworm', '--os-image', 'os-image.tgz', '--agent-file', 'no-agent'),
    message: /--agent-file no-agent: no such file/,
  },
  {
    what: 'stemcell: --out an existing file',
    args: stemcell('--iaas', 'aws', '--os', 'debian-bookworm', '--os-image', 'os-image.tgz', '--out', 'a-file'),
    message: /--out a-file is a file, not a folder/,
  },
];

describe('probes: bad input is refused alike by the dry run and the run, before anything is written', () => {
  for (const probe of probes) {
    it(probe.what, () => {
      for (const args of [[...probe.args, '--dry-run'], probe.args]) {
        const r = stemforge(args);
        const lines = r.stderr.trim().split('\n');
        assert.equal(r.code, 2, `${args.join(' ')}\n${r.stderr}`);
        assert.equal(lines.length, 1, `one line: ${r.stderr}`);
        assert.match(lines[0]!, /^stemforge: error: /);
        assert.match(lines[0]!, probe.message);
        assert.equal(r.stdout, '', 'no plan printed');
        assert.deepEqual(written(), [], `${args.join(' ')} wrote nothing`);
      }
      assert.equal(readFileSync(join(work, 'a-file'), 'utf8'), 'not a folder');
    });
  }

  it("build: a counter's proposal beyond 9 digits a part is refused as --version would be", () => {
    const config = join(home, 'config');
    const set = spawnSync(process.execPath, [cli, 'version', 'set', 'debian-bookworm', 'aws', '1.999999999'], { cwd: work, env: userEnv(), encoding: 'utf8' });
    assert.equal(set.status, 0, set.stderr);
    const settings = readFileSync(join(config, 'settings.json'), 'utf8');
    try {
      for (const args of [build('--iaas', 'aws', '--dry-run'), build('--iaas', 'aws')]) {
        const r = stemforge(args);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /^stemforge: error: --version '1\.1000000000': the part '1000000000' is longer than 9 digits/);
        assert.equal(readFileSync(join(config, 'settings.json'), 'utf8'), settings, 'the counter is as it was');
      }
    } finally {
      rmSync(config, { recursive: true, force: true });
    }
  });

  it('stemcell --dry-run with --os plans without an OS image; the run needs one', () => {
    const plan = stemforge(stemcell('--iaas', 'aws', '--os', 'debian-bookworm', '--dry-run', '--json'));
    assert.equal(plan.code, 0, plan.stderr);
    const parsed = JSON.parse(plan.stdout) as { os: string; osImage: string | null; stemcells: { infrastructure: string }[] };
    assert.equal(parsed.os, 'debian-bookworm');
    assert.equal(parsed.osImage, null);
    assert.deepEqual(
      parsed.stemcells.map((s) => s.infrastructure),
      ['aws'],
    );
    const run = stemforge(stemcell('--iaas', 'aws', '--os', 'debian-bookworm'));
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /^stemforge: error: missing --os-image FILE/);
    const neither = stemforge(stemcell('--iaas', 'aws', '--dry-run'));
    assert.equal(neither.code, 2);
    assert.match(neither.stderr, /missing --os-image FILE: .*a dry run may name --os instead/);
    assert.deepEqual(written(), []);
  });

  it('a valid dry run passes the same checks and prints a no-questions line that passes them too', () => {
    const r = stemforge(build('--iaas', 'aws', '--cache-dir', join(home, 'cache dir'), '--mirror', 'http://mirror.invalid/debian', '--dry-run', '--json'));
    assert.equal(r.code, 0, r.stderr);
    const { commandLine } = JSON.parse(r.stdout) as { commandLine: string };
    assert.match(commandLine, /--cache-dir '[^']*cache dir' --mirror http:\/\/mirror\.invalid\/debian/);
    const again = spawnSync('bash', ['-c', `${commandLine.replace(/^stemforge /, `${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} `)} --dry-run`], {
      cwd: work,
      env: userEnv(),
      encoding: 'utf8',
    });
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(written(), []);
  });
});
