// The job `verify --agent` puts on the guest (over SSH, as a Director's apply would) for the agent's start and
// stop to drive through monit: a control script whose start leaves a loop running and records its pid.
import type { GuestSsh } from './guest-ssh.js';

export const jobName = 'stemforge-verify';
const jobDir = `/var/vcap/jobs/${jobName}`;
const runDir = `/var/vcap/sys/run/${jobName}`;
const pidFile = `${runDir}/pid`;
const ctlPath = `${jobDir}/bin/ctl`;
const monitrcPath = `/var/vcap/monit/job/0000_${jobName}.monitrc`;
const monit = '/var/vcap/bosh/bin/monit';

const ctlScript = `#!/bin/bash
# stemforge verify --agent: a test job. start leaves a loop running and writes its pid; stop ends it.
set -u
run_dir=${runDir}
pid_file=${pidFile}
case "\${1:-}" in
  start)
    mkdir -p "$run_dir"
    if [ -s "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then exit 0; fi
    # its own session, no terminal and no inherited output: monit waits for this script, not for the loop
    setsid bash -c 'trap "exit 0" TERM; while :; do sleep 1 & wait $!; done' </dev/null >/dev/null 2>&1 &
    echo $! > "$pid_file"
    ;;
  stop)
    if [ -s "$pid_file" ]; then kill "$(cat "$pid_file")" 2>/dev/null || true; fi
    rm -f "$pid_file"
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 1
    ;;
esac
`;

const monitrc = `check process ${jobName}
  with pidfile ${pidFile}
  start program "${ctlPath} start"
  stop program "${ctlPath} stop"
  group vcap
`;

/** Writes `content` to `path` as root with `mode`, through stdin (no content ever reaches a command line). */
async function writeRemote(ssh: GuestSsh, path: string, content: string, mode: string): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf('/'));
  const r = await ssh.run(['sh', '-c', 'mkdir -p "$1" && cat > "$2" && chmod "$3" "$2"', 'sh', dir, path, mode], { sudo: true, stdin: content });
  if (r.code !== 0) throw new Error(`writing ${path} on the guest failed (exit ${r.code}): ${r.stderr.trim()}`);
}

/** Installs the job's control script and monitrc. */
export async function installTestJob(ssh: GuestSsh): Promise<void> {
  await writeRemote(ssh, ctlPath, ctlScript, '0755');
  await writeRemote(ssh, monitrcPath, monitrc, '0644');
}

/** `monit reload`, so monit reads the new monitrc. */
export async function monitReload(ssh: GuestSsh): Promise<void> {
  const r = await ssh.run([monit, 'reload'], { sudo: true });
  if (r.code !== 0) throw new Error(`monit reload failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
}

/** `monit summary`'s line for the job, or undefined while monit does not list it. */
export async function monitSummaryLine(ssh: GuestSsh): Promise<{ line?: string; output: string }> {
  const r = await ssh.run([monit, 'summary'], { sudo: true });
  const output = `${r.stdout}${r.stderr}`.trim();
  return {
    line: output
      .split('\n')
      .find((l) => l.includes(`'${jobName}'`))
      ?.trim()
      .replace(/\s+/g, ' '),
    output,
  };
}

/** The pid in the job's pidfile and whether that process lives, as root sees it. */
export async function jobPid(ssh: GuestSsh): Promise<{ pid?: number; alive: boolean }> {
  const r = await ssh.run(['sh', '-c', 'p=$(cat "$1" 2>/dev/null) || exit 3; echo "$p"; kill -0 "$p" 2>/dev/null', 'sh', pidFile], { sudo: true });
  const pid = Number(r.stdout.trim()) || undefined;
  return { pid, alive: r.code === 0 && pid !== undefined };
}

/** Whether a process with this pid is alive on the guest. */
export async function pidAlive(ssh: GuestSsh, pid: number): Promise<boolean> {
  const r = await ssh.run(['kill', '-0', String(pid)], { sudo: true });
  return r.code === 0;
}

/** The agent's own log lines, for a failure report: its journal, else its runit log. */
export async function agentLogTail(ssh: GuestSsh, lines = 50): Promise<string[]> {
  const journal = await ssh.run(['journalctl', '-u', 'bosh-agent', '-n', String(lines), '--no-pager', '-o', 'short-monotonic'], { sudo: true });
  if (journal.code === 0 && journal.stdout.trim() && !/No entries/.test(journal.stdout)) return journal.stdout.trimEnd().split('\n');
  const current = await ssh.run(['tail', '-n', String(lines), '/var/vcap/bosh/log/current'], { sudo: true });
  return current.code === 0 ? current.stdout.trimEnd().split('\n') : [];
}
