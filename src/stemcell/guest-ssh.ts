// SSH into the guest as the user the agent's ssh action made. The guest's host key is accepted only if its
// fingerprint is one the VM itself printed on the serial console on first boot (stemforge-ssh-host-key: …).
import ssh2, { type ClientChannel } from 'ssh2';
import { fingerprint, keyType } from '../machine/host-keys.js';
import { shellJoin } from '../machine/quote.js';

const { Client } = ssh2;
type Client = InstanceType<typeof Client>;

/**
 * A fresh ed25519 key pair for the login, in OpenSSH format. ssh2's generator drops a public key's leading
 * zero bytes, so about one pair in 256 is one ssh2 itself cannot read back: make another until both halves parse.
 */
export function loginKeyPair(): { public: string; private: string } {
  for (let attempt = 1; ; attempt++) {
    const keys = ssh2.utils.generateKeyPairSync('ed25519');
    if (!(ssh2.utils.parseKey(keys.public) instanceof Error) && !(ssh2.utils.parseKey(keys.private) instanceof Error)) return keys;
    if (attempt >= 16) throw new Error('could not make an ed25519 key pair that ssh2 reads back');
  }
}

export interface ConsoleHostKey {
  bits: number;
  fingerprint: string;
  /** as ssh-keygen -l prints it: ED25519, ECDSA, RSA */
  type: string;
}

/** The host key fingerprints the first boot printed: `stemforge-ssh-host-key: 256 SHA256:… root@host (ED25519)`. */
export function consoleHostKeys(consoleText: string): ConsoleHostKey[] {
  const keys: ConsoleHostKey[] = [];
  for (const m of consoleText.matchAll(/stemforge-ssh-host-key: (\d+) (SHA256:[A-Za-z0-9+/]{43})\b.*?\(([A-Z0-9-]+)\)/g)) {
    const [, bits, fp, type] = m;
    if (bits && fp && type && !keys.some((k) => k.fingerprint === fp)) keys.push({ bits: Number(bits), fingerprint: fp, type });
  }
  return keys;
}

export interface GuestRunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface GuestSsh {
  /** the host key that was checked and accepted */
  hostKey: { type: string; fingerprint: string };
  /** runs argv (quoted for the remote shell), with `sudo -n` if asked */
  run: (argv: readonly string[], options?: { sudo?: boolean; stdin?: string; timeoutMs?: number }) => Promise<GuestRunResult>;
  close: () => void;
}

export interface GuestSshTarget {
  port: number;
  user: string;
  /** OpenSSH private key text */
  privateKey: string;
  /** the fingerprints the console printed; nothing else is accepted */
  fingerprints: readonly string[];
  readyTimeoutMs?: number;
}

function run(client: Client, argv: readonly string[], options: { sudo?: boolean; stdin?: string; timeoutMs?: number }): Promise<GuestRunResult> {
  const command = shellJoin(options.sudo ? ['sudo', '-n', ...argv] : argv);
  return new Promise((resolve, reject) => {
    client.exec(command, (err: Error | undefined, channel: ClientChannel) => {
      if (err) {
        reject(err);
        return;
      }
      let stdout = '';
      let stderr = '';
      let code = 255;
      const timer = setTimeout(() => channel.close(), options.timeoutMs ?? 120_000);
      channel.on('data', (c: Buffer) => (stdout += c.toString()));
      channel.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      channel.on('exit', (c: number | null) => (code = typeof c === 'number' ? c : 255));
      channel.on('error', () => undefined);
      channel.on('close', () => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
      channel.end(options.stdin ?? '');
    });
  });
}

/** Connects, checking the host key against the console's fingerprints. */
export function connectGuest(target: GuestSshTarget): Promise<GuestSsh> {
  if (target.fingerprints.length === 0) {
    return Promise.reject(new Error("the console shows no stemforge-ssh-host-key lines: the guest's host key cannot be checked, so no SSH"));
  }
  const client = new Client();
  let accepted: { type: string; fingerprint: string } | undefined;
  let refused: string | undefined;
  return new Promise((resolve, reject) => {
    client.once('ready', () => {
      resolve({
        hostKey: accepted ?? { type: '?', fingerprint: '?' },
        run: (argv, options = {}) => run(client, argv, options),
        close: () => client.end(),
      });
    });
    // ssh2 may emit more than one error (a handshake that fails, then the socket closing): an unhandled one would end the process
    client.on('error', (err: Error) => {
      client.end();
      reject(refused ? new Error(refused) : err);
    });
    client.connect({
      host: '127.0.0.1',
      port: target.port,
      username: target.user,
      privateKey: target.privateKey,
      readyTimeout: target.readyTimeoutMs ?? 30_000,
      hostVerifier: (key: Buffer): boolean => {
        const fp = fingerprint(key);
        if (target.fingerprints.includes(fp)) {
          accepted = { type: keyType(key), fingerprint: fp };
          return true;
        }
        refused =
          `the guest offered host key ${keyType(key)} ${fp}, which is not among those its console printed ` + `(${target.fingerprints.join(', ')}); refusing`;
        return false;
      },
    });
  });
}
