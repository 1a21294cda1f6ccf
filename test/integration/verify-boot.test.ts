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
import { chooseFirmware, partitionTableFirmware } from '../../src/stemcell/firmware.js';
import type { VerifyBootResult } from '../../src/stemcell/verify-boot.js';
import { hasCommand, pidAlive, qemuPidOf } from '../helpers/processes.js';
import { stemforgeSpawn, stemforgeSync } from '../helpers/stemcell-cli.js';
import { rawImage, rawTar, stemcellTarball } from '../helpers/stemcell-tarball.js';

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

describe('stemforge verify --boot: a disk that does not boot', { skip: noQemu }, () => {
  let blank: string;
  before(() => {
    blank = join(scratch, 'blank.tgz');
    writeFileSync(blank, stemcellTarball({ image: rawImage(Buffer.alloc(1024 * 1024)) }));
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
    const qcow = join(scratch, 'blank.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', qcow, '64M']);
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
