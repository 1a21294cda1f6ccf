// The one surface every phase uses to act on the build machine. Implementations: local
// (this host, as root) and ssh (any host, the Vagrant VM included). Nothing else spawns
// processes or opens SSH channels for stage work.
import type { Writable } from 'node:stream';

/** Anything that can pipe into the command's stdin (node streams, tar's minipass streams). */
export interface PipeSource {
  pipe(destination: NodeJS.WritableStream): unknown;
}

export interface RunOptions {
  /** the command's whole environment; PATH is added when missing */
  env?: Record<string, string>;
  /** run as root (sudo -n when the machine's user is not root) */
  sudo?: boolean;
  cwd?: string;
  /** each complete line of output, without its newline */
  onStdout?: (line: string) => void;
  onStderr?: (line: string) => void;
  /** bytes fed to the command's standard input, then EOF */
  stdin?: PipeSource | Buffer | string;
  /** cancel: the command is sent SIGTERM, then the promise resolves with its end */
  signal?: AbortSignal;
  /** raw stdout bytes go here instead of onStdout (ended with the command) */
  stdoutSink?: Writable;
}

export interface RunResult {
  exitCode: number;
  /** set when the command was ended by a signal */
  signal?: string;
  cancelled: boolean;
  /** the connection to the machine broke before the command's end was known */
  connectionLost?: boolean;
}

export interface FetchResult {
  sha256: string;
  bytes: number;
}

export interface Machine {
  /** e.g. "local" or "ssh://root@127.0.0.1:2222" — never carries a secret */
  readonly description: string;
  /** whether commands run as root without sudo */
  readonly isRoot: boolean;
  run(argv: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Mirror a local folder's listed files (all when omitted) into remoteDir, modes kept. */
  sendTree(localDir: string, remoteDir: string, options?: { files?: readonly string[]; sudo?: boolean }): Promise<void>;
  sendFile(localPath: string | Buffer, remotePath: string, options?: { mode?: number; sudo?: boolean }): Promise<void>;
  /** Stream a remote file into `into`, hashing it on the way. */
  fetchFile(remotePath: string, into: Writable, options?: { sudo?: boolean }): Promise<FetchResult>;
  /** Open a new connection after connectionLost (machines that can lose one). */
  reconnect?(): Promise<void>;
  close(): Promise<void>;
}

export const defaultPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Run and require exit code 0; returns stdout. For short bookkeeping commands only. */
export async function runChecked(machine: Machine, argv: readonly string[], options: RunOptions = {}): Promise<string> {
  const out: string[] = [];
  const err: string[] = [];
  const result = await machine.run(argv, {
    ...options,
    onStdout: (l) => {
      out.push(l);
      options.onStdout?.(l);
    },
    onStderr: (l) => {
      err.push(l);
      options.onStderr?.(l);
    },
  });
  if (result.exitCode !== 0) {
    const tail = err.slice(-5).join('\n') || out.slice(-5).join('\n');
    throw new Error(`${machine.description}: '${argv.join(' ')}' exited ${result.exitCode}${tail ? `:\n${tail}` : ''}`);
  }
  return out.join('\n');
}
