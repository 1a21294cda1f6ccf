// The stage library's archive choice (resolve_mirror, resolve_security_mirror) and the deb822
// sources base_apt writes, run in real bash with the settings a stage would have.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { packageRoot } from '../../src/util/paths.js';

const lib = join(packageRoot, 'stages', 'lib');

function bash(vars: Record<string, string>, script: string): { code: number; out: string; err: string } {
  const chroot = mkdtempSync(join(tmpdir(), 'sf-apt-'));
  try {
    const assigns = Object.entries({ stage_name: 'base_apt', chroot, ...vars })
      .map(([k, v]) => `${k}='${v}'`)
      .join('\n');
    const r = spawnSync('bash', ['-euo', 'pipefail', '-c', `${assigns}\nsource '${lib}/helpers.bash'\nsource '${lib}/apt-sources.bash'\n${script}`], {
      encoding: 'utf8',
    });
    return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
  } finally {
    rmSync(chroot, { recursive: true, force: true });
  }
}

const jammy = {
  os_name: 'ubuntu-jammy',
  os_distro: 'ubuntu',
  os_suite: 'jammy',
  os_arch: 'amd64',
  os_components: 'main universe multiverse',
  os_keyring: '/usr/share/keyrings/none.gpg',
  debootstrap_script: 'gutsy',
};
const bookworm = {
  os_name: 'debian-bookworm',
  os_distro: 'debian',
  os_suite: 'bookworm',
  os_arch: 'amd64',
  os_components: 'main',
  os_keyring: '/usr/share/keyrings/none.gpg',
  debootstrap_script: 'sid',
};

describe('archive choice', () => {
  it('takes --mirror as given, even with BUILD_TIME', () => {
    const r = bash(
      { ...jammy, mirror: 'http://mirror.test/ubuntu', build_time: '20241023T185803Z', snapshot_mirror: 'http://snap.test/ubuntu' },
      'resolve_mirror',
    );
    assert.equal(r.out, 'http://mirror.test/ubuntu\n');
  });

  it('with BUILD_TIME uses the dated snapshot under --snapshot-mirror', () => {
    const r = bash({ ...jammy, mirror: '', build_time: '20241023T185803Z', snapshot_mirror: 'http://snap.test/ubuntu/' }, 'resolve_mirror');
    assert.equal(r.out, 'http://snap.test/ubuntu/20241023T185803Z\n');
  });

  it('with BUILD_TIME but no snapshot archive names the flags to pass', () => {
    const r = bash({ ...jammy, mirror: '', build_time: '20241023T185803Z', snapshot_mirror: '' }, 'resolve_mirror');
    assert.equal(r.code, 1);
    assert.match(r.err, /BUILD_TIME=20241023T185803Z .*--snapshot-mirror URL.*--mirror URL/);
  });

  it("takes the security archive from --security-mirror, else Ubuntu's own archive", () => {
    assert.equal(bash({ ...jammy, security_mirror: 'http://sec.test/ubuntu' }, 'resolve_security_mirror http://a.test/ubuntu').out, 'http://sec.test/ubuntu\n');
    assert.equal(bash({ ...jammy, security_mirror: '' }, 'resolve_security_mirror http://a.test/ubuntu').out, 'http://a.test/ubuntu\n');
  });
});

describe('render_apt_sources', () => {
  it('Ubuntu: one stanza with the release, -updates and -security pockets', () => {
    const r = bash(jammy, 'render_apt_sources http://a.test/ubuntu http://a.test/ubuntu no');
    assert.equal(r.code, 0, r.err);
    assert.equal(
      r.out,
      '# Written by stemforge (base_apt).\n\nTypes: deb\nURIs: http://a.test/ubuntu\n' +
        'Suites: jammy jammy-updates jammy-security\nComponents: main universe multiverse\n',
    );
  });

  it('a snapshot archive is marked so its old Release files are accepted', () => {
    const r = bash(jammy, 'render_apt_sources http://snap.test/ubuntu/20241023T185803Z http://snap.test/ubuntu/20241023T185803Z yes');
    assert.match(r.out, /^URIs: http:\/\/snap\.test\/ubuntu\/20241023T185803Z$/m);
    assert.match(r.out, /^Check-Valid-Until: no$/m);
  });

  it('Debian: the archive for release and -updates, the security archive for -security', () => {
    const r = bash(bookworm, 'render_apt_sources http://a.test/debian http://s.test/debian-security no');
    assert.match(r.out, /URIs: http:\/\/a\.test\/debian\nSuites: bookworm bookworm-updates\nComponents: main\n/);
    assert.match(r.out, /URIs: http:\/\/s\.test\/debian-security\nSuites: bookworm-security\nComponents: main\n/);
    assert.doesNotMatch(r.out, /Check-Valid-Until/);
  });

  it('a snapshot security archive dated like the build is marked too', () => {
    const r = bash(
      { ...bookworm, build_time: '20241023T185803Z' },
      'render_apt_sources http://snap.test/debian/20241023T185803Z http://snap.test/debian-security/20241023T185803Z yes',
    );
    assert.equal(r.out.match(/^Check-Valid-Until: no$/gm)?.length, 2, r.out);
  });
});

describe("the security pocket, from the archive by the distribution's layout", () => {
  const security = (vars: Record<string, string>, archive: string) => bash({ ...vars, security_mirror: '' }, `resolve_security_mirror '${archive}'`);

  it('Ubuntu: the archive itself, whatever its shape', () => {
    assert.equal(security(jammy, 'http://m.test/some/where').out, 'http://m.test/some/where\n');
  });

  it('Debian: the sibling path debian-security, for a mirror, a local archive and a dated snapshot', () => {
    assert.equal(security(bookworm, 'http://m.test/pub/debian/').out, 'http://m.test/pub/debian-security\n');
    assert.equal(security(bookworm, 'file:///srv/debian').out, 'file:///srv/debian-security\n');
    assert.equal(security(bookworm, 'http://snap.test/archive/debian/20241023T185803Z').out, 'http://snap.test/archive/debian-security/20241023T185803Z\n');
  });

  it('Debian: an archive of another shape asks for --security-mirror in one line', () => {
    for (const archive of ['http://m.test/mirror', 'http://m.test/debian-ports', 'http://m.test/']) {
      const r = security(bookworm, archive);
      assert.equal(r.code, 1, archive);
      assert.equal(r.out, '');
      assert.match(r.err, /^base_apt: error: cannot tell where the bookworm-security pocket of the archive .* is .*: pass --security-mirror URL\n$/);
    }
  });

  it('--security-mirror wins for both', () => {
    assert.equal(bash({ ...bookworm, security_mirror: 'http://sec.test/x' }, 'resolve_security_mirror http://m.test/mirror').out, 'http://sec.test/x\n');
  });
});
