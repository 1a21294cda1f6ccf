// node --test runs the files it finds in the order of their paths, whatever order they are
// named in. The e2e files carry a number so that the os-image e2e, which keeps the shared
// OS-image fixture, runs before the files that use that image (it is built there when missing,
// a full OS-image build more).
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { packageRoot } from '../../src/util/paths.js';

describe('the e2e files', () => {
  it('run the os-image e2e before the stemcell and build e2e, which use its OS image', () => {
    const files = readdirSync(join(packageRoot, 'test', 'e2e'))
      .filter((f) => f.endsWith('.test.ts'))
      .sort();
    const at = (name: string): number => files.findIndex((f) => f.replace(/^\d+-/, '') === `${name}.test.ts`);
    for (const name of ['os-image', 'stemcell', 'build']) assert.ok(at(name) >= 0, `${name} e2e in ${files.join(', ')}`);
    assert.ok(at('os-image') < at('stemcell') && at('os-image') < at('build'), files.join(', '));
  });
});
