// End to end, as root: `stemforge build --yes` does the whole job through the ssh machine
// (a real sshd on loopback): the doctor's checks, the OS-image phase, the warden stemcell,
// NDJSON events on stdout, a run log, and the version counter. Then a resume from a late
// stemcell stage reuses the OS image the first build left, and a blocked doctor check stops
// a build before it touches anything.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { packageRoot } from '../../src/util/paths.js';
import { buildOverSshUnavailable, startSshd, type TestSshd } from '../helpers/sshd.js';
import { stemforgeSpawn, type CliResult } from '../helpers/stemcell-cli.js';

const skip = buildOverSshUnavailable();

interface Event {
  type: string;
  [key: string]: unknown;
}

describe('stemforge build --yes (debian-bookworm, warden, over ssh)', { skip, timeout: 40 * 60_000 }, () => {
  let sshd: TestSshd;
  let scratch: string;
  let env: NodeJS.ProcessEnv = {};
  let common: string[];
  let stemcell: string;

  const runCli = (args: string[]): Promise<CliResult> => stemforgeSpawn(args, env).done;
  const events = (run: CliResult): Event[] => run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Event);

  before(async () => {
    sshd = await startSshd();
    scratch = mkdtempSync('/var/tmp/stemforge-build-e2e-');
    // settings, cache and logs of this test only; CI set: nothing may prompt
    env = {
      CI: 'true',
      STEMFORGE_CONFIG_DIR: join(scratch, 'config'), XDG_CACHE_HOME: join(scratch, 'cache'), XDG_STATE_HOME: join(scratch, 'state'),
    };
    common = ['--machine', sshd.machineUrl, '--identity', sshd.clientKey, '--known-hosts', sshd.knownHosts, '--build-root', join(scratch, 'build-root'),
      '--agent-file', join(packageRoot, 'test', 'fixtures', 'test-agent.sh'), '--skip-blobstore-clis', '--out', join(scratch, 'out')];
  });

  after(async () => {
    await sshd?.stop();
    if (scratch) execFileSync('rm', ['-rf', '--one-file-system', scratch]);
  });

  it('builds the OS image and the warden stemcell in one run, with events, a run log and the next version', async () => {
    const run = await runCli(['build', '--yes', '--iaas', 'warden', '--os', 'debian-bookworm', '--json', ...common]);
    assert.equal(run.code, 0, run.stderr.slice(-5000));
    const all = events(run);
    const tasks = all.filter((e) => e.type === 'task');
    const started = tasks.filter((e) => e.state === 'started').map((e) => String(e.title));
    const expected = ['Check this machine', 'Connect to ssh://', 'Check root or password-less sudo', 'Sync builder to', 'OS image debian-bookworm',
      'Send the OS image and the agent', 'bosh-warden-boshlite-debian-bookworm 0.1'];
    assert.equal(started.length, expected.length, started.join('\n'));
    expected.forEach((prefix, i) => assert.ok(started[i]!.startsWith(prefix), `${started[i]} starts with ${prefix}`));
    assert.ok(tasks.every((e) => e.state !== 'failed'));
    const stages = all.filter((e) => e.type === 'stage' && e.state === 'completed');
    assert.ok(stages.some((e) => e.group === 'debian-bookworm' && e.stage === 'base_debootstrap'), 'OS-image stages are events');
    assert.ok(stages.some((e) => e.group === 'warden' && e.stage === 'prepare_files_image_stemcell'), 'stemcell stages are events');
    const artifacts = all.filter((e) => e.type === 'artifact');
    assert.deepEqual(artifacts.map((e) => e.kind), ['os-image', 'stemcell']);
    const result = all.at(-1)!;
    assert.equal(result.type, 'result');
    assert.equal(result.ok, true);
    assert.equal(result.version, '0.1', 'a fresh counter proposes 0.1');
    stemcell = String(artifacts[1]!.path);
    assert.match(stemcell, /\/out\/bosh-stemcell-0\.1-warden-boshlite-debian-bookworm\.tgz$/);
    assert.ok(existsSync(stemcell));
    assert.ok(existsSync(join(scratch, 'out', 'os-image-debian-bookworm.tgz')), 'the OS image is kept beside the stemcells');
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

  it('resumes from a late stemcell stage with the OS image of the last build, as the next version', async () => {
    const run = await runCli(['build', '--yes', '--iaas', 'warden', '--os', 'debian-bookworm', '--resume-from', 'bosh_clean_ssh', '--json', '--skip-doctor', ...common]);
    assert.equal(run.code, 0, run.stderr.slice(-5000));
    const all = events(run);
    const osTask = all.find((e) => e.type === 'task' && String(e.title).startsWith('OS image'));
    assert.equal(osTask?.state, 'skipped');
    assert.match(String(osTask?.reason), /reusing .*os-image-debian-bookworm\.tgz/);
    const ran = all.filter((e) => e.type === 'stage' && e.step === 'apply' && e.state === 'completed').map((e) => e.stage);
    assert.deepEqual(ran, ['bosh_clean_ssh', 'sbom_create', 'bosh_package_list', 'prepare_files_image_stemcell']);
    assert.equal(all.at(-1)!.version, '0.2');
    assert.ok(existsSync(join(scratch, 'out', 'bosh-stemcell-0.2-warden-boshlite-debian-bookworm.tgz')));
  });

  it('stops before touching anything when the doctor finds a blocking issue', async () => {
    // nothing listens on port 1 of loopback: the ssh check fails
    const run = await runCli(['build', '--yes', '--iaas', 'warden', '--os', 'debian-bookworm', ...common.map((a) => (a === sshd.machineUrl ? 'ssh://root@127.0.0.1:1' : a))]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /this machine cannot build yet/);
    assert.match(run.stderr, /ECONNREFUSED/);
    assert.match(run.stderr, /run log: /);
  });
});
