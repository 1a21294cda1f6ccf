// Stemcell spec checks: disk stages (image_create*, image_install_grub*) and the packaging
// stages. The disk is read as a file, without mounting: the partition table with sfdisk,
// file systems with blkid and debugfs at the partition's offset, the ESP with mtools, the
// boot code byte by byte. img.root is work/chroot; disk.raw, disk.env, ovf/ and stemcell/
// are next to it, settings.bash one level up.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImageView } from '../image.js';
import type { StemcellCheck } from '../stemcell-spec.js';

const sector = 512;
const stemcellFiles = ['stemcell.MF', 'packages.txt', 'dev_tools_file_list.txt', 'image', 'sbom.spdx.json', 'sbom.cdx.json'];

function workDir(img: ImageView): string {
  return join(img.root, '..');
}

/** run a command of the build machine; throws with its output when it fails */
function sh(argv: string[], options: { input?: string; binary?: boolean } = {}): Buffer {
  const r = spawnSync(argv[0]!, argv.slice(1), { input: options.input, maxBuffer: 1 << 30, timeout: 600_000 });
  if (r.status !== 0) throw new Error(`'${argv.join(' ')}' exited ${r.status ?? r.signal}: ${String(r.stderr ?? r.error)}`);
  return r.stdout;
}

/** a shell pipeline whose reader may stop early (head): only the last command's status counts */
function pipe(script: string, ...args: string[]): Buffer {
  return sh(['bash', '-c', script, 'pipe', ...args]);
}

/** the bash assignments of a settings.bash or disk.env file: key='value', key=value */
export function assignments(file: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = line.match(/^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/);
    if (!m) continue;
    let v = m[2]!;
    if (v.startsWith("'") && v.endsWith("'")) v = v.slice(1, -1).replaceAll("'\\''", "'");
    map.set(m[1]!, v);
  }
  return map;
}

function settings(img: ImageView): Map<string, string> {
  return assignments(join(img.root, '..', '..', 'settings.bash'));
}

interface Disk {
  file: string;
  env: Map<string, string>;
  /** a disk.env value that must be there */
  get(key: string): string;
  /** [start, sectors] of a partition number */
  part(n: string): [number, number];
}

function disk(img: ImageView): Disk {
  const file = join(workDir(img), 'disk.raw');
  const envFile = join(workDir(img), 'disk.env');
  assert.ok(existsSync(file) && existsSync(envFile), 'work/disk.raw and work/disk.env exist');
  const env = assignments(envFile);
  const get = (key: string): string => {
    const v = env.get(key);
    assert.ok(v !== undefined && v !== '', `disk.env has ${key}`);
    return v;
  };
  const part = (n: string): [number, number] => {
    for (const p of ['root', 'boot', 'esp']) {
      if (env.get(`${p}_part`) === n) return [Number(get(`${p}_start`)), Number(get(`${p}_sectors`))];
    }
    throw new Error(`disk.env names no partition ${n}`);
  };
  return { file, env, get, part };
}

interface Partition {
  node: string;
  start: number;
  size: number;
  type: string;
  bootable?: boolean;
}

interface PartitionTable {
  label: string;
  partitions: Partition[];
}

function partitionTable(file: string): PartitionTable {
  return (JSON.parse(sh(['sfdisk', '--json', file]).toString()) as { partitiontable: PartitionTable }).partitiontable;
}

function probe(file: string, startSector: number): { TYPE?: string; UUID?: string } {
  const out = sh(['blkid', '-p', '-O', String(startSector * sector), '-o', 'export', file]).toString();
  return Object.fromEntries(
    out
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

/** read-only view of the ext4 file system at a partition, through debugfs */
class Ext4 {
  constructor(
    readonly file: string,
    readonly startSector: number,
  ) {}

  private debugfs(request: string): string {
    const r = spawnSync('debugfs', ['-R', request, `${this.file}?offset=${this.startSector * sector}`], { maxBuffer: 1 << 28 });
    if (r.status !== 0) throw new Error(`debugfs '${request}' failed: ${String(r.stderr)}`);
    return r.stdout.toString();
  }

  stat(p: string): { type: string; mode: number; uid: number; gid: number } | undefined {
    const out = this.debugfs(`stat ${p}`);
    const m = out.match(/Type: (\S+)\s+Mode:\s+(\d+)/);
    const owner = out.match(/User:\s+(\d+)\s+Group:\s+(\d+)/);
    if (!m || !owner) return undefined;
    return { type: m[1]!, mode: parseInt(m[2]!, 8), uid: Number(owner[1]), gid: Number(owner[2]) };
  }

  read(p: string): string {
    assert.equal(this.stat(p)?.type, 'regular', `${p} is a file on the disk`);
    return this.debugfs(`cat ${p}`);
  }

  list(p: string): string[] {
    // ls -p: /inode/mode/uid/gid/name/size/ per entry
    return this.debugfs(`ls -p ${p}`)
      .split('\n')
      .map((l) => l.split('/')[5])
      .filter((n): n is string => n !== undefined && n !== '' && n !== '.' && n !== '..');
  }
}

function bytes(file: string, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, length, offset);
  } finally {
    closeSync(fd);
  }
  return buf;
}

function fstabEntries(text: string): string[][] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(/\s+/));
}

const createStages = ['image_create', 'image_create_efi', 'image_create_softlayer_two_partitions'];
const grubStages = ['image_install_grub', 'image_install_grub_efi', 'image_install_grub_softlayer_two_partitions'];

/** the layout per create stage: partitions as [start, size or 'rest', type, bootable] */
function expectedPartitions(layout: string, sizeMiB: number): [number, number, string, boolean][] {
  const total = sizeMiB * 2048;
  switch (layout) {
    case 'bios':
      return [[2048, total - 2048, '83', true]];
    case 'efi':
      return [
        [2048, 48 * 2048, 'ef', false],
        [50 * 2048, total - 50 * 2048, '83', true],
      ];
    case 'softlayer':
      return [
        [2048, 270 * 2048, '83', true],
        [2048 + 270 * 2048, total - 2048 - 270 * 2048, '83', false],
      ];
    default:
      throw new Error(`unknown disk layout ${layout}`);
  }
}

/** the packaging output, work/stemcell/image, and nothing but stemcell files beside it */
function stemcellImage(img: ImageView): string {
  const dir = join(workDir(img), 'stemcell');
  const extra = readdirSync(dir).filter((f) => !stemcellFiles.includes(f));
  assert.deepEqual(extra, [], 'only stemcell files in work/stemcell');
  const image = join(dir, 'image');
  assert.ok(existsSync(image), 'work/stemcell/image exists');
  return image;
}

function gzipMembers(image: string): string[] {
  assert.deepEqual([...bytes(image, 0, 2)], [0x1f, 0x8b], 'image is gzip');
  return sh(['tar', '-tzf', image])
    .toString()
    .split('\n')
    .filter((l) => l !== '');
}

/** the first bytes of one member of a gzip tar */
function memberHead(image: string, member: string, length: number): Buffer {
  return pipe('tar -xzOf "$1" "$2" | head -c "$3"', image, member, String(length));
}

function memberTail(image: string, member: string, length: number): Buffer {
  return pipe('tar -xzOf "$1" "$2" | tail -c "$3"', image, member, String(length));
}

function diskBytes(img: ImageView): number {
  return Number(disk(img).get('disk_sectors')) * sector;
}

export const diskChecks: StemcellCheck[] = [
  {
    stages: createStages,
    title: "disk.raw: sparse, image_disk_size_mib large, msdos table with the layout's partitions from 1 MiB",
    run(img) {
      const d = disk(img);
      const sizeMiB = Number(settings(img).get('image_disk_size_mib'));
      assert.equal(statSync(d.file).size, sizeMiB * 1024 * 1024);
      assert.ok(statSync(d.file).blocks * 512 < statSync(d.file).size, 'disk.raw is sparse');
      const table = partitionTable(d.file);
      assert.equal(table.label, 'dos');
      const found = table.partitions.map((p) => [p.start, p.size, p.type, p.bootable === true]);
      assert.deepEqual(found, expectedPartitions(d.get('disk_layout'), sizeMiB));
      for (const [i, p] of table.partitions.entries()) assert.deepEqual(d.part(String(i + 1)), [p.start, p.size], `disk.env partition ${i + 1}`);
    },
  },
  {
    stages: createStages,
    title: 'file systems: ext4 root (and /boot, the ESP) with the UUIDs /etc/fstab names, filled from the chroot',
    covers: ['sc.fstab.no-nfs'],
    run(img) {
      const d = disk(img);
      const layout = d.get('disk_layout');
      const [rootStart] = d.part(d.get('root_part'));
      const rootUuid = d.get('root_uuid');
      assert.deepEqual(probe(d.file, rootStart), { ...probe(d.file, rootStart), TYPE: 'ext4', UUID: rootUuid });
      const root = new Ext4(d.file, rootStart);
      const fstab = root.read('/etc/fstab');
      assert.equal(fstab, img.read('etc/fstab'), "the disk's fstab is the chroot's");
      assert.equal(root.read('/usr/lib/os-release'), img.read('usr/lib/os-release'));
      const entries = fstabEntries(fstab);
      const byMount = new Map(entries.map((e) => [e[1], e]));
      assert.deepEqual(byMount.get('/')?.slice(0, 3), [`UUID=${rootUuid}`, '/', 'ext4']);
      assert.equal(byMount.get('/')?.[5], '1', 'the root is checked first');
      if (layout === 'efi') {
        const [espStart] = d.part(d.get('esp_part'));
        const esp = probe(d.file, espStart);
        assert.equal(esp.TYPE, 'vfat');
        assert.equal(esp.UUID, d.get('esp_volid'));
        assert.deepEqual(byMount.get('/boot/efi')?.slice(0, 4), [`UUID=${esp.UUID}`, '/boot/efi', 'vfat', 'umask=0177']);
        assert.equal(root.stat('/boot/efi')?.type, 'directory', '/boot/efi mount point');
      }
      if (layout === 'softlayer') {
        const [bootStart] = d.part(d.get('boot_part'));
        const bootUuid = d.get('boot_uuid');
        assert.deepEqual(probe(d.file, bootStart), { ...probe(d.file, bootStart), TYPE: 'ext4', UUID: bootUuid });
        assert.deepEqual(byMount.get('/boot')?.slice(0, 3), [`UUID=${bootUuid}`, '/boot', 'ext4']);
        assert.deepEqual(root.list('/boot'), [], "the root file system's /boot is an empty mount point");
        const kernels = new Ext4(d.file, bootStart).list('/').filter((f) => f.startsWith('vmlinuz-'));
        assert.deepEqual(
          kernels,
          img.list('boot').filter((f) => f.startsWith('vmlinuz-')),
          'the kernel is on /boot',
        );
      }
      assert.equal(entries.length, layout === 'bios' ? 1 : 2, 'no other file systems in fstab');
    },
  },
  {
    stages: createStages,
    title: "the disk's root: no SSH host keys, /tmp and /var/tmp 0770 as in the chroot",
    run(img) {
      const d = disk(img);
      const root = new Ext4(d.file, d.part(d.get('root_part'))[0]);
      assert.deepEqual(
        root.list('/etc/ssh').filter((f) => f.startsWith('ssh_host_')),
        [],
      );
      for (const dir of ['/tmp', '/var/tmp']) {
        const st = root.stat(dir);
        assert.equal(st?.type, 'directory', dir);
        assert.equal(st.mode, img.mode(dir.slice(1)), `${dir} mode as in the chroot`);
        assert.equal(st.mode, 0o770, `${dir} mode`);
        assert.equal(st.uid, 0, `${dir} owner`);
      }
      assert.equal(root.stat('/etc/shadow')?.mode, img.mode('etc/shadow'), 'modes kept');
    },
  },
  {
    stages: grubStages,
    title: 'grub.cfg: root only (0600), boots the kernel by root UUID with all of kernel_cmdline, superuser with a PBKDF2 password, entries unrestricted',
    covers: [
      'sc.grub.file',
      'sc.grub.mode-600',
      'sc.grub.owner-root',
      'sc.grub.group-root',
      'sc.grub.password',
      'sc.grub.ipv6-disable',
      'sc.grub.audit-1',
      'sc.grub.cloudstack-hvc0',
      'iaas.aws.grub-nvme-timeout',
    ],
    run(img) {
      const d = disk(img);
      const fs = new Ext4(d.file, d.part(d.get('disk_grub_part'))[0]);
      const grubDir = d.get('disk_grub_dir');
      const kernelDir = d.env.get('disk_kernel_dir') ?? '';
      const path = `${grubDir}/grub.cfg`;
      const st = fs.stat(path);
      assert.deepEqual(st, { type: 'regular', mode: 0o600, uid: 0, gid: 0 }, path);
      assert.equal(img.mode('boot/grub/grub.cfg'), 0o600, "the chroot's copy is 0600 too");
      const cfg = fs.read(path);
      assert.equal(cfg, img.read('boot/grub/grub.cfg'), "the disk's grub.cfg is the chroot's");
      const fsUuid = d.get('disk_grub_part') === d.get('root_part') ? d.get('root_uuid') : d.get('boot_uuid');
      assert.match(cfg, new RegExp(`^\\s*search --no-floppy --fs-uuid --set=root ${fsUuid}$`, 'm'));
      assert.match(cfg, /^set superusers="vcap"$/m);
      assert.match(cfg, /^password_pbkdf2 vcap grub\.pbkdf2\.sha512\.\d+\.[0-9A-F]+\.[0-9A-F]+$/m);
      const entries = cfg.split('\n').filter((l) => /^\s*menuentry /.test(l));
      assert.ok(entries.length >= 1, 'a menu entry');
      for (const e of entries) assert.match(e, / --unrestricted /, 'booting needs no password');
      const linux = cfg.match(/^\s*linux\s+(\S+)\s+(.*)$/m);
      assert.ok(linux, 'a linux line');
      const words = linux[2]!.split(/\s+/);
      assert.equal(words[0], `root=UUID=${d.get('root_uuid')}`);
      assert.ok(words.includes('ro'));
      const cmdline = settings(img).get('kernel_cmdline') ?? '';
      assert.ok(cmdline !== '', 'settings have kernel_cmdline');
      for (const w of cmdline.split(/\s+/)) assert.ok(words.includes(w), `kernel command line has ${w}`);
      const version = linux[1]!.replace(`${kernelDir}/vmlinuz-`, '');
      assert.equal(linux[1], `${kernelDir}/vmlinuz-${version}`);
      assert.equal(fs.stat(`${kernelDir}/vmlinuz-${version}`)?.type, 'regular', 'the kernel is on the disk');
      assert.match(cfg, new RegExp(`^\\s*initrd ${kernelDir}/initrd\\.img-${version.replaceAll('.', '\\.')}$`, 'm'));
      assert.equal(fs.stat(`${kernelDir}/initrd.img-${version}`)?.type, 'regular', 'the initrd is on the disk');
      assert.ok(fs.stat(`${grubDir}/i386-pc/normal.mod`), "GRUB's BIOS modules next to grub.cfg");
    },
  },
  {
    stages: grubStages,
    title: "/etc/default/grub on the disk: a kernel upgrade's update-grub keeps kernel_cmdline and the serial console, boots entry 0 at once",
    run(img) {
      const d = disk(img);
      const fs = new Ext4(d.file, d.part(d.get('root_part'))[0]);
      assert.deepEqual(fs.stat('/etc/default/grub'), { type: 'regular', mode: 0o644, uid: 0, gid: 0 }, '/etc/default/grub');
      assert.equal(fs.read('/etc/default/grub'), img.read('etc/default/grub'), "the disk's /etc/default/grub is the chroot's");
      // what grub-mkconfig sees: the file sourced by sh, as it does (with /etc/default/grub.d after it)
      const seen = img
        .runOk([
          'sh',
          '-c',
          '. /etc/default/grub; for f in /etc/default/grub.d/*.cfg; do [ -f "$f" ] && . "$f"; done; ' +
            'printf "%s\\n" "$GRUB_CMDLINE_LINUX" "$GRUB_CMDLINE_LINUX_DEFAULT" "$GRUB_TERMINAL" "$GRUB_DISABLE_OS_PROBER" "$GRUB_DEFAULT"',
        ])
        .split('\n');
      assert.equal(seen[0], settings(img).get('kernel_cmdline'), 'GRUB_CMDLINE_LINUX is kernel_cmdline');
      assert.equal(seen[1], '', 'nothing more for the default entry');
      assert.match(seen[2]!, /\bserial\b/, 'GRUB_TERMINAL has the serial console');
      assert.equal(seen[3], 'true', 'no os-prober');
      assert.equal(seen[4], '0');
      assert.ok(img.exists('etc/kernel/postinst.d/zz-update-grub'), 'a kernel upgrade runs update-grub');
    },
  },
  {
    stages: grubStages,
    title: "BIOS boot: GRUB's boot.img in the MBR (table and 0x55AA kept), core.img at sector 1 with its blocklist",
    run(img) {
      const d = disk(img);
      const mbr = bytes(d.file, 0, sector);
      const bootImg = readFileSync(img.path('usr/lib/grub/i386-pc/boot.img'));
      const expected = Buffer.from(bootImg.subarray(0, 440));
      expected.writeBigUInt64LE(1n, 0x5c); // core.img's first sector
      expected[0x66] = 0x90; // the boot drive check jump, NOPed for hard disks
      expected[0x67] = 0x90;
      assert.ok(mbr.subarray(0, 440).equals(expected), "MBR code is GRUB's boot.img");
      assert.equal(mbr.readUInt16BE(510), 0x55aa, 'MBR signature');
      assert.equal(mbr[0x1be + 4], partitionTable(d.file).partitions[0]!.type === 'ef' ? 0xef : 0x83, 'partition table kept');
      const diskboot = readFileSync(img.path('usr/lib/grub/i386-pc/diskboot.img'));
      const first = bytes(d.file, sector, sector);
      assert.ok(first.subarray(0, sector - 12).equals(diskboot.subarray(0, sector - 12)), "sector 1 is GRUB's diskboot.img");
      const start = first.readBigUInt64LE(sector - 12);
      const count = first.readUInt16LE(sector - 4);
      assert.equal(start, 2n, 'blocklist starts at sector 2');
      assert.equal(first.readUInt16LE(sector - 2), 0x820, 'blocklist load segment');
      assert.ok(count > 0 && 2 + count <= 2048, `core.img (${count + 1} sectors) ends before the first partition`);
      assert.ok(
        bytes(d.file, (1 + count) * sector, sector).some((b) => b !== 0),
        'the last core.img sector has data',
      );
      assert.ok(
        bytes(d.file, (2 + count) * sector, sector).every((b) => b === 0),
        'nothing behind core.img',
      );
    },
  },
  {
    stages: ['image_install_grub_efi', 'image_install_grub'],
    title: 'UEFI boot (disks with an ESP): /EFI/BOOT/BOOTX64.EFI an x86-64 GRUB image, its grub.cfg handing over to the root file system',
    run(img) {
      const d = disk(img);
      if (d.get('disk_layout') !== 'efi') return;
      const offset = d.part(d.get('esp_part'))[0] * sector;
      const mtools = (tool: string, ...args: string[]): Buffer => sh(['env', 'MTOOLS_SKIP_CHECK=1', tool, '-i', `${d.file}@@${offset}`, ...args]);
      const efi = mtools('mtype', '::/EFI/BOOT/BOOTX64.EFI');
      assert.equal(efi.toString('latin1', 0, 2), 'MZ');
      const pe = efi.readUInt32LE(0x3c);
      assert.equal(efi.toString('latin1', pe, pe + 4), 'PE\0\0');
      assert.equal(efi.readUInt16LE(pe + 4), 0x8664, 'x86-64');
      assert.ok(efi.includes(Buffer.from('/EFI/BOOT')), 'prefix /EFI/BOOT built in');
      const cfg = mtools('mtype', '::/EFI/BOOT/grub.cfg').toString();
      assert.match(cfg, new RegExp(`search --no-floppy --fs-uuid --set=root ${d.get('root_uuid')}\\b`));
      assert.match(cfg, /^configfile \$prefix\/grub\.cfg$/m);
      assert.match(cfg, /^set prefix=\(\$root\)\/boot\/grub$/m);
    },
  },

  // ---- packaging ----
  {
    stages: ['prepare_raw_image_stemcell'],
    title: 'raw: the image is a gzip tar holding root.img, the raw disk',
    run(img) {
      const image = stemcellImage(img);
      assert.deepEqual(gzipMembers(image), ['root.img']);
      assert.ok(memberHead(image, 'root.img', sector).equals(bytes(join(workDir(img), 'disk.raw'), 0, sector)), "root.img starts with disk.raw's MBR");
    },
  },
  {
    stages: ['prepare_rawdisk_image_stemcell'],
    title: 'rawdisk: the image is an old-GNU gzip tar holding disk.raw, as GCE imports it',
    run(img) {
      const image = stemcellImage(img);
      assert.deepEqual(gzipMembers(image), ['disk.raw']);
      const header = pipe('gzip -dc "$1" | head -c 512', image);
      assert.equal(header.toString('latin1', 257, 265), 'ustar  \0', 'old GNU tar format');
      const listing = sh(['tar', '-tvzf', image]).toString();
      assert.match(listing, new RegExp(`\\s${diskBytes(img)}\\s`), 'full disk size');
    },
  },
  {
    stages: ['prepare_qcow2_image_stemcell'],
    title: "qcow2: the image is a gzip tar holding root.img, a qcow2 v2 (compat 0.10) of the disk's size",
    covers: ['iaas.openstack.qcow2-compat'],
    run(img) {
      const image = stemcellImage(img);
      assert.deepEqual(gzipMembers(image), ['root.img']);
      const head = memberHead(image, 'root.img', 104);
      assert.equal(head.toString('latin1', 0, 4), 'QFI\xfb');
      assert.equal(head.readUInt32BE(4), 2, 'qcow2 version 2 (compat=0.10)');
      assert.equal(head.readBigUInt64BE(24), BigInt(diskBytes(img)), 'virtual size');
    },
  },
  {
    stages: ['prepare_vhd_image_stemcell'],
    title: "vhd: the image is a gzip tar holding root.vhd, a fixed VHD of exactly the disk's size",
    run(img) {
      const image = stemcellImage(img);
      assert.deepEqual(gzipMembers(image), ['root.vhd']);
      const footer = memberTail(image, 'root.vhd', 512);
      assert.equal(footer.toString('latin1', 0, 8), 'conectix');
      assert.equal(footer.readUInt32BE(60), 2, 'fixed disk');
      assert.equal(footer.readBigUInt64BE(48), BigInt(diskBytes(img)), 'current size');
      assert.equal(diskBytes(img) % (1024 * 1024), 0, 'whole MiB');
    },
  },
  {
    stages: ['prepare_vhdx_image_stemcell'],
    title: "vhdx: the image is a bzip2 stream (no tar) of a dynamic VHD of the disk's size",
    run(img) {
      const image = stemcellImage(img);
      assert.equal(bytes(image, 0, 3).toString('latin1'), 'BZh');
      const footerCopy = pipe('bzip2 -dc "$1" | head -c 512', image);
      assert.equal(footerCopy.toString('latin1', 0, 8), 'conectix');
      assert.equal(footerCopy.readUInt32BE(60), 3, 'dynamic disk');
      assert.ok(footerCopy.readBigUInt64BE(48) >= BigInt(diskBytes(img)), 'size');
    },
  },
  {
    stages: ['image_ovf_vmx'],
    title: 'ovf: work/ovf/image-disk1.vmdk is a streamOptimized VMDK for an lsilogic controller',
    run(img) {
      const vmdk = join(workDir(img), 'ovf', 'image-disk1.vmdk');
      const head = bytes(vmdk, 0, 4096);
      assert.equal(head.toString('latin1', 0, 4), 'KDMV');
      const descriptor = bytes(vmdk, 512, 2048).toString('latin1');
      assert.match(descriptor, /createType="streamOptimized"/);
      assert.match(descriptor, /ddb\.adapterType = "lsilogic"/);
      assert.match(descriptor, new RegExp(`RW ${diskBytes(img) / sector} SPARSE`), "the disk's size");
    },
  },
  {
    stages: ['image_ovf_generate'],
    title: 'ovf: image.ovf is OVF 1.0 (1 CPU, 512 MB, lsilogic, the vmdk by reference) and image.mf has its SHA1s',
    run(img) {
      const dir = join(workDir(img), 'ovf');
      const ovf = readFileSync(join(dir, 'image.ovf'), 'utf8');
      const lint = spawnSync('xmllint', ['--noout', join(dir, 'image.ovf')]);
      if (!lint.error) assert.equal(lint.status, 0, `xmllint: ${String(lint.stderr)}`);
      assert.match(ovf, /<Envelope xmlns="http:\/\/schemas\.dmtf\.org\/ovf\/envelope\/1"/);
      const size = statSync(join(dir, 'image-disk1.vmdk')).size;
      assert.match(ovf, new RegExp(`<File ovf:href="image-disk1\\.vmdk" ovf:id="file1" ovf:size="${size}"/>`));
      assert.match(
        ovf,
        new RegExp(`ovf:capacity="${diskBytes(img) / 1024 / 1024}" ovf:capacityAllocationUnits="byte \\* 2\\^20" ovf:diskId="vmdisk1" ovf:fileRef="file1"`),
      );
      assert.equal((ovf.match(/<VirtualSystem /g) ?? []).length, 1);
      assert.match(ovf, /<rasd:ResourceType>3<\/rasd:ResourceType>\s*<rasd:VirtualQuantity>1<\/rasd:VirtualQuantity>/);
      assert.match(ovf, /<rasd:ResourceType>4<\/rasd:ResourceType>\s*<rasd:VirtualQuantity>512<\/rasd:VirtualQuantity>/);
      assert.match(ovf, /<rasd:ResourceSubType>lsilogic<\/rasd:ResourceSubType>\s*<rasd:ResourceType>6<\/rasd:ResourceType>/);
      assert.match(
        ovf,
        /<rasd:HostResource>ovf:\/disk\/vmdisk1<\/rasd:HostResource>\s*<rasd:InstanceID>5<\/rasd:InstanceID>\s*<rasd:Parent>3<\/rasd:Parent>\s*<rasd:ResourceType>17</,
      );
      const mf = readFileSync(join(dir, 'image.mf'), 'utf8');
      const sha1 = (f: string): string =>
        createHash('sha1')
          .update(readFileSync(join(dir, f)))
          .digest('hex');
      assert.equal(mf, `SHA1(image.ovf)= ${sha1('image.ovf')}\nSHA1(image-disk1.vmdk)= ${sha1('image-disk1.vmdk')}\n`);
    },
  },
  {
    stages: ['prepare_ovf_image_stemcell'],
    title: 'ovf: the image is a gzip tar of image.ovf, image.mf and image-disk1.vmdk (descriptor first), matching the manifest',
    run(img) {
      const image = stemcellImage(img);
      assert.deepEqual(gzipMembers(image), ['image.ovf', 'image.mf', 'image-disk1.vmdk']);
      const tmp = mkdtempSync(join(tmpdir(), 'ovf-check-'));
      try {
        sh(['tar', '-xzf', image, '-C', tmp]);
        const mf = readFileSync(join(tmp, 'image.mf'), 'utf8');
        for (const f of ['image.ovf', 'image-disk1.vmdk']) {
          const digest = createHash('sha1')
            .update(readFileSync(join(tmp, f)))
            .digest('hex');
          assert.ok(mf.includes(`SHA1(${f})= ${digest}\n`), `${f} matches image.mf`);
        }
        assert.equal(bytes(join(tmp, 'image-disk1.vmdk'), 0, 4).toString('latin1'), 'KDMV');
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    },
  },
  {
    stages: ['prepare_files_image_stemcell'],
    title: 'files: the image is a gzip tar of the whole chroot, ./ entries, numeric owners, /tmp 1777',
    run(img) {
      const image = stemcellImage(img);
      assert.deepEqual([...bytes(image, 0, 2)], [0x1f, 0x8b], 'image is gzip');
      const listing = sh(['tar', '--numeric-owner', '-tvzf', image])
        .toString()
        .split('\n')
        .filter((l) => l !== '');
      const names = listing.map((l) => l.split(/\s+/)[5]!);
      assert.equal(names[0], './');
      assert.ok(
        names.every((n) => n.startsWith('./')),
        'every entry under ./',
      );
      for (const n of ['./etc/os-release', './var/vcap/', './usr/bin/', './tmp/']) assert.ok(names.includes(n), n);
      const tmpLine = listing[names.indexOf('./tmp/')]!;
      assert.match(tmpLine, /^drwxrwxrwt 0\/0 /, '/tmp 1777 root');
      assert.equal(img.mode('tmp'), 0o1777);
      assert.deepEqual(
        names.filter((n) => n.startsWith('./proc/') && n !== './proc/'),
        [],
        'no mounted /proc',
      );
    },
  },
];
