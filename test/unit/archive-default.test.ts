// With no archive flag, every OS line builds from the archive debootstrap itself uses for its
// suite. The real stage scripts (base_debootstrap's and base_apt's config.sh, base_debootstrap's
// apply.sh) run against debootstrap folders made here: copies of this machine's scripts with and
// without the suites' own scripts, and a FAKE debootstrap program (a stand-in that records its
// arguments and bootstraps nothing). What they resolve is compared with what the real
// debootstrap takes when given no mirror (helpers/debootstrap-oracle.ts).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findOperatingSystem } from '../../src/catalog/planner.js';
import { osImageSettings, renderSettings } from '../../src/pipeline/settings-file.js';
import { packageRoot } from '../../src/util/paths.js';
import { debootstrapDefaultArchive, oracleUnavailable, systemDebootstrap, systemDebootstrapDir } from '../helpers/debootstrap-oracle.js';

const skip = oracleUnavailable();
const lines = ['ubuntu-jammy', 'ubuntu-noble', 'debian-bookworm'] as const;

interface Debootstrap {
  name: string;
  /** DEBOOTSTRAP_DIR */
  dir: string;
  /** the folder with the FAKE debootstrap program */
  bin: string;
  /** where the fake writes its arguments */
  argv: string;
  /** the real program with this machine's DEF_MIRROR or the one given, for the oracle */
  program: string;
}

let scratch: string;

/** A copy of this machine's debootstrap scripts, changed as asked, and a fake program whose built-in default archive is this machine's or `defMirror`. */
function debootstrapCopy(name: string, change: { drop?: string[]; link?: Record<string, string>; defMirror?: string } = {}): Debootstrap {
  const root = join(scratch, name);
  mkdirSync(join(root, 'bin'), { recursive: true });
  const dir = join(root, 'share');
  execFileSync('cp', ['-a', systemDebootstrapDir, dir]);
  for (const script of change.drop ?? []) rmSync(join(dir, 'scripts', script), { force: true });
  for (const [from, to] of Object.entries(change.link ?? {})) symlinkSync(to, join(dir, 'scripts', from));
  const real = readFileSync(systemDebootstrap, 'utf8');
  const defLine = change.defMirror ? `DEF_MIRROR="${change.defMirror}"` : real.match(/^DEF_MIRROR=.*$/m)![0];
  const program = join(root, 'debootstrap.real');
  writeFileSync(program, real.replace(/^DEF_MIRROR=.*$/m, defLine), { mode: 0o755 });
  const argv = join(root, 'argv');
  const fake = join(root, 'bin', 'debootstrap');
  writeFileSync(
    fake,
    `#!/bin/sh\n# FAKE debootstrap made by the test: records its arguments, bootstraps nothing\n${defLine}\nprintf '%s\\n' "$@" > '${argv}'\nexit 1\n`,
  );
  chmodSync(fake, 0o755);
  return { name, dir, bin: join(root, 'bin'), argv, program };
}

interface StageRun {
  code: number;
  err: string;
}

function stageEnv(d: Debootstrap): NodeJS.ProcessEnv {
  return { PATH: `${d.bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, LANG: 'C.UTF-8', DEBOOTSTRAP_DIR: d.dir };
}

function runStage(d: Debootstrap, stage: string, script: 'config.sh' | 'apply.sh', arg: string): StageRun {
  const r = spawnSync('bash', [join(packageRoot, 'stages', stage, script), arg], { encoding: 'utf8', env: stageEnv(d) });
  return { code: r.status ?? -1, err: r.stderr };
}

/** A build folder with the settings file stemforge writes for `os`, its keyring a file of the test. */
function buildDir(os: string, extra: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(scratch, `build-${os}-`));
  const keyring = join(dir, 'keyring.gpg');
  writeFileSync(keyring, '');
  const settings = {
    ...osImageSettings({ os: findOperatingSystem(os), stemforgeVersion: '0.1.0', usersPassword: 'pw', packageCacheRoot: join(dir, 'debs'), buildRoot: dir }),
    os_keyring: keyring,
    ...extra,
  };
  writeFileSync(join(dir, 'settings.bash'), renderSettings(settings));
  return dir;
}

/** What a stage's config.sh persisted. */
function persisted(dir: string, stage: string): { mirror: string; chroot_pkg_cache: string; security_uri: string } {
  const out = execFileSync(
    'bash',
    ['-c', `source "$1"; printf '%s\\0' "$mirror" "$chroot_pkg_cache" "\${security_uri:-}"`, 'bash', join(dir, 'stage-settings', `${stage}.bash`)],
    {
      encoding: 'utf8',
    },
  ).split('\0');
  return { mirror: out[0]!, chroot_pkg_cache: out[1]!, security_uri: out[2]! };
}

describe('the default archive: the one debootstrap uses for the suite', { skip }, () => {
  let machines: Debootstrap[];

  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'sf-archive-'));
    machines = [
      debootstrapCopy('this-machine'),
      // an older debootstrap: neither Ubuntu suite has its own script
      debootstrapCopy('no-suite-scripts', { drop: ['jammy', 'noble'] }),
      // a newer one: every suite has its link
      debootstrapCopy('all-suite-scripts', { link: { noble: 'gutsy' } }),
    ];
  });

  after(() => rmSync(scratch, { recursive: true, force: true }));

  for (const line of lines) {
    it(`${line}: the archive and security pocket of its debootstrap script, and the same command line on every debootstrap`, () => {
      const os = findOperatingSystem(line);
      const commandLines = new Set<string>();
      const dir = buildDir(line);
      for (const d of machines) {
        const expected = debootstrapDefaultArchive({ suite: os.suite, script: os.debootstrapScript, debootstrapDir: d.dir, program: d.program });
        const config = runStage(d, 'base_debootstrap', 'config.sh', join(dir, 'settings.bash'));
        assert.equal(config.code, 0, `${d.name}: ${config.err}`);
        const boot = persisted(dir, 'base_debootstrap');
        assert.equal(boot.mirror, expected, d.name);

        const apt = runStage(d, 'base_apt', 'config.sh', join(dir, 'settings.bash'));
        assert.equal(apt.code, 0, `${d.name}: ${apt.err}`);
        const sources = persisted(dir, 'base_apt');
        assert.equal(sources.mirror, expected, d.name);
        if (os.distro === 'ubuntu') assert.equal(sources.security_uri, expected, `${d.name}: Ubuntu's archive carries SUITE-security`);
        else {
          const [archive, security] = [new URL(expected), new URL(sources.security_uri)];
          assert.equal(security.origin, archive.origin, d.name);
          assert.equal(security.pathname, archive.pathname.replace(/\/debian\/?$/, '/debian-security'), d.name);
          assert.notEqual(security.pathname, archive.pathname);
        }

        rmSync(d.argv, { force: true });
        const apply = runStage(d, 'base_debootstrap', 'apply.sh', join(dir, 'work'));
        assert.equal(apply.code, 1, 'the fake debootstrap fails on purpose');
        assert.match(apply.err, new RegExp(`debootstrap of ${os.suite} failed`));
        const argv = readFileSync(d.argv, 'utf8').trimEnd().split('\n');
        assert.deepEqual(argv, [
          '--arch=amd64',
          `--keyring=${join(dir, 'keyring.gpg')}`,
          `--components=${os.components.join(',')}`,
          `--cache-dir=${boot.chroot_pkg_cache}`,
          '--include=locales',
          os.suite,
          join(dir, 'work', 'chroot'),
          expected,
          os.debootstrapScript,
        ]);
        commandLines.add(argv.join(' '));
      }
      assert.equal(commandLines.size, 1, [...commandLines].join('\n'));
    });
  }

  it("takes debootstrap's own default where the script names none (Debian), and the script's where it does (Ubuntu)", () => {
    const d = debootstrapCopy('other-default', { defMirror: 'http://mirror.test/pub/debian' });
    for (const line of lines) {
      const os = findOperatingSystem(line);
      const dir = buildDir(line);
      const config = runStage(d, 'base_apt', 'config.sh', join(dir, 'settings.bash'));
      assert.equal(config.code, 0, config.err);
      const got = persisted(dir, 'base_apt');
      assert.equal(got.mirror, debootstrapDefaultArchive({ suite: os.suite, script: os.debootstrapScript, debootstrapDir: d.dir, program: d.program }), line);
      if (os.distro === 'debian') {
        assert.equal(got.mirror, 'http://mirror.test/pub/debian');
        assert.equal(got.security_uri, 'http://mirror.test/pub/debian-security');
      } else assert.notEqual(got.mirror, 'http://mirror.test/pub/debian');
    }
  });

  it("a debootstrap without the line's script is refused, naming the debootstrap package", () => {
    const d = debootstrapCopy('no-gutsy', { drop: ['gutsy', 'jammy', 'noble'] });
    const dir = buildDir('ubuntu-noble');
    const config = runStage(d, 'base_debootstrap', 'config.sh', join(dir, 'settings.bash'));
    assert.equal(config.code, 1);
    assert.match(
      config.err,
      /^base_debootstrap: error: the build machine's debootstrap has no 'gutsy' script \(.*\), which builds ubuntu-noble: install or upgrade the debootstrap package/m,
    );
    assert.equal(config.err.trim().split('\n').length, 1, config.err);
    const apt = runStage(d, 'base_apt', 'config.sh', join(dir, 'settings.bash'));
    assert.equal(apt.code, 1);
    assert.match(apt.err, /no 'gutsy' script/);
  });

  it('--mirror, then BUILD_TIME with --snapshot-mirror, win over the default', () => {
    const d = machines[0]!;
    const given = buildDir('debian-bookworm', {
      mirror: 'http://mirror.test/debian',
      build_time: '20241023T185803Z',
      snapshot_mirror: 'http://snap.test/archive/debian',
    });
    assert.equal(runStage(d, 'base_apt', 'config.sh', join(given, 'settings.bash')).code, 0);
    assert.equal(persisted(given, 'base_apt').mirror, 'http://mirror.test/debian');
    const dated = buildDir('debian-bookworm', { build_time: '20241023T185803Z', snapshot_mirror: 'http://snap.test/archive/debian' });
    assert.equal(runStage(d, 'base_apt', 'config.sh', join(dated, 'settings.bash')).code, 0);
    assert.deepEqual(persisted(dated, 'base_apt').mirror, 'http://snap.test/archive/debian/20241023T185803Z');
    assert.deepEqual(persisted(dated, 'base_apt').security_uri, 'http://snap.test/archive/debian-security/20241023T185803Z');
  });
});
