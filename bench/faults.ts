// Benchmark: what surviving faults costs a normal build, side by side in one run, on the
// local machine and over a real sshd on loopback: the check for stage jobs a killed
// stemforge left (one `stage-job.bash list` of a build folder holding a whole stemcell
// phase's finished jobs, and the layer probe that follows it), against one trivial stage run
// as a job (start, follow, exit status), the unit every stage of a build costs anyway.
// Rounds are interleaved so that a busy machine slows all alike. Run as root:
// npm run bench:faults   (ROUNDS sets the rounds, 25)
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalMachine } from '../src/machine/local.js';
import type { Machine } from '../src/machine/machine.js';
import { LayerChain } from '../src/pipeline/layers.js';
import { buildLayout } from '../src/pipeline/layout.js';
import { StageRunner } from '../src/pipeline/stage-runner.js';
import { packageRoot } from '../src/util/paths.js';
import { connectToSshd, startSshd } from '../test/helpers/sshd.js';

const rounds = Number(process.env.ROUNDS ?? 25);
/** a stemcell phase's stages: the jobs folder a build leaves holds one job per stage */
const stagesInAPhase = 22;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface Subject {
  name: string;
  runner: StageRunner;
  chain: LayerChain;
}

async function subject(name: string, machine: Machine, root: string): Promise<Subject> {
  const layout = buildLayout(root, 'bench');
  cpSync(join(packageRoot, 'stages', 'lib'), join(layout.builderDir, 'stages', 'lib'), { recursive: true });
  const stageDir = join(layout.builderDir, 'stages', 'noop');
  mkdirSync(stageDir, { recursive: true });
  writeFileSync(join(stageDir, 'apply.sh'), '#!/usr/bin/env bash\necho done\n', { mode: 0o755 });
  mkdirSync(layout.workDir, { recursive: true });
  const runner = new StageRunner(machine, layout, join(root, 'logs'), { LANG: 'C.UTF-8' });
  // the finished jobs of a whole phase, as a build leaves them
  for (let i = 0; i < stagesInAPhase; i++) {
    const job = join(layout.buildDir, 'jobs', `stage_${i}.apply`);
    mkdirSync(job, { recursive: true });
    writeFileSync(join(job, 'supervisor.pid'), '1\n');
    writeFileSync(join(job, 'exit-status'), '0\n');
    writeFileSync(join(job, 'tag'), `${i.toString(16).padStart(32, '0')}\n`);
  }
  const keys = Array.from({ length: stagesInAPhase }, (_, i) => i.toString(16).padStart(32, '0'));
  const chain = new LayerChain(
    machine,
    layout,
    keys.map((_, i) => `stage_${i}`),
    keys,
  );
  return { name, runner, chain };
}

async function time(run: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await run();
  return performance.now() - t;
}

const sshd = await startSshd();
const ssh = await connectToSshd(sshd);
const roots = [mkdtempSync(join(tmpdir(), 'sf-bench-faults-')), mkdtempSync(join(tmpdir(), 'sf-bench-faults-'))];
try {
  const subjects = [await subject('local', new LocalMachine(), roots[0]!), await subject('ssh (loopback)', ssh, roots[1]!)];
  const times = new Map(subjects.flatMap((s) => [`${s.name} check`, `${s.name} stage`].map((k) => [k, [] as number[]])));
  for (let i = 0; i < rounds; i++) {
    for (const s of subjects) {
      times.get(`${s.name} check`)!.push(
        await time(async () => {
          const jobs = await s.runner.jobs();
          if (jobs.length < stagesInAPhase) throw new Error(`listed ${jobs.length} jobs, not ${stagesInAPhase}`);
          await s.chain.probe();
        }),
      );
      times.get(`${s.name} stage`)!.push(await time(() => s.runner.runStep('noop', 'apply', () => undefined)));
    }
  }
  console.log(`Left-job check against one trivial stage job, median of ${rounds} interleaved rounds`);
  for (const s of subjects) {
    const check = median(times.get(`${s.name} check`)!);
    const stage = median(times.get(`${s.name} stage`)!);
    console.log(
      `  ${s.name.padEnd(15)} check ${check.toFixed(1).padStart(6)} ms   one stage ${stage.toFixed(1).padStart(6)} ms   ratio ${(check / stage).toFixed(2)}`,
    );
  }
} finally {
  await ssh.close();
  await sshd.stop();
  for (const r of roots) rmSync(r, { recursive: true, force: true });
}
