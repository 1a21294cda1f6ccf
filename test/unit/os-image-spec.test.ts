// The OS-image spec covers every stage of every line: a stage without a check is not done.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { operatingSystems } from '../../src/catalog/operating-systems.js';
import { checksFor, osImageChecks, uncheckedStages } from '../spec/os-image-spec.js';

describe('OS-image spec', () => {
  for (const os of operatingSystems) {
    it(`has at least one check for every stage of ${os.name}`, () => {
      assert.deepEqual(uncheckedStages(os), []);
    });
  }

  it('names only stages that some line runs', () => {
    const all = new Set(operatingSystems.flatMap((o) => o.osImageStages));
    for (const c of osImageChecks) for (const s of c.stages) assert.ok(all.has(s), `${c.title}: unknown stage ${s}`);
  });

  it('orders the checks as the stages run', () => {
    const debian = operatingSystems.find((o) => o.name === 'debian-bookworm')!;
    const order = checksFor(debian).map((c) => debian.osImageStages.indexOf(c.stage));
    assert.deepEqual(
      order,
      [...order].sort((a, b) => a - b),
    );
  });
});
