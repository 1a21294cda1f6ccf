// The ssh machine: any host reachable over SSH with key auth (the Vagrant VM included).
// Host keys are checked, every remote argument is shell-quoted, keepalive is on.
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import ssh2, { type ClientChannel, type ConnectConfig } from 'ssh2';
import { HintedError } from '../util/errors.js';
import { LineSplitter } from '../util/lines.js';
import { checkKnownHosts, fingerprint, keyType, knownHostsName, type HostKeyVerdict } from './host-keys.js';
import { defaultPath, runChecked, type RunOptions, type RunResult } from './machine.js';
import { shellJoin, shellQuote, withCleanEnv } from './quote.js';
import { ShellMachine } from './transfer.js';

const { Client } = ssh2;

const pidPrefix = 'stemforge-remote-pid:';

export interface SshTarget {
  user: string;
  host: string;
  port: number;
  /** private key file; else the ssh agent, else ~/.ssh/id_ed25519, id_ecdsa, id_rsa */
  identityFile?: string;
  /** OpenSSH known_hosts file; default ~/.ssh/known_hosts */
  knownHostsFile?: string;
  /** a pinned "SHA256:…" fingerprint; replaces the known_hosts lookup */
  hostKeyFingerprint?: string;
  /** record an unknown host key in knownHostsFile and accept it (a changed one is still refused) */
  trustOnFirstUse?: boolean;
  readyTimeoutMs?: number;
}

const defaultIdentities = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

async function loadPrivateKey(target: SshTarget): Promise<Buffer | undefined> {
  if (target.identityFile) {
    try {
      return await readFile(target.identityFile);
    } catch (err) {
      throw new HintedError(
        `cannot read the identity file ${target.identityFile}: ${(err as Error).message}`,
        'pass --identity with the path of the private key authorized on the host',
      );
    }
  }
  if (process.env.SSH_AUTH_SOCK) return undefined;
  for (const name of defaultIdentities) {
    try {
      return await readFile(join(homedir(), '.ssh', name));
    } catch {
      // try the next one
    }
  }
  return undefined;
}

async function readKnownHosts(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

function hostKeyError(target: SshTarget, verdict: HostKeyVerdict, key: Buffer, knownHostsFile: string): HintedError {
  const name = knownHostsName(target.host, target.port);
  const fp = `${keyType(key)} ${fingerprint(key)}`;
  const scan = `ssh-keyscan -p ${target.port} ${shellQuote(target.host)} >> ${shellQuote(knownHostsFile)}`;
  if (target.hostKeyFingerprint) {
    return new HintedError(
      `host key of ${name} is ${fp}, not the pinned ${target.hostKeyFingerprint}; refusing to connect`,
      'check that you reach the right machine; if its key was changed on purpose, pin the new fingerprint',
    );
  }
  switch (verdict.kind) {
    case 'unknown':
      return new HintedError(
        `host key of ${name} is not known (${fp}); refusing to connect`,
        `if this is the right machine, record its key: ${scan} (or pass --host-key ${fingerprint(key)})`,
      );
    case 'revoked':
      return new HintedError(
        `host key of ${name} (${fp}) is marked @revoked in ${knownHostsFile}; refusing to connect`,
        'the machine offers a revoked key: do not use it until its keys are replaced',
      );
    default:
      return new HintedError(
        `HOST KEY MISMATCH for ${name}: it offers ${fp}, but ${knownHostsFile} records another key; refusing to connect`,
        'someone may be intercepting the connection, or the machine was rebuilt; if you know it was rebuilt, ' +
          `remove the old entry (ssh-keygen -R '${name}' -f ${shellQuote(knownHostsFile)}) and record the new one`,
      );
  }
}

function connectError(target: SshTarget, err: Error & { level?: string; code?: string }): HintedError {
  const where = `${target.host}:${target.port}`;
  if (err.level === 'client-authentication') {
    return new HintedError(
      `ssh authentication as ${target.user} on ${where} failed`,
      "pass --identity FILE with a private key listed in that user's authorized_keys",
      { cause: err },
    );
  }
  if (err.level === 'client-timeout') {
    return new HintedError(`ssh to ${where} timed out during the handshake`, 'check that the host is up and that an SSH server answers on that port', {
      cause: err,
    });
  }
  const code = err.code ?? '';
  return new HintedError(`cannot reach ${where} over ssh: ${code || err.message}`, 'check the address and port, and that sshd runs on the host', {
    cause: err,
  });
}

type Client = InstanceType<typeof Client>;

/** Open one authenticated connection, checking the host key. */
async function dial(target: SshTarget): Promise<Client> {
  const knownHostsFile = target.knownHostsFile ?? join(homedir(), '.ssh', 'known_hosts');
  const knownHosts = target.hostKeyFingerprint ? '' : await readKnownHosts(knownHostsFile);
  const privateKey = await loadPrivateKey(target);
  let rejected: HintedError | undefined;
  let firstSeen: Buffer | undefined;

  const client = new Client();
  const config: ConnectConfig = {
    host: target.host,
    port: target.port,
    username: target.user,
    privateKey,
    agent: privateKey ? undefined : process.env.SSH_AUTH_SOCK,
    readyTimeout: target.readyTimeoutMs ?? 20_000,
    keepaliveInterval: 15_000,
    keepaliveCountMax: 4,
    hostVerifier: (key: Buffer) => {
      const verdict: HostKeyVerdict = target.hostKeyFingerprint
        ? fingerprint(key) === target.hostKeyFingerprint
          ? { kind: 'match' }
          : { kind: 'mismatch', knownTypes: [] }
        : checkKnownHosts(knownHosts, target.host, target.port, key);
      if (verdict.kind === 'match') return true;
      if (verdict.kind === 'unknown' && target.trustOnFirstUse) {
        firstSeen = key;
        return true;
      }
      rejected = hostKeyError(target, verdict, key, knownHostsFile);
      return false;
    },
  };
  if (!privateKey && !config.agent) {
    throw new HintedError(`no SSH key to log in to ${target.host} with`, 'pass --identity FILE, or start an ssh-agent holding the key');
  }
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('error', (err: Error) => reject(rejected ?? connectError(target, err)));
    client.connect(config);
  });
  if (firstSeen) await recordHostKey(knownHostsFile, target, firstSeen);
  // Later failures (dropped connection) surface on the channels; keep the process alive.
  client.on('error', () => undefined);
  // Commands are many small request/response exchanges: Nagle's algorithm against the
  // peer's delayed ACKs would add tens of milliseconds to each.
  client.setNoDelay(true);
  return client;
}

/** Trust on first use: append the key to a known_hosts file of ours (0600). */
async function recordHostKey(file: string, target: SshTarget, key: Buffer): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await appendFile(file, `${knownHostsName(target.host, target.port)} ${keyType(key)} ${key.toString('base64')}\n`, { mode: 0o600 });
}

export class SshMachine extends ShellMachine {
  readonly description: string;
  isRoot = false;
  private connected = true;

  private constructor(
    private client: Client,
    readonly target: SshTarget,
  ) {
    super();
    const host = target.host.includes(':') ? `[${target.host}]` : target.host;
    this.description = `ssh://${target.user}@${host}:${target.port}`;
    this.watch(client);
  }

  static async connect(target: SshTarget): Promise<SshMachine> {
    const machine = new SshMachine(await dial(target), target);
    const uid = await runChecked(machine, ['id', '-u']);
    machine.isRoot = uid.trim() === '0';
    return machine;
  }

  private watch(client: Client): void {
    const lost = (): void => {
      if (client === this.client) this.connected = false;
    };
    client.on('close', lost);
    client.on('end', lost);
  }

  /** A fresh connection after a drop; the host key is checked again. */
  async reconnect(): Promise<void> {
    const client = await dial(this.target);
    const old = this.client;
    this.client = client;
    this.connected = true;
    this.watch(client);
    old.end();
  }

  /** The command string the remote login shell runs. */
  commandLine(argv: readonly string[], options: RunOptions): string {
    const env = { PATH: defaultPath, ...(options.env ?? {}) };
    const inner = withCleanEnv(env, argv);
    const full = options.sudo && !this.isRoot ? ['sudo', '-n', ...inner] : inner;
    const cd = options.cwd ? `cd ${shellQuote(options.cwd)} && ` : '';
    // Without input the command reads /dev/null, and our side of the channel stays open:
    // ssh2 only sends signal requests (cancel) on a channel that is still writable.
    const input = options.stdin === undefined ? ' </dev/null' : '';
    // The first stderr line names the command's pid (exec keeps it), so a cancel can kill
    // it from a second channel: sshd refuses signal requests for root logins.
    return `echo ${pidPrefix}$$ >&2; ${cd}exec ${shellJoin(full)}${input}`;
  }

  run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const command = this.commandLine(argv, options);
    return new Promise<RunResult>((resolve, reject) => {
      if (!this.connected) {
        resolve({ exitCode: 255, cancelled: false, connectionLost: true });
        return;
      }
      this.client.exec(command, (err: Error | undefined, channel: ClientChannel) => {
        if (err) {
          if (!this.connected) resolve({ exitCode: 255, cancelled: false, connectionLost: true });
          else reject(new Error(`${this.description}: cannot start a command: ${err.message}`));
          return;
        }
        let exitCode: number | undefined;
        let signal: string | undefined;
        let cancelled = false;
        let killTimer: NodeJS.Timeout | undefined;
        const out = new LineSplitter((l) => options.onStdout?.(l));
        let remotePid: number | undefined;
        const errLines = new LineSplitter((l) => {
          if (remotePid === undefined && l.startsWith(pidPrefix)) {
            remotePid = Number(l.slice(pidPrefix.length));
            if (cancelled) this.killRemote(remotePid, !!options.sudo);
            return;
          }
          options.onStderr?.(l);
        });
        const onAbort = (): void => {
          cancelled = true;
          channel.signal('TERM');
          if (remotePid !== undefined) this.killRemote(remotePid, !!options.sudo);
          // last resort: closing the channel ends the session's stdin and output
          killTimer = setTimeout(() => channel.close(), 15_000);
        };
        if (options.signal?.aborted) onAbort();
        else options.signal?.addEventListener('abort', onAbort, { once: true });

        if (options.stdoutSink) channel.pipe(options.stdoutSink);
        else channel.on('data', (c: Buffer) => out.push(c));
        channel.stderr.on('data', (c: Buffer) => errLines.push(c));
        channel.on('exit', (code: number | null, sig?: string) => {
          if (typeof code === 'number') exitCode = code;
          if (sig) signal = sig;
        });
        channel.on('error', () => undefined);
        channel.on('close', () => {
          if (killTimer) clearTimeout(killTimer);
          options.signal?.removeEventListener('abort', onAbort);
          out.flush();
          errLines.flush();
          // no exit status: the connection dropped or the server killed the session
          const connectionLost = exitCode === undefined && signal === undefined;
          resolve({ exitCode: exitCode ?? (signal ? 128 : 255), signal, cancelled, connectionLost });
        });

        if (options.stdin === undefined) return;
        if (typeof options.stdin === 'string' || Buffer.isBuffer(options.stdin)) channel.end(options.stdin);
        else options.stdin.pipe(channel);
      });
    });
  }

  /** SIGTERM to a command of ours, from a second channel. */
  private killRemote(pid: number, sudo: boolean): void {
    if (!Number.isInteger(pid) || pid <= 1) return;
    this.run(['kill', '-TERM', String(pid)], { sudo }).catch(() => undefined);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.client.once('close', () => resolve());
      this.client.end();
      setTimeout(resolve, 2_000).unref();
    });
  }
}
