// End to end, as root: the real CLI builds a debian-bookworm OS image on stage layers through
// the ssh machine (a real sshd on loopback) and an http_proxy on loopback, and the OS-image
// spec checks the unpacked tarball for what every stage promises. This is the one cold build
// of the OS-image phase in the e2e: its image and its layers are kept for the stemcell and
// build e2e (helpers/os-image-fixture.ts). Then, in place (--no-layers): every stage run again
// on the unpacked image changes nothing, BUILD_TIME with a snapshot archive, a failing stage,
// Ctrl-C.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findOperatingSystem } from '../../src/catalog/planner.js';
import { packageRoot } from '../../src/util/paths.js';
import { debootstrapDefaultArchive } from '../helpers/debootstrap-oracle.js';
import { startMirrorProxy, type MirrorProxy } from '../helpers/mirror-proxy.js';
import { freshLayeredBuildRoot, storeOsImageFixture } from '../helpers/os-image-fixture.js';
import { buildOverSshUnavailable, startSshd, type TestSshd } from '../helpers/sshd.js';
import { diffTrees, digestTree } from '../helpers/tree-digest.js';
import { ImageView } from '../spec/image.js';
import { checksFor } from '../spec/os-image-spec.js';
import { mountsBelow } from '../helpers/build-machine.js';

const skip = buildOverSshUnavailable();
const cli = join(packageRoot, 'bin', 'stemforge.js');

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], options: { interruptWhen?: RegExp; env?: Record<string, string> } = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], {
      env: { ...process.env, CI: 'true', NO_COLOR: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (options.interruptWhen && !interrupted && options.interruptWhen.test(stderr)) {
        interrupted = true;
        setTimeout(() => child.kill('SIGINT'), 3000);
      }
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function processesRootedBelow(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (
        cmd.includes(dir) ||
        execFileSync('readlink', [`/proc/${pid}/root`])
          .toString()
          .trim()
          .startsWith(dir)
      )
        found.push(`${pid} ${cmd}`);
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

const debian = findOperatingSystem('debian-bookworm');

/** The security pocket beside the archive this machine's debootstrap takes by default for the line. */
function defaultSecurity(): string {
  const archive = debootstrapDefaultArchive({ suite: debian.suite, script: debian.debootstrapScript });
  return new URL('../debian-security', `${archive}/`).href.replace(/\/$/, '');
}
const buildTime = '20261120T000000Z';

/**
 * What may differ after every stage ran a second time on its own result: logs, the backup
 * copies dpkg, debconf and the shadow tools keep of a file they rewrite, and the password
 * hashes (set again, with a new salt).
 */
function volatileOnRerun(path: string): boolean {
  return (
    /^var\/log\//.test(path) ||
    /^etc\/(shadow|gshadow)$/.test(path) ||
    /^etc\/(passwd|group|shadow|gshadow)-$/.test(path) ||
    /-old$/.test(path) ||
    path === 'var/cache/ldconfig/aux-cache'
  );
}

describe('stemforge os-image (debian-bookworm over ssh)', { skip, timeout: 40 * 60_000 }, () => {
  let sshd: TestSshd;
  let proxy: MirrorProxy;
  let scratch: string;
  let buildRoot: string;
  let chroot: string;
  let image: string;
  let root: string;
  let sshArgs: string[];
  let inPlace: string[];

  before(async () => {
    sshd = await startSshd();
    proxy = await startMirrorProxy();
    scratch = mkdtempSync('/var/tmp/stemforge-e2e-');
    buildRoot = await freshLayeredBuildRoot();
    chroot = join(buildRoot, 'builds', 'os-image-debian-bookworm', 'work', 'chroot');
    image = join(scratch, 'out', 'debian-bookworm.tgz');
    root = join(scratch, 'rootfs');
    // --no-cache: every run here builds (bench/rebuild.ts and the build e2e cover the cache)
    sshArgs = ['--machine', sshd.machineUrl, '--identity', sshd.clientKey, '--known-hosts', sshd.knownHosts, '--build-root', buildRoot, '--no-cache'];
    // the tests after the cold build work in place: they look at the chroot in the build folder, and re-run stages on it
    inPlace = [...sshArgs, '--no-layers'];
  });

  after(async () => {
    await sshd?.stop();
    await proxy?.stop();
    if (scratch) execFileSync('rm', ['-rf', '--one-file-system', scratch]);
  });

  it('builds the whole OS image on new layers through an http_proxy and fetches it with its sha256', async () => {
    const run = await runCli(['os-image', '--os', 'debian-bookworm', ...sshArgs, '--out', image, '--json'], { env: { http_proxy: proxy.url } });
    assert.equal(run.code, 0, run.stderr.slice(-4000));
    const result = JSON.parse(run.stdout) as {
      ok: boolean;
      out: string;
      sha256: string;
      bytes: number;
      skipped: string[];
      stages: { stage: string; step: string }[];
    };
    assert.equal(result.ok, true);
    assert.equal(result.out, image);
    assert.deepEqual(result.skipped, [], 'every stage is written');
    assert.deepEqual(
      result.stages.filter((s) => s.step === 'apply').map((s) => s.stage),
      debian.osImageStages,
    );
    assert.equal(statSync(image).size, result.bytes);
    assert.equal(execFileSync('sha256sum', [image]).toString().split(' ')[0], result.sha256);
    assert.equal(readFileSync(`${image}.sha256`, 'utf8'), `${result.sha256}  debian-bookworm.tgz\n`);
    assert.match(run.stderr, /Stage duration report/);
    assert.match(
      run.stderr,
      new RegExp(`0 of ${debian.osImageStages.length} stage layers reused, running from base_debootstrap`),
      'every stage on a new layer',
    );
    assert.deepEqual(mountsBelow(buildRoot), []);
    // debootstrap (on the build machine) and apt (inside the chroot) both went through the proxy
    assert.match(proxy.log(), /GET http:\/\/\S+\/dists\/bookworm\/(In)?Release 200/);
    assert.match(proxy.log(), /GET http:\/\/\S+\/dists\/bookworm-updates\/InRelease 200/);
    execFileSync('mkdir', ['-p', root]);
    execFileSync('tar', ['-xzf', image, '-C', root, '--numeric-owner']);
    // the stemcell and build e2e start from this image and these layers instead of building their own
    await storeOsImageFixture(image);
  });

  it('archives with ./ entries and numeric root ownership', () => {
    const listing = execFileSync('tar', ['-tvzf', image, '--numeric-owner'], { maxBuffer: 512 * 1024 * 1024 })
      .toString()
      .split('\n')
      .filter((l) => l);
    assert.ok(listing.length > 5000, `${listing.length} entries`);
    assert.ok(listing.every((l) => / \.\//.test(l)));
    assert.match(
      listing.find((l) => l.endsWith(' ./etc/shadow'))!,
      /^---------- 0\/0 /,
    );
  });

  const osChecks = checksFor(debian);
  const examples = new Set(osChecks.flatMap(({ check }) => check.covers ?? []));
  describe(`OS-image spec on the unpacked tarball: ${osChecks.length} checks, ${examples.size} reference examples`, () => {
    for (const { stage, check } of osChecks) {
      it(`${stage}: ${check.title}`, () => check.run(new ImageView(root, debian)));
    }
  });

  it('runs every stage again in place on the layered image, and nothing changes: in place and on layers agree, and the stages are idempotent', async () => {
    // the layered build leaves no work folder behind: make the one an in-place build would have left, the image's
    // tree and base_debootstrap's marker beside it (from its layer), so that the stage sees its own chroot again
    execFileSync('mkdir', ['-p', chroot]);
    execFileSync('tar', ['-xzf', image, '-C', chroot, '--numeric-owner']);
    const layersDir = join(buildRoot, 'layers');
    const markers = readdirSync(layersDir)
      .map((key) => join(layersDir, key, 'upper', 'base_debootstrap.done'))
      .filter((f) => existsSync(f));
    assert.equal(markers.length, 1, markers.join(', '));
    copyFileSync(markers[0]!, join(chroot, '..', 'base_debootstrap.done'));
    const before = digestTree(chroot);
    const run = await runCli([
      'os-image',
      '--os',
      'debian-bookworm',
      ...inPlace,
      '--out',
      join(scratch, 'out', 'rerun.tgz'),
      '--resume-from',
      'base_debootstrap',
      '--json',
    ]);
    assert.equal(run.code, 0, run.stderr.slice(-4000));
    const stages = (JSON.parse(run.stdout) as { stages: { stage: string; step: string }[] }).stages.filter((s) => s.step === 'apply').map((s) => s.stage);
    assert.deepEqual(stages, debian.osImageStages);
    const changed = diffTrees(before, digestTree(chroot)).filter((d) => !volatileOnRerun(d.slice(2).split(':')[0]!));
    assert.deepEqual(changed, []);
  });

  it('BUILD_TIME points apt at the dated snapshot under --snapshot-mirror (a stand-in snapshot archive)', async () => {
    const run = await runCli(
      // the stand-in's paths are not Debian's, so the security pocket is named: the default one, not dated
      [
        'os-image',
        '--os',
        'debian-bookworm',
        ...inPlace,
        '--resume-from',
        'base_apt',
        '--until',
        'base_apt',
        '--snapshot-mirror',
        proxy.url,
        '--security-mirror',
        defaultSecurity(),
        '--json',
      ],
      { env: { BUILD_TIME: buildTime } },
    );
    assert.equal(run.code, 0, run.stderr.slice(-4000));
    const sources = readFileSync(join(chroot, 'etc/apt/sources.list.d/debian.sources'), 'utf8');
    assert.match(sources, new RegExp(`^URIs: ${proxy.url}/${buildTime}$`, 'm'));
    assert.match(sources, /^Check-Valid-Until: no$/m);
    assert.match(proxy.log(), new RegExp(`GET /${buildTime}/dists/bookworm-updates/InRelease 200`));
  });

  it('a failing stage prints its log tail, the log path and the resume command, and leaves no mount', async () => {
    const run = await runCli([
      'os-image',
      '--os',
      'debian-bookworm',
      ...inPlace,
      '--out',
      join(scratch, 'out', 'failed.tgz'),
      '--mirror',
      'http://127.0.0.1:9/debian',
    ]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /stage base_debootstrap failed in apply\.sh with exit code 1/);
    assert.match(run.stderr, /--- last \d+ lines of .*base_debootstrap\.apply\.log ---/);
    assert.match(run.stderr, /^log: {4}\/.*base_debootstrap\.apply\.log$/m);
    const resume = run.stderr.match(/^resume: (.*)$/m)?.[1];
    assert.ok(resume?.startsWith('stemforge os-image --os debian-bookworm --machine ssh://'), resume);
    assert.ok(resume!.endsWith('--resume-from base_debootstrap'));
    assert.deepEqual(mountsBelow(buildRoot), []);
  });

  it('Ctrl-C during debootstrap stops it, releases mounts and exits 130', async () => {
    const run = await runCli(['os-image', '--os', 'debian-bookworm', ...inPlace, '--out', join(scratch, 'out', 'interrupted.tgz')], {
      interruptWhen: /base_debootstrap: debootstrap /,
    });
    assert.equal(run.code, 130, run.stderr.slice(-3000));
    assert.match(run.stderr, /interrupted/);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(mountsBelow(buildRoot), []);
    assert.deepEqual(processesRootedBelow(join(buildRoot, 'builds')), []);
  });
});
