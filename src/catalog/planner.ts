// The pure planner: a request becomes ordered phases of ordered stages. No I/O here.
import { UnknownNameError, UsageError } from '../util/errors.js';
import { infrastructures, packageStages, stemcellStages, type DiskFormat, type Infrastructure } from './infrastructures.js';
import { architectures, type Architecture } from './architectures.js';
import { operatingSystems, type OperatingSystem } from './operating-systems.js';
import { notRerunnable } from './stage-traits.js';

export interface Phase {
  name: string;
  /** every stage of the phase, in order */
  stages: string[];
  /** the stages this run executes (after --resume-from / --until) */
  selected: string[];
}

export interface OsImagePlan {
  os: OperatingSystem;
  phases: Phase[];
}

export interface StemcellPlan {
  os: OperatingSystem;
  infrastructure: Infrastructure;
  diskFormat: DiskFormat;
  phases: Phase[];
}

export function findOperatingSystem(name: string): OperatingSystem {
  const os = operatingSystems.find((o) => o.name === name);
  if (!os)
    throw new UnknownNameError(
      'operating system',
      name,
      operatingSystems.map((o) => o.name),
    );
  return os;
}

/** The line built for another architecture (the catalog's entries are amd64): an unknown one lists the known, one the line is not built for names the lines that are. */
export function osForArchitecture(os: OperatingSystem, arch: string): OperatingSystem {
  if (!architectures.includes(arch as Architecture)) throw new UnknownNameError('architecture', arch, architectures);
  if (!(arch in os.architectures)) {
    const lines = operatingSystems.filter((o) => arch in o.architectures).map((o) => o.name);
    throw new UsageError(`${os.name} is built for ${Object.keys(os.architectures).join(', ')} only; ${arch} OS images: ${lines.join(', ')}`);
  }
  return { ...os, ...os.architectures[arch as Architecture], arch: arch as Architecture };
}

/** How an OS image's files and folders are named: the line, and its architecture when it is not amd64. */
export function osImageLabel(os: OperatingSystem): string {
  return os.arch === 'amd64' ? os.name : `${os.name}-${os.arch}`;
}

export function findInfrastructure(name: string): Infrastructure {
  const iaas = infrastructures.find((i) => i.name === name);
  if (!iaas)
    throw new UnknownNameError(
      'infrastructure',
      name,
      infrastructures.map((i) => i.name),
    );
  return iaas;
}

/** Cut a stage list to [resumeFrom, until]; unknown names fail with the valid ones. */
export function selectStages(stages: readonly string[], range: { resumeFrom?: string; until?: string }): string[] {
  const indexOf = (flag: string, name: string): number => {
    const i = stages.indexOf(name);
    if (i < 0) throw new UnknownNameError(`stage for ${flag}`, name, stages);
    return i;
  };
  const from = range.resumeFrom ? indexOf('--resume-from', range.resumeFrom) : 0;
  const to = range.until ? indexOf('--until', range.until) : stages.length - 1;
  if (to < from) {
    throw new UsageError(`--until ${range.until} comes before --resume-from ${range.resumeFrom} in the stage order`);
  }
  return stages.slice(from, to + 1);
}

/** Refuse --resume-from at a stage that cannot run again on the chroot it already changed. */
export function checkResumable(stages: readonly string[], resumeFrom: string | undefined, refusals: Readonly<Record<string, string>> = notRerunnable): void {
  if (!resumeFrom || !(resumeFrom in refusals)) return;
  const earlier = stages
    .slice(0, stages.indexOf(resumeFrom))
    .filter((s) => !(s in refusals))
    .at(-1);
  throw new UsageError(
    `cannot resume from ${resumeFrom}: ${refusals[resumeFrom]}. ` +
      (earlier ? `Resume from an earlier stage (--resume-from ${earlier}) or build again without --resume-from.` : 'Build again without --resume-from.'),
  );
}

export function planOsImage(request: { os: string; arch?: string; resumeFrom?: string; until?: string }): OsImagePlan {
  const os = osForArchitecture(findOperatingSystem(request.os), request.arch ?? 'amd64');
  const stages = [...os.osImageStages];
  const selected = selectStages(stages, request);
  checkResumable(stages, request.resumeFrom);
  return { os, phases: [{ name: 'os-image', stages, selected }] };
}

export function planStemcell(request: {
  os: string;
  iaas: string;
  diskFormat?: string;
  hypervisor?: string;
  resumeFrom?: string;
  until?: string;
}): StemcellPlan {
  const os = findOperatingSystem(request.os);
  const infrastructure = findInfrastructure(request.iaas);
  if (request.hypervisor !== undefined && ![infrastructure.hypervisor, infrastructure.nameHypervisor].includes(request.hypervisor)) {
    throw new UnknownNameError(`hypervisor for ${infrastructure.name}`, request.hypervisor, [
      ...new Set([infrastructure.nameHypervisor, infrastructure.hypervisor]),
    ]);
  }
  const diskFormat = (request.diskFormat ?? infrastructure.diskFormats[0]) as DiskFormat;
  if (!infrastructure.diskFormats.includes(diskFormat)) {
    throw new UnknownNameError(`disk format for ${infrastructure.name}`, diskFormat, infrastructure.diskFormats);
  }
  const build = [...stemcellStages.extract, ...stemcellStages.kernel, ...stemcellStages.agent, ...infrastructure.imageStages, ...stemcellStages.finish];
  const pack = [...packageStages[diskFormat]];
  // --resume-from and --until cut the two phases as one list: the packaging stages come last
  const selected = selectStages([...build, ...pack], request);
  return {
    os,
    infrastructure,
    diskFormat,
    phases: [
      { name: 'stemcell', stages: build, selected: build.filter((s) => selected.includes(s)) },
      { name: `package-${diskFormat}`, stages: pack, selected: pack.filter((s) => selected.includes(s)) },
    ],
  };
}
