// `stemforge verify FILE --boot`: boots a stemcell's raw, rawdisk or qcow2 image under QEMU and
// succeeds once systemd reaches multi-user and sshd answers with its banner on 127.0.0.1 (or, for a
// guest without a network address, the console shows sshd started). The guest gets a user-mode
// network with restrict=on (it reaches nothing) and only port 22 forwarded to 127.0.0.1.
import { copyFile, mkdir, mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createGunzip } from 'node:zlib';
import { HintedError } from '../util/errors.js';
import { chooseFirmware, findOvmf, type Firmware } from './firmware.js';
import { checkStemcell, readStemcell } from './inspect.js';
import { hasCommand, probeKvm, qemuEscape, qemuImgHead, qemuImgInfo, qemuImgOverlay, qemuSystem, startQemu, stopProcess, type QemuProcess } from './qemu.js';
import { describeSize, HostileTarballError, readTar } from './tar-reader.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

export interface VerifyBootRequest {
  file: string;
  timeoutMs: number;
  /** keep the serial console here; by default it is kept (outside the temp dir) only on failure */
  consoleLog?: string;
  memoryMiB?: number;
  signal?: AbortSignal;
  onProgress?: (line: string) => void;
}

export interface VerifyBootResult {
  ok: boolean;
  file: string;
  name: string;
  version: string;
  diskFormat: string;
  firmware: Firmware;
  firmwareReason: string;
  accel: 'kvm' | 'tcg';
  accelReason: string;
  sshPort?: number;
  /** seconds from QEMU's start */
  multiUserSeconds?: number;
  /** when the console said sshd started (ssh.service is Type=notify: started means listening) */
  sshdStartedSeconds?: number;
  /** seconds to the sshd banner on 127.0.0.1, else to sshd's start on the console */
  bootSeconds?: number;
  sshBanner?: string;
  /** how sshd was seen listening: its banner on the forwarded port, or only the console */
  sshdSeenBy?: 'banner' | 'console';
  /** why there is no banner although sshd started */
  note?: string;
  consoleLog?: string;
  consoleTail?: string[];
  error?: string;
  interrupted?: boolean;
}

/** The disk inside `image` for each disk format we can boot (facts §5c). */
const diskMembers: Record<string, { member: string; format: 'raw' | 'qcow2' }> = {
  raw: { member: 'root.img', format: 'raw' },
  qcow2: { member: 'root.img', format: 'qcow2' },
  rawdisk: { member: 'disk.raw', format: 'raw' },
};

const multiUserPattern = /Reached target[^\n]*(Multi-User System|multi-user\.target)|\S+ login: ?/;
// Debian's and Ubuntu's ssh.service (Type=notify) or Noble's ssh.socket
const sshdPattern = /Started[^\n]*OpenBSD Secure Shell server|Listening on[^\n]*ssh\.socket/;
// after the console shows sshd started, how long to keep knocking for its banner
const bannerGraceMs = 90_000;
const consoleTailLines = 40;

/** Writes a body to a new file, skipping all-zero chunks, so a mostly empty raw disk stays sparse. */
async function writeSparse(path: string, body: AsyncIterable<Buffer>): Promise<number> {
  const handle = await open(path, 'wx', 0o600);
  let position = 0;
  let zeros = Buffer.alloc(0);
  try {
    for await (const chunk of body) {
      if (zeros.length < chunk.length) zeros = Buffer.alloc(chunk.length);
      if (!chunk.equals(zeros.subarray(0, chunk.length))) await handle.write(chunk, 0, chunk.length, position);
      position += chunk.length;
    }
    await handle.truncate(position);
  } finally {
    await handle.close();
  }
  return position;
}

/** Extracts root.img or disk.raw from the `image` stream (a gzip tar) into `dir`; the same refusals as for the stemcell. */
function diskExtractor(dir: string, found: Map<string, string>, signal?: AbortSignal) {
  return async (image: AsyncIterable<Buffer>): Promise<void> => {
    await pipeline(image, createGunzip(), async (source: AsyncIterable<Buffer>) => {
      await readTar(source, {
        what: 'the stemcell\'s image',
        signal,
        limits: {
          maxEntries: 16,
          maxTotalBytes: 65 * GiB,
          maxMemberBytes: (name) => (name === 'root.img' || name === 'disk.raw' ? 64 * GiB : 64 * MiB),
        },
        onFile: (member, body) => {
          if (member.name !== 'root.img' && member.name !== 'disk.raw') return undefined;
          const path = join(dir, member.name);
          found.set(member.name, path);
          return writeSparse(path, body).then(() => undefined);
        },
      });
    });
  };
}

async function freeLocalPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * The first line sshd sends on 127.0.0.1:port, or undefined. Slirp accepts at once and closes when the guest
 * does not listen; when it does, sshd's re-exec under TCG can take seconds before the banner.
 */
async function sshBanner(port: number, signal?: AbortSignal, timeoutMs = 15_000): Promise<string | undefined> {
  return new Promise((resolveBanner) => {
    let data = '';
    const socket = createConnection({ host: '127.0.0.1', port });
    const onAbort = (): void => done(undefined);
    const done = (value: string | undefined): void => {
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolveBanner(value);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.on('error', () => done(undefined));
    socket.on('end', () => done(undefined));
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
      const line = data.split('\n')[0] ?? '';
      if (data.includes('\n') || data.length > 255) done(line.startsWith('SSH-2.0-') ? line.trim() : undefined);
    });
  });
}

async function readHead(path: string, bytes: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(bytes), 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Checks a qcow2 we did not make names no backing file or external data file (QEMU would open those host paths). */
async function checkQcow2(path: string): Promise<void> {
  const info = await qemuImgInfo(path, 'qcow2');
  const specific = (info['format-specific'] as { data?: Record<string, unknown> } | undefined)?.data ?? {};
  const backing = info['backing-filename'] ?? info['full-backing-filename'];
  if (backing !== undefined) throw new HostileTarballError('the stemcell\'s image', `root.img names a backing file (${String(backing)})`);
  if (specific['data-file'] !== undefined) throw new HostileTarballError('the stemcell\'s image', `root.img names an external data file (${String(specific['data-file'])})`);
}

function tail(text: string, lines: number): string[] {
  return text.replace(/\r/g, '').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').split('\n').filter((l, i, all) => l !== '' || i < all.length - 1).slice(-lines);
}

/** Kills QEMU and removes the temp dir if the process exits without cleaning up (e.g. a second Ctrl-C). */
function exitGuard(state: { qemu?: QemuProcess; dir?: string }): () => void {
  const onExit = (): void => {
    const q = state.qemu;
    if (q && !q.exited()) {
      try {
        process.kill(q.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (state.dir) rmSync(state.dir, { recursive: true, force: true });
  };
  process.on('exit', onExit);
  return () => process.off('exit', onExit);
}

export async function verifyBoot(request: VerifyBootRequest): Promise<VerifyBootResult> {
  const progress = request.onProgress ?? (() => undefined);
  const { signal } = request;
  if (!(await hasCommand(qemuSystem)) || !(await hasCommand('qemu-img'))) {
    throw new HintedError(`${qemuSystem} or qemu-img is not installed`, 'install QEMU: apt-get install qemu-system-x86 qemu-utils (and ovmf for EFI images)');
  }
  const state: { qemu?: QemuProcess; dir?: string } = {};
  const unguard = exitGuard(state);
  const dir = await mkdtemp(join(tmpdir(), 'stemforge-boot-'));
  state.dir = dir;
  let keptLog: string | undefined;
  try {
    // --- the disk: extracted while the tarball is read (once), the stemcell checked as by inspect
    progress(`reading ${request.file}`);
    const found = new Map<string, string>();
    const contents = await readStemcell(request.file, { image: diskExtractor(dir, found, signal), signal });
    const inspection = checkStemcell(contents);
    const cloud = (inspection.manifest as { cloud_properties?: Record<string, unknown> } | undefined)?.cloud_properties ?? {};
    const diskFormat = inspection.diskFormat;
    if (!inspection.manifest) throw new HintedError(`${request.file} has no readable stemcell.MF`, `run: stemforge inspect ${request.file}`);
    const wanted = diskFormat ? diskMembers[diskFormat] : undefined;
    if (!wanted) {
      throw new HintedError(`cannot boot disk_format '${diskFormat ?? '(none)'}'`, 'verify --boot boots raw, rawdisk and qcow2 stemcells (openstack, aws, alicloud, google)');
    }
    const disk = found.get(wanted.member);
    if (!disk) throw new HintedError(`the stemcell's image holds no ${wanted.member} (disk_format ${diskFormat})`, `run: stemforge inspect ${request.file}`);
    const isQcow2 = (await readHead(disk, 4)).equals(Buffer.from('QFI\xfb', 'latin1'));
    if (isQcow2 !== (wanted.format === 'qcow2')) {
      throw new HintedError(`${wanted.member} is ${isQcow2 ? 'a qcow2 image' : 'not a qcow2 image'} but disk_format is ${diskFormat}`, 'rebuild the stemcell');
    }
    if (isQcow2) await checkQcow2(disk);
    const size = (await stat(disk)).size;
    progress(`extracted ${wanted.member} (${wanted.format}, ${isQcow2 ? 'compressed' : describeSize(size)})`);

    const overlay = join(dir, 'overlay.qcow2');
    await qemuImgOverlay(overlay, disk, wanted.format);

    // --- firmware and accelerator
    const head = isQcow2 ? await qemuImgHead(disk, join(dir, 'head.raw'), MiB) : await readHead(disk, MiB);
    const { firmware, reason: firmwareReason } = chooseFirmware(head, cloud);
    progress(`firmware: ${firmware} (${firmwareReason})`);
    const firmwareArgs: string[] = [];
    if (firmware === 'efi') {
      const ovmf = await findOvmf();
      if (!ovmf) throw new HintedError('this image boots with EFI, but no OVMF firmware is installed', 'install it: apt-get install ovmf');
      if ('bios' in ovmf) firmwareArgs.push('-bios', ovmf.bios);
      else {
        const vars = join(dir, 'efivars.fd');
        await copyFile(ovmf.vars, vars);
        firmwareArgs.push('-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${qemuEscape(ovmf.code)}`,
          '-drive', `if=pflash,format=raw,unit=1,file=${qemuEscape(vars)}`);
      }
    }
    const kvm = await probeKvm(dir);
    const accel = kvm.usable ? 'kvm' : 'tcg';
    progress(`accelerator: ${accel} (${kvm.reason})`);

    const consoleLog = request.consoleLog ? resolve(request.consoleLog) : join(dir, 'console.log');
    if (request.consoleLog) await mkdir(dirname(consoleLog), { recursive: true });
    const base: VerifyBootResult = {
      ok: false, file: request.file, name: inspection.name, version: inspection.version, diskFormat: diskFormat ?? '',
      firmware, firmwareReason, accel, accelReason: kvm.reason,
    };

    // --- boot
    const result = await boot({ ...request, signal }, { base, overlay, consoleLog, firmwareArgs, accel, state, progress });
    if (!result.ok || request.consoleLog) {
      keptLog = request.consoleLog ? consoleLog : join(tmpdir(), `stemforge-verify-boot-${new Date().toISOString().replace(/[:.]/g, '')}-${process.pid}.log`);
      if (!request.consoleLog) await copyFile(consoleLog, keptLog).catch(() => (keptLog = undefined));
      result.consoleLog = keptLog;
    }
    return result;
  } finally {
    if (state.qemu) await stopProcess(state.qemu.child);
    await rm(dir, { recursive: true, force: true });
    state.dir = undefined;
    unguard();
  }
}

interface BootContext {
  base: VerifyBootResult;
  overlay: string;
  consoleLog: string;
  firmwareArgs: string[];
  accel: 'kvm' | 'tcg';
  state: { qemu?: QemuProcess };
  progress: (line: string) => void;
}

function qemuArgs(request: VerifyBootRequest, context: BootContext, port: number): string[] {
  return [
    '-name', 'stemforge-verify-boot',
    '-machine', 'q35', '-accel', context.accel === 'kvm' ? 'kvm' : 'tcg,thread=multi', '-cpu', context.accel === 'kvm' ? 'host' : 'max',
    '-smp', '2', '-m', String(request.memoryMiB ?? 1024),
    '-nodefaults', '-display', 'none', '-no-reboot',
    // the guest is untrusted: no new processes, no privilege changes from QEMU
    '-sandbox', 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny',
    ...context.firmwareArgs,
    '-drive', `file=${qemuEscape(context.overlay)},format=qcow2,if=virtio`,
    // restrict=on: the guest reaches no network at all; only the forwarded port is open, on loopback
    '-netdev', `user,id=n,restrict=on,hostfwd=tcp:127.0.0.1:${port}-:22`, '-device', 'virtio-net-pci,netdev=n',
    '-chardev', `file,id=console,path=${qemuEscape(context.consoleLog)}`, '-serial', 'chardev:console',
  ];
}

async function boot(request: VerifyBootRequest, context: BootContext): Promise<VerifyBootResult> {
  const { base, progress, state } = context;
  const result: VerifyBootResult = { ...base };
  let qemu: QemuProcess | undefined;
  let started = 0;
  // a port free a moment ago may be taken by the time QEMU binds it: try a few
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freeLocalPort();
    qemu = startQemu(qemuArgs(request, context, port));
    state.qemu = qemu;
    started = Date.now();
    await sleep(1000);
    const exit = qemu.exited();
    if (exit && /host forwarding rule|Could not set up host forwarding/i.test(qemu.stderr()) && attempt < 3) continue;
    result.sshPort = port;
    break;
  }
  if (!qemu) throw new Error('QEMU did not start');
  progress(`QEMU pid ${qemu.pid}, ssh forwarded to 127.0.0.1:${result.sshPort}, console ${context.consoleLog}`);

  const seconds = (): number => Math.round((Date.now() - started) / 100) / 10;
  const deadline = started + request.timeoutMs;
  let consoleText = '';
  let lastSshTry = 0;
  let lastReport = Date.now();
  const readConsole = async (): Promise<void> => {
    consoleText = await readFile(context.consoleLog, 'latin1').catch(() => consoleText);
  };
  for (;;) {
    if (request.signal?.aborted) {
      result.error = 'interrupted';
      result.interrupted = true;
      break;
    }
    await readConsole();
    if (result.multiUserSeconds === undefined && multiUserPattern.test(consoleText)) {
      result.multiUserSeconds = seconds();
      progress(`reached multi-user after ${result.multiUserSeconds} s`);
    }
    if (result.sshdStartedSeconds === undefined && sshdPattern.test(consoleText)) {
      result.sshdStartedSeconds = seconds();
      progress(`the console says sshd started after ${result.sshdStartedSeconds} s`);
    }
    const exit = qemu.exited();
    if (exit) {
      result.error = `QEMU exited (${exit.signal ?? `code ${exit.code}`}) after ${seconds()} s${qemu.stderr().trim() ? `: ${qemu.stderr().trim().split('\n').slice(-3).join(' | ')}` : ''}`;
      break;
    }
    if (result.bootSeconds === undefined && Date.now() - lastSshTry >= 2000 && result.sshPort !== undefined) {
      lastSshTry = Date.now();
      const banner = await sshBanner(result.sshPort, request.signal);
      if (banner) {
        result.bootSeconds = seconds();
        result.sshBanner = banner;
        progress(`sshd answered after ${result.bootSeconds} s: ${banner}`);
      }
    }
    if (result.multiUserSeconds !== undefined && result.bootSeconds !== undefined) {
      result.ok = true;
      result.sshdSeenBy = 'banner';
      break;
    }
    // A stemcell configures no network itself (the BOSH agent does, from settings it gets no here), so the
    // guest often has no address and slirp cannot reach its port 22. sshd's start on the console has to do.
    if (result.multiUserSeconds !== undefined && result.sshdStartedSeconds !== undefined && result.bootSeconds === undefined &&
      Date.now() - started >= result.sshdStartedSeconds * 1000 + bannerGraceMs) {
      result.ok = true;
      result.sshdSeenBy = 'console';
      result.bootSeconds = result.sshdStartedSeconds;
      result.note = `sshd started (console) but sent no banner to 127.0.0.1:${result.sshPort} within ${bannerGraceMs / 1000} s: ` +
        'the guest has no network address (a stemcell leaves networking to the BOSH agent)';
      progress(result.note);
      break;
    }
    if (Date.now() >= deadline) {
      result.error = `timed out after ${Math.round(request.timeoutMs / 1000)} s: ` +
        `multi-user ${result.multiUserSeconds === undefined ? 'not reached' : 'reached'}, ` +
        `sshd ${result.bootSeconds !== undefined ? 'answered' : result.sshdStartedSeconds !== undefined ? 'started (console) but did not answer' : 'did not answer'}`;
      break;
    }
    if (Date.now() - lastReport >= 30_000) {
      lastReport = Date.now();
      const last = tail(consoleText, 1)[0] ?? '(no console output yet)';
      progress(`still booting (${Math.round(seconds())} s): ${last.slice(0, 120)}`);
    }
    await sleep(1000, undefined, { signal: request.signal }).catch(() => undefined);
  }
  await stopProcess(qemu.child);
  if (!result.ok) {
    await readConsole();
    result.consoleTail = tail(consoleText, consoleTailLines);
  }
  return result;
}

/** The human report of a boot. */
export function formatBootResult(result: VerifyBootResult): string {
  const lines = [
    `stemcell      ${result.name} ${result.version} (${result.diskFormat})`,
    `firmware      ${result.firmware} (${result.firmwareReason})`,
    `accelerator   ${result.accel} (${result.accelReason})`,
  ];
  if (result.multiUserSeconds !== undefined) lines.push(`multi-user    reached after ${result.multiUserSeconds} s`);
  if (result.sshBanner) lines.push(`sshd          ${result.sshBanner} on 127.0.0.1:${result.sshPort}`);
  else if (result.sshdStartedSeconds !== undefined) lines.push(`sshd          started after ${result.sshdStartedSeconds} s (console)`);
  if (result.note) lines.push(`note          ${result.note}`);
  if (result.ok) {
    lines.push(`ok: booted to sshd in ${result.bootSeconds} s${result.sshdSeenBy === 'console' ? ' (by the console; no banner)' : ''}`);
    if (result.consoleLog) lines.push(`console log   ${result.consoleLog}`);
    return lines.join('\n');
  }
  lines.push(`FAIL: ${result.error ?? 'did not boot'}`);
  if (result.consoleLog) lines.push(`console log   ${result.consoleLog}`);
  if (result.consoleTail?.length) {
    lines.push(`--- last ${result.consoleTail.length} lines of the console ---`, ...result.consoleTail, '---');
  } else if (result.consoleTail) {
    lines.push('(the serial console stayed empty: no boot loader or kernel wrote to ttyS0)');
  }
  return lines.join('\n');
}
