// The QEMU commands `verify --boot` and `verify --agent` run, each behind one small function.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { HintedError } from '../util/errors.js';

export const qemuSystem = 'qemu-system-x86_64';

/** QEMU option values are comma-separated; a comma in a path is written twice. */
export function qemuEscape(value: string): string {
  return value.replaceAll(',', ',,');
}

/** `qemu-img info` of an image we did not make, with its format given so nothing is probed. */
export async function qemuImgInfo(path: string, format: DiskImageFormat): Promise<Record<string, unknown>> {
  const { stdout } = await execa('qemu-img', ['info', '--output=json', '-f', format, path]);
  return JSON.parse(stdout) as Record<string, unknown>;
}

/** A throw-away qcow2 overlay, so the guest never writes to the extracted disk; `sizeBytes` makes its disk bigger than the image. */
export async function qemuImgOverlay(overlay: string, backing: string, backingFormat: DiskImageFormat, sizeBytes?: number): Promise<void> {
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', backing, '-F', backingFormat, overlay, ...(sizeBytes ? [String(sizeBytes)] : [])]);
}

/** The image formats a stemcell's disk comes in that QEMU boots (vmdk: the ovf stemcells' stream-optimized disk). */
export type DiskImageFormat = 'raw' | 'qcow2' | 'vmdk';

/** The first `bytes` of a qcow2 or vmdk image's virtual disk, as raw bytes (for its partition table). */
export async function qemuImgHead(image: string, out: string, bytes: number, format: 'qcow2' | 'vmdk' = 'qcow2'): Promise<Buffer> {
  await execa('qemu-img', ['dd', '-f', format, '-O', 'raw', `bs=${bytes}`, 'count=1', `if=${image}`, `of=${out}`]);
  return readFile(out);
}

/** Whether a command is on PATH. */
export async function hasCommand(command: string): Promise<boolean> {
  const result = await execa('sh', ['-c', 'command -v "$1"', 'sh', command], { reject: false });
  return result.exitCode === 0;
}

/**
 * A 512-byte boot sector that counts down 200 million times and then writes SF-KVM-OK to the
 * debug port 0x402. Real KVM runs it in well under a second. Where /dev/kvm is an instruction
 * emulator (a nested PVM host, as on our CI machines) it never gets there, and TCG is faster.
 */
function probeBootSector(): Buffer {
  const code: number[] = [
    0x66,
    0xb9,
    0x00,
    0xc2,
    0xeb,
    0x0b, // mov ecx, 200000000
    0x66,
    0x49,
    0x75,
    0xfc, //             loop: dec ecx; jnz loop
    0xba,
    0x02,
    0x04, //                   mov dx, 0x402
  ];
  for (const c of Buffer.from('\nSF-KVM-OK\n')) code.push(0xb0, c, 0xee); // mov al, c; out dx, al
  code.push(0xf4, 0xeb, 0xfd); //          hlt; jmp hlt
  const sector = Buffer.alloc(512);
  Buffer.from(code).copy(sector);
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}

export interface KvmProbe {
  usable: boolean;
  reason: string;
}

let kvmProbe: Promise<KvmProbe> | undefined;

/** Whether KVM really runs a stock guest here: by trying, once per process. */
export function probeKvm(workDir: string): Promise<KvmProbe> {
  kvmProbe ??= runKvmProbe(workDir);
  return kvmProbe;
}

async function runKvmProbe(workDir: string): Promise<KvmProbe> {
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { usable: false, reason: '/dev/kvm is missing or not writable' };
  }
  const disk = join(workDir, 'kvm-probe.img');
  const out = join(workDir, 'kvm-probe.log');
  await writeFile(disk, probeBootSector());
  await writeFile(out, '');
  const child = spawn(
    qemuSystem,
    [
      '-machine',
      'pc',
      '-accel',
      'kvm',
      '-cpu',
      'host',
      '-m',
      '64',
      '-nodefaults',
      '-display',
      'none',
      '-no-reboot',
      '-drive',
      `file=${qemuEscape(disk)},format=raw,if=ide`,
      '-chardev',
      `file,id=dbg,path=${qemuEscape(out)}`,
      '-device',
      'isa-debugcon,iobase=0x402,chardev=dbg',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
  let exited = false;
  child.on('exit', () => (exited = true));
  child.on('error', () => (exited = true));
  try {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if ((await readFile(out, 'utf8')).includes('SF-KVM-OK')) return { usable: true, reason: 'KVM ran the probe guest at full speed' };
      if (exited) {
        const line = stderr.split('\n').find((l) => /error|fail/i.test(l)) ?? stderr.trim().split('\n')[0] ?? '';
        return { usable: false, reason: `QEMU with KVM did not start${line ? `: ${line.trim()}` : ''}` };
      }
      await sleep(100);
    }
    return { usable: false, reason: 'KVM starts but runs a stock guest far too slowly (an emulated /dev/kvm, e.g. nested PVM)' };
  } finally {
    await stopProcess(child);
  }
}

/** Ends a child we started: SIGTERM by its pid, then SIGKILL if it lingers. */
export async function stopProcess(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  }, graceMs);
  await gone;
  clearTimeout(timer);
}

export interface QemuProcess {
  child: ChildProcess;
  pid: number;
  /** the last 4 KiB QEMU wrote to stderr */
  stderr: () => string;
  exited: () => { code: number | null; signal: string | null } | undefined;
}

/** Starts qemu-system-x86_64 with these arguments; stdin closed, stdout ignored, stderr kept. */
export function startQemu(args: string[]): QemuProcess {
  const child = spawn(qemuSystem, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (child.pid === undefined) throw new HintedError(`cannot start ${qemuSystem}`, 'install QEMU: apt-get install qemu-system-x86 qemu-utils');
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4096)));
  let exit: { code: number | null; signal: string | null } | undefined;
  child.on('exit', (code, signal) => (exit = { code, signal }));
  child.on('error', (err) => (stderr += `\n${err.message}`));
  return { child, pid: child.pid, stderr: () => stderr, exited: () => exit };
}
