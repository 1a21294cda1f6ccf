// Runs stage scripts on the build machine: prepares the build directory, writes the
// settings file, runs config.sh / apply.sh as jobs (stage-job.bash), keeps a log per stage
// and its duration, and cleans up mounts afterwards.
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Writable } from 'node:stream';
import { runChecked, type Machine } from '../machine/machine.js';
import { HintedError } from '../util/errors.js';
import { LineSplitter } from '../util/lines.js';
import type { BuildLayout } from './layout.js';
import { describeShortage, diagnoseSpace, type SpaceShortage } from './space-shortage.js';

export type StageStep = 'config' | 'apply';

export interface StageRecord {
  /** what the stage built: the OS line, or the infrastructure of a stemcell */
  group?: string;
  stage: string;
  step: StageStep;
  durationMs: number;
  exitCode: number;
  logPath: string;
}

/** A stage job found on the build machine (`stage-job.bash list`): one a killed CLI may have left running. */
export interface StageJob {
  stage: string;
  step: StageStep;
  state: 'running' | 'finished' | 'lost';
  exitCode?: number;
  /** what it ran for: the layer key of a layered stage */
  tag?: string;
}

/** How runStep runs the stage: tagged with its layer key; `adopt`: follow the job already running (or finished) instead of starting one. */
export interface StepOptions {
  tag?: string;
  adopt?: boolean;
}

/** One line of `stage-job.bash list`: NAME STATE EXIT TAG, NAME being STAGE.STEP. */
export function parseJobLine(line: string): StageJob | undefined {
  const m = /^([a-z0-9_]+)\.(config|apply) (running|finished|lost) (-|\d+) (\S+)$/.exec(line.trim());
  if (!m) return undefined;
  return {
    stage: m[1]!,
    step: m[2] as StageStep,
    state: m[3] as StageJob['state'],
    ...(m[4] !== '-' ? { exitCode: Number(m[4]) } : {}),
    ...(m[5] !== '-' ? { tag: m[5] } : {}),
  };
}

const tailLines = 40;
/** Pauses before each reconnection attempt after a dropped connection. */
const reconnectDelaysMs = [500, 1000, 2000, 4000, 8000, 15000];

export class StageFailure extends Error {
  override name = 'StageFailure';
  constructor(
    readonly stage: string,
    readonly step: StageStep,
    readonly exitCode: number,
    readonly logPath: string,
    readonly tail: string[],
    readonly cancelled: boolean,
    /** the build root's file system ran full: where, and how much is free */
    readonly space?: SpaceShortage,
  ) {
    super(
      cancelled
        ? `stage ${stage} (${step}) was interrupted`
        : `stage ${stage} failed in ${step}.sh with exit code ${exitCode}${space ? `: ${describeShortage(space)}` : ''}`,
    );
  }
}

async function closeLog(log: WriteStream): Promise<void> {
  await new Promise<void>((resolve) => log.end(resolve));
}

export class StageRunner {
  readonly records: StageRecord[] = [];

  constructor(
    private readonly machine: Machine,
    readonly layout: BuildLayout,
    readonly logDir: string,
    /** the stages' whole environment (proxy variables, BUILD_TIME, LANG) */
    private readonly env: Record<string, string>,
    /** the report's group for this runner's records */
    readonly group?: string,
  ) {}

  /** Root, or password-less sudo: the stages mount, chroot and debootstrap. */
  async checkPrivileges(): Promise<void> {
    if (this.machine.isRoot) return;
    const result = await this.machine.run(['sudo', '-n', 'true']);
    if (result.exitCode !== 0) {
      throw new HintedError(
        `${this.machine.description}: the user is not root and has no password-less sudo`,
        'log in as root, or allow this user "NOPASSWD: ALL" in a file under /etc/sudoers.d on the build machine',
      );
    }
  }

  /**
   * Fresh build and work directories, or (resume) the existing ones checked. `keep`: a stage
   * job an earlier stemforge left running is followed again: its folder and mounts stay.
   */
  async prepare(options: { resume: boolean; keep?: boolean }): Promise<void> {
    const { buildDir, workDir, chroot } = this.layout;
    if (options.keep) {
      await runChecked(this.machine, ['mkdir', '-p', '--', workDir, posix.join(buildDir, 'stage-settings')], { sudo: true });
      return;
    }
    await this.releaseMounts();
    if (options.resume) {
      const probe = await this.machine.run(['test', '-d', chroot], { sudo: true });
      if (probe.exitCode !== 0) {
        throw new HintedError(`nothing to resume on ${this.machine.description}: there is no chroot at ${chroot}`, 'run the build again without --resume-from');
      }
    } else {
      await runChecked(this.machine, ['rm', '-rf', '--one-file-system', '--', buildDir], { sudo: true });
    }
    await runChecked(this.machine, ['mkdir', '-p', '--', workDir, posix.join(buildDir, 'stage-settings')], { sudo: true });
  }

  async writeSettings(text: string): Promise<void> {
    // 0600: it carries the users' password
    await this.machine.sendFile(Buffer.from(text), this.layout.settingsFile, { sudo: true, mode: 0o600 });
  }

  logPath(stage: string, step: StageStep): string {
    return join(this.logDir, `${stage}.${step}.log`);
  }

  /**
   * Run one stage script as a job on the build machine (stage-job.bash) and follow its log.
   * A dropped connection is reopened (bounded retries) and the log picked up at the byte
   * where it broke; Ctrl-C (signal) stops the job's whole process group. Throws
   * StageFailure with the log tail when the stage fails.
   */
  async runStep(stage: string, step: StageStep, onLine: (line: string) => void, signal?: AbortSignal, options: StepOptions = {}): Promise<StageRecord> {
    const { builderDir, settingsFile, workDir } = this.layout;
    const script = posix.join(builderDir, 'stages', stage, `${step}.sh`);
    const argument = step === 'config' ? settingsFile : workDir;
    const jobScript = this.jobScript;
    const jobDir = this.jobDir(stage, step);
    await mkdir(this.logDir, { recursive: true });
    const logPath = this.logPath(stage, step);
    const log = createWriteStream(logPath, { mode: 0o600 });
    const tail: string[] = [];
    const take = (line: string): void => {
      log.write(`${line}\n`);
      tail.push(line);
      if (tail.length > tailLines) tail.shift();
      onLine(line);
    };
    const started = Date.now();
    if (options.adopt) take(`[stemforge] ${stage} was still running on ${this.machine.description} from an earlier stemforge: following it from its start`);
    else
      await runChecked(this.machine, ['bash', jobScript, 'start', jobDir, script, argument, ...(options.tag ? [options.tag] : [])], {
        sudo: true,
        env: this.env,
      });

    let stopping = false;
    let stopped: Promise<unknown> = Promise.resolve();
    const stop = (): void => {
      stopping = true;
      stopped = this.machine.run(['bash', jobScript, 'stop', jobDir], { sudo: true }).catch(() => undefined);
    };
    if (signal?.aborted) stop();
    else signal?.addEventListener('abort', stop, { once: true });

    const lines = new LineSplitter(take);
    let offset = 0;
    let result;
    try {
      for (;;) {
        const sink = new Writable({
          write(chunk: Buffer, _encoding, done) {
            offset += chunk.length;
            lines.push(chunk);
            done();
          },
        });
        result = await this.machine.run(['bash', jobScript, 'follow', jobDir, String(offset)], {
          sudo: true,
          stdoutSink: sink,
          onStderr: take,
        });
        if (!result.connectionLost) break;
        await this.reconnect(stage, (line) => take(line));
        if (stopping) stop(); // the stop request may have died with the old connection
      }
    } finally {
      signal?.removeEventListener('abort', stop);
    }
    lines.flush();
    const exitCode = result.exitCode;
    const record: StageRecord = { group: this.group, stage, step, durationMs: Date.now() - started, exitCode, logPath };
    log.write(`# stemforge: ${stage} ${step}.sh exited ${exitCode} after ${(record.durationMs / 1000).toFixed(1)}s\n`);
    await closeLog(log);
    this.records.push(record);
    if (stopping) {
      // The job has ended; let stop finish its own checks (the whole process group gone)
      // before the caller releases mounts and exits.
      await stopped;
    }
    if (exitCode !== 0 || stopping) {
      // a full disk is the build machine's, not the stage's fault: say so, with where
      const space = stopping ? undefined : await diagnoseSpace(this.machine, this.layout.root, tail);
      throw new StageFailure(stage, step, exitCode, logPath, tail, stopping, space);
    }
    return record;
  }

  private get jobScript(): string {
    return posix.join(this.layout.builderDir, 'stages', 'lib', 'stage-job.bash');
  }

  /** The folder of a stage's job on the build machine. */
  jobDir(stage: string, step: StageStep): string {
    return posix.join(this.layout.buildDir, 'jobs', `${stage}.${step}`);
  }

  /** The stage jobs in this build's folder: finished ones, and those a killed stemforge left running. */
  async jobs(): Promise<StageJob[]> {
    const out = await runChecked(this.machine, ['bash', this.jobScript, 'list', posix.join(this.layout.buildDir, 'jobs')], { sudo: true });
    return out
      .split('\n')
      .map(parseJobLine)
      .filter((j): j is StageJob => j !== undefined);
  }

  /** Stop a job (its whole process group); its traps release what it mounted. */
  async stopJob(job: Pick<StageJob, 'stage' | 'step'>): Promise<void> {
    await runChecked(this.machine, ['bash', this.jobScript, 'stop', this.jobDir(job.stage, job.step)], { sudo: true });
  }

  /** Reopen a dropped connection: a few tries with growing pauses, each one reported. */
  private async reconnect(stage: string, report: (line: string) => void): Promise<void> {
    const reconnect = this.machine.reconnect?.bind(this.machine);
    if (!reconnect) throw new Error(`${this.machine.description}: lost the command following ${stage}`);
    let lastError: unknown;
    for (let attempt = 1; attempt <= reconnectDelaysMs.length; attempt++) {
      report(`[stemforge] connection to ${this.machine.description} lost; reconnecting (attempt ${attempt}/${reconnectDelaysMs.length})`);
      await new Promise((r) => setTimeout(r, reconnectDelaysMs[attempt - 1]));
      try {
        await reconnect();
        report(`[stemforge] reconnected; following ${stage} where it was`);
        return;
      } catch (err) {
        lastError = err;
      }
    }
    throw new HintedError(
      `lost the connection to ${this.machine.description} during ${stage} and could not reconnect ` +
        `(${reconnectDelaysMs.length} attempts): ${(lastError as Error)?.message ?? lastError}`,
      `the stage may still be running on the build machine; when it is reachable again, resume with --resume-from ${stage}`,
    );
  }

  /** Unmount anything left below the build directory; returns what was released. */
  async releaseMounts(): Promise<string[]> {
    const script = posix.join(this.layout.builderDir, 'stages', 'lib', 'release-mounts.bash');
    const out = await runChecked(this.machine, ['bash', script, this.layout.buildDir], { sudo: true });
    return out.split('\n').filter((l) => l !== '');
  }

  /**
   * Pack the chroot as a gzip tar with ./ entries and numeric owners (the gzip program of
   * stages/lib/compression.bash: pigz, on every core, when the machine has it). Level 1: the OS
   * image is an intermediate kept in the local cache, and level 1 packs it about 2.8 times
   * faster than the default for some 10 % more bytes. The temp name is the shell's own ($$): a
   * tar that a killed stemforge left running never writes into this one's file.
   */
  async archiveChroot(target: string): Promise<void> {
    const compression = posix.join(this.layout.builderDir, 'stages', 'lib', 'compression.bash');
    const script =
      'set -e; source "$3"; z="$(gzip_program) -1"; ' + 'tar --numeric-owner --one-file-system -I "$z" -cf "$2.part.$$" -C "$1" . && mv -f "$2.part.$$" "$2"';
    await runChecked(this.machine, ['bash', '-c', script, 'bash', this.layout.chroot, target, compression], { sudo: true, env: this.env });
  }
}
