// The stemcell spec covers every stage of every infrastructure's stemcell and packaging
// phases: a stage without a check is not done.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { infrastructures } from '../../src/catalog/infrastructures.js';
import { planStemcell } from '../../src/catalog/planner.js';
import { stemcellChecksFor } from '../spec/stemcell-spec.js';

describe('stemcell spec', () => {
  for (const iaas of infrastructures) {
    for (const diskFormat of iaas.diskFormats) {
      it(`has a check for every stage of ${iaas.name} (${diskFormat})`, () => {
        const stages = planStemcell({ os: 'debian-bookworm', iaas: iaas.name, diskFormat }).phases.flatMap((p) => p.stages);
        const checked = new Set(stemcellChecksFor(iaas, stages).map((c) => c.stage));
        assert.deepEqual(
          stages.filter((s) => !checked.has(s)),
          [],
        );
      });
    }
  }
});
