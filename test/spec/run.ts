// Run the OS-image spec on an unpacked image by hand (as root):
//   node dist/test/spec/run.js DIR OS-LINE [STAGE...]
import { findOperatingSystem } from '../../src/catalog/planner.js';
import { ImageView } from './image.js';
import { checksFor } from './os-image-spec.js';

const [dir, osName, ...only] = process.argv.slice(2);
if (!dir || !osName) {
  console.error('usage: node dist/test/spec/run.js DIR OS-LINE [STAGE...]');
  process.exit(2);
}
const image = new ImageView(dir, findOperatingSystem(osName));
let failed = 0;
for (const { stage, check } of checksFor(image.os)) {
  if (only.length > 0 && !only.includes(stage)) continue;
  try {
    check.run(image);
    console.log(`ok   ${stage}: ${check.title}`);
  } catch (e) {
    failed++;
    console.log(
      `FAIL ${stage}: ${check.title}\n     ${String((e as Error).message)
        .split('\n')
        .join('\n     ')}`,
    );
  }
}
process.exit(failed > 0 ? 1 : 0);
