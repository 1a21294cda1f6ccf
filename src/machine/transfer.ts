// File and tree transfer built on Machine.run alone (a shell on the far side reading
// stdin), so local and ssh machines move bytes the same way.
import { createReadStream } from 'node:fs';
import { PassThrough, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { HashingStream } from '../util/stream-hash.js';
import type { FetchResult, Machine, RunOptions, RunResult } from './machine.js';

type RawRun = (argv: readonly string[], options: RunOptions) => Promise<RunResult>;

function check(result: RunResult, what: string, stderr: string[]): void {
  if (result.exitCode !== 0) {
    const detail = stderr.slice(-5).join('\n');
    throw new Error(`${what} failed (exit ${result.exitCode})${detail ? `: ${detail}` : ''}`);
  }
}

/**
 * Extract a gzip tar of `files` (paths relative to localDir; all when omitted) into
 * remoteDir. Owners are not carried (portable), modes are.
 */
async function sendTreeVia(run: RawRun, localDir: string, remoteDir: string, options: { files?: readonly string[]; sudo?: boolean } = {}): Promise<void> {
  const entries = options.files ? [...options.files].sort() : ['.'];
  if (entries.length === 0) return;
  const stream = tar.c({ cwd: localDir, portable: true, gzip: true, noDirRecurse: !!options.files }, entries);
  const stderr: string[] = [];
  const script = 'set -e; mkdir -p -- "$1"; tar -xzf - -C "$1" --no-same-owner --preserve-permissions';
  const result = await run(['sh', '-c', script, 'sh', remoteDir], {
    sudo: options.sudo,
    stdin: stream,
    onStderr: (l) => stderr.push(l),
  });
  check(result, `sending ${localDir} to ${remoteDir}`, stderr);
}

/** Write a file atomically (temp name + rename) with a mode. */
async function sendFileVia(run: RawRun, source: string | Buffer, remotePath: string, options: { mode?: number; sudo?: boolean } = {}): Promise<void> {
  const mode = (options.mode ?? 0o644).toString(8);
  const stderr: string[] = [];
  const script = 'set -e; umask 077; tmp="$1.part.$$"; cat > "$tmp"; chmod "$2" "$tmp"; mv -f "$tmp" "$1"';
  const stdin = typeof source === 'string' ? createReadStream(source) : source;
  const result = await run(['sh', '-c', script, 'sh', remotePath, mode], {
    sudo: options.sudo,
    stdin,
    onStderr: (l) => stderr.push(l),
  });
  check(result, `sending file to ${remotePath}`, stderr);
}

/** Stream a remote file into `into` while hashing it; `into` is ended on success. */
async function fetchFileVia(run: RawRun, remotePath: string, into: Writable, options: { sudo?: boolean } = {}): Promise<FetchResult> {
  const hashing = new HashingStream();
  const sink = new PassThrough();
  const piping = pipeline(sink, hashing, into);
  const stderr: string[] = [];
  const result = await run(['cat', '--', remotePath], {
    sudo: options.sudo,
    stdoutSink: sink,
    onStderr: (l) => stderr.push(l),
  });
  if (result.exitCode !== 0) {
    sink.destroy();
    await piping.catch(() => undefined);
    check(result, `fetching ${remotePath}`, stderr);
  }
  await piping;
  return { sha256: hashing.digest(), bytes: hashing.bytes };
}

/** A Machine whose transfers are shell commands run through its own run(). */
export abstract class ShellMachine implements Machine {
  abstract readonly description: string;
  abstract readonly isRoot: boolean;
  abstract run(argv: readonly string[], options?: RunOptions): Promise<RunResult>;
  abstract close(): Promise<void>;

  private readonly raw: RawRun = (argv, options) => this.run(argv, options);

  sendTree(localDir: string, remoteDir: string, options?: { files?: readonly string[]; sudo?: boolean }): Promise<void> {
    return sendTreeVia(this.raw, localDir, remoteDir, options);
  }

  sendFile(source: string | Buffer, remotePath: string, options?: { mode?: number; sudo?: boolean }): Promise<void> {
    return sendFileVia(this.raw, source, remotePath, options);
  }

  fetchFile(remotePath: string, into: Writable, options?: { sudo?: boolean }): Promise<FetchResult> {
    return fetchFileVia(this.raw, remotePath, into, options);
  }
}
