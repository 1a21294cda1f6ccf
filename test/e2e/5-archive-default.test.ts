// End to end, as root: debian-bookworm builds with no archive flag through a build machine
// whose apt configuration knows no bookworm at all. The build machine is a real sshd on
// loopback started in a private mount namespace, where /etc/apt is a copy whose sources name
// only a loopback archive (a listener that counts requests) and another suite. The build runs
// to base_apt (debootstrap, then apt's update and upgrade from the archive and its security
// pocket) in its own build root and package cache. The chroot's apt sources must name the
// archive the real debootstrap of this machine takes by default and its security pocket, and
// the loopback archive must never have been asked.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runChecked } from '../../src/machine/machine.js';
import { debootstrapDefaultArchive, oracleUnavailable } from '../helpers/debootstrap-oracle.js';
import { buildOverSshUnavailable, connectToSshd, startSshd, type TestSshd } from '../helpers/sshd.js';
import { stemforgeSpawn, type CliResult } from '../helpers/stemcell-cli.js';

const skip = buildOverSshUnavailable() ?? oracleUnavailable();

/** The real CLI as CI runs it, output collected. */
const runCli = (args: string[]): Promise<CliResult> => stemforgeSpawn(args, { CI: 'true' }).done;

const literal = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** A copy of this machine's /etc/apt whose sources name only `archive` with the suite `suite`, in both formats. */
function aptConfigWithout(dir: string, archive: string, suite: string): string {
  const etcApt = join(dir, 'etc-apt');
  cpSync('/etc/apt', etcApt, { recursive: true });
  rmSync(join(etcApt, 'sources.list.d'), { recursive: true, force: true });
  mkdirSync(join(etcApt, 'sources.list.d'));
  writeFileSync(join(etcApt, 'sources.list'), `deb ${archive} ${suite} main\n`);
  writeFileSync(join(etcApt, 'sources.list.d', 'other.sources'), `Types: deb\nURIs: ${archive}\nSuites: ${suite} ${suite}-security\nComponents: main\n`);
  return etcApt;
}

describe('debian-bookworm with no archive flag, on a build machine whose apt knows no bookworm', { skip, timeout: 40 * 60_000 }, () => {
  let scratch: string;
  let sshd: TestSshd;
  let decoy: Server;
  const decoyRequests: string[] = [];
  let decoyUrl: string;
  let etcApt: string;

  before(async () => {
    scratch = mkdtempSync('/var/tmp/stemforge-e2e-archive-');
    decoy = createServer((req, res) => {
      decoyRequests.push(`${req.method} ${req.url}`);
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => decoy.listen(0, '127.0.0.1', r));
    decoyUrl = `http://127.0.0.1:${(decoy.address() as AddressInfo).port}/debian`;
    etcApt = aptConfigWithout(scratch, decoyUrl, 'trixie');
    // unshare without --fork execs its command: the sshd is the spawned process, and every login is in its namespace
    sshd = await startSshd({
      wrap: ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount --bind "$1" /etc/apt && shift && exec "$@"', 'sh', etcApt],
    });
  });

  after(async () => {
    await sshd?.stop();
    await new Promise((r) => decoy?.close(r));
    if (scratch) execFileSync('rm', ['-rf', '--one-file-system', scratch]);
  });

  it("the build machine's logins see only the loopback archive and another suite", async () => {
    const machine = await connectToSshd(sshd);
    try {
      const seen = await runChecked(machine, ['sh', '-c', 'cat /etc/apt/sources.list /etc/apt/sources.list.d/*']);
      assert.match(seen, new RegExp(`^deb ${decoyUrl} trixie main$`, 'm'));
      assert.doesNotMatch(seen, /bookworm/);
    } finally {
      await machine.close();
    }
    const mountPoints = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4]);
    assert.ok(!mountPoints.includes('/etc/apt'), 'this machine itself keeps its apt configuration');
  });

  it('builds to base_apt from the archive debootstrap uses by default and its security pocket, never asking the apt configuration', async () => {
    const buildRoot = join(scratch, 'build-root');
    const started = Date.now();
    const run = await runCli([
      'os-image',
      '--os',
      'debian-bookworm',
      '--machine',
      sshd.machineUrl,
      '--identity',
      sshd.clientKey,
      '--known-hosts',
      sshd.knownHosts,
      '--build-root',
      buildRoot,
      '--package-cache',
      join(scratch, 'debs'),
      '--no-cache',
      '--no-layers',
      '--until',
      'base_apt',
      '--json',
    ]);
    console.log(`# build to base_apt: ${((Date.now() - started) / 1000).toFixed(0)} s`);
    assert.equal(run.code, 0, run.stderr.slice(-4000));
    const stages = (JSON.parse(run.stdout) as { stages: { stage: string; step: string }[] }).stages.filter((s) => s.step === 'apply').map((s) => s.stage);
    assert.deepEqual(stages, ['base_debootstrap', 'base_debian_firstboot', 'base_apt']);

    const archive = debootstrapDefaultArchive({ suite: 'bookworm', script: 'sid' });
    const security = new URL('../debian-security', `${archive}/`).href.replace(/\/$/, '');
    assert.notEqual(security, archive);
    const sources = readFileSync(
      join(buildRoot, 'builds', 'os-image-debian-bookworm', 'work', 'chroot', 'etc', 'apt', 'sources.list.d', 'debian.sources'),
      'utf8',
    );
    assert.match(sources, new RegExp(`^URIs: ${literal(archive)}\nSuites: bookworm bookworm-updates\n`, 'm'));
    assert.match(sources, new RegExp(`^URIs: ${literal(security)}\nSuites: bookworm-security\n`, 'm'));
    assert.equal(sources.match(/^URIs: /gm)?.length, 2, sources);
    assert.deepEqual(decoyRequests, [], "the build machine's apt configuration was asked");
    assert.doesNotMatch(sources, /trixie|127\.0\.0\.1/);
  });
});
