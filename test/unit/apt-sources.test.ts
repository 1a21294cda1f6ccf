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
  mirror_policy: 'user',
};
const bookworm = {
  os_name: 'debian-bookworm',
  os_distro: 'debian',
  os_suite: 'bookworm',
  os_arch: 'amd64',
  os_components: 'main',
  os_keyring: '/usr/share/keyrings/none.gpg',
  mirror_policy: 'host-apt',
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

  it('for Ubuntu without any archive asks for --mirror', () => {
    const r = bash({ ...jammy, mirror: '', build_time: '', snapshot_mirror: '' }, 'resolve_mirror');
    assert.equal(r.code, 1);
    assert.match(r.err, /no archive for ubuntu-jammy: pass --mirror URL/);
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

  it('Debian without a security archive has no -security stanza', () => {
    const r = bash(bookworm, 'render_apt_sources http://a.test/debian "" no');
    assert.doesNotMatch(r.out, /security/);
  });
});
