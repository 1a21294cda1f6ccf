// Stemcell spec checks: common stages.
import type { StemcellCheck } from '../stemcell-spec.js';

export const commonStemcellChecks: StemcellCheck[] = [];
