// The time and disk a build will take, shown before "Build this?": the catalog's typical
// figures, with the stage times this host recorded for the same phase in its last build
// where there are some.
import { chrootEmulationFactor, buildEstimates as typical } from '../catalog/build-estimates.js';
import { infrastructures } from '../catalog/infrastructures.js';
import { osImageKey, stemcellKey, type RecordedDurations } from '../pipeline/stage-durations.js';

export type Emulation = 'chroot' | 'vm';

const slowdown: Record<Emulation, number> = { chroot: chrootEmulationFactor, vm: typical.emulationFactor };

export interface EstimateInput {
  os: string;
  iaas: readonly string[];
  /** vagrant:PROVIDER, local or ssh://… */
  machine: string;
  /** an OS image given with --os-image: no OS-image phase */
  osImageGiven?: boolean;
  /** how the stages run when not natively: the image's programs only (an arm64 build machine), or a whole emulated VM */
  emulation?: Emulation;
  recorded?: RecordedDurations;
}

export interface Estimate {
  minutes: number;
  buildMachineGB: number;
  hereGB: number;
  /** how many phases took their stage time from a recorded build, of how many */
  recordedPhases: number;
  phases: number;
}

/** Stage minutes of one phase: recorded when there is a record, else typical (times emulation). */
function stageMinutes(
  recorded: RecordedDurations | undefined,
  key: string,
  typicalMinutes: number,
  emulation: Emulation | undefined,
): { minutes: number; recorded: boolean } {
  const entry = recorded?.[key];
  if (entry) return { minutes: entry.totalMs / 60_000, recorded: true };
  return { minutes: typicalMinutes * (emulation ? slowdown[emulation] : 1), recorded: false };
}

export function estimateBuild(input: EstimateInput): Estimate {
  const emulated = input.emulation;
  let minutes = input.machine.startsWith('vagrant') ? typical.builderVm.minutes : 0;
  let buildMachineGB = 0;
  let hereGB = 0;
  let recordedPhases = 0;
  let phases = 0;
  if (!input.osImageGiven) {
    const os = stageMinutes(input.recorded, osImageKey(input.os), typical.osImage.stageMinutes, emulated);
    minutes += os.minutes + typical.osImage.overheadMinutes;
    buildMachineGB += typical.osImage.buildMachineGB;
    hereGB += typical.osImage.hereGB;
    recordedPhases += Number(os.recorded);
    phases++;
  }
  if (input.iaas.length > 0) buildMachineGB += typical.stemcell.chrootGB;
  for (const name of input.iaas) {
    const infra = infrastructures.find((i) => i.name === name);
    const files = infra?.diskFormats[0] === 'files';
    const sc = stageMinutes(
      input.recorded,
      stemcellKey(input.os, name),
      files ? typical.stemcell.filesStageMinutes : typical.stemcell.diskStageMinutes,
      emulated,
    );
    minutes += sc.minutes + typical.stemcell.overheadMinutes;
    // the disk image is as big as the infrastructure's disk (sparse, but filled by rsync and packing)
    buildMachineGB += (files || !infra ? 0 : (infra.diskSizeMiB * 1048576) / 1e9) + typical.stemcell.packedGB;
    hereGB += typical.stemcell.packedGB;
    recordedPhases += Number(sc.recorded);
    phases++;
  }
  return { minutes, buildMachineGB, hereGB, recordedPhases, phases };
}

function gb(n: number): string {
  return n < 10 ? String(Math.round(n * 10) / 10) : String(Math.round(n));
}

/** "about 25 min, 9.4 GB on the build machine, 1 GB here" and where the time comes from. */
export function formatEstimate(e: Estimate): string {
  const minutes = Math.max(1, Math.round(e.minutes));
  const source =
    e.recordedPhases === 0
      ? 'typical figures; your first build here records real ones'
      : e.recordedPhases === e.phases
        ? "from this host's last builds"
        : `${e.recordedPhases} of ${e.phases} phases from this host's last builds, the rest typical`;
  return `about ${minutes} min, ${gb(e.buildMachineGB)} GB on the build machine, ${gb(e.hereGB)} GB here (${source})`;
}

/**
 * How a machine runs the stages: a whole emulated VM with libvirt's qemu driver; the image's
 * programs only on an arm64 host's builder VM or local build (the VM is the host's
 * architecture); natively otherwise. An ssh machine's architecture is not known here.
 */
export function emulationOf(machine: string, context: { libvirtDriver?: string; hostArch: string }): Emulation | undefined {
  if (machine === 'vagrant:libvirt' && context.libvirtDriver === 'qemu') return 'vm';
  if (context.hostArch === 'arm64' && (machine.startsWith('vagrant') || machine === 'local')) return 'chroot';
  return undefined;
}

/** The summary's estimate row for these answers. */
export function estimateLine(
  answers: { os: string; iaas: readonly string[]; machine: string },
  context: { osImageGiven?: boolean; libvirtDriver?: string; hostArch: string; recorded?: RecordedDurations },
): string {
  const estimate = estimateBuild({
    ...answers,
    osImageGiven: context.osImageGiven,
    emulation: emulationOf(answers.machine, context),
    recorded: context.recorded,
  });
  return `  ${'estimate'.padEnd(17)} ${formatEstimate(estimate)}`;
}
