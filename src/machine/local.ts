// The local machine: this Linux host, as root. Commands run through execa.
import { createReadStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import { LineSplitter } from '../util/lines.js';
import { HintedError } from '../util/errors.js';
import { HashingStream } from '../util/stream-hash.js';
import { defaultPath, type FetchResult, type RunOptions, type RunResult } from './machine.js';
import { ShellMachine } from './transfer.js';
import { withCleanEnv } from './quote.js';

export class LocalMachine extends ShellMachine {
  readonly description = 'local';
  readonly isRoot = process.getuid?.() === 0;

  /** The local machine builds in this host's kernel: Linux and root only. */
  static assertUsable(): void {
    if (process.platform !== 'linux') {
      throw new HintedError(
        `--machine local needs a Linux host; this one is ${process.platform}`,
        'use the default Vagrant builder VM or --machine ssh://user@host',
      );
    }
    if (process.getuid?.() !== 0) {
      throw new HintedError(
        '--machine local needs root: stages debootstrap, chroot and mount',
        'run stemforge as root (sudo stemforge …) or use --machine ssh://user@host',
      );
    }
  }

  run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const env = { PATH: defaultPath, ...(options.env ?? {}) };
    const full = options.sudo && !this.isRoot ? ['sudo', '-n', ...withCleanEnv(env, argv)] : [...argv];
    const [file, ...args] = full;
    if (!file) throw new Error('run: empty command');
    const child = execa(file, args, {
      env,
      extendEnv: false,
      cwd: options.cwd,
      reject: false,
      buffer: false,
      stdin: options.stdin === undefined ? 'ignore' : 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      cancelSignal: options.signal,
      forceKillAfterDelay: 10_000,
    });
    const out = new LineSplitter((l) => options.onStdout?.(l));
    const err = new LineSplitter((l) => options.onStderr?.(l));
    if (options.stdoutSink) child.stdout.pipe(options.stdoutSink);
    else child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    if (options.stdin !== undefined && child.stdin) {
      const stdin = child.stdin;
      stdin.on('error', () => undefined); // the command may exit before reading all input
      if (typeof options.stdin === 'string' || Buffer.isBuffer(options.stdin)) stdin.end(options.stdin);
      else options.stdin.pipe(stdin);
    }
    return child.then((result) => {
      out.flush();
      err.flush();
      if (result.exitCode === undefined && !result.signal) {
        // could not start at all (ENOENT, EACCES): report it the way a shell would
        options.onStderr?.(result.shortMessage ?? `cannot run ${file}`);
        return { exitCode: 127, cancelled: false };
      }
      return {
        exitCode: result.exitCode ?? (result.signal ? 128 : 1),
        signal: result.signal,
        cancelled: !!result.isCanceled,
      };
    });
  }

  /** A plain read when this process is root (the local machine always is): no cat to pipe through. */
  override async fetchFile(remotePath: string, into: Writable, options: { sudo?: boolean } = {}): Promise<FetchResult> {
    if (!this.isRoot) return super.fetchFile(remotePath, into, options);
    const hashing = new HashingStream();
    try {
      await pipeline(createReadStream(remotePath), hashing, into);
    } catch (err) {
      // the Machine contract's message, as the cat-based fetch gives it
      throw new Error(`fetching ${remotePath} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    return { sha256: hashing.digest(), bytes: hashing.bytes };
  }

  async close(): Promise<void> {}
}
