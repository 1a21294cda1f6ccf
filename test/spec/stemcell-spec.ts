// The stemcell spec: what the stemcell phase promises, checked on the stemcell's root file
// system (the build's chroot, or the root partition of its disk image mounted read-only)
// for one infrastructure. Checks name the stages they cover, as in the OS-image spec.
import type { Infrastructure } from '../../src/catalog/infrastructures.js';
import { osReferenceStemcellChecks } from './checks/reference.js';
import type { Check } from './image.js';
import { commonStemcellChecks } from './stemcell-checks/common.js';
import { diskChecks } from './stemcell-checks/disk.js';
import { iaasChecks } from './stemcell-checks/iaas.js';
import { referenceStemcellChecks as referenceExampleStemcellChecks } from './stemcell-checks/reference.js';

export interface StemcellCheck extends Check {
  /** the infrastructures the check applies to (all when absent) */
  only?: string[];
}

export const stemcellChecks: readonly StemcellCheck[] = [
  ...commonStemcellChecks,
  ...osReferenceStemcellChecks,
  ...iaasChecks,
  ...diskChecks,
  ...referenceExampleStemcellChecks,
];

/** The checks for one infrastructure's stage list, in stage order. */
export function stemcellChecksFor(iaas: Infrastructure, stages: readonly string[]): { stage: string; check: StemcellCheck }[] {
  const out: { stage: string; check: StemcellCheck }[] = [];
  for (const stage of stages) {
    for (const check of stemcellChecks) {
      if (check.stages.includes(stage) && (!check.only || check.only.includes(iaas.name))) out.push({ stage, check });
    }
  }
  return out;
}
