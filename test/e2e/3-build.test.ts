// End to end, as root: `stemforge build --yes` does the whole job through the ssh machine
// (a real sshd on loopback): the doctor's checks, the OS-image phase, the warden stemcell
// (the one cold build of it; the stemcell spec checks it, unpacked), NDJSON events on stdout,
// a run log, the version counter, the artifact cache and the stage layers. The same build again comes from the cache at once; a damaged cached blob is found
// and the stemcell made again from its layers; a second infrastructure reuses the kernel
// layers; a resume from a late stemcell stage reuses the OS image; a blocked doctor check
// stops a build before it touches anything.
// The stage layers of the OS-image phase: the build root is the one of the os-image e2e's cold
// layered build (helpers/os-image-fixture.ts; built here when missing), so `build` reuses every
// OS-image layer and packs an image equal, file by file, to that build's; `os-image` on the
// same build root reuses every layer; after an edit of a late stage only it and the stages
// after it run, and the image differs from the cold one by exactly what the edit adds. The
// stemcell phase starts cold here. The CLI runs from a copy of the checkout, whose stages the
// test may edit.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  symlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findInfrastructure, findOperatingSystem, planStemcell } from '../../src/catalog/planner.js';
import { packageRoot } from '../../src/util/paths.js';
import { layeredBuildRoot, osImageFixture } from '../helpers/os-image-fixture.js';
import { buildOverSshUnavailable, startSshd, type TestSshd } from '../helpers/sshd.js';
import { stemforgeSpawn, type CliResult } from '../helpers/stemcell-cli.js';
import { diffTrees, digestTree } from '../helpers/tree-digest.js';
import { ImageView } from '../spec/image.js';
import { stemcellChecksFor } from '../spec/stemcell-spec.js';

const skip = buildOverSshUnavailable();
const debian = findOperatingSystem('debian-bookworm');
const edited = 'bosh_audit_debian';
// the real agent where CI has it (shared/third-party), as the stemcell e2e: the warden stemcell's spec runs here
const agentFile = process.env.STEMFORGE_TEST_AGENT || join(packageRoot, 'test', 'fixtures', 'test-agent.sh');
const wardenChecks = stemcellChecksFor(
  findInfrastructure('warden'),
  planStemcell({ os: debian.name, iaas: 'warden' }).phases.flatMap((p) => p.stages),
);
const wardenExamples = new Set(wardenChecks.flatMap(({ check }) => check.covers ?? []));

/**
 * What differs between two independent builds by nature: logs, salted password hashes,
 * backups, caches with time stamps, and what packages generate at random when installed
 * (openssh-server's host keys, which the stemcell phase removes; nvme-cli's host id).
 */
function differsBetweenBuilds(path: string): boolean {
  return (
    /^var\/log\//.test(path) ||
    /^etc\/(shadow|gshadow)-?$/.test(path) ||
    /^etc\/(passwd|group)-$/.test(path) ||
    /-old$/.test(path) ||
    path === 'var/cache/ldconfig/aux-cache' ||
    /^etc\/ssh\/ssh_host_[a-z0-9]+_key(\.pub)?$/.test(path) ||
    /^etc\/nvme\/host(id|nqn)$/.test(path)
  );
}

interface Event {
  type: string;
  [key: string]: unknown;
}

describe('stemforge build --yes (debian-bookworm, warden, over ssh)', { skip, timeout: 40 * 60_000 }, () => {
  let sshd: TestSshd;
  let scratch: string;
  let env: NodeJS.ProcessEnv = {};
  let machine: string[];
  let common: string[];
  let stemcell: string;
  let checkout: string;
  let osImage: string;
  let fixture: string;
  let buildRoot: string;

  const runCli = (args: string[]): Promise<CliResult> => stemforgeSpawn(args, env, join(checkout, 'bin', 'stemforge.js')).done;
  const unpack = (image: string, name: string): string => {
    const dir = join(scratch, `unpacked-${name}`);
    mkdirSync(dir);
    execFileSync('tar', ['-xzf', image, '-C', dir, '--numeric-owner']);
    return dir;
  };
  const applied = (r: CliResult): string[] =>
    (JSON.parse(r.stdout) as { stages: { stage: string; step: string }[] }).stages.filter((s) => s.step === 'apply').map((s) => s.stage);
  const events = (run: CliResult): Event[] =>
    run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Event);

  before(async () => {
    fixture = await osImageFixture();
    buildRoot = await layeredBuildRoot();
    sshd = await startSshd();
    scratch = mkdtempSync('/var/tmp/stemforge-build-e2e-');
    // a copy of the checkout whose stages the test may edit; node_modules is shared
    checkout = join(scratch, 'checkout');
    mkdirSync(checkout);
    for (const name of ['bin', 'dist', 'stages', 'templates', 'package.json']) cpSync(join(packageRoot, name), join(checkout, name), { recursive: true });
    symlinkSync(join(packageRoot, 'node_modules'), join(checkout, 'node_modules'));
    // a git checkout, as a user's: the stemcell records its commit (system_parameters, checked by the warden spec)
    const git = (...args: string[]): void =>
      void execFileSync('git', ['-C', checkout, '-c', 'user.name=stemforge-e2e', '-c', 'user.email=e2e@stemforge.invalid', ...args]);
    git('init', '-q');
    git('add', '-A');
    git('commit', '-q', '-m', 'the checkout under test');
    // settings, cache and logs of this test only; CI set: nothing may prompt
    env = {
      CI: 'true',
      STEMFORGE_CONFIG_DIR: join(scratch, 'config'),
      XDG_CACHE_HOME: join(scratch, 'cache'),
      XDG_STATE_HOME: join(scratch, 'state'),
    };
    machine = ['--machine', sshd.machineUrl, '--identity', sshd.clientKey, '--known-hosts', sshd.knownHosts, '--build-root', buildRoot];
    common = [...machine, '--agent-file', agentFile, '--skip-blobstore-clis', '--out', join(scratch, 'out')];
  });

  after(async () => {
    await sshd?.stop();
    if (scratch) execFileSync('rm', ['-rf', '--one-file-system', scratch]);
  });

  it('builds the OS image (from the shared layers) and the warden stemcell in one run, with events, a run log and the next version', async () => {
    const run = await runCli(['build', '--yes', '--iaas', 'warden', '--os', 'debian-bookworm', '--json', ...common]);
    assert.equal(run.code, 0, run.stderr.slice(-5000));
    const all = events(run);
    const tasks = all.filter((e) => e.type === 'task');
    const started = tasks.filter((e) => e.state === 'started').map((e) => String(e.title));
    const expected = [
      'Check this machine',
      'Connect to ssh://',
      'Check root or password-less sudo',
      'Lock the build root',
      'Sync builder to',
      'Check free space',
      'OS image debian-bookworm',
      'Store the OS image in the cache',
      'Send the OS image and the agent',
      'bosh-warden-boshlite-debian-bookworm 0.1',
      'Store the stemcells in the cache',
    ];
    assert.equal(started.length, expected.length, started.join('\n'));
    expected.forEach((prefix, i) => assert.ok(started[i]!.startsWith(prefix), `${started[i]} starts with ${prefix}`));
    assert.ok(tasks.every((e) => e.state !== 'failed'));
    assert.deepEqual(
      all.filter((e) => e.type === 'cache').map((e) => [e.artifact, e.hit]),
      [['os-image', false]],
      'an empty cache: the OS image misses, the stemcell is not looked up (its OS image is new)',
    );
    const stages = all.filter((e) => e.type === 'stage' && e.state === 'completed');
    assert.ok(
      stages.some((e) => e.group === 'debian-bookworm' && e.stage === 'base_debootstrap'),
      'OS-image stages are events',
    );
    assert.deepEqual(
      stages.filter((e) => e.group === 'debian-bookworm' && e.step === 'apply').map((e) => e.stage),
      [],
      'no OS-image stage was applied: their layers were reused',
    );
    assert.match(run.stderr, /base_debootstrap[^\n]*layer reused/);
    assert.ok(
      stages.some((e) => e.group === 'warden' && e.stage === 'prepare_files_image_stemcell'),
      'stemcell stages are events',
    );
    const artifacts = all.filter((e) => e.type === 'artifact');
    assert.deepEqual(
      artifacts.map((e) => e.kind),
      ['os-image', 'stemcell'],
    );
    const result = all.at(-1)!;
    assert.equal(result.type, 'result');
    assert.equal(result.ok, true);
    assert.equal(result.version, '0.1', 'a fresh counter proposes 0.1');
    stemcell = String(artifacts[1]!.path);
    assert.match(stemcell, /\/out\/bosh-stemcell-0\.1-warden-boshlite-debian-bookworm\.tgz$/);
    assert.ok(existsSync(stemcell));
    osImage = join(scratch, 'out', 'os-image-debian-bookworm.tgz');
    assert.ok(existsSync(osImage), 'the OS image is kept beside the stemcells');
    assert.match(run.stderr, /27 of 27 stage layers reused/, 'every OS-image layer of the os-image e2e reused');
    // the version is quoted in stemcell.MF and inspect agrees with everything else
    const mf = execFileSync('tar', ['-xzOf', stemcell, 'stemcell.MF']).toString();
    assert.match(mf, /^version: "0\.1"$/m);
    const inspect = await runCli(['inspect', stemcell, '--json']);
    assert.equal(inspect.code, 0, inspect.stderr);
    // the run log holds the same events, 0600
    const runLog = String(result.runLog);
    assert.equal(statSync(runLog).mode & 0o777, 0o600);
    assert.match(readFileSync(runLog, 'utf8'), /"type":"artifact","kind":"stemcell"/);
    // the UI went to stderr, the duration report too
    assert.match(run.stderr, /Stage duration report/);
    const versions = await runCli(['version', 'list', '--json']);
    assert.deepEqual(JSON.parse(versions.stdout), [{ os: 'debian-bookworm', iaas: 'warden', last: '0.1', next: '0.2' }]);
  });

  // The warden stemcell's disk is a tarball of its root: the spec checks the stemcell itself, unpacked
  // into the layout of a build folder (work/chroot, work/stemcell and the build's settings.bash).
  describe(`warden: the stemcell spec on the unpacked stemcell: ${wardenChecks.length} checks, ${wardenExamples.size} reference examples`, () => {
    let chroot: string;
    before(() => {
      const build = join(scratch, 'warden-build');
      chroot = join(build, 'work', 'chroot');
      mkdirSync(chroot, { recursive: true });
      mkdirSync(join(build, 'work', 'stemcell'));
      execFileSync('tar', ['-xzf', stemcell, '-C', join(build, 'work', 'stemcell')]);
      execFileSync('tar', ['-xzf', join(build, 'work', 'stemcell', 'image'), '-C', chroot, '--numeric-owner']);
      cpSync(join(buildRoot, 'builds', `stemcell-${debian.name}-warden-files`, 'settings.bash'), join(build, 'settings.bash'));
    });
    for (const { stage, check } of wardenChecks) {
      it(`${stage}: ${check.title}`, () => check.run(new ImageView(chroot, debian)));
    }
  });

  const cachedStemcell = async (): Promise<{ digest: string; key: string }> => {
    const ls = await runCli(['cache', 'ls', '--json']);
    const entry = (JSON.parse(ls.stdout) as { kind: string; label: string; digest: string; key: string }[]).find(
      (e) => e.kind === 'stemcell' && e.label.includes('warden'),
    );
    assert.ok(entry, ls.stdout);
    return entry;
  };

  it('builds the same again from the cache at once: no machine, no stage', async () => {
    const run = await runCli(['build', '--yes', '--iaas', 'warden', '--os', 'debian-bookworm', '--version', '0.1', '--json', ...common]);
    assert.equal(run.code, 0, run.stderr.slice(-5000));
    const all = events(run);
    assert.deepEqual(
      all.filter((e) => e.type === 'cache').map((e) => [e.artifact, e.hit]),
      [
        ['os-image', true],
        ['stemcell', true],
      ],
    );
    assert.deepEqual(
      all.filter((e) => e.type === 'task' && e.state === 'started'),
      [],
      'no task ran: not even the doctor or a connection',
    );
    assert.deepEqual(
      all.filter((e) => e.type === 'stage'),
      [],
    );
    const result = all.at(-1)!;
    assert.equal(result.ok, true);
    const [built] = result.stemcells as { out: string; sha256: string }[];
    assert.equal(built!.out, stemcell);
    assert.equal(built!.sha256, (await cachedStemcell()).digest);
  });

  it('a flipped byte in a cached blob is found on use, and the stemcell is made again from its layers', async () => {
    const { digest } = await cachedStemcell();
    const blob = join(scratch, 'cache', 'stemforge', 'blobs', 'sha256', digest.slice(0, 2), digest.slice(2));
    chmodSync(blob, 0o644);
    const fd = openSync(blob, 'r+');
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, 4096);
    writeSync(fd, Buffer.from([byte[0]! ^ 0x01]), 0, 1, 4096);
    closeSync(fd);
    const run = await runCli(['build', '--yes', '--iaas', 'warden', '--os', 'debian-bookworm', '--version', '0.1', '--skip-doctor', '--json', ...common]);
    assert.equal(run.code, 0, run.stderr.slice(-5000));
    const all = events(run);
    const lookup = all.find((e) => e.type === 'cache' && e.artifact === 'stemcell')!;
    assert.equal(lookup.hit, false);
    assert.match(String((lookup.why as string[])[0]), /dropped: its blob's sha256 is [0-9a-f]{64}, not /);
    assert.deepEqual(
      all.filter((e) => e.type === 'stage' && e.step === 'apply'),
      [],
      'every stage layer was reused: only the packing ran',
    );
    assert.match(run.stderr, /17 of 17 stage layers reused/);
    assert.equal((await cachedStemcell()).digest, (all.at(-1)!.stemcells as { sha256: string }[])[0]!.sha256, 'stored again');
    const verify = await runCli(['cache', 'verify', '--json']);
    assert.equal(verify.code, 0, verify.stdout);
    assert.deepEqual((JSON.parse(verify.stdout) as { corrupt: unknown[] }).corrupt, []);
  });

  it('a second infrastructure from the same OS image reuses the kernel layers', async () => {
    const run = await runCli(['build', '--yes', '--iaas', 'openstack', '--os', 'debian-bookworm', '--version', '0.1', '--skip-doctor', '--json', ...common]);
    assert.equal(run.code, 0, run.stderr.slice(-5000));
    const all = events(run);
    assert.deepEqual(
      all.filter((e) => e.type === 'cache').map((e) => [e.artifact, e.hit]),
      [
        ['os-image', true],
        ['stemcell', false],
      ],
    );
    const ran = all.filter((e) => e.type === 'stage' && e.step === 'apply' && e.state === 'completed').map((e) => e.stage);
    for (const reused of ['untar_base_os_image', 'system_kernel', 'system_kernel_modules'])
      assert.ok(!ran.includes(reused), `${reused} came from warden's layer`);
    assert.equal(ran[0], 'bosh_go_agent', 'the first stage that reads an infrastructure setting (agent.json)');
    const out = String(all.find((e) => e.type === 'artifact' && e.kind === 'stemcell')!.path);
    assert.match(out, /bosh-stemcell-0\.1-openstack-kvm-debian-bookworm\.tgz$/);
    const inspect = await runCli(['inspect', out, '--json']);
    assert.equal(inspect.code, 0, inspect.stderr);
  });

  it('resumes from a late stemcell stage with the OS image of the last build, as the next version', async () => {
    const run = await runCli([
      'build',
      '--yes',
      '--iaas',
      'warden',
      '--os',
      'debian-bookworm',
      '--resume-from',
      'bosh_clean_ssh',
      '--json',
      '--skip-doctor',
      ...common,
    ]);
    assert.equal(run.code, 0, run.stderr.slice(-5000));
    const all = events(run);
    const osTask = all.find((e) => e.type === 'task' && String(e.title).startsWith('OS image'));
    assert.equal(osTask?.state, 'skipped');
    assert.match(String(osTask?.reason), /reusing .*os-image-debian-bookworm\.tgz/);
    const ran = all.filter((e) => e.type === 'stage' && e.step === 'apply' && e.state === 'completed').map((e) => e.stage);
    // on layers a resume starts at the stage asked for, or earlier: system_parameters is the first stage that reads the new version
    assert.deepEqual(ran, [
      'system_parameters',
      'base_warden',
      'bosh_clean',
      'bosh_harden',
      'bosh_clean_ssh',
      'system_initramfs',
      'sbom_create',
      'bosh_package_list',
      'prepare_files_image_stemcell',
    ]);
    assert.equal(all.at(-1)!.version, '0.2');
    assert.ok(existsSync(join(scratch, 'out', 'bosh-stemcell-0.2-warden-boshlite-debian-bookworm.tgz')));
  });

  it('the OS image packed from reused layers equals the one of their cold build, file by file', async () => {
    const cold = digestTree(unpack(fixture, 'fixture'), differsBetweenBuilds);
    const packed = digestTree(unpack(osImage, 'packed'), differsBetweenBuilds);
    assert.ok(cold.size > 20_000, `${cold.size} entries compared`);
    assert.deepEqual(diffTrees(cold, packed), []);
  });

  const osImageRun = (out: string): Promise<CliResult> =>
    runCli(['os-image', '--os', 'debian-bookworm', '--json', '--no-cache', '--out', join(scratch, out), ...machine]);

  it('os-image on the same build root reuses every OS-image layer: no stage runs', async () => {
    const again = await osImageRun('again.tgz');
    assert.equal(again.code, 0, again.stderr.slice(-4000));
    assert.deepEqual(applied(again), [], 'no stage ran');
    assert.match(again.stderr, /27 of 27 stage layers reused/);
  });

  it(`after an edit of ${edited} only it and the stages after it run, and the image is the cold one plus the edit`, async () => {
    appendFileSync(join(checkout, 'stages', edited, 'apply.sh'), 'echo "edited by the layers test" >"$chroot/etc/stemforge-layers-test"\n');
    const incremental = await osImageRun('incremental.tgz');
    assert.equal(incremental.code, 0, incremental.stderr.slice(-4000));
    assert.deepEqual(applied(incremental), debian.osImageStages.slice(debian.osImageStages.indexOf(edited)));
    // the stages before the edit come from the cold build's layers: nothing may differ but the edit
    const cold = digestTree(unpack(osImage, 'cold'), differsBetweenBuilds);
    const after = digestTree(unpack(join(scratch, 'incremental.tgz'), 'incremental'), differsBetweenBuilds);
    assert.deepEqual(diffTrees(cold, after), ['+ etc/stemforge-layers-test']);
  });

  it('stops before touching anything when the doctor finds a blocking issue', async () => {
    // nothing listens on port 1 of loopback: the ssh check fails
    const run = await runCli([
      'build',
      '--yes',
      '--iaas',
      'warden',
      '--os',
      'debian-bookworm',
      ...common.map((a) => (a === sshd.machineUrl ? 'ssh://root@127.0.0.1:1' : a)),
    ]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /this machine cannot build yet/);
    assert.match(run.stderr, /ECONNREFUSED/);
    assert.match(run.stderr, /run log: /);
  });
});
