// Benchmark: `stemforge build` (debian-bookworm OS image + warden stemcell) through the ssh
// machine (sshd on loopback), side by side in one run, with a private cache, layers and
// package cache that start empty:
//   cold            nothing cached, no layers, no .deb files
//   warm            the same build again: nothing changed
//   late-stage edit bosh_harden changed (a comment added, in a copy of the checkout)
//   second IaaS     openstack from the same OS image (its kernel layers are the warden's)
// Run as root: npm run bench:rebuild
import { cpSync, mkdirSync, mkdtempSync, appendFileSync, symlinkSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../src/util/paths.js';
import { startSshd } from '../test/helpers/sshd.js';

interface Event {
  type: string;
  [key: string]: unknown;
}

const sshd = await startSshd();
const scratch = mkdtempSync('/var/tmp/stemforge-bench-rebuild-');
// a copy of the checkout to edit a stage in; node_modules is shared
const checkout = join(scratch, 'checkout');
mkdirSync(checkout);
for (const name of ['bin', 'dist', 'stages', 'templates', 'package.json', 'Vagrantfile'])
  cpSync(join(packageRoot, name), join(checkout, name), { recursive: true });
symlinkSync(join(packageRoot, 'node_modules'), join(checkout, 'node_modules'));

const env = {
  ...process.env,
  CI: 'true',
  NO_COLOR: '1',
  STEMFORGE_CONFIG_DIR: join(scratch, 'config'),
  XDG_CACHE_HOME: join(scratch, 'cache'),
  XDG_STATE_HOME: join(scratch, 'state'),
};
const common = [
  'build',
  '--yes',
  '--os',
  'debian-bookworm',
  '--version',
  '1.0',
  '--json',
  '--skip-doctor',
  '--machine',
  sshd.machineUrl,
  '--identity',
  sshd.clientKey,
  '--known-hosts',
  sshd.knownHosts,
  '--build-root',
  join(scratch, 'root'),
  '--package-cache',
  join(scratch, 'debs'),
  '--agent-file',
  join(packageRoot, 'test', 'fixtures', 'test-agent.sh'),
  '--skip-blobstore-clis',
  '--out',
  join(scratch, 'out'),
];

function build(label: string, iaas: string): number {
  const started = performance.now();
  const r = spawnSync(process.execPath, [join(checkout, 'bin', 'stemforge.js'), ...common, '--iaas', iaas], {
    env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0) throw new Error(`${label} failed (exit ${r.status}):\n${r.stderr.slice(-3000)}`);
  const events = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Event);
  const ran = events.filter((e) => e.type === 'stage' && e.step === 'apply' && e.state === 'completed');
  const reused = events.filter((e) => e.type === 'task' && e.state === 'skipped').length;
  const hits = events.filter((e) => e.type === 'cache' && e.hit).map((e) => e.artifact);
  const layerNote = r.stderr.match(/\d+ of \d+ stage layers reused[^\n]*/g)?.join('; ') ?? '';
  console.log(
    `  ${label.padEnd(22)} ${seconds.toFixed(1).padStart(7)} s   stages run ${String(ran.length).padStart(2)}, cache hits [${hits.join(', ')}], skipped tasks ${reused}${layerNote ? `; ${layerNote}` : ''}`,
  );
  return seconds;
}

try {
  console.log('stemforge build: debian-bookworm + warden over ssh (loopback)');
  const cold = build('cold', 'warden');
  const warm = build('warm (nothing changed)', 'warden');
  appendFileSync(join(checkout, 'stages', 'bosh_harden', 'apply.sh'), '# bench: an edit of a late stage\n');
  const edit = build('late-stage edit', 'warden');
  const second = build('second IaaS (openstack)', 'openstack');
  const ratio = (x: number): string => `${((x / cold) * 100).toFixed(1)} %`;
  console.log(`  warm/cold ${ratio(warm)}, late-stage edit/cold ${ratio(edit)}, second IaaS/cold ${ratio(second)}`);
} finally {
  await sshd.stop();
  // never cross into a mount that might be left on a layer
  execFileSync('rm', ['-rf', '--one-file-system', scratch]);
}
