// The stage library's emulation of another architecture (stages/lib/emulation.bash), run in
// real bash: the binfmt_misc pattern against real ELF headers, the emulator it picks, and
// what it writes to binfmt_misc (a folder standing in for /proc/sys/fs/binfmt_misc, so the
// commands are read back instead of changing this machine's kernel; the real registration
// is exercised by test/e2e/6-foreign-arch.test.ts). An arm64 build machine cannot exist
// here: a stand-in `uname` on PATH says "aarch64" where a test needs one.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { architectureFacts } from '../../src/catalog/architectures.js';
import { packageRoot } from '../../src/util/paths.js';

const lib = join(packageRoot, 'stages', 'lib');
const dir = mkdtempSync(join(tmpdir(), 'sf-emulation-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function settingsFor(arch: 'amd64' | 'arm64'): Record<string, string> {
  const f = architectureFacts[arch];
  return {
    os_arch: arch,
    target_elf_machine: String(f.elfMachine),
    target_qemu_cpu: f.qemuCpu,
    target_rosetta_paths: f.rosettaPaths.join(' '),
  };
}

function bash(vars: Record<string, string>, script: string, path = process.env.PATH!): { code: number; out: string; err: string } {
  const assigns = Object.entries({ stage_name: 'base_debootstrap', ...vars })
    .map(([k, v]) => `${k}='${v}'`)
    .join('\n');
  const r = spawnSync('bash', ['-euo', 'pipefail', '-c', `${assigns}\nsource '${lib}/helpers.bash'\nsource '${lib}/emulation.bash'\n${script}`], {
    encoding: 'utf8',
    env: { PATH: path },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** binfmt_misc's \xNN text as bytes. */
function unescape(text: string): Buffer {
  return Buffer.from(
    text
      .split('\\x')
      .slice(1)
      .map((h) => parseInt(h, 16)),
  );
}

/** What the kernel does with an entry: every masked byte of the header equals the magic's. */
function matches(header: Buffer, magic: Buffer, mask: Buffer): boolean {
  return magic.every((m, i) => (header[i]! & mask[i]!) === (m & mask[i]!));
}

function pattern(arch: 'amd64' | 'arm64'): { magic: Buffer; mask: Buffer } {
  const r = bash(settingsFor(arch), 'elf_binfmt_magic "$target_elf_machine"; echo; elf_binfmt_mask');
  assert.equal(r.code, 0, r.err);
  const [magic, mask] = r.out.split('\n');
  return { magic: unescape(magic!), mask: unescape(mask!) };
}

/** A bin folder with stand-ins: `uname` answering MACHINE, and any other names given. */
function standInBin(name: string, machine: string, others: string[] = []): string {
  const bin = join(dir, name);
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'uname'), `#!/bin/sh\necho ${machine}\n`, { mode: 0o755 });
  for (const o of others) writeFileSync(join(bin, o), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  return `${bin}:${process.env.PATH}`;
}

const hostHeader = readFileSync('/usr/bin/dpkg').subarray(0, 20);

describe('binfmt_misc pattern', () => {
  it("matches this machine's own programs for amd64 (a PIE, and an ET_EXEC one), and nothing else", () => {
    const amd64 = pattern('amd64');
    const arm64 = pattern('arm64');
    assert.equal(amd64.magic.length, 20);
    assert.equal(amd64.mask.length, 20);
    assert.ok(matches(hostHeader, amd64.magic, amd64.mask), 'an x86_64 PIE program (ET_DYN)');
    const exec = Buffer.from(hostHeader);
    exec.writeUInt16LE(2, 16);
    assert.ok(matches(exec, amd64.magic, amd64.mask), 'an x86_64 ET_EXEC program');
    assert.ok(!matches(hostHeader, arm64.magic, arm64.mask), 'arm64 must not catch x86_64 programs');
    const aarch64 = Buffer.from(hostHeader);
    aarch64.writeUInt16LE(0xb7, 18);
    assert.ok(matches(aarch64, arm64.magic, arm64.mask), 'an aarch64 program');
    const relocatable = Buffer.from(hostHeader);
    relocatable.writeUInt16LE(1, 16);
    assert.ok(!matches(relocatable, amd64.magic, amd64.mask), 'an object file (ET_REL) is not a program');
    const class32 = Buffer.from(hostHeader);
    class32[4] = 1;
    assert.ok(!matches(class32, amd64.magic, amd64.mask), 'a 32-bit ELF');
  });

  it('reads the ELF machine of a file as the kernel does', () => {
    const r = bash(settingsFor('amd64'), 'elf_machine /usr/bin/dpkg');
    assert.equal(r.out.trim(), String(architectureFacts.amd64.elfMachine));
  });
});

describe('the emulator a build machine uses', () => {
  const rosetta = join(dir, 'rosetta');
  writeFileSync(rosetta, '#!/bin/sh\n', { mode: 0o755 });
  const rosettaSettings = { ...settingsFor('amd64'), target_rosetta_paths: `${join(dir, 'absent')} ${rosetta}` };

  it('Rosetta first, when the VM shares it (an arm64 machine building amd64)', () => {
    const r = bash(rosettaSettings, 'image_emulator', standInBin('arm-rosetta', 'aarch64', ['qemu-x86_64-static']));
    assert.equal(r.out, `rosetta ${rosetta} OCF\n`);
  });

  it('a Rosetta path that is not executable is passed over for qemu-user', () => {
    const plain = join(dir, 'rosetta-plain');
    writeFileSync(plain, '');
    chmodSync(plain, 0o644);
    const path = standInBin('arm-qemu', 'aarch64', ['qemu-x86_64-static']);
    const r = bash({ ...rosettaSettings, target_rosetta_paths: plain, qemu_binfmt_dir: join(dir, 'none') }, 'image_emulator', path);
    assert.equal(r.out, `qemu-user ${join(dir, 'arm-qemu', 'qemu-x86_64-static')} OCF\n`);
  });

  it("Debian's -binfmt-P link before the plain emulator: it keeps argv[0] (flag P); set-uid programs keep their credentials (C)", () => {
    const links = join(dir, 'qemu-binfmt');
    mkdirSync(links, { recursive: true });
    writeFileSync(join(links, 'aarch64-binfmt-P'), '#!/bin/sh\n', { mode: 0o755 });
    const r = bash({ ...settingsFor('arm64'), qemu_binfmt_dir: links }, 'image_emulator');
    assert.equal(r.out, `qemu-user ${join(links, 'aarch64-binfmt-P')} POCF\n`);
  });

  it('none at all: the config check names the package to install', () => {
    const bin = join(dir, 'bare');
    mkdirSync(bin, { recursive: true });
    for (const tool of ['bash', 'uname', 'cat', 'sed', 'tr']) {
      const which = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      if (which) copyFileSync(which, join(bin, tool));
      chmodSync(join(bin, tool), 0o755);
    }
    const r = bash({ ...settingsFor('arm64'), qemu_binfmt_dir: join(dir, 'none') }, 'require_image_emulator', bin);
    assert.equal(r.code, 1);
    assert.match(r.err, /the build machine is amd64 and the image arm64: .*qemu-aarch64-static.*install qemu-user-static/);
  });
});

describe('registration with binfmt_misc', () => {
  const links = join(dir, 'links');
  mkdirSync(links, { recursive: true });
  writeFileSync(join(links, 'aarch64-binfmt-P'), '#!/bin/sh\n', { mode: 0o755 });
  const interpreter = join(links, 'aarch64-binfmt-P');

  function binfmtDir(name: string, entry?: string): string {
    const d = join(dir, name);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'register'), '');
    if (entry !== undefined) writeFileSync(join(d, 'stemforge-arm64'), entry);
    return d;
  }
  const run = (d: string): ReturnType<typeof bash> => bash({ ...settingsFor('arm64'), binfmt_dir: d, qemu_binfmt_dir: links }, 'ensure_image_emulation');

  it('writes one register line: our entry, the aarch64 ELF pattern, the emulator and its flags', () => {
    const d = binfmtDir('fresh');
    const r = run(d);
    assert.equal(r.code, 0, r.err);
    const line = readFileSync(join(d, 'register'), 'utf8');
    const { magic, mask } = pattern('arm64');
    const fields = line.trimEnd().split(':');
    assert.deepEqual(fields.slice(0, 4), ['', 'stemforge-arm64', 'M', '']);
    assert.deepEqual(unescape(fields[4]!), magic);
    assert.deepEqual(unescape(fields[5]!), mask);
    assert.deepEqual(fields.slice(6), [interpreter, 'POCF']);
    assert.match(r.out, /arm64 programs run through qemu-user/);
  });

  it('keeps an entry that already names the same emulator and flags', () => {
    const d = binfmtDir('same', `enabled\ninterpreter ${interpreter}\nflags: POCF\noffset 0\n`);
    assert.equal(run(d).code, 0);
    assert.equal(readFileSync(join(d, 'register'), 'utf8'), '');
    assert.match(readFileSync(join(d, 'stemforge-arm64'), 'utf8'), /^enabled/);
  });

  it('removes an entry with another emulator, or a disabled one, and registers again', () => {
    for (const [name, entry] of [
      ['other', `enabled\ninterpreter /old/qemu-aarch64\nflags: POCF\noffset 0\n`],
      ['without credentials', `enabled\ninterpreter ${interpreter}\nflags: PF\noffset 0\n`],
      ['disabled', `disabled\ninterpreter ${interpreter}\nflags: POCF\noffset 0\n`],
    ] as const) {
      const d = binfmtDir(name, entry);
      assert.equal(run(d).code, 0);
      assert.equal(readFileSync(join(d, 'stemforge-arm64'), 'utf8'), '-1', `${name}: the entry is removed`);
      assert.match(readFileSync(join(d, 'register'), 'utf8'), /^:stemforge-arm64:M::/);
    }
  });

  it('does nothing for an image of the machine’s own architecture', () => {
    const d = binfmtDir('native');
    const r = bash({ ...settingsFor('amd64'), binfmt_dir: d }, 'ensure_image_emulation');
    assert.equal(r.code, 0, r.err);
    assert.equal(readFileSync(join(d, 'register'), 'utf8'), '');
  });
});

describe('debootstrap and the image check', () => {
  it('debootstrap runs --foreign only for a foreign image', () => {
    const base = {
      os_suite: 'bookworm',
      os_keyring: '/dev/null',
      os_components: 'main',
      chroot_pkg_cache: '/c',
      chroot: '/t',
      mirror: 'http://a.test/debian',
      debootstrap_script: 'sid',
    };
    const foreign = bash({ ...base, ...settingsFor('arm64') }, 'debootstrap_command_args');
    assert.equal(foreign.code, 0, foreign.err);
    assert.ok(foreign.out.split('\n').includes('--foreign'));
    assert.ok(foreign.out.split('\n').includes('--arch=arm64'));
    const native = bash({ ...base, ...settingsFor('amd64') }, 'debootstrap_command_args');
    assert.ok(!native.out.split('\n').includes('--foreign'));
  });

  it("refuses an OS image whose programs are another architecture's, before a stemcell is made of it", () => {
    const root = join(dir, 'root');
    mkdirSync(join(root, 'usr', 'bin'), { recursive: true });
    copyFileSync('/usr/bin/dpkg', join(root, 'usr', 'bin', 'dpkg'));
    assert.equal(bash(settingsFor('amd64'), `assert_image_architecture '${root}'`).code, 0);
    const header = readFileSync(join(root, 'usr', 'bin', 'dpkg'));
    header.writeUInt16LE(0xb7, 18);
    writeFileSync(join(root, 'usr', 'bin', 'dpkg'), header);
    const r = bash(settingsFor('amd64'), `assert_image_architecture '${root}'`);
    assert.equal(r.code, 1);
    assert.match(r.err, /not built for amd64 \(its usr\/bin\/dpkg has ELF machine 183, amd64's is 62\): stemcells are amd64/);
  });
});
