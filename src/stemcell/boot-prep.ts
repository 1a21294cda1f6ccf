// What `verify --boot` and `verify --agent` share before and around QEMU: the stemcell read and checked once,
// its disk extracted (sparse) into a temp dir, a throw-away qcow2 overlay, the firmware and the accelerator;
// and the plumbing around the guest (free loopback ports, the exit guard, the kept console log).
import { copyFile, open, stat } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createGunzip } from 'node:zlib';
import { HintedError } from '../util/errors.js';
import { terminalText } from '../util/terminal-text.js';
import { chooseFirmware, findOvmf, missingBootPart, type Firmware } from './firmware.js';
import { checkStemcell, readStemcell, type StemcellInspection } from './inspect.js';
import {
  type DiskImageFormat,
  hasCommand,
  probeKvm,
  qemuEscape,
  qemuImgHead,
  qemuImgInfo,
  qemuImgOverlay,
  qemuSystem,
  startQemu,
  type QemuProcess,
} from './qemu.js';
import { describeSize, HostileTarballError, readTar } from './tar-reader.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** The disk inside `image` for each disk format we can boot (facts §5c). */
export const bootableDisks: Readonly<Record<string, { member: string; format: DiskImageFormat }>> = {
  raw: { member: 'root.img', format: 'raw' },
  qcow2: { member: 'root.img', format: 'qcow2' },
  rawdisk: { member: 'disk.raw', format: 'raw' },
  ovf: { member: 'image-disk1.vmdk', format: 'vmdk' },
};

/** The disks a stemcell's image may hold, by member name. */
const diskMembers = new Set(Object.values(bootableDisks).map((d) => d.member));

/** The leading bytes that tell a disk's format apart (raw has none). */
const formatMagic: Readonly<Record<Exclude<DiskImageFormat, 'raw'>, Buffer>> = {
  qcow2: Buffer.from('QFI\xfb', 'latin1'),
  vmdk: Buffer.from('KDMV', 'latin1'),
};

export interface PreparedBoot {
  inspection: StemcellInspection;
  diskFormat: string;
  /** the qcow2 overlay QEMU boots (the extracted disk is its backing file) */
  overlay: string;
  firmware: Firmware;
  firmwareReason: string;
  firmwareArgs: string[];
  accel: 'kvm' | 'tcg';
  accelReason: string;
}

export interface PrepareOptions {
  signal?: AbortSignal;
  progress: (line: string) => void;
  /** throws when this stemcell cannot be verified this way; runs once stemcell.MF is read, before the disk is looked at */
  accept?: (inspection: StemcellInspection) => void;
  /** give the guest a disk this much bigger than the image, as a cloud's flavor or root_disk does */
  growBytes?: number;
}

/** QEMU and qemu-img on this machine, or a HintedError saying how to get them. */
export async function requireQemu(): Promise<void> {
  if (!(await hasCommand(qemuSystem)) || !(await hasCommand('qemu-img'))) {
    throw new HintedError(`${qemuSystem} or qemu-img is not installed`, 'install QEMU: apt-get install qemu-system-x86 qemu-utils (and ovmf for EFI images)');
  }
}

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
        what: "the stemcell's image",
        signal,
        limits: {
          maxEntries: 16,
          maxTotalBytes: 65 * GiB,
          maxMemberBytes: (name) => (diskMembers.has(name) ? 64 * GiB : 64 * MiB),
        },
        onFile: (member, body) => {
          if (!diskMembers.has(member.name)) return undefined;
          const path = join(dir, member.name);
          found.set(member.name, path);
          return writeSparse(path, body).then(() => undefined);
        },
      });
    });
  };
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

/** Checks a qcow2 we did not make names no backing file or external data file (QEMU would open those host paths); its virtual size. */
/**
 * The virtual size of a qcow2 or vmdk disk, refusing one that would make QEMU read another
 * file: a backing file, an external data file, or vmdk extents other than the disk itself.
 */
async function checkImage(path: string, member: string, format: 'qcow2' | 'vmdk'): Promise<number> {
  const info = await qemuImgInfo(path, format);
  const specific = (info['format-specific'] as { data?: Record<string, unknown> } | undefined)?.data ?? {};
  const backing = info['backing-filename'] ?? info['full-backing-filename'];
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- qemu-img names a file here; whatever it is, it is refused and shown
  if (backing !== undefined) throw new HostileTarballError("the stemcell's image", `${member} names a backing file (${String(backing)})`);
  if (specific['data-file'] !== undefined) {
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- qemu-img names a file here; whatever it is, it is refused and shown
    throw new HostileTarballError("the stemcell's image", `${member} names an external data file (${String(specific['data-file'])})`);
  }
  const extents = (specific.extents as { filename?: string }[] | undefined) ?? [];
  const foreign = extents.filter((e) => e.filename !== path);
  if (foreign.length > 0)
    throw new HostileTarballError("the stemcell's image", `${member} names other files as extents (${foreign.map((e) => String(e.filename)).join(', ')})`);
  return Number(info['virtual-size']);
}

/** QEMU's firmware options for a disk that boots with `firmware`; OVMF's variable store is copied into `dir`. */
async function firmwareArgsFor(firmware: Firmware, dir: string): Promise<string[]> {
  if (firmware !== 'efi') return [];
  const ovmf = await findOvmf();
  if (!ovmf) throw new HintedError('this image boots with EFI, but no OVMF firmware is installed', 'install it: apt-get install ovmf');
  if ('bios' in ovmf) return ['-bios', ovmf.bios];
  const vars = join(dir, 'efivars.fd');
  await copyFile(ovmf.vars, vars);
  return ['-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${qemuEscape(ovmf.code)}`, '-drive', `if=pflash,format=raw,unit=1,file=${qemuEscape(vars)}`];
}

/** Reads and checks the stemcell, extracts its disk into `dir` and makes everything QEMU needs to boot it. */
export async function prepareBoot(file: string, dir: string, options: PrepareOptions): Promise<PreparedBoot> {
  const { signal, progress } = options;
  // the disk: extracted while the tarball is read (once), the stemcell checked as by inspect
  progress(`reading ${file}`);
  const found = new Map<string, string>();
  const extract = diskExtractor(dir, found, signal);
  // With an acceptance check, an image we would refuse anyway (warden's root filesystem has far more entries
  // than a disk image may) must not hide the clearer refusal: its extraction error waits for the check.
  let deferred: { error: unknown } | undefined;
  const image = options.accept ? (body: AsyncIterable<Buffer>): Promise<void> => extract(body).catch((error: unknown) => void (deferred = { error })) : extract;
  const contents = await readStemcell(file, { image, signal });
  const inspection = checkStemcell(contents);
  const cloud = (inspection.manifest as { cloud_properties?: Record<string, unknown> } | undefined)?.cloud_properties ?? {};
  const diskFormat = inspection.diskFormat;
  if (!inspection.manifest) throw new HintedError(`${file} has no readable stemcell.MF`, `run: stemforge inspect ${file}`);
  options.accept?.(inspection);
  if (deferred) throw deferred.error;
  const wanted = diskFormat ? bootableDisks[diskFormat] : undefined;
  if (!wanted) {
    throw new HintedError(
      `cannot boot disk_format '${diskFormat ?? '(none)'}'`,
      'verify --boot boots raw, rawdisk, qcow2 and ovf stemcells (openstack, aws, alicloud, google, vsphere, vcloud)',
    );
  }
  const disk = found.get(wanted.member);
  if (!disk) throw new HintedError(`the stemcell's image holds no ${wanted.member} (disk_format ${diskFormat})`, `run: stemforge inspect ${file}`);
  const magic = await readHead(disk, 4);
  const actual = (Object.keys(formatMagic) as (keyof typeof formatMagic)[]).find((f) => magic.equals(formatMagic[f])) ?? 'raw';
  if (actual !== wanted.format) {
    throw new HintedError(
      `${wanted.member} is ${actual === 'raw' ? 'not a qcow2 or vmdk image' : `a ${actual} image`} but disk_format is ${diskFormat}`,
      'rebuild the stemcell',
    );
  }
  const virtualSize = actual === 'raw' ? undefined : await checkImage(disk, wanted.member, actual);
  const size = (await stat(disk)).size;
  progress(`extracted ${wanted.member} (${wanted.format}, ${actual === 'raw' ? describeSize(size) : 'compressed'})`);

  const overlay = join(dir, 'overlay.qcow2');
  const diskSize = virtualSize ?? size;
  const grown = options.growBytes && diskSize > 0 ? diskSize + options.growBytes : undefined;
  await qemuImgOverlay(overlay, disk, wanted.format, grown);
  if (grown) progress(`the guest's disk: ${describeSize(grown)} (the image's ${describeSize(diskSize)} and room after it, as a cloud's root disk has)`);

  // firmware and accelerator
  const head = actual === 'raw' ? await readHead(disk, MiB) : await qemuImgHead(disk, join(dir, 'head.raw'), MiB, actual);
  const { firmware, reason: firmwareReason } = chooseFirmware(head, cloud);
  const missing = missingBootPart(head, firmware);
  if (missing)
    throw new HintedError(
      `${wanted.member} cannot boot with ${firmware} (${firmwareReason}): ${missing}`,
      `rebuild the stemcell; stemforge inspect ${file} shows what it holds`,
    );
  progress(`firmware: ${firmware} (${firmwareReason})`);
  const firmwareArgs = await firmwareArgsFor(firmware, dir);
  const kvm = await probeKvm(dir);
  const accel = kvm.usable ? 'kvm' : 'tcg';
  progress(`accelerator: ${accel} (${kvm.reason})`);
  return { inspection, diskFormat: diskFormat ?? '', overlay, firmware, firmwareReason, firmwareArgs, accel, accelReason: kvm.reason };
}

/** QEMU options both verifications boot with: machine, accelerator, memory, the overlay as virtio disk, the serial console to a file. */
export function qemuBaseArgs(options: { name: string; boot: PreparedBoot; memoryMiB: number; consoleLog: string; sandbox: string }): string[] {
  const { boot } = options;
  return [
    '-name',
    options.name,
    '-machine',
    'q35',
    '-accel',
    boot.accel === 'kvm' ? 'kvm' : 'tcg,thread=multi',
    '-cpu',
    boot.accel === 'kvm' ? 'host' : 'max',
    '-smp',
    '2',
    '-m',
    String(options.memoryMiB),
    '-nodefaults',
    '-display',
    'none',
    '-no-reboot',
    '-sandbox',
    options.sandbox,
    ...boot.firmwareArgs,
    '-drive',
    `file=${qemuEscape(boot.overlay)},format=qcow2,if=virtio`,
    '-chardev',
    `file,id=console,path=${qemuEscape(options.consoleLog)}`,
    '-serial',
    'chardev:console',
  ];
}

/**
 * The guest is untrusted: no new processes, no privilege changes from QEMU. Only for a guestfwd cmd: relay is
 * spawning allowed, and then privilege syscalls too: libslirp's child calls setsid() before it execs the relay,
 * and QEMU kills that (SIGSYS) under elevateprivileges=deny and =children alike (measured with QEMU 7.2).
 */
export function qemuSandbox(spawn: boolean): string {
  return `on,obsolete=deny,elevateprivileges=${spawn ? 'allow' : 'deny'},spawn=${spawn ? 'allow' : 'deny'},resourcecontrol=deny`;
}

export async function freeLocalPort(): Promise<number> {
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
 * Starts QEMU with `count` free loopback ports for its host forwards. A port free a moment ago may be taken by
 * the time QEMU binds it: then QEMU exits at once, and we try other ports (three times in all).
 */
export async function startQemuWithPorts(
  count: number,
  args: (ports: number[]) => string[],
  onStart: (qemu: QemuProcess) => void,
): Promise<{ qemu: QemuProcess; ports: number[]; started: number }> {
  let last: { qemu: QemuProcess; ports: number[]; started: number } | undefined;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const ports: number[] = [];
    while (ports.length < count) {
      const port = await freeLocalPort();
      if (!ports.includes(port)) ports.push(port);
    }
    const qemu = startQemu(args(ports));
    onStart(qemu);
    last = { qemu, ports, started: Date.now() };
    await sleep(1000);
    if (qemu.exited() && /host forwarding rule|Could not set up host forwarding/i.test(qemu.stderr()) && attempt < 3) continue;
    break;
  }
  if (!last) throw new Error('QEMU did not start');
  return last;
}

/**
 * The last lines of a console log (read byte for byte as latin1), for people: without carriage
 * returns and terminal escapes (systemd's status lines use ESC M too), decoded as the UTF-8 the
 * guest wrote, and with any other control character the guest sent shown escaped.
 */
export function tail(text: string, lines: number): string[] {
  return (
    text
      .replace(/\r/g, '')
      // eslint-disable-next-line no-control-regex -- ESC is what a terminal escape starts with
      .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
      // eslint-disable-next-line no-control-regex -- ESC is what a terminal escape starts with
      .replace(/\x1b[@-Z\\-_]/g, '')
      .split('\n')
      .filter((l, i, all) => l !== '' || i < all.length - 1)
      .slice(-lines)
      .map((l) => terminalText(Buffer.from(l, 'latin1').toString('utf8')))
  );
}

/** Kills QEMU and removes the temp dir if the process exits without cleaning up (e.g. a second Ctrl-C). */
export function exitGuard(state: { qemu?: QemuProcess; dir?: string }): () => void {
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

/** Where a console log is kept: the path asked for, else a copy beside the temp dirs (the temp dir goes away). */
export async function keepConsoleLog(consoleLog: string, asked: string | undefined, kind: string): Promise<string | undefined> {
  if (asked) return consoleLog;
  const kept = join(tmpdir(), `stemforge-verify-${kind}-${new Date().toISOString().replace(/[:.]/g, '')}-${process.pid}.log`);
  return copyFile(consoleLog, kept).then(
    () => kept,
    () => undefined,
  );
}
