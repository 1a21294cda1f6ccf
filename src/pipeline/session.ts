// The steps every run starts with, whatever it builds: connect to the build machine (a
// Vagrant VM comes up first), check root or sudo, lock the build root, sync the builder into it.
import { posix } from 'node:path';
import type { Machine } from '../machine/machine.js';
import { openMachine, type SshOptions, type VmOptions } from '../machine/open.js';
import { describeSpec, type MachineSpec } from '../machine/spec.js';
import { syncBuilder } from '../sync/sync.js';
import { builderFolders, packageRoot } from '../util/paths.js';
import type { RunUi } from './common.js';
import { buildLockStep } from './build-lock.js';
import { buildLayout } from './layout.js';
import { StageRunner } from './stage-runner.js';
import type { AnyStep, Step, StepRun } from './steps.js';

export interface SessionCtx {
  machine?: Machine;
}

export interface SessionRequest {
  machine: MachineSpec;
  ssh: SshOptions;
  vm: VmOptions;
  buildRoot: string;
  /** another build holds the build root: refuse at once instead of waiting (--no-wait) */
  noWait?: boolean;
}

function builderDir(buildRoot: string): string {
  return posix.join(buildRoot, 'builder');
}

/** Send the builder (stages/, templates/) to the machine: only what changed. */
export async function syncTo(machine: Machine, buildRoot: string): Promise<string> {
  const synced = await syncBuilder(machine, packageRoot, builderFolders, builderDir(buildRoot));
  return `sent ${synced.send.length}, removed ${synced.remove.length}, unchanged ${synced.unchanged}`;
}

/** The first steps of every run; the connection is closed when the run ends, whatever happened. */
export function sessionSteps<Ctx extends SessionCtx>(request: SessionRequest, ui: RunUi, logDir: string): AnyStep<Ctx>[] {
  const connect: Step<Ctx, Machine> = {
    title: `Connect to ${describeSpec(request.machine)}`,
    run: async (c, task) => {
      c.machine = await openMachine(request.machine, { ssh: request.ssh, vm: request.vm, signal: ui.signal, onLine: (line) => (task.output = line) });
      return c.machine;
    },
    undo: `close the connection to ${describeSpec(request.machine)}`,
    cleanup: ({ result }) => result?.close(),
  };
  return [
    connect,
    {
      title: 'Check root or password-less sudo',
      // a throwaway runner: the privilege check needs no build directory
      run: (c) => new StageRunner(c.machine!, buildLayout(request.buildRoot, 'privilege-check'), logDir, {}).checkPrivileges(),
    },
    // before the sync: the builder folder is the root's, shared with any other build there
    buildLockStep<Ctx>(request, ui),
    {
      title: `Sync builder to ${builderDir(request.buildRoot)}`,
      run: async (c, task) => {
        task.title = `Sync builder to ${builderDir(request.buildRoot)} (${await syncTo(c.machine!, request.buildRoot)})`;
      },
    },
  ];
}

/** Run the session steps and then `steps` as one tree of `run`; the phases' cleanups (mounts) and the connection's unwind when the run does. */
export async function runSession(run: StepRun, request: SessionRequest, ui: RunUi, logDir: string, steps: AnyStep<SessionCtx>[]): Promise<void> {
  await run.run<SessionCtx>([...sessionSteps<SessionCtx>(request, ui, logDir), ...steps], {});
}
