// checkBuildRequest on answers that came from no flag (the wizard's, the counter's): they are
// held to the option table's bounds as the flags are.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkBuildRequest, type BuildRequest } from '../../src/pipeline/build.js';
import { UsageError } from '../../src/util/errors.js';

function request(edit: Partial<BuildRequest> = {}): BuildRequest {
  const out = join(mkdtempSync(join(tmpdir(), 'sf-build-checks-')), 'out');
  return {
    os: 'debian-bookworm',
    iaas: ['aws'],
    version: '1.2',
    machine: { kind: 'local' },
    ssh: {},
    vm: { proxy: {} },
    blobstoreClis: true,
    outputDir: out,
    buildRoot: '/var/lib/stemforge',
    packageCache: '/var/cache/stemforge/debs',
    stageEnv: {},
    ...edit,
  };
}

const usage = (pattern: RegExp) => (e: unknown) => e instanceof UsageError && pattern.test(e.message);

describe('the build checks answers as the flags are checked', () => {
  it('passes a plain request, and a VM size inside the bounds', () => {
    assert.equal(checkBuildRequest(request()).os.name, 'debian-bookworm');
    assert.equal(checkBuildRequest(request({ vm: { cpus: 4, memoryMiB: 2048, diskGiB: 20, proxy: {} } })).phase, undefined);
  });

  it('refuses a VM size the wizard let through, naming the flag and the bounds', () => {
    assert.throws(() => checkBuildRequest(request({ vm: { cpus: 100000, proxy: {} } })), usage(/^--cpus takes a whole number from 1 to 256, not '100000'$/));
    assert.throws(() => checkBuildRequest(request({ vm: { memoryMiB: 1024, proxy: {} } })), usage(/^--memory takes a whole number from 2048 to/));
    assert.throws(() => checkBuildRequest(request({ vm: { diskGiB: 10, proxy: {} } })), usage(/^--disk-size takes a whole number from 20 to/));
  });

  it("refuses a counter's version with a part beyond 9 digits", () => {
    assert.throws(() => checkBuildRequest(request({ version: '1.1000000000' })), usage(/longer than 9 digits/));
  });
});
