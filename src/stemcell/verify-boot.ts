// `stemforge verify FILE --boot`: boots a stemcell's raw, rawdisk or qcow2 image under QEMU and
// succeeds once systemd reaches multi-user and sshd answers with its banner on 127.0.0.1 (or, for a
// guest without a network address, the console shows sshd started). The guest gets a user-mode
// network with restrict=on (it reaches nothing) and only port 22 forwarded to 127.0.0.1.
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { terminalText } from '../util/terminal-text.js';
import type { Firmware } from './firmware.js';
import { exitGuard, keepConsoleLog, prepareBoot, qemuBaseArgs, qemuSandbox, requireQemu, startQemuWithPorts, tail, type PreparedBoot } from './boot-prep.js';
import { stopProcess, type QemuProcess } from './qemu.js';

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

const multiUserPattern = /Reached target[^\n]*(Multi-User System|multi-user\.target)|\S+ login: ?/;
// Debian's and Ubuntu's ssh.service (Type=notify) or Noble's ssh.socket
const sshdPattern = /Started[^\n]*OpenBSD Secure Shell server|Listening on[^\n]*ssh\.socket/;
// after the console shows sshd started, how long to keep knocking for its banner: a guest with an address
// answers within seconds of that line even under TCG; one without never does, and waiting longer proves nothing
const bannerGraceMs = 30_000;
const consoleTailLines = 40;
// The firmware's words when the disk does not boot: SeaBIOS's; OVMF's failed boot option of a
// device that is no network card (a network option's path has MAC(, IPv4(, IPv6( or Uri(): the
// disk is the only other device, and after it OVMF would spend minutes on PXE and HTTP boot
// before its shell or its "no bootable option".
const noBootPattern =
  /No bootable (?:option or )?device[^\r\n]*|Boot failed[^\r\n]*|BdsDxe: failed to load Boot[0-9A-F]{4} "[^"\r\n]*" from (?![^\r\n]*(?:MAC\(|IPv[46]\(|Uri\())[^\r\n]*|UEFI Interactive Shell[^\r\n]*/;

/** The console's line saying the firmware found nothing to boot, or undefined. */
export function firmwareGaveUp(consoleText: string): string | undefined {
  return noBootPattern.exec(consoleText)?.[0].trim();
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

export async function verifyBoot(request: VerifyBootRequest): Promise<VerifyBootResult> {
  const progress = request.onProgress ?? (() => undefined);
  const { signal } = request;
  await requireQemu();
  const state: { qemu?: QemuProcess; dir?: string } = {};
  const unguard = exitGuard(state);
  const dir = await mkdtemp(join(tmpdir(), 'stemforge-boot-'));
  state.dir = dir;
  try {
    const prepared = await prepareBoot(request.file, dir, { signal, progress });
    const { inspection } = prepared;
    const consoleLog = request.consoleLog ? resolve(request.consoleLog) : join(dir, 'console.log');
    if (request.consoleLog) await mkdir(dirname(consoleLog), { recursive: true });
    const base: VerifyBootResult = {
      ok: false,
      file: request.file,
      name: inspection.name,
      version: inspection.version,
      diskFormat: prepared.diskFormat,
      firmware: prepared.firmware,
      firmwareReason: prepared.firmwareReason,
      accel: prepared.accel,
      accelReason: prepared.accelReason,
    };

    // --- boot
    const result = await boot({ ...request, signal }, { base, prepared, consoleLog, state, progress });
    if (!result.ok || request.consoleLog) result.consoleLog = await keepConsoleLog(consoleLog, request.consoleLog, 'boot');
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
  prepared: PreparedBoot;
  consoleLog: string;
  state: { qemu?: QemuProcess };
  progress: (line: string) => void;
}

function qemuArgs(request: VerifyBootRequest, context: BootContext, port: number): string[] {
  return [
    ...qemuBaseArgs({
      name: 'stemforge-verify-boot',
      boot: context.prepared,
      memoryMiB: request.memoryMiB ?? 1024,
      consoleLog: context.consoleLog,
      sandbox: qemuSandbox(false),
    }),
    // restrict=on: the guest reaches no network at all; only the forwarded port is open, on loopback
    '-netdev',
    `user,id=n,restrict=on,hostfwd=tcp:127.0.0.1:${port}-:22`,
    '-device',
    'virtio-net-pci,netdev=n',
  ];
}

async function boot(request: VerifyBootRequest, context: BootContext): Promise<VerifyBootResult> {
  const { base, progress, state } = context;
  const result: VerifyBootResult = { ...base };
  const { qemu, ports, started } = await startQemuWithPorts(
    1,
    ([port]) => qemuArgs(request, context, port ?? 0),
    (q) => (state.qemu = q),
  );
  result.sshPort = ports[0];
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
    const gaveUp = firmwareGaveUp(consoleText);
    if (gaveUp) {
      result.error = `the firmware found nothing to boot after ${seconds()} s (the console says: ${gaveUp}); the disk's boot loader is missing or broken: rebuild the stemcell`;
      break;
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
        progress(`sshd answered after ${result.bootSeconds} s: ${terminalText(banner)}`);
      }
    }
    if (result.multiUserSeconds !== undefined && result.bootSeconds !== undefined) {
      result.ok = true;
      result.sshdSeenBy = 'banner';
      break;
    }
    // A stemcell configures no network itself (the BOSH agent does, from settings it gets no here), so the
    // guest often has no address and slirp cannot reach its port 22. sshd's start on the console has to do.
    if (
      result.multiUserSeconds !== undefined &&
      result.sshdStartedSeconds !== undefined &&
      result.bootSeconds === undefined &&
      Date.now() - started >= result.sshdStartedSeconds * 1000 + bannerGraceMs
    ) {
      result.ok = true;
      result.sshdSeenBy = 'console';
      result.bootSeconds = result.sshdStartedSeconds;
      result.note =
        `sshd started (console) but sent no banner to 127.0.0.1:${result.sshPort} within ${bannerGraceMs / 1000} s: ` +
        'the guest has no network address (a stemcell leaves networking to the BOSH agent)';
      progress(result.note);
      break;
    }
    if (Date.now() >= deadline) {
      result.error =
        `timed out after ${Math.round(request.timeoutMs / 1000)} s: ` +
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
