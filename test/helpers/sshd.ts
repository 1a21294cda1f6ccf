// A real OpenSSH sshd on 127.0.0.1 with its own config, host key and client key, for
// tests. No system service or system file is touched; it runs until stop().
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SshMachine } from '../../src/machine/ssh.js';

export const sshdPath = '/usr/sbin/sshd';

export interface TestSshd {
  host: '127.0.0.1';
  port: number;
  user: 'root';
  dir: string;
  clientKey: string;
  knownHosts: string;
  hostPublicKey: string;
  machineUrl: string;
  /** the listening sshd; each connection is a child process of it */
  pid: number;
  log(): string;
  stop(): Promise<void>;
}

/** Why sshd tests cannot run here, or undefined when they can. */
export function sshdUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (sshd logs in as root)';
  if (!existsSync(sshdPath)) return `${sshdPath} is not installed (apt-get install openssh-server)`;
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitForBanner(port: number, child: ChildProcess, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('data', (d) => {
        socket.destroy();
        resolve(d.toString().startsWith('SSH-2.0'));
      });
      socket.once('error', () => resolve(false));
      socket.setTimeout(1000, () => {
        socket.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('sshd did not answer in time');
}

function keygen(path: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'stemforge-test', '-f', path]);
}

/**
 * `wrap`: a command sshd is started through, which ends by exec'ing its arguments (e.g. unshare
 * into a private mount namespace), so every login sees what the wrapper set up.
 */
export async function startSshd(options: { wrap?: readonly string[] } = {}): Promise<TestSshd> {
  const dir = mkdtempSync(join(tmpdir(), 'sf-sshd-'));
  keygen(join(dir, 'host_ed25519'));
  keygen(join(dir, 'client_ed25519'));
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_ed25519.pub')), { mode: 0o600 });
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation directory
  const hostPublicKey = readFileSync(join(dir, 'host_ed25519.pub'), 'utf8').trim();

  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const config = [
      'ListenAddress 127.0.0.1',
      `Port ${port}`,
      `HostKey ${join(dir, 'host_ed25519')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'MaxSessions 20',
      'LogLevel VERBOSE',
      '',
    ].join('\n');
    writeFileSync(join(dir, 'sshd_config'), config);
    const logPath = join(dir, 'sshd.log');
    execFileSync(sshdPath, ['-t', '-f', join(dir, 'sshd_config')]);
    const command = [...(options.wrap ?? []), sshdPath, '-D', '-e', '-f', join(dir, 'sshd_config'), '-E', logPath];
    const child = spawn(command[0]!, command.slice(1), { stdio: 'ignore' });
    try {
      await waitForBanner(port, child, Date.now() + 10_000);
    } catch {
      child.kill('SIGTERM');
      continue; // the port was taken between probe and bind: try another
    }
    const knownHosts = join(dir, 'known_hosts');
    writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostPublicKey.split(' ').slice(0, 2).join(' ')}\n`);
    return {
      host: '127.0.0.1',
      port,
      user: 'root',
      dir,
      clientKey: join(dir, 'client_ed25519'),
      knownHosts,
      hostPublicKey,
      machineUrl: `ssh://root@127.0.0.1:${port}`,
      pid: child.pid!,
      log: () => (existsSync(logPath) ? readFileSync(logPath, 'utf8') : ''),
      stop: async () => {
        if (child.exitCode === null) {
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGTERM');
          await exited;
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  throw new Error('could not start sshd on a free port');
}

/** An ssh Machine logged in to the test sshd as root, its host key checked. */
export function connectToSshd(sshd: TestSshd): Promise<SshMachine> {
  return SshMachine.connect({ user: 'root', host: '127.0.0.1', port: sshd.port, identityFile: sshd.clientKey, knownHostsFile: sshd.knownHosts });
}

/** Why a real build through the ssh machine cannot run here (sshd or debootstrap missing), if it cannot. */
export function buildOverSshUnavailable(): string | undefined {
  return sshdUnavailable() ?? (existsSync('/usr/sbin/debootstrap') ? undefined : 'debootstrap is not installed');
}
