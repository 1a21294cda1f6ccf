import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { treeManifest, diffTrees, parseTreeManifest } from '../../src/sync/tree-manifest.js';

function tree(): string {
  const root = mkdtempSync(join(tmpdir(), 'sf-manifest-'));
  mkdirSync(join(root, 'stages', 'a', 'assets'), { recursive: true });
  mkdirSync(join(root, 'templates'));
  writeFileSync(join(root, 'stages', 'a', 'apply.sh'), '#!/bin/sh\necho a\n');
  chmodSync(join(root, 'stages', 'a', 'apply.sh'), 0o755);
  writeFileSync(join(root, 'stages', 'a', 'assets', 'f.conf'), 'x=1\n');
  writeFileSync(join(root, 'templates', 't.txt'), 't\n');
  writeFileSync(join(root, 'ignored.txt'), 'not in a synced folder\n');
  return root;
}

describe('builder manifest', () => {
  it('hashes every file of the synced folders with its mode', async () => {
    const m = await treeManifest(tree(), ['stages', 'templates']);
    assert.deepEqual(Object.keys(m.files), ['stages/a/apply.sh', 'stages/a/assets/f.conf', 'templates/t.txt']);
    assert.equal(m.files['stages/a/apply.sh']!.mode, 0o755);
    assert.equal(m.files['stages/a/assets/f.conf']!.mode & 0o111, 0);
    assert.equal(m.files['templates/t.txt']!.sha256, createHash('sha256').update('t\n').digest('hex'));
  });

  it('sends everything to an empty machine and nothing when equal', async () => {
    const m = await treeManifest(tree(), ['stages', 'templates']);
    assert.equal(diffTrees(m, undefined).send.length, 3);
    assert.deepEqual(diffTrees(m, structuredClone(m)), { send: [], remove: [] });
  });

  it('sends changed content and changed modes, removes what is gone', async () => {
    const root = tree();
    const before = await treeManifest(root, ['stages', 'templates']);
    writeFileSync(join(root, 'templates', 't.txt'), 'changed\n');
    chmodSync(join(root, 'stages', 'a', 'assets', 'f.conf'), 0o755);
    writeFileSync(join(root, 'templates', 'new.txt'), 'n\n');
    const after = await treeManifest(root, ['stages', 'templates']);
    const stale = structuredClone(before);
    stale.files['stages/old/apply.sh'] = { sha256: 'x', mode: 0o755 };
    assert.deepEqual(diffTrees(after, stale), {
      send: ['stages/a/assets/f.conf', 'templates/new.txt', 'templates/t.txt'],
      remove: ['stages/old/apply.sh'],
    });
  });

  it('treats an unreadable remote manifest as none', () => {
    assert.equal(parseTreeManifest(''), undefined);
    assert.equal(parseTreeManifest('{"version":2,"files":{}}'), undefined);
    assert.equal(parseTreeManifest('not json'), undefined);
    assert.deepEqual(parseTreeManifest('{"version":1,"files":{}}'), { version: 1, files: {} });
  });
});
