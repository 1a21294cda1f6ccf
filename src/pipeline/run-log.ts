// One log file per run (run.log beside the stage logs): every event, one JSON line each,
// with a time stamp. Its path is printed when a run fails.
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RunEvent } from './common.js';

export class RunLog {
  readonly path: string;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.path = join(dir, 'run.log');
    appendFileSync(this.path, '', { mode: 0o600 });
  }

  write(event: RunEvent | { type: 'note'; text: string }): void {
    appendFileSync(this.path, `${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
  }
}
