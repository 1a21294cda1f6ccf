// Which stages exist in this copy of the builder (stages/<name>/apply.sh, config.sh).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../util/paths.js';

export interface StageFiles {
  written: boolean;
  hasConfig: boolean;
}

export function stageFiles(stage: string, root = packageRoot): StageFiles {
  const dir = join(root, 'stages', stage);
  return { written: existsSync(join(dir, 'apply.sh')), hasConfig: existsSync(join(dir, 'config.sh')) };
}
