// Faults a laptop build meets, for real, on a short stemcell build from the shared OS image
// (`--until`, layered, as a user runs it): stemforge itself `kill -9`ed at random points and
// the same command run again, until one run completes; and the ssh:// machine's connection
// cut mid-stage (its sshd connection processes killed, the stage jobs untouched). Each test
// ends with the build machine checked: no mount and no loop device below the build root, no
// stage job running, no unfinished layer, every layer complete, the chroot's packages whole.
// STEMFORGE_FAULT_SEED and STEMFORGE_FAULT_KILLS choose the kill points (the seed is printed).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it, type TestContext } from 'node:test';
import { planStemcell } from '../../src/catalog/planner.js';
import { packageRoot } from '../../src/util/paths.js';
import { mountsBelow } from '../helpers/build-machine.js';
import { osImageFixture } from '../helpers/os-image-fixture.js';
import { buildOverSshUnavailable, startSshd, type TestSshd } from '../helpers/sshd.js';
import { stemforgeSpawn } from '../helpers/stemcell-cli.js';

const skip = buildOverSshUnavailable();
const agentFile = process.env.STEMFORGE_TEST_AGENT || join(packageRoot, 'test', 'fixtures', 'test-agent.sh');
const lib = join(packageRoot, 'stages', 'lib');

/** A small seeded generator (mulberry32): the kill points of a failed run can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Event {
  type: string;
  stage?: string;
  step?: string;
  state?: string;
  action?: string;
}

/** The run folders under a state folder (XDG_STATE_HOME), oldest first. */
function runDirs(stateHome: string): string[] {
  const runs = join(stateHome, 'stemforge', 'runs');
  return existsSync(runs)
    ? readdirSync(runs)
        .sort()
        .map((r) => join(runs, r))
    : [];
}

/** The events of the newest run log under a state folder (XDG_STATE_HOME). */
function newestRunEvents(stateHome: string): Event[] {
  const newest = runDirs(stateHome).at(-1);
  const log = newest && join(newest, 'run.log');
  if (!log || !existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Event];
      } catch {
        return []; // the line being written
      }
    });
}

/** The apply stage running now by the run log (started, not yet ended), if any. */
function stageRunning(events: Event[]): string | undefined {
  const last = events.filter((e) => e.type === 'stage' && e.step === 'apply').at(-1);
  return last?.state === 'started' ? last.stage : undefined;
}

/** What the build machine is left with below the build root. */
function leftovers(buildRoot: string): { mounts: string[]; loops: string[]; jobs: string[]; parts: string[]; incomplete: string[] } {
  const mounts = mountsBelow(buildRoot);
  const loops = execFileSync('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE'])
    .toString()
    .split('\n')
    .filter((l) => l.includes(buildRoot));
  const builds = join(buildRoot, 'builds');
  const jobs = (existsSync(builds) ? readdirSync(builds) : []).flatMap((b) =>
    execFileSync('bash', [join(lib, 'stage-job.bash'), 'list', join(builds, b, 'jobs')])
      .toString()
      .split('\n')
      .filter((l) => / running /.test(l)),
  );
  const layers = join(buildRoot, 'layers');
  const names = existsSync(layers) ? readdirSync(layers) : [];
  const parts = names.filter((n) => n.endsWith('.part'));
  const incomplete = names.filter((n) => /^[0-9a-f]{16,64}$/.test(n) && !existsSync(join(layers, n, 'meta')));
  return { mounts, loops, jobs, parts, incomplete };
}

/** The chroot the layers make, mounted read-only for `check`, then unmounted. */
function withLayerView<T>(buildRoot: string, keys: string[], check: (chroot: string) => T): T {
  const view = mkdtempSync('/var/tmp/stemforge-fault-view-');
  execFileSync('bash', [join(lib, 'layers.bash'), 'view', join(buildRoot, 'layers'), view, ...keys]);
  try {
    return check(join(view, 'chroot'));
  } finally {
    execFileSync('bash', [join(lib, 'layers.bash'), 'umount', view]);
    execFileSync('rmdir', [view]);
  }
}

/** The complete layers of the plan's stages up to `until`, in stage order (each layer's meta names its stage). */
function layerChain(buildRoot: string, until: string): string[] {
  const layers = join(buildRoot, 'layers');
  const byStage = new Map(
    readdirSync(layers)
      .filter((n) => existsSync(join(layers, n, 'meta')))
      .map((n) => [/^stage=(\S+)$/m.exec(readFileSync(join(layers, n, 'meta'), 'utf8'))?.[1], n] as const),
  );
  const stages = planStemcell({ os: 'debian-bookworm', iaas: 'openstack' }).phases.flatMap((p) => p.stages);
  return stages.slice(0, stages.indexOf(until) + 1).map((stage) => {
    const key = byStage.get(stage);
    assert.ok(key, `no complete layer of ${stage}`);
    return key;
  });
}

/** The chroot's packages are whole: dpkg finds none half-installed or half-configured. */
function assertPackagesWhole(chroot: string): void {
  const audit = spawnSync('chroot', [chroot, 'dpkg', '--audit'], { encoding: 'utf8' });
  assert.equal(audit.status, 0, audit.stderr);
  assert.equal(audit.stdout.trim(), '', `dpkg --audit in the built chroot:\n${audit.stdout}`);
}

describe('faults: a killed stemforge and a cut connection, each survived', { skip, timeout: 30 * 60_000 }, () => {
  let osImage: string;
  let scratch: string;

  before(async () => {
    osImage = await osImageFixture();
    scratch = mkdtempSync('/var/tmp/stemforge-faults-e2e-');
  });
  after(() => {
    if (!scratch) return;
    // a failed test may leave a stage job running and its mounts: stop them before removing
    for (const root of readdirSync(scratch).filter((n) => n.endsWith('-root'))) {
      const builds = join(scratch, root, 'builds');
      for (const build of existsSync(builds) ? readdirSync(builds) : []) {
        for (const job of existsSync(join(builds, build, 'jobs')) ? readdirSync(join(builds, build, 'jobs')) : []) {
          spawnSync('bash', [join(lib, 'stage-job.bash'), 'stop', join(builds, build, 'jobs', job)]);
        }
      }
    }
    spawnSync('bash', [join(lib, 'release-mounts.bash'), scratch]);
    execFileSync('rm', ['-rf', '--one-file-system', scratch]);
  });

  const stemcellArgs = (buildRoot: string, until: string): string[] => [
    'stemcell',
    '--iaas',
    'openstack',
    '--os-image',
    osImage,
    '--version',
    '0.0.1',
    '--agent-file',
    agentFile,
    // nothing here reaches where the blobstore CLIs come from
    '--skip-blobstore-clis',
    '--build-root',
    buildRoot,
    '--out',
    join(scratch, 'out'),
    '--until',
    until,
  ];

  it('kill -9 at random points, the same command again: the build completes, nothing left or corrupt', async (t: TestContext) => {
    const seed = Number(process.env.STEMFORGE_FAULT_SEED ?? Date.now() % 1_000_000);
    const kills = Number(process.env.STEMFORGE_FAULT_KILLS ?? 6);
    const next = random(seed);
    const buildRoot = join(scratch, 'kill-root');
    const stateHome = join(scratch, 'kill-state');
    mkdirSync(stateHome, { recursive: true });
    const args = [...stemcellArgs(buildRoot, 'system_initramfs'), '--machine', 'local'];
    const env = { CI: 'true', XDG_STATE_HOME: stateHome };
    const killedIn: string[] = [];
    const started = Date.now();
    let completed = false;
    for (let run = 0; !completed; run++) {
      assert.ok(run <= kills + 3, `no run completed after ${run} runs (seed ${seed})`);
      const runsBefore = runDirs(stateHome).length;
      const cli = stemforgeSpawn(args, env);
      // the first kills anywhere in the first 25 s of a run, so they land in every part of it:
      // connecting, syncing, preparing, a stage's start, its middle, its layer's commit
      const at = 300 + next() * 25_000;
      const ended = run < kills ? await Promise.race([cli.done, sleep(at).then(() => undefined)]) : await cli.done;
      if (ended) {
        assert.equal(ended.code, 0, `run ${run + 1} (seed ${seed}):\n${ended.stderr.slice(-4000)}`);
        completed = true;
        break;
      }
      // before its run folder exists, the newest one is the last run's
      const events = runDirs(stateHome).length > runsBefore ? newestRunEvents(stateHome) : [];
      const task = events.filter((e) => e.type === 'task').at(-1) as (Event & { title?: string }) | undefined;
      killedIn.push(`${(at / 1000).toFixed(1)} s in ${stageRunning(events) ?? task?.title ?? 'start-up'}`);
      cli.child.kill('SIGKILL');
      await cli.done;
    }
    const seconds = (Date.now() - started) / 1000;

    // every run's left jobs, as the run logs recorded them
    const leftJobs = runDirs(stateHome).flatMap((r) => {
      const log = join(r, 'run.log');
      return existsSync(log)
        ? readFileSync(log, 'utf8')
            .split('\n')
            .filter((l) => l.includes('"left-job"'))
            .map((l) => (JSON.parse(l) as Event).action!)
        : [];
    });
    const count = (action: string): number => leftJobs.filter((a) => a === action).length;

    // the same command once more: every stage's layer is reused, nothing runs
    const again = await stemforgeSpawn([...args, '--json'], env).done;
    assert.equal(again.code, 0, again.stderr.slice(-3000));
    const ranAgain = newestRunEvents(stateHome).filter((e) => e.type === 'stage' && e.step === 'apply');
    assert.deepEqual(ranAgain, [], 'a run after the completed one reuses every layer');

    const left = leftovers(buildRoot);
    assert.deepEqual(left, { mounts: [], loops: [], jobs: [], parts: [], incomplete: [] });
    withLayerView(buildRoot, layerChain(buildRoot, 'system_initramfs'), (chroot) => {
      assertPackagesWhole(chroot);
      assert.ok(
        readdirSync(join(chroot, 'boot')).some((f) => f.startsWith('initrd.img-')),
        'system_initramfs made an initrd',
      );
    });
    t.diagnostic(
      `kill -9 (seed ${seed}): ${killedIn.length} faults injected [${killedIn.join(', ')}], 1 build completed in ${seconds.toFixed(0)} s; ` +
        `left jobs followed ${count('followed')}, taken ${count('took')}, stopped ${count('stopped')}; ` +
        `corrupt layers 0, unfinished layers ${left.parts.length}, mounts left ${left.mounts.length}, loop devices left ${left.loops.length}`,
    );
  });

  describe('over ssh://', () => {
    let sshd: TestSshd;
    before(async () => (sshd = await startSshd()));
    after(async () => await sshd?.stop());

    it('the connection cut mid-stage again and again: the build reconnects and completes', async (t: TestContext) => {
      const cuts = Number(process.env.STEMFORGE_FAULT_CUTS ?? 5);
      const buildRoot = join(scratch, 'cut-root');
      const stateHome = join(scratch, 'cut-state');
      mkdirSync(stateHome, { recursive: true });
      const args = [...stemcellArgs(buildRoot, 'system_kernel'), '--machine', sshd.machineUrl, '--identity', sshd.clientKey, '--known-hosts', sshd.knownHosts];
      const cli = stemforgeSpawn(args, { CI: 'true', XDG_STATE_HOME: stateHome });
      let cut = 0;
      let stage: string | undefined;
      let since = 0;
      let lastCut = 0;
      const cutting = (async () => {
        while (cli.child.exitCode === null && cut < cuts) {
          await sleep(200);
          const now = stageRunning(newestRunEvents(stateHome));
          if (now !== stage) [stage, since] = [now, Date.now()];
          // mid-stage: 1.5 s into a stage (its log followed by then), then every 3 s
          if (!stage || Date.now() - since < 1500 || Date.now() - lastCut < 3000) continue;
          for (const pid of execFileSync('pgrep', ['-P', String(sshd.pid)], { encoding: 'utf8' })
            .split('\n')
            .filter(Boolean)) {
            process.kill(Number(pid), 'SIGKILL');
          }
          cut += 1;
          lastCut = Date.now();
        }
      })();
      const run = await cli.done;
      await cutting;
      assert.equal(run.code, 0, run.stderr.slice(-4000));
      assert.equal(cut, cuts, 'every cut landed while a stage ran');
      const runDir = runDirs(stateHome).at(-1)!;
      const stageLogs = execFileSync('find', [runDir, '-name', '*.apply.log'], { encoding: 'utf8' }).split('\n').filter(Boolean);
      const text = stageLogs.map((f) => readFileSync(f, 'utf8')).join('\n');
      const reconnected = text.split('\n').filter((l) => /reconnected; following \S+ where it was/.test(l)).length;
      assert.equal(reconnected, cuts, 'one reconnection per cut');
      const left = leftovers(buildRoot);
      assert.deepEqual(left, { mounts: [], loops: [], jobs: [], parts: [], incomplete: [] });
      withLayerView(buildRoot, layerChain(buildRoot, 'system_kernel'), assertPackagesWhole);
      t.diagnostic(`ssh cuts: ${cut} faults injected, ${reconnected} reconnections, 1 build completed; mounts left 0, loop devices left 0, corrupt layers 0`);
    });
  });
});
