// Paths typed at the wizard's questions, on real files in a temporary folder.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { checkVmMemory, vmSizeWarning } from '../../src/wizard/build-wizard.js';
import { expandHome, fileProblem, outputFolderProblem } from '../../src/wizard/paths.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'sf-paths-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('wizard paths', () => {
  it('expands ~ and ~/… to the home folder, and nothing else', () => {
    assert.equal(expandHome('~', '/home/ada'), '/home/ada');
    assert.equal(expandHome('~/.ssh/id_ed25519', '/home/ada'), '/home/ada/.ssh/id_ed25519');
    assert.equal(expandHome('~ada/key', '/home/ada'), '~ada/key');
    assert.equal(expandHome('keys/~/x', '/home/ada'), 'keys/~/x');
    assert.equal(expandHome('/abs/~', '/home/ada'), '/abs/~');
  });

  it('names the fix for a missing file or a folder where a file belongs', (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'agent');
    writeFileSync(file, 'x');
    assert.equal(fileProblem(file, 'fix it'), undefined);
    assert.equal(
      fileProblem(join(dir, 'missing'), 'give the path of a bosh-agent binary'),
      `no such file: ${join(dir, 'missing')}; give the path of a bosh-agent binary`,
    );
    assert.equal(fileProblem(dir, 'fix it'), `${dir} is not a file; fix it`);
    assert.equal(fileProblem(expandHome('~/agent', dir), 'fix it'), undefined);
  });

  it('takes an existing folder or a new one under a folder, not a file', (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'file');
    writeFileSync(file, 'x');
    mkdirSync(join(dir, 'out'));
    assert.equal(outputFolderProblem(join(dir, 'out')), undefined);
    assert.equal(outputFolderProblem(join(dir, 'new', 'deeper')), undefined);
    assert.equal(outputFolderProblem(file), `${file} is a file; name a folder (a missing one is made)`);
    assert.equal(outputFolderProblem(join(file, 'sub')), `${file} is a file, so ${join(file, 'sub')} cannot be made; name another folder`);
  });
});

describe('wizard VM size', () => {
  const host = { platform: 'linux' as const, arch: 'x64', cpus: 2, memoryMiB: 8000 };

  it('warns about more CPUs or memory than the host has, and not otherwise', () => {
    assert.equal(vmSizeWarning('cpus', 2, host), undefined);
    assert.match(vmSizeWarning('cpus', 3, host) ?? '', /^warning: 3 CPUs is more than this machine's 2;/);
    assert.equal(vmSizeWarning('memory', 8000, host), undefined);
    assert.match(vmSizeWarning('memory', 8001, host) ?? '', /^warning: 8001 MiB is more than this machine's 8000 MiB of RAM;/);
  });

  it('refuses memory below the minimum with the number to type', () => {
    assert.equal(checkVmMemory(2048), true);
    assert.equal(checkVmMemory(2047), "at least 2048 MiB: debootstrap and the kernel's initramfs need it; type 2048 or more");
    assert.equal(checkVmMemory(undefined), 'type a whole number of MiB');
  });
});
