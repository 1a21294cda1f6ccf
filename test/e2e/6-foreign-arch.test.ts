// End to end, as root: an arm64 debian-bookworm OS image built on this amd64 machine, the
// mirror of an amd64 build on an arm64 VM (Apple Silicon). The stages register qemu-user
// with the kernel's binfmt_misc, run debootstrap --foreign and its second stage in the
// chroot, then install build-essential through apt in the chroot: every program of the
// image runs under emulation, every disk and archive tool natively. The chroot is checked
// for what it is (arm64 programs, packages of arm64) and used: its gcc compiles a program
// that runs. The whole arm64 OS image is built outside CI by bench/foreign-arch.ts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, readSync, closeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { architectureFacts } from '../../src/catalog/architectures.js';
import { stemforgeSpawn } from '../helpers/stemcell-cli.js';
import { mountsBelow } from '../helpers/build-machine.js';

function unavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (debootstrap, chroot, binfmt_misc)';
  if (!existsSync('/usr/sbin/debootstrap')) return 'debootstrap is not installed';
  if (!existsSync('/usr/bin/qemu-aarch64-static')) return 'qemu-user-static is not installed (scripts/install-build-deps.sh installs it)';
  return undefined;
}

/** e_machine of an ELF file. */
function elfMachine(path: string): number {
  const fd = openSync(path, 'r');
  try {
    const header = Buffer.alloc(20);
    readSync(fd, header, 0, 20, 0);
    assert.equal(header.subarray(0, 4).toString('latin1'), '\x7fELF', `${path} is an ELF file`);
    return header.readUInt16LE(18);
  } finally {
    closeSync(fd);
  }
}

describe('an arm64 OS image on this amd64 machine, through qemu-user and binfmt_misc', { skip: unavailable(), timeout: 40 * 60_000 }, () => {
  let scratch: string;
  let chroot: string;
  const arm64 = architectureFacts.arm64.elfMachine;
  /** a program in the image, run by the build machine's kernel through the emulator */
  const inImage = (...command: string[]): string => execFileSync('chroot', [chroot, ...command], { encoding: 'utf8' });

  before(() => {
    scratch = mkdtempSync('/var/tmp/stemforge-e2e-arm64-');
    chroot = join(scratch, 'build-root', 'builds', 'os-image-debian-bookworm-arm64', 'work', 'chroot');
  });

  after(() => {
    if (scratch && mountsBelow(scratch).length === 0) execFileSync('rm', ['-rf', '--one-file-system', scratch]);
  });

  it('bootstraps in two stages and installs build-essential through apt, all in arm64', async () => {
    const started = Date.now();
    const run = await stemforgeSpawn(
      [
        'os-image',
        '--os',
        'debian-bookworm',
        '--arch',
        'arm64',
        '--machine',
        'local',
        '--build-root',
        join(scratch, 'build-root'),
        '--no-cache',
        '--no-layers',
        '--until',
        'base_debian_build_essential',
        '--json',
      ],
      { CI: 'true' },
    ).done;
    assert.equal(run.code, 0, run.stderr.slice(-4000));
    const applied = (JSON.parse(run.stdout) as { stages: { stage: string; step: string; seconds: number }[] }).stages.filter((s) => s.step === 'apply');
    for (const s of applied) console.log(`# ${s.stage}: ${s.seconds.toFixed(1)} s`);
    console.log(`# arm64 OS image to base_debian_build_essential: ${((Date.now() - started) / 1000).toFixed(0)} s`);
    assert.deepEqual(
      applied.map((s) => s.stage),
      ['base_debootstrap', 'base_debian_firstboot', 'base_apt', 'base_debian_build_essential'],
    );
    assert.deepEqual(mountsBelow(scratch), [], 'nothing is left mounted');
  });

  it("the image's programs are arm64's, and the build machine runs them through its registered emulator", () => {
    for (const program of ['usr/bin/dpkg', 'usr/bin/bash', 'usr/bin/gcc-12', 'usr/bin/make']) {
      assert.equal(elfMachine(join(chroot, program)), arm64, program);
    }
    const entry = readFileSync('/proc/sys/fs/binfmt_misc/stemforge-arm64', 'utf8');
    assert.match(entry, /^enabled$/m);
    assert.match(entry, /^interpreter \S*(qemu-aarch64-static|aarch64-binfmt-P)$/m);
    assert.match(entry, /^flags: \S*F/m);
    assert.equal(inImage('uname', '-m').trim(), 'aarch64');
    assert.equal(inImage('dpkg', '--print-architecture').trim(), 'arm64');
    const status = readFileSync(join(chroot, 'var', 'lib', 'dpkg', 'status'), 'utf8');
    const stanza = status.split('\n\n').find((s) => /^Package: build-essential$/m.test(s));
    assert.ok(stanza, 'build-essential is installed');
    assert.match(stanza, /^Status: install ok installed$/m);
    assert.match(stanza, /^Architecture: arm64$/m);
    assert.doesNotMatch(status, /^Architecture: amd64$/m, 'no amd64 package in the image');
  });

  it("the image's compiler builds a program that runs", () => {
    writeFileSync(
      join(chroot, 'tmp', 'hello.c'),
      '#include <stdio.h>\nint main(void) { printf("hello from %d-bit code\\n", (int)(8 * sizeof(void *))); return 0; }\n',
    );
    inImage('gcc', '-O1', '-o', '/tmp/hello', '/tmp/hello.c');
    assert.equal(elfMachine(join(chroot, 'tmp', 'hello')), arm64);
    assert.equal(inImage('/tmp/hello'), 'hello from 64-bit code\n');
  });
});
