// The reference's spec examples, each mapped: a check of our spec asserts it (the check lists
// its id in `covers`), or the README's table of differences says why we do otherwise. A new
// example, a check dropped or a table row removed makes this fail, so the mapping cannot rot.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { infrastructures } from '../../src/catalog/infrastructures.js';
import type { Check } from '../spec/image.js';
import { osImageChecks } from '../spec/os-image-spec.js';
import { type ReferenceExample, referenceExamples } from '../spec/reference/examples.js';
import { type StemcellCheck, stemcellChecks } from '../spec/stemcell-spec.js';

const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');

/** The keys of the README's "Differences from the reference" table (first column, in backticks). */
function differenceKeys(): Set<string> {
  const start = readme.indexOf('### Differences from the reference');
  assert.ok(start >= 0, 'README has a "Differences from the reference" section');
  const section = readme.slice(start).split(/\n#{2,3} /)[0]!;
  return new Set([...section.matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((m) => m[1]!));
}

/** example id → the checks that cover it (OS-image and stemcell spec) */
function coverage(): Map<string, (Check | StemcellCheck)[]> {
  const map = new Map<string, (Check | StemcellCheck)[]>();
  for (const check of [...osImageChecks, ...stemcellChecks]) {
    for (const id of check.covers ?? []) map.set(id, [...(map.get(id) ?? []), check]);
  }
  return map;
}

function isStemcellCheck(check: Check): check is StemcellCheck {
  return (stemcellChecks as readonly Check[]).includes(check);
}

describe('reference spec mapping', () => {
  const byId = new Map<string, ReferenceExample>(referenceExamples.map((e) => [e.id, e]));

  it('names every example once, with a known scope', () => {
    assert.equal(byId.size, referenceExamples.length, 'duplicate example ids');
    const scopes = new Set(['os-image', 'stemcell', ...infrastructures.map((i) => `stemcell:${i.name}`)]);
    assert.deepEqual(
      referenceExamples.filter((e) => !scopes.has(e.scope)).map((e) => `${e.id}: ${e.scope}`),
      [],
    );
  });

  it('has a check or a difference on purpose for every example, never both', () => {
    const covered = coverage();
    const keys = differenceKeys();
    const unmapped = referenceExamples.filter((e) => !covered.has(e.id) && !e.differs).map((e) => e.id);
    assert.deepEqual(unmapped, [], 'examples with neither a check nor a difference');
    assert.deepEqual(
      referenceExamples.filter((e) => covered.has(e.id) && e.differs).map((e) => e.id),
      [],
      'examples with a check and a difference',
    );
    assert.deepEqual(
      referenceExamples.filter((e) => e.differs && !keys.has(e.differs)).map((e) => `${e.id}: ${e.differs}`),
      [],
      'differences without a README row',
    );
  });

  it('lets checks cover only examples that exist, in the phase and infrastructure they run for', () => {
    for (const [id, checks] of coverage()) {
      const example = byId.get(id);
      assert.ok(example, `a check covers the unknown example ${id}`);
      if (example.scope === 'os-image') continue; // the reference runs the OS-image spec on stemcells too
      for (const check of checks) {
        assert.ok(isStemcellCheck(check), `${id} (${example.scope}) is covered by the OS-image check "${check.title}"`);
        const iaas = example.scope.split(':')[1];
        if (iaas && check.only) assert.ok(check.only.includes(iaas), `${id}: "${check.title}" does not run for ${iaas}`);
      }
    }
  });

  it('counts', (t) => {
    const covered = coverage();
    const differs = referenceExamples.filter((e) => e.differs).length;
    const controls = new Set(referenceExamples.flatMap((e) => e.controls));
    t.diagnostic(
      `${referenceExamples.length} reference examples: ${covered.size} covered by a check, ${differs} different on purpose; ${controls.size} CIS/STIG controls named`,
    );
    assert.equal(covered.size + differs, referenceExamples.length);
  });
});
