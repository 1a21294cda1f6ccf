// The OS-image spec: every stage's promises as checks on a finished image. The e2e test
// runs it on the image it built; `node dist/test/spec/run.js DIR OS` runs it by hand.
import type { OperatingSystem } from '../../src/catalog/operating-systems.js';
import { baseChecks } from './checks/base.js';
import { boshChecks } from './checks/bosh.js';
import { hardeningChecks } from './checks/hardening.js';
import { referenceChecks } from './checks/reference.js';
import { systemChecks } from './checks/system.js';
import type { Check } from './image.js';

export const osImageChecks: readonly Check[] = [...baseChecks, ...boshChecks, ...hardeningChecks, ...systemChecks, ...referenceChecks];

/** The checks that apply to this OS line, in stage order (a check counts for its first stage in the list). */
export function checksFor(os: OperatingSystem): { stage: string; check: Check }[] {
  const out: { stage: string; check: Check }[] = [];
  for (const stage of os.osImageStages) {
    for (const check of osImageChecks) {
      if (check.stages.includes(stage)) out.push({ stage, check });
    }
  }
  return out;
}

/** Stages of the line that no check covers: a stage without one is not done. */
export function uncheckedStages(os: OperatingSystem): string[] {
  return os.osImageStages.filter((s) => !osImageChecks.some((c) => c.stages.includes(s)));
}
