// The steps every run starts with, whatever it builds: connect to the build machine (a
// Vagrant VM comes up first), check root or sudo, sync the builder into it.
import { posix } from 'node:path';
import type { ListrTask } from 'listr2';
import type { Machine } from '../machine/machine.js';
import { openMachine, type SshOptions, type VmOptions } from '../machine/open.js';
import { describeSpec, type MachineSpec } from '../machine/spec.js';
import { syncBuilder } from '../sync/sync.js';
import { builderFolders, packageRoot } from '../util/paths.js';
import { throwIfAborted, type RunUi } from './common.js';
import { buildLayout } from './layout.js';
import { StageRunner } from './stage-runner.js';
import { createTaskList } from './ui.js';

export interface SessionCtx {
  machine?: Machine;
}

export interface SessionRequest {
  machine: MachineSpec;
  ssh: SshOptions;
  vm: VmOptions;
  buildRoot: string;
}

export function builderDir(buildRoot: string): string {
  return posix.join(buildRoot, 'builder');
}

/** Send the builder (stages/, templates/) to the machine: only what changed. */
export async function syncTo(machine: Machine, buildRoot: string): Promise<string> {
  const synced = await syncBuilder(machine, packageRoot, builderFolders, builderDir(buildRoot));
  return `sent ${synced.send.length}, removed ${synced.remove.length}, unchanged ${synced.unchanged}`;
}

export function sessionTasks<Ctx extends SessionCtx>(request: SessionRequest, ui: RunUi, logDir: string): ListrTask<Ctx>[] {
  return [
    {
      title: `Connect to ${describeSpec(request.machine)}`,
      task: async (c, task) => {
        c.machine = await openMachine(request.machine, { ssh: request.ssh, vm: request.vm, signal: ui.signal, onLine: (line) => (task.output = line) });
      },
    },
    {
      title: 'Check root or password-less sudo',
      // a throwaway runner: the privilege check needs no build directory
      task: (c) => new StageRunner(c.machine!, buildLayout(request.buildRoot, 'privilege-check'), logDir, {}).checkPrivileges(),
    },
    {
      title: `Sync builder to ${builderDir(request.buildRoot)}`,
      task: async (c, task) => {
        throwIfAborted(ui.signal);
        task.title = `Sync builder to ${builderDir(request.buildRoot)} (${await syncTo(c.machine!, request.buildRoot)})`;
      },
    },
  ];
}

/** Run the session steps and then `tasks` as one tree; afterwards release the phase's mounts and close the connection, whatever happened. */
export async function runSession(
  request: SessionRequest,
  ui: RunUi,
  logDir: string,
  tasks: ListrTask<SessionCtx>[],
  release: () => Promise<unknown>,
): Promise<void> {
  const ctx: SessionCtx = {};
  const list = createTaskList<SessionCtx>([...sessionTasks<SessionCtx>(request, ui, logDir), ...tasks], ui.renderer, ctx);
  try {
    await list.run();
  } finally {
    await release();
    await ctx.machine?.close().catch(() => undefined);
  }
}
