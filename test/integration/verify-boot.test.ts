// `stemforge verify --boot` up to and around QEMU: the firmware choice, the refusals of hostile
// images, and the failure, Ctrl-C and network paths, which need QEMU but no bootable disk.
// Real boots of disks the project builds are in test/e2e/2-stemcell.test.ts.
// The guest's network is QEMU's user mode with restrict=on: the test talks only to 127.0.0.1.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { chooseFirmware, findOvmf, missingBootPart, partitionTableFirmware } from '../../src/stemcell/firmware.js';
import { firmwareGaveUp, type VerifyBootResult } from '../../src/stemcell/verify-boot.js';
import { hasCommand, pidAlive, qemuPidOf } from '../helpers/processes.js';
import { stemforgeSpawn, stemforgeSync } from '../helpers/stemcell-cli.js';
import { hangingDisk, rawImage, rawTar, stemcellTarball } from '../helpers/stemcell-tarball.js';

const noQemu =
  !hasCommand('qemu-system-x86_64') || !hasCommand('qemu-img')
    ? 'qemu-system-x86_64 and qemu-img are not installed (apt-get install qemu-system-x86 qemu-utils)'
    : undefined;

let sandbox: string;
let scratch: string;

/** A fresh TMPDIR for one CLI run, so the test sees everything the command leaves behind. */
function freshTmp(name: string): string {
  const dir = join(sandbox, `tmp-${name}`);
  mkdirSync(dir);
  return dir;
}

before(() => {
  sandbox = mkdtempSync(join(tmpdir(), 'sf-verify-boot-test-'));
  scratch = join(sandbox, 'scratch');
  mkdirSync(scratch);
});

after(() => rmSync(sandbox, { recursive: true, force: true }));

describe('firmware choice (partition table, stemcell.MF)', () => {
  const mbr = (types: number[]): Buffer => {
    const b = Buffer.alloc(1024 * 1024);
    types.forEach((t, i) => (b[446 + i * 16 + 4] = t));
    b[510] = 0x55;
    b[511] = 0xaa;
    return b;
  };
  const gpt = (guids: string[]): Buffer => {
    const b = mbr([0xee]);
    b.write('EFI PART', 512, 'latin1');
    b.writeBigUInt64LE(2n, 512 + 72);
    b.writeUInt32LE(128, 512 + 80);
    b.writeUInt32LE(128, 512 + 84);
    guids.forEach((g, i) => Buffer.from(g, 'hex').copy(b, 1024 + i * 128));
    return b;
  };
  const esp = '28732ac11ff8d211ba4b00a0c93ec93b';
  const linux = 'af3dc60f838472478e793d69d8477de4';
  const biosBoot = '4861682149646f6e744e656564454649';

  it("MBR: type ef (the reference's image_create_efi) means EFI, 83 alone BIOS", () => {
    assert.equal(partitionTableFirmware(mbr([0xef, 0x83]))?.firmware, 'efi');
    assert.equal(partitionTableFirmware(mbr([0x83]))?.firmware, 'bios');
  });

  it('GPT: an EF00 partition means EFI, a BIOS boot partition alone BIOS', () => {
    assert.equal(partitionTableFirmware(gpt([biosBoot, esp, linux]))?.firmware, 'efi');
    assert.match(partitionTableFirmware(gpt([biosBoot, esp, linux]))?.reason ?? '', /partition 2/);
    assert.equal(partitionTableFirmware(gpt([biosBoot, linux]))?.firmware, 'bios');
  });

  it('what a disk lacks to boot: the MBR signature for BIOS, an EFI system partition for EFI', () => {
    assert.match(missingBootPart(Buffer.alloc(4096), 'bios') ?? '', /no boot sector \(no MBR signature 0x55AA at byte 510\)/);
    assert.equal(missingBootPart(mbr([0x83]), 'bios'), undefined);
    assert.equal(missingBootPart(gpt([biosBoot, linux]), 'bios'), undefined, 'a protective MBR is signed');
    assert.match(missingBootPart(mbr([0x83]), 'efi') ?? '', /no EFI system partition/);
    assert.match(missingBootPart(gpt([biosBoot, linux]), 'efi') ?? '', /no EFI system partition/);
    assert.match(missingBootPart(Buffer.alloc(4096), 'efi') ?? '', /no partition table/);
    assert.equal(missingBootPart(gpt([biosBoot, esp, linux]), 'efi'), undefined);
    assert.equal(missingBootPart(mbr([0xef, 0x83]), 'efi'), undefined);
  });

  it("the console's word that the firmware gave up: the disk's failed boot option, not a network card's, nor a boot that loads", () => {
    // lines as OVMF and SeaBIOS print them
    const disk = 'BdsDxe: failed to load Boot0001 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x1,0x0): Not Found';
    assert.equal(firmwareGaveUp(`\x1b[2J${disk}\r\nBdsDxe: loading Boot0002`), disk);
    const pxe =
      'BdsDxe: failed to load Boot0002 "UEFI PXEv4 (MAC:525400123456)" from PciRoot(0x0)/Pci(0x2,0x0)/MAC(525400123456,0x1)/IPv4(0.0.0.0,0x0,DHCP,0.0.0.0,0.0.0.0,0.0.0.0): Not Found';
    assert.equal(firmwareGaveUp(pxe), undefined);
    assert.equal(firmwareGaveUp('BdsDxe: loading Boot0001 "UEFI Misc Device" from PciRoot(0x0)/Pci(0x1,0x0)\r\nWelcome to GRUB!'), undefined);
    assert.equal(firmwareGaveUp('Booting from Hard Disk...\nBoot failed: not a bootable disk\n'), 'Boot failed: not a bootable disk');
    assert.equal(firmwareGaveUp('No bootable device.'), 'No bootable device.');
  });

  it('no table: BIOS, unless stemcell.MF says boot_mode uefi', () => {
    assert.equal(partitionTableFirmware(Buffer.alloc(4096)), undefined);
    assert.equal(chooseFirmware(Buffer.alloc(4096), {}).firmware, 'bios');
    assert.equal(chooseFirmware(mbr([0x83]), { boot_mode: 'uefi' }).firmware, 'efi');
    assert.equal(chooseFirmware(mbr([0x83]), { boot_mode: 'uefi-preferred' }).firmware, 'bios');
  });
});

describe('stemforge verify --boot: refusals before any boot', { skip: noQemu }, () => {
  const refused = (name: string, image: Buffer, pattern: RegExp): void => {
    it(`refuses ${name}, leaving nothing behind`, () => {
      const path = join(scratch, `refuse-${name.replace(/\W+/g, '-')}.tgz`);
      writeFileSync(path, stemcellTarball({ image }));
      const tmp = freshTmp(`refuse-${name.replace(/\W+/g, '-')}`);
      const r = stemforgeSync(['verify', path, '--boot'], { TMPDIR: tmp });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, pattern);
      assert.deepEqual(readdirSync(tmp), [], 'the temp dir is removed');
    });
  };

  refused(
    'root.img as a symlink to /etc/shadow',
    gzipSync(rawTar([{ name: 'root.img', type: '2', linkname: '/etc/shadow' }])),
    /refused: entry 'root\.img' is a symbolic link/,
  );
  refused('root.img with a .. path', gzipSync(rawTar([{ name: '../root.img', body: 'x' }])), /refused: entry '\.\.\/root\.img' has a '\.\.' component/);
  refused(
    'a hard link in the image',
    gzipSync(
      rawTar([
        { name: 'root.img', body: 'x' },
        { name: 'disk.raw', type: '1', linkname: 'root.img' },
      ]),
    ),
    /hard link/,
  );
  refused('an image that is not a gzip tar', Buffer.from('plain text'), /cannot read|not a valid|incorrect header/i);
  refused('an image without root.img', rawImage(Buffer.alloc(1024), 'other.img'), /holds no root\.img/);

  it('refuses a qcow2 root.img that names a backing file (QEMU would open a host file)', () => {
    const qcow = join(scratch, 'evil.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', '/etc/hostname', qcow, '1M']);
    const path = join(scratch, 'evil-qcow2.tgz');
    writeFileSync(path, stemcellTarball({ diskFormat: 'qcow2', image: rawImage(readFileSync(qcow)) }));
    const tmp = freshTmp('evil-qcow2');
    const r = stemforgeSync(['verify', path, '--boot'], { TMPDIR: tmp });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /root\.img names a backing file \(\/etc\/hostname\)/);
    assert.deepEqual(readdirSync(tmp), []);
  });

  it('refuses a vmdk descriptor in an ovf stemcell (its extents would make QEMU read host files)', () => {
    const descriptor = ['# Disk DescriptorFile', 'version=1', 'createType="monolithicFlat"', 'RW 2048 FLAT "/etc/hostname" 0', ''].join('\n');
    const path = join(scratch, 'evil-vmdk.tgz');
    writeFileSync(path, stemcellTarball({ iaas: 'vsphere', diskFormat: 'ovf', image: rawImage(Buffer.from(descriptor), 'image-disk1.vmdk') }));
    const tmp = freshTmp('evil-vmdk');
    const r = stemforgeSync(['verify', path, '--boot'], { TMPDIR: tmp });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /image-disk1\.vmdk is not a qcow2 or vmdk image but disk_format is ovf/);
    assert.deepEqual(readdirSync(tmp), []);
  });

  it('refuses a disk format it cannot boot, and a qcow2 image labelled raw', () => {
    const vhd = join(scratch, 'vhd.tgz');
    writeFileSync(vhd, stemcellTarball({ iaas: 'azure', diskFormat: 'vhd' }));
    const r = stemforgeSync(['verify', vhd, '--boot']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot boot disk_format 'vhd'/);
    const qcow = join(scratch, 'small.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', qcow, '1M']);
    const mislabelled = join(scratch, 'mislabelled.tgz');
    writeFileSync(mislabelled, stemcellTarball({ diskFormat: 'raw', image: rawImage(readFileSync(qcow)) }));
    const m = stemforgeSync(['verify', mislabelled, '--boot']);
    assert.equal(m.code, 1);
    assert.match(m.stderr, /root\.img is a qcow2 image but disk_format is raw/);
  });

  it('usage errors exit 2: no --boot, a missing file, a bad --timeout', () => {
    const path = join(scratch, 'usage.tgz');
    writeFileSync(path, stemcellTarball());
    assert.equal(stemforgeSync(['verify', path]).code, 2);
    assert.equal(stemforgeSync(['verify', join(scratch, 'missing.tgz'), '--boot']).code, 2);
    const t = stemforgeSync(['verify', path, '--boot', '--timeout', 'soon']);
    assert.equal(t.code, 2);
    assert.match(t.stderr, /--timeout 'soon'/);
  });
});

describe('stemforge verify --boot: a disk without a boot sector or EFI system partition fails before QEMU', { skip: noQemu }, () => {
  it('a raw root.img of zeros: no MBR signature, exit 1 at once, no QEMU, the temp dir removed', () => {
    const path = join(scratch, 'zeros.tgz');
    writeFileSync(path, stemcellTarball({ image: rawImage(Buffer.alloc(1024 * 1024)) }));
    const tmp = freshTmp('zeros');
    const started = Date.now();
    const r = stemforgeSync(['verify', path, '--boot', '--timeout', '5'], { TMPDIR: tmp });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /root\.img cannot boot with bios \(no MBR signature; trying BIOS\): no boot sector \(no MBR signature 0x55AA at byte 510\)/);
    assert.match(r.stderr, /what to do: rebuild the stemcell/);
    assert.doesNotMatch(r.stderr, /QEMU pid/);
    assert.ok(Date.now() - started < 60_000, 'not the 5 minutes of the timeout');
    assert.deepEqual(readdirSync(tmp), []);
  });

  it('a qcow2 root.img of zeros is read through qemu-img and refused the same way', () => {
    const qcow = join(scratch, 'zeros.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', qcow, '64M']);
    const path = join(scratch, 'zeros-qcow2.tgz');
    writeFileSync(path, stemcellTarball({ diskFormat: 'qcow2', image: rawImage(readFileSync(qcow)) }));
    const r = stemforgeSync(['verify', path, '--boot', '--timeout', '5'], { TMPDIR: freshTmp('zeros-qcow2') });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /no boot sector/);
    assert.doesNotMatch(r.stderr, /QEMU pid/);
  });

  it('an EFI stemcell (boot_mode uefi) whose disk has an MBR but no EFI system partition', () => {
    const mbr = hangingDisk();
    mbr[446 + 4] = 0x83;
    const path = join(scratch, 'uefi-no-esp.tgz');
    writeFileSync(path, stemcellTarball({ image: rawImage(mbr), editManifest: (m) => void (m.cloud_properties.boot_mode = 'uefi') }));
    const r = stemforgeSync(['verify', path, '--boot', '--timeout', '5'], { TMPDIR: freshTmp('uefi-no-esp') });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /root\.img cannot boot with efi \(stemcell\.MF cloud_properties\.boot_mode is uefi\): no EFI system partition/);
    assert.doesNotMatch(r.stderr, /QEMU pid/);
  });
});

describe('stemforge verify --boot: the firmware finds nothing to boot (real QEMU, OVMF)', { skip: noQemu }, () => {
  it('a GPT disk whose EFI system partition holds no file system: fails once the console shows the firmware gave up, not at the timeout', async (t) => {
    if (!(await findOvmf())) return t.skip('no OVMF firmware (apt-get install ovmf)');
    // protective MBR, GPT header at LBA 1, entries at LBA 2; partition 1 is an ESP of zeros
    const disk = Buffer.alloc(8 * 1024 * 1024);
    disk[446 + 4] = 0xee;
    disk[510] = 0x55;
    disk[511] = 0xaa;
    disk.write('EFI PART', 512, 'latin1');
    disk.writeBigUInt64LE(2n, 512 + 72);
    disk.writeUInt32LE(128, 512 + 80);
    disk.writeUInt32LE(128, 512 + 84);
    Buffer.from('28732ac11ff8d211ba4b00a0c93ec93b', 'hex').copy(disk, 1024);
    disk.writeBigUInt64LE(2048n, 1024 + 32);
    disk.writeBigUInt64LE(16000n, 1024 + 40);
    const path = join(scratch, 'empty-esp.tgz');
    writeFileSync(path, stemcellTarball({ image: rawImage(disk) }));
    const started = Date.now();
    const r = stemforgeSync(['verify', path, '--boot', '--timeout', '10', '--json'], { TMPDIR: freshTmp('empty-esp') });
    const seconds = (Date.now() - started) / 1000;
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /QEMU pid \d+/, 'QEMU ran');
    const result = JSON.parse(r.stdout) as VerifyBootResult;
    assert.equal(result.firmware, 'efi');
    assert.match(
      result.error ?? '',
      /^the firmware found nothing to boot after [\d.]+ s \(the console says: BdsDxe: failed to load Boot0001 "[^"]*" from PciRoot\([^)]*\)\/Pci\([^)]*\): Not Found\)/,
    );
    assert.ok(seconds < 150, `ended after ${seconds} s, at the disk's failed boot option, before OVMF's minutes of network boot`);
  });
});

describe('stemforge verify --boot: a disk that does not boot', { skip: noQemu }, () => {
  let blank: string;
  before(() => {
    blank = join(scratch, 'hanging.tgz');
    writeFileSync(blank, stemcellTarball({ image: rawImage(hangingDisk()) }));
  });

  it('times out with exit 1, keeps the console log and prints its path', () => {
    const tmp = freshTmp('timeout');
    const r = stemforgeSync(['verify', blank, '--boot', '--timeout', '0.25'], { TMPDIR: tmp });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^FAIL: timed out after 15 s: multi-user not reached, sshd did not answer$/m);
    const log = /^console log +(\S+)$/m.exec(r.stdout)?.[1];
    assert.ok(log && existsSync(log), r.stdout);
    assert.deepEqual(readdirSync(tmp), [log.slice(tmp.length + 1)], 'only the kept console log; the temp dir is gone');
  });

  it('a qcow2 stemcell goes the same way: qcow2 checked, its partition table read, an overlay booted', () => {
    const raw = join(scratch, 'hanging.raw');
    writeFileSync(raw, hangingDisk(64 * 1024 * 1024));
    const qcow = join(scratch, 'hanging.qcow2');
    execFileSync('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, qcow]);
    const path = join(scratch, 'blank-qcow2.tgz');
    writeFileSync(path, stemcellTarball({ diskFormat: 'qcow2', image: rawImage(readFileSync(qcow)) }));
    const tmp = freshTmp('qcow2');
    const r = stemforgeSync(['verify', path, '--boot', '--timeout', '0.25', '--json'], { TMPDIR: tmp });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /extracted root\.img \(qcow2/);
    assert.match(r.stderr, /QEMU pid \d+/);
    const result = JSON.parse(r.stdout) as VerifyBootResult;
    assert.equal(result.diskFormat, 'qcow2');
    assert.equal(result.firmware, 'bios');
    assert.match(result.error ?? '', /timed out/);
    assert.ok(result.consoleLog?.startsWith(tmp));
  });

  it('Ctrl-C stops QEMU (by its pid) and removes the temp dir; the guest net is restricted to a loopback port', async () => {
    const tmp = freshTmp('sigint');
    const run = stemforgeSpawn(['verify', blank, '--boot', '--timeout', '10'], { TMPDIR: tmp });
    const pid = await qemuPidOf(run);
    assert.ok(pid, run.out.stderr);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const netdev = cmdline[cmdline.indexOf('-netdev') + 1] ?? '';
    assert.match(netdev, /^user,id=n,restrict=on,hostfwd=tcp:127\.0\.0\.1:\d+-:22$/);
    assert.ok(!cmdline.some((a) => /^(tap|bridge|socket)/.test(a)), 'no other network backend');
    assert.ok(
      readdirSync(tmp).some((n) => n.startsWith('stemforge-boot-')),
      'the temp dir exists while QEMU runs',
    );
    run.child.kill('SIGINT');
    const r = await run.done;
    assert.equal(r.code, 130, r.stderr);
    assert.equal(pidAlive(pid), false, 'QEMU is gone');
    assert.ok(!readdirSync(tmp).some((n) => n.startsWith('stemforge-boot-')), 'the temp dir is removed');
  });
});
