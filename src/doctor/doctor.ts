// `stemforge doctor`: the checks that apply to the chosen build machine, run side by side,
// and their report. ok means nothing blocks a build; warnings only slow or risk it.
import type { SshOptions } from '../machine/open.js';
import type { MachineSpec } from '../machine/spec.js';
import {
  checkArch,
  checkCpus,
  checkDebootstrap,
  checkDisk,
  checkKvm,
  checkLocalHost,
  checkMemory,
  checkNode,
  checkProvider,
  checkSsh,
  checkVagrant,
  findVagrant,
  type CheckResult,
} from './checks.js';
import { realProbe, type DoctorProbe, type SshCheck } from './probe.js';
import { checkBuildMachineSpace, localRecordedSizes } from './space.js';

export type { CheckResult } from './checks.js';

export interface DoctorRequest {
  machine: MachineSpec;
  ssh: SshOptions;
  vm: { cpus: number; memoryMiB: number };
  cacheDir: string;
  outputDir: string;
  /** the build root of a local build machine, to check its free space against the default plan; absent = not checked */
  buildRoot?: string;
}

export interface DoctorReport {
  /** no check failed */
  ok: boolean;
  checks: CheckResult[];
}

type Check = () => CheckResult | Promise<CheckResult>;

function machineChecks(request: DoctorRequest, probe: DoctorProbe, remote: () => Promise<SshCheck> | undefined): Check[] {
  const { machine } = request;
  switch (machine.kind) {
    case 'vagrant': {
      // the provider check needs Vagrant's version: one `vagrant --version` for both
      let vagrant: ReturnType<typeof findVagrant> | undefined;
      const found = (): ReturnType<typeof findVagrant> => (vagrant ??= findVagrant(probe));
      return [
        async () => checkVagrant(await found()),
        async () => checkProvider(probe, machine.provider, await found()),
        () => checkKvm(probe, machine),
        () => checkMemory(probe, request.vm.memoryMiB),
        () => checkCpus(probe, request.vm.cpus),
      ];
    }
    case 'local': {
      const { buildRoot } = request;
      const space = buildRoot ? [async () => checkBuildMachineSpace(probe, buildRoot, await localRecordedSizes(buildRoot))] : [];
      return [() => checkLocalHost(probe), () => checkDebootstrap(probe), () => checkKvm(probe, machine), ...space];
    }
    case 'ssh':
      return [() => checkSsh(probe, { user: machine.user, host: machine.host, port: machine.port }, request.ssh, remote())];
  }
}

/** A check that threw (a probe broke) is reported as failed, and the others still run. */
async function settle(check: Check): Promise<CheckResult> {
  try {
    return await check();
  } catch (err) {
    return {
      id: 'doctor',
      title: 'Doctor',
      status: 'fail',
      detail: `a check could not run: ${err instanceof Error ? err.message : String(err)}`,
      fix: 'report this as a stemforge bug, with the message',
    };
  }
}

/** An ssh machine's one login, shared by the ssh and architecture checks; undefined for other machines. */
function sharedLogin(request: DoctorRequest, probe: DoctorProbe): () => Promise<SshCheck> | undefined {
  const { machine } = request;
  let login: Promise<SshCheck> | undefined;
  if (machine.kind !== 'ssh') return () => undefined;
  return () => (login ??= probe.sshCheck({ user: machine.user, host: machine.host, port: machine.port }, request.ssh));
}

export async function runDoctor(request: DoctorRequest, probe: DoctorProbe = realProbe): Promise<DoctorReport> {
  const remote = sharedLogin(request, probe);
  const checks = await Promise.all(
    [
      () => checkNode(probe),
      () => checkArch(probe, request.machine, remote()),
      ...machineChecks(request, probe, remote),
      () => checkDisk(probe, 'cache', request.cacheDir),
      () => checkDisk(probe, 'output', request.outputDir),
    ].map(settle),
  );
  return { ok: checks.every((c) => c.status !== 'fail'), checks };
}

const marks = {
  fancy: { ok: '[✓]', warn: '[!]', fail: '[✗]', skip: '[-]' },
  plain: { ok: '[ok]', warn: '[warn]', fail: '[FAIL]', skip: '[skip]' },
} as const;

export function formatDoctorReport(report: DoctorReport, options: { plain?: boolean } = {}): string {
  const mark = marks[options.plain ? 'plain' : 'fancy'];
  const lines: string[] = [];
  for (const check of report.checks) {
    lines.push(`${mark[check.status]} ${check.title}: ${check.detail}`);
    if (check.fix) lines.push(`    what to do: ${check.fix}`);
  }
  const fails = report.checks.filter((c) => c.status === 'fail').length;
  const warns = report.checks.filter((c) => c.status === 'warn').length;
  lines.push('');
  if (fails > 0) lines.push(`Doctor found ${fails} blocking issue(s).`);
  else if (warns > 0) lines.push(`No blocking issues found; ${warns} warning(s).`);
  else lines.push('No issues found.');
  return `${lines.join('\n')}\n`;
}
