// End to end, as root: from the debian-bookworm OS image (the one the os-image e2e built,
// or built here when missing), one `stemforge stemcell` run through the ssh machine makes
// the warden (files), openstack (qcow2) and aws (raw) stemcells with a test stand-in agent;
// the stemcell spec checks each build's root and disk; `inspect` checks each tarball; and
// `verify --boot` boots the raw and qcow2 ones under QEMU for real.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findInfrastructure, findOperatingSystem, planStemcell } from '../../src/catalog/planner.js';
import { packageRoot } from '../../src/util/paths.js';
import { osImageFixture } from '../helpers/os-image-fixture.js';
import { buildOverSshUnavailable, startSshd, type TestSshd } from '../helpers/sshd.js';
import { ImageView } from '../spec/image.js';
import { stemcellChecksFor } from '../spec/stemcell-spec.js';

const skip = buildOverSshUnavailable();
const cli = join(packageRoot, 'bin', 'stemforge.js');
const debian = findOperatingSystem('debian-bookworm');
const version = '0.0.1';
const targets = [
  { iaas: 'warden', format: 'files', boot: false },
  { iaas: 'openstack', format: 'qcow2', boot: true },
  { iaas: 'aws', format: 'raw', boot: true },
];

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, CI: 'true', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('stemforge stemcell (debian-bookworm over ssh)', { skip, timeout: 75 * 60_000 }, () => {
  let sshd: TestSshd;
  let scratch: string;
  let buildRoot: string;
  let outDir: string;
  let osImage: string;
  const files = new Map<string, string>();

  before(async () => {
    sshd = await startSshd();
    osImage = await osImageFixture();
    scratch = mkdtempSync('/var/tmp/stemforge-stemcell-e2e-');
    buildRoot = join(scratch, 'build-root');
    outDir = join(scratch, 'out');
  });

  after(async () => {
    await sshd?.stop();
    if (scratch) execFileSync('rm', ['-rf', '--one-file-system', scratch]);
  });

  it('builds warden, openstack and aws stemcells from one OS image in one run', async () => {
    const run = await runCli(['stemcell', '--iaas', targets.map((t) => t.iaas).join(','), '--os-image', osImage, '--version', version,
      '--machine', sshd.machineUrl, '--identity', sshd.clientKey, '--known-hosts', sshd.knownHosts, '--build-root', buildRoot,
      '--agent-file', join(packageRoot, 'test', 'fixtures', 'test-agent.sh'), '--skip-blobstore-clis', '--out', outDir, '--json',
      // in place: the stemcell spec reads each build's chroot and files in its build folder
      '--no-layers']);
    assert.equal(run.code, 0, run.stderr.slice(-5000));
    const result = JSON.parse(run.stdout) as { stemcells: { infrastructure: string; diskFormat: string; out: string; bytes: number }[]; skipped: string[] };
    assert.deepEqual(result.skipped, []);
    assert.deepEqual(result.stemcells.map((s) => [s.infrastructure, s.diskFormat]), targets.map((t) => [t.iaas, t.format]));
    for (const s of result.stemcells) {
      assert.ok(existsSync(s.out), s.out);
      assert.match(s.out, new RegExp(`/bosh-stemcell-${version}-${s.infrastructure}-[a-z-]+-debian-bookworm\\.tgz$`));
      files.set(s.infrastructure, s.out);
    }
    // exactly the six files, plain names
    const listing = execFileSync('tar', ['-tzf', files.get('aws')!]).toString().trim().split('\n').sort();
    assert.deepEqual(listing, ['dev_tools_file_list.txt', 'image', 'packages.txt', 'sbom.cdx.json', 'sbom.spdx.json', 'stemcell.MF']);
  });

  for (const target of targets) {
    describe(`${target.iaas}: the stemcell spec on the build's root and disk`, () => {
      const infrastructure = findInfrastructure(target.iaas);
      const plan = planStemcell({ os: debian.name, iaas: target.iaas });
      const stages = plan.phases.flatMap((p) => p.stages);
      for (const { stage, check } of stemcellChecksFor(infrastructure, stages)) {
        it(`${stage}: ${check.title}`, () => {
          const chroot = join(buildRoot, 'builds', `stemcell-${debian.name}-${target.iaas}-${target.format}`, 'work', 'chroot');
          check.run(new ImageView(chroot, debian));
        });
      }
    });

    it(`inspect ${target.iaas}: every check of the Director and ours passes`, async () => {
      const run = await runCli(['inspect', files.get(target.iaas)!, '--json']);
      assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    });

    if (target.boot) {
      it(`verify --boot ${target.iaas} (${target.format}): boots under QEMU to multi-user and sshd`, async () => {
        const run = await runCli(['verify', files.get(target.iaas)!, '--boot', '--json']);
        assert.equal(run.code, 0, `${run.stdout}\n${run.stderr.slice(-4000)}`);
      });
    }
  }
});
