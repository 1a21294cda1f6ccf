// End to end, as root: from the debian-bookworm OS image (the one the os-image e2e built,
// or built here when missing), one `stemforge stemcell` run through the ssh machine makes
// the openstack (qcow2), aws (raw) and vSphere (ovf) stemcells with the real BOSH agent
// (STEMFORGE_TEST_AGENT; CI passes shared/third-party's); the stemcell spec checks each
// build's root and disk; `inspect` checks each tarball; and `verify --agent` boots the
// qcow2 and raw ones under QEMU with their infrastructure's settings source (a config drive,
// an IMDSv2 metadata service) and has the agent answer on its mbus and start and stop a job
// through monit; `verify --boot` boots the vSphere disk with OVMF. Without the real agent
// the stemcells get a named test stand-in, and the agent steps are skipped, saying why. The
// warden stemcell, whose disk is a tarball of its root, is built and checked by the build e2e.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findInfrastructure, findOperatingSystem, planStemcell } from '../../src/catalog/planner.js';
import { packageRoot } from '../../src/util/paths.js';
import { osImageFixture } from '../helpers/os-image-fixture.js';
import { buildOverSshUnavailable, startSshd, type TestSshd } from '../helpers/sshd.js';
import { stemforgeSpawn, type CliResult } from '../helpers/stemcell-cli.js';
import { ImageView } from '../spec/image.js';
import { stemcellChecksFor } from '../spec/stemcell-spec.js';

const skip = buildOverSshUnavailable();
const debian = findOperatingSystem('debian-bookworm');
const version = '0.0.1';
// boot: 'agent' boots it with the real agent (verify --agent); 'efi' boots it with OVMF and
// checks the firmware (verify --boot): vSphere's disk is the BIOS+EFI layout (GPT, ESP)
const targets: { iaas: string; format: string; boot?: 'agent' | 'efi' }[] = [
  { iaas: 'openstack', format: 'qcow2', boot: 'agent' },
  { iaas: 'aws', format: 'raw', boot: 'agent' },
  { iaas: 'vsphere', format: 'ovf', boot: 'efi' },
];
const realAgent = process.env.STEMFORGE_TEST_AGENT || undefined;
const agentFile = realAgent ?? join(packageRoot, 'test', 'fixtures', 'test-agent.sh');
const noRealAgent = realAgent ? false : 'STEMFORGE_TEST_AGENT is not set: the stemcells carry the test stand-in agent, so the real agent cannot be verified';

/** The real CLI as CI runs it, output collected. */
const runCli = (args: string[]): Promise<CliResult> => stemforgeSpawn(args, { CI: 'true' }).done;

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

  it('builds openstack, aws and vsphere stemcells from one OS image in one run', async () => {
    const run = await runCli([
      'stemcell',
      '--iaas',
      targets.map((t) => t.iaas).join(','),
      '--os-image',
      osImage,
      '--version',
      version,
      '--machine',
      sshd.machineUrl,
      '--identity',
      sshd.clientKey,
      '--known-hosts',
      sshd.knownHosts,
      '--build-root',
      buildRoot,
      '--agent-file',
      agentFile,
      '--skip-blobstore-clis',
      '--out',
      outDir,
      '--json',
      // in place: the stemcell spec reads each build's chroot and files in its build folder
      '--no-layers',
    ]);
    assert.equal(run.code, 0, run.stderr.slice(-5000));
    const result = JSON.parse(run.stdout) as { stemcells: { infrastructure: string; diskFormat: string; out: string; bytes: number }[]; skipped: string[] };
    assert.deepEqual(result.skipped, []);
    assert.deepEqual(
      result.stemcells.map((s) => [s.infrastructure, s.diskFormat]),
      targets.map((t) => [t.iaas, t.format]),
    );
    for (const s of result.stemcells) {
      assert.ok(existsSync(s.out), s.out);
      assert.match(s.out, new RegExp(`/bosh-stemcell-${version}-${s.infrastructure}-[a-z-]+-debian-bookworm\\.tgz$`));
      files.set(s.infrastructure, s.out);
    }
    // exactly the six files, plain names
    const listing = execFileSync('tar', ['-tzf', files.get('aws')!])
      .toString()
      .trim()
      .split('\n')
      .sort();
    assert.deepEqual(listing, ['dev_tools_file_list.txt', 'image', 'packages.txt', 'sbom.cdx.json', 'sbom.spdx.json', 'stemcell.MF']);
  });

  for (const target of targets) {
    const infrastructure = findInfrastructure(target.iaas);
    const plan = planStemcell({ os: debian.name, iaas: target.iaas });
    const checks = stemcellChecksFor(
      infrastructure,
      plan.phases.flatMap((p) => p.stages),
    );
    const examples = new Set(checks.flatMap(({ check }) => check.covers ?? []));
    describe(`${target.iaas}: the stemcell spec on the build's root and disk: ${checks.length} checks, ${examples.size} reference examples`, () => {
      for (const { stage, check } of checks) {
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

    if (target.boot === 'efi') {
      it(`verify --boot ${target.iaas} (${target.format}): OVMF boots the EFI system partition to multi-user with sshd`, async () => {
        const run = await runCli(['verify', files.get(target.iaas)!, '--boot', '--json']);
        assert.equal(run.code, 0, `${run.stdout.slice(-4000)}\n${run.stderr.slice(-4000)}`);
        const result = JSON.parse(run.stdout) as { ok: boolean; firmware: string; firmwareReason: string };
        assert.ok(result.ok);
        assert.equal(result.firmware, 'efi', result.firmwareReason);
        assert.match(result.firmwareReason, /EFI system/);
      });
    }

    if (target.boot === 'agent') {
      it(
        `verify --agent ${target.iaas} (${target.format}): the real agent takes its settings, answers on its mbus, starts and stops a job through monit`,
        { skip: noRealAgent },
        async () => {
          const run = await runCli(['verify', files.get(target.iaas)!, '--agent', '--json']);
          assert.equal(run.code, 0, `${run.stdout.slice(-6000)}\n${run.stderr.slice(-4000)}`);
          const result = JSON.parse(run.stdout) as { ok: boolean; steps: { name: string; ok: boolean; seconds: number }[] };
          assert.ok(result.ok);
          assert.ok(result.steps.length > 0 && result.steps.every((s) => s.ok), JSON.stringify(result.steps));
          process.stderr.write(`verify --agent ${target.iaas}: ${result.steps.map((s) => `${s.name} ${s.seconds} s`).join(', ')}\n`);
        },
      );
    }
  }
});
