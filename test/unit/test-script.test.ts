// The README's test command (npm test) names the e2e files one by one, so that the os-image
// e2e, which keeps the shared OS-image fixture, runs before the files that start from it.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { packageRoot } from '../../src/util/paths.js';

const script = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { scripts: { test: string } }).scripts.test;
const listed = [...script.matchAll(/dist\/test\/e2e\/([\w-]+)\.test\.js/g)].map((m) => m[1]!);

describe('npm test', () => {
  it('runs every e2e file once', () => {
    const files = readdirSync(join(packageRoot, 'test', 'e2e')).filter((f) => f.endsWith('.test.ts')).map((f) => f.replace(/\.test\.ts$/, '')).sort();
    assert.deepEqual([...listed].sort(), files);
  });

  it('runs the os-image e2e before the files that use its OS image', () => {
    for (const user of ['build', 'stemcell']) assert.ok(listed.indexOf('os-image') < listed.indexOf(user), `os-image before ${user}`);
  });
});
