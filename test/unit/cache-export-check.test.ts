// What cache import accepts as an entry of an export: each field is checked, so a crafted
// entry is refused by name before anything enters the cache.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { entryProblem } from '../../src/cache/transfer.js';

const key = 'a'.repeat(64);
const good = {
  schema: 1,
  key,
  kind: 'os-image',
  name: 'os-image-debian-bookworm.tgz',
  label: 'debian-bookworm',
  digest: 'b'.repeat(64),
  size: 1234,
  createdAt: '2026-12-06T07:00:00.000Z',
  lastUsedAt: '2026-12-06T07:00:00.000Z',
  pinned: false,
  manifest: { phase: 'os-image' },
};

describe('entryProblem', () => {
  it('accepts an entry as export writes it, control characters in its label included (they are escaped when printed)', () => {
    assert.equal(entryProblem(good, key), undefined);
    assert.equal(entryProblem({ ...good, label: 'x\u001b[2J' }, key), undefined);
  });

  it('names the first field that is wrong', () => {
    const cases: [unknown, RegExp][] = [
      [[good], /not a JSON object/],
      [null, /not a JSON object/],
      [{ ...good, schema: 2 }, /schema is not 1/],
      [{ ...good, key: 'c'.repeat(64) }, /its key is not aaaaaaaaaaaa…/],
      [{ ...good, kind: 'kernel' }, /kind is neither/],
      [{ ...good, name: '../../etc/passwd' }, /name is not a file name/],
      [{ ...good, name: '..' }, /name is not a file name/],
      [{ ...good, name: '' }, /name is not a file name/],
      [{ ...good, label: 3 }, /label is not a string/],
      [{ ...good, digest: 'B'.repeat(64) }, /digest is not a sha256/],
      [{ ...good, size: -1 }, /size is not a byte count/],
      [{ ...good, size: 1.5 }, /size is not a byte count/],
      [{ ...good, createdAt: 'yesterday' }, /createdAt is not a time/],
      [{ ...good, lastUsedAt: undefined }, /lastUsedAt is not a time/],
      [{ ...good, manifest: 'x' }, /manifest is not a JSON object/],
    ];
    for (const [value, problem] of cases) assert.match(entryProblem(value, key) ?? 'accepted', problem, JSON.stringify(value));
  });
});
