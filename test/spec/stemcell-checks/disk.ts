// Stemcell spec checks: disk stages.
import type { StemcellCheck } from '../stemcell-spec.js';

export const diskChecks: StemcellCheck[] = [];
