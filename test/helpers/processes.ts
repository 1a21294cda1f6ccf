// Small process helpers the QEMU-driving tests share: is a command installed, is a pid
// alive, and the pid of the QEMU a `stemforge verify` run reports starting.
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';

export function hasCommand(command: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', command], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid in the run's "QEMU pid N" progress line, waiting up to 60 s; undefined when the run ends first. */
export async function qemuPidOf(run: { child: ChildProcess; out: { stderr: string } }): Promise<number | undefined> {
  for (let i = 0; i < 600 && run.child.exitCode === null; i++) {
    const pid = Number(/QEMU pid (\d+)/.exec(run.out.stderr)?.[1]) || undefined;
    if (pid) return pid;
    await sleep(100);
  }
  return Number(/QEMU pid (\d+)/.exec(run.out.stderr)?.[1]) || undefined;
}
