// The doctor's view of the build machine's free space, for the plan it can know without
// being asked: this machine as the build machine (the only one measured without a login), an
// OS image of the first OS line and the stemcell to try it with (openstack qcow2).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tryItLocally } from '../catalog/infrastructures.js';
import { operatingSystems } from '../catalog/operating-systems.js';
import { planOsImage, planStemcell } from '../catalog/planner.js';
import { recordedSizes, spaceNeeds, type RecordedSizes } from '../catalog/space-needs.js';
import { judgeSpace } from '../pipeline/space-check.js';
import { pruneHint } from '../pipeline/space-shortage.js';
import type { CheckResult } from './checks.js';
import type { DoctorProbe } from './probe.js';

const MiB = 1024 * 1024;

/** The recorded sizes of the layers below a local build root; none when it has no layers yet. */
export async function localRecordedSizes(buildRoot: string): Promise<Record<string, number>> {
  const layers = join(buildRoot, 'layers');
  const names = await readdir(layers).catch(() => [] as string[]);
  const metas = await Promise.all(names.map((n) => readFile(join(layers, n, 'meta'), 'utf8').catch(() => '')));
  return recordedSizes(metas);
}

/** The default plan's MiB on the build machine: a whole OS image, then one stemcell. */
export function defaultPlanMiB(recorded: RecordedSizes): number {
  const os = operatingSystems[0]!.name;
  const stemcell = planStemcell({ os, iaas: tryItLocally.iaas, diskFormat: tryItLocally.diskFormat });
  return spaceNeeds({ osImage: planOsImage({ os }).phases[0]!, stemcells: [{ phases: stemcell.phases }], cacheCopies: false }, recorded).buildMachineMiB;
}

/** Free space at the build root (this machine) against the default plan's need: fail below it, warn within the margin. */
export async function checkBuildMachineSpace(probe: DoctorProbe, buildRoot: string, recorded: RecordedSizes): Promise<CheckResult> {
  const id = 'disk-build-machine';
  const title = 'Free disk (build machine)';
  const free = await probe.freeBytes(buildRoot);
  const plan = `an OS image and an ${tryItLocally.iaas} ${tryItLocally.diskFormat} stemcell`;
  const verdict = judgeSpace([{ where: 'the build machine', path: free.path, needBytes: defaultPlanMiB(recorded) * MiB, freeBytes: free.bytes }]);
  const detail = `${verdict.lines[0]!} (${plan})`;
  const fix = pruneHint(buildRoot);
  if (verdict.blocking.length > 0) return { id, title, status: 'fail', detail, fix };
  if (verdict.warnings.length > 0) return { id, title, status: 'warn', detail: `${detail}; less than 20 % to spare`, fix };
  return { id, title, status: 'ok', detail };
}
