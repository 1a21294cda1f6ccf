// Stemcell spec checks: iaas stages.
import type { StemcellCheck } from '../stemcell-spec.js';

export const iaasChecks: StemcellCheck[] = [];
