// One build at a time per build root (stages/lib/build-lock.bash on the build machine): the
// root's builder/ and layers/ are shared, and a build's layer prune removes every unfinished
// layer, another build's too. The lock is taken right after the privilege check, before the
// builder sync writes builder/, so the script cannot come from the synced builder: its text
// is read from this package and run inline (`bash -c SCRIPT build-lock.bash ARGS…`), the
// arguments as argv, never spliced into the script.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Machine, RunResult } from '../machine/machine.js';
import { HintedError } from '../util/errors.js';
import { pidAlive } from '../util/pid-alive.js';
import { packageRoot } from '../util/paths.js';
import { throwIfAborted, type RunUi } from './common.js';
import type { SessionCtx, SessionRequest } from './session.js';
import type { Step } from './steps.js';

/** Who holds a build root, as the lock file says; age: seconds since its last heartbeat. */
export interface LockHolder {
  token: string;
  host: string;
  pid: number;
  /** epoch seconds */
  since: number;
  command: string;
  age: number;
}

export interface BuildLockTiming {
  /** between two looks at a held lock */
  pollMs: number;
  /** between two heartbeats of our lock */
  heartbeatMs: number;
  /** a lock whose heartbeat is older is abandoned, wherever its holder runs */
  staleSeconds: number;
}

export const defaultLockTiming: BuildLockTiming = { pollMs: 2000, heartbeatMs: 20_000, staleSeconds: 120 };

/** The script's exit codes (see its header). */
const held = 3;
const notOurs = 4;

let scriptText: string | undefined;
function script(): string {
  scriptText ??= readFileSync(join(packageRoot, 'stages', 'lib', 'build-lock.bash'), 'utf8');
  return scriptText;
}

/** Flags whose value can carry a secret (a URL's user:password): shown as <redacted> in the lock. */
const secretFlags = ['--proxy', '--agent-url', '--mirror', '--security-mirror', '--snapshot-mirror'];

/** stemforge's own command line, one line, for the lock's message: secrets redacted, control characters escaped. */
export function lockCommandLine(argv: readonly string[]): string {
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    const flag = secretFlags.find((f) => word === f || word.startsWith(`${f}=`));
    if (flag && word === flag && i + 1 < argv.length) {
      words.push(word, '<redacted>');
      i++;
    } else words.push(flag ? `${flag}=<redacted>` : word);
  }
  // eslint-disable-next-line no-control-regex -- escaping control characters is the point
  const line = ['stemforge', ...words].join(' ').replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return line.length > 400 ? `${line.slice(0, 400)}…` : line;
}

export function parseHolder(lines: readonly string[]): LockHolder {
  const fields = new Map<string, string>();
  for (const line of lines) {
    const eq = line.indexOf('=');
    if (eq > 0 && !fields.has(line.slice(0, eq))) fields.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return {
    token: fields.get('token') ?? '',
    host: fields.get('host') ?? '?',
    pid: Number(fields.get('pid') ?? 0),
    since: Number(fields.get('since') ?? 0),
    command: fields.get('command') ?? '?',
    age: Number(fields.get('age') ?? 0),
  };
}

function clock(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toTimeString().slice(0, 8);
}

/** "`stemforge build …` (pid 4242 on HOST, since 13:20:05)" */
export function describeHolder(holder: LockHolder): string {
  return `\`${holder.command}\` (pid ${holder.pid} on ${holder.host}, since ${clock(holder.since)})`;
}

/** Why a held lock is abandoned (its holder on this host is gone, or its heartbeat stopped), or undefined while it lives. */
export function abandonedBecause(holder: LockHolder, staleSeconds: number, thisHost = hostname()): string | undefined {
  if (holder.host === thisHost && !pidAlive(holder.pid)) return `pid ${holder.pid} on ${holder.host} is gone`;
  if (holder.age > staleSeconds) return `no heartbeat for ${holder.age} s`;
  return undefined;
}

/** The build root is in use and the caller said --no-wait. */
export class BuildRootBusy extends HintedError {
  override name = 'BuildRootBusy';
}

export interface AcquireOptions {
  signal: AbortSignal;
  /** refuse at once instead of waiting (--no-wait) */
  noWait?: boolean;
  /** a line for the user: waiting, or taking over an abandoned lock */
  onLine?: (line: string) => void;
  timing?: Partial<BuildLockTiming>;
  /** who we are, as the lock records it (tests give their own) */
  command?: string;
  host?: string;
  pid?: number;
}

/** Our hold on a build root: a heartbeat while it runs, released once. */
export class BuildRootLock {
  private heartbeat?: NodeJS.Timeout;

  private constructor(
    private readonly machine: Machine,
    readonly root: string,
    readonly token: string,
  ) {}

  /** Take the build root's lock: wait for a live holder (or refuse with noWait), take over an abandoned one. */
  static async acquire(machine: Machine, root: string, options: AcquireOptions): Promise<BuildRootLock> {
    const timing = { ...defaultLockTiming, ...options.timing };
    const token = randomBytes(16).toString('hex');
    const me = [options.host ?? hostname(), String(options.pid ?? process.pid), options.command ?? lockCommandLine(process.argv.slice(2))];
    let waited: string | undefined;
    for (let expected: string | undefined; ;) {
      throwIfAborted(options.signal);
      const args = expected ? ['takeover', root, expected, token, ...me] : ['acquire', root, token, ...me];
      const { result, out } = await runScript(machine, args, options.signal);
      if (result.exitCode === 0) {
        // ours even when Ctrl-C came meanwhile: the step's cleanup releases it
        const lock = new BuildRootLock(machine, root, token);
        lock.startHeartbeat(timing.heartbeatMs);
        return lock;
      }
      throwIfAborted(options.signal);
      if (result.exitCode !== held) throw scriptError(machine, args[0]!, result, out);
      const holder = parseHolder(out);
      const why = abandonedBecause(holder, timing.staleSeconds, me[0]);
      if (why) {
        options.onLine?.(`taking over the build root ${root} on ${machine.description} from ${describeHolder(holder)}: ${why}`);
        expected = holder.token;
        continue;
      }
      expected = undefined;
      const line = `the build root ${root} on ${machine.description}: in use by ${describeHolder(holder)}`;
      if (options.noWait) {
        throw new BuildRootBusy(line, 'wait for that build to end (run again without --no-wait to wait for it), or give this one another --build-root');
      }
      if (waited !== holder.token) options.onLine?.(`waiting for ${line}`);
      waited = holder.token;
      await sleep(timing.pollMs, undefined, { signal: options.signal }).catch(() => undefined);
    }
  }

  private startHeartbeat(everyMs: number): void {
    // errors ignored: a dropped connection must not fail the build, and a late beat is harmless
    this.heartbeat = setInterval(() => void this.refresh().catch(() => undefined), everyMs);
    this.heartbeat.unref();
  }

  /** The heartbeat: false when the lock is no longer ours (taken over as abandoned). */
  async refresh(): Promise<boolean> {
    const { result, out } = await runScript(this.machine, ['refresh', this.root, this.token]);
    if (result.exitCode === notOurs) return false;
    if (result.exitCode !== 0) throw scriptError(this.machine, 'refresh', result, out);
    return true;
  }

  /** Give the build root back; a lock taken over meanwhile is left to its new holder, and said so. */
  async release(): Promise<void> {
    clearInterval(this.heartbeat);
    const { result, out } = await runScript(this.machine, ['release', this.root, this.token]);
    if (result.exitCode === notOurs) throw new Error(`the lock of ${this.root} was taken over by another build while this one ran; left to it`);
    if (result.exitCode !== 0) throw scriptError(this.machine, 'release', result, out);
  }
}

/** Who holds the build root now, if anybody. */
export async function showBuildLock(machine: Machine, root: string): Promise<LockHolder | undefined> {
  const { result, out } = await runScript(machine, ['show', root]);
  if (result.exitCode === 1) return undefined;
  if (result.exitCode !== 0) throw scriptError(machine, 'show', result, out);
  return parseHolder(out);
}

async function runScript(machine: Machine, args: readonly string[], signal?: AbortSignal): Promise<{ result: RunResult; out: string[] }> {
  const out: string[] = [];
  const result = await machine.run(['bash', '-c', script(), 'build-lock.bash', ...args], {
    sudo: true,
    signal,
    onStdout: (l) => out.push(l),
    onStderr: (l) => out.push(l),
  });
  return { result, out };
}

function scriptError(machine: Machine, what: string, result: RunResult, out: readonly string[]): Error {
  const why = result.connectionLost ? 'the connection was lost' : `exit ${result.exitCode}${out.length ? `: ${out.slice(-3).join(' ')}` : ''}`;
  return new Error(`${machine.description}: the build-root lock (${what}) failed: ${why}`);
}

/**
 * The session's lock step: hold the build root from here to the run's end (its cleanup
 * releases it after a success, a failure or Ctrl-C; the connection closes after that).
 */
export function buildLockStep<Ctx extends SessionCtx>(
  request: Pick<SessionRequest, 'buildRoot' | 'noWait'>,
  ui: Pick<RunUi, 'signal' | 'renderer'>,
): Step<Ctx, BuildRootLock> {
  return {
    title: `Lock the build root ${request.buildRoot}`,
    run: async (c, task) => {
      const started = Date.now();
      const lock = await BuildRootLock.acquire(c.machine!, request.buildRoot, {
        signal: ui.signal,
        noWait: request.noWait,
        onLine: (line) => {
          task.output = line;
          // a silent run still says why it does not move
          if (ui.renderer === 'silent') process.stderr.write(`stemforge: ${line}\n`);
        },
      });
      const waited = Date.now() - started;
      task.title = `Locked the build root ${request.buildRoot}${waited > 5000 ? ` (waited ${Math.round(waited / 1000)} s)` : ''}`;
      return lock;
    },
    undo: `release the lock of the build root ${request.buildRoot}`,
    cleanup: ({ result }) => result?.release(),
  };
}
