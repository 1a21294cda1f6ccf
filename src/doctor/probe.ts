// Everything the doctor learns about this host comes through DoctorProbe, so the checks
// stay pure and tests hand them a fake. realProbe is the one that looks.
import { execa } from 'execa';
import { constants } from 'node:fs';
import { access, statfs } from 'node:fs/promises';
import { arch, cpus, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { architectureFacts, qemuUserProgram, stemcellArchitecture } from '../catalog/architectures.js';
import type { SshOptions } from '../machine/open.js';
import { SshMachine } from '../machine/ssh.js';
import { HintedError } from '../util/errors.js';

export interface ProbeRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface FreeSpace {
  bytes: number;
  /** the folder measured: the one asked about, or its nearest existing parent */
  path: string;
  /** whether the folder asked about exists (else path is its parent) */
  exists: boolean;
}

/** The emulators a build machine has for the image's programs (absolute paths), when it needs one. */
export interface EmulatorsFound {
  rosetta?: string;
  qemu?: string;
}

export type SshCheck =
  | {
      ok: true;
      isRoot: boolean;
      sudo: boolean;
      /** its `uname -m` */
      machine: string;
      emulators: EmulatorsFound;
    }
  | { ok: false; message: string; hint?: string };

export interface SshEndpoint {
  user: string;
  host: string;
  port: number;
}

export const accessModes = {
  exists: constants.F_OK,
  read: constants.R_OK,
  write: constants.W_OK,
  readWrite: constants.R_OK | constants.W_OK,
  execute: constants.X_OK,
} as const;

export interface DoctorProbe {
  /** Run a tool (20 s bound); 'missing' when it is not installed. */
  run(file: string, args: readonly string[]): Promise<ProbeRun | 'missing'>;
  freeBytes(dir: string): Promise<FreeSpace>;
  totalMemBytes(): number;
  cpuCount(): number;
  arch(): string;
  platform(): NodeJS.Platform;
  /** undefined where there are no uids (Windows) */
  uid(): number | undefined;
  access(path: string, mode: number): Promise<boolean>;
  nodeVersion(): string;
  env(name: string): string | undefined;
  /** Log in (host key checked), ask the machine's architecture and emulators, and `sudo -n true` when not root; then close. */
  sshCheck(endpoint: SshEndpoint, ssh: SshOptions): Promise<SshCheck>;
}

const runTimeoutMs = 20_000;

async function run(file: string, args: readonly string[]): Promise<ProbeRun | 'missing'> {
  const result = await execa(file, args, {
    reject: false,
    timeout: runTimeoutMs,
    stdin: 'ignore',
    // Vagrant otherwise phones home for a version check and colours its output
    env: { VAGRANT_CHECKPOINT_DISABLE: '1', VAGRANT_NO_COLOR: '1' },
  });
  if (result.code === 'ENOENT') return 'missing';
  const stdout = typeof result.stdout === 'string' ? result.stdout : '';
  const stderr = typeof result.stderr === 'string' ? result.stderr : '';
  if (result.timedOut) return { exitCode: 124, stdout, stderr: `${stderr}\n${file} did not finish within ${runTimeoutMs / 1000} s`.trim() };
  if (result.exitCode === undefined) return { exitCode: 126, stdout, stderr: result.shortMessage ?? `cannot run ${file}` };
  return { exitCode: result.exitCode, stdout, stderr };
}

async function freeBytes(dir: string): Promise<FreeSpace> {
  let path = resolve(dir);
  for (let exists = true; ; exists = false) {
    try {
      const stats = await statfs(path);
      return { bytes: stats.bavail * stats.bsize, path, exists };
    } catch (err) {
      // the folder is made on first use: measure where it will be made
      const parent = dirname(path);
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || parent === path) throw err;
      path = parent;
    }
  }
}

// One command for the doctor's questions to an ssh machine (one round trip): its `uname -m`,
// the first Rosetta that is an executable file, and the qemu-user emulator on its PATH.
export const machineFactsScript = `uname -m
q=$1; shift
for p in "$@"; do if [ -f "$p" ] && [ -x "$p" ]; then echo "rosetta $p"; break; fi; done
if p=$(command -v "$q"); then echo "qemu $p"; fi
exit 0`;

/** The machine's answer to machineFactsScript. */
export function parseMachineFacts(lines: readonly string[]): { machine: string; emulators: EmulatorsFound } {
  const emulators: EmulatorsFound = {};
  for (const line of lines.slice(1)) {
    const [kind, ...rest] = line.split(' ');
    if (kind === 'rosetta' || kind === 'qemu') emulators[kind] = rest.join(' ');
  }
  return { machine: lines[0]?.trim() ?? '', emulators };
}

async function sshCheck(endpoint: SshEndpoint, ssh: SshOptions): Promise<SshCheck> {
  let machine: SshMachine;
  try {
    machine = await SshMachine.connect({ ...endpoint, ...ssh, readyTimeoutMs: 15_000 });
  } catch (err) {
    return { ok: false, message: (err as Error).message, hint: err instanceof HintedError ? err.hint : undefined };
  }
  try {
    const lines: string[] = [];
    const image = stemcellArchitecture;
    const argv = ['sh', '-c', machineFactsScript, 'stemforge-doctor', qemuUserProgram(image), ...architectureFacts[image].rosettaPaths];
    const facts = await machine.run(argv, { onStdout: (l) => lines.push(l) });
    if (facts.exitCode !== 0) return { ok: false, message: `${machine.description}: a plain sh command exited ${facts.exitCode}` };
    const sudo = machine.isRoot || (await machine.run(['true'], { sudo: true })).exitCode === 0;
    return { ok: true, isRoot: machine.isRoot, sudo, ...parseMachineFacts(lines) };
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  } finally {
    await machine.close();
  }
}

export const realProbe: DoctorProbe = {
  run,
  freeBytes,
  totalMemBytes: () => totalmem(),
  cpuCount: () => cpus().length,
  arch: () => arch(),
  platform: () => process.platform,
  uid: () => process.getuid?.(),
  access: (path, mode) =>
    access(path, mode).then(
      () => true,
      () => false,
    ),
  nodeVersion: () => process.version,
  env: (name) => process.env[name],
  sshCheck,
};
