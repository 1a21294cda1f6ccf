// `stemforge doctor`: check the build machine before a build. Exit 0 when nothing blocks
// a build (warnings allowed), 1 when a check fails.
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { defaultVmSize } from '../catalog/builder-vm.js';
import { formatDoctorReport, runDoctor } from '../doctor/doctor.js';
import type { DoctorProbe } from '../doctor/probe.js';
import { parseMachineSpec } from '../machine/spec.js';
import { UsageError } from '../util/errors.js';
import { exitCodes, reportError } from './errors.js';
import { addSshOptions, defaultMachine, sshOptions, type SshFlags } from './machine-options.js';

interface DoctorFlags extends SshFlags {
  machine: string;
  cpus?: string;
  memory?: string;
  cacheDir?: string;
  out?: string;
  json?: boolean;
}

function positiveInteger(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} takes a whole number above 0, not '${value}'`);
  return n;
}

/** ASCII marks where a terminal may not draw ✓ and ✗, and in piped output (easy to grep). */
function plainOutput(): boolean {
  return !process.stdout.isTTY || process.env.TERM === 'dumb';
}

export function addDoctorCommand(
  program: Command,
  onExit: (code: number) => void,
  resolveDirs: () => { cacheDir: string; outputDir: string },
  probe?: DoctorProbe,
): void {
  const doctor = program
    .command('doctor')
    .description('check this host and the build machine before a build (tools, versions, disk, memory, access)')
    .option('--machine <machine>', 'build machine to check: vagrant[:PROVIDER], local or ssh://user@host[:port]', defaultMachine);
  addSshOptions(doctor);
  doctor
    .option('--cpus <n>', `vagrant: the builder VM's CPUs (default ${defaultVmSize.cpus})`)
    .option('--memory <mib>', `vagrant: the builder VM's memory in MiB (default ${defaultVmSize.memoryMiB})`)
    .option('--cache-dir <dir>', "stemforge's local cache (default: the configured one)")
    .option('--out <dir>', 'where stemcells and OS images are written (default: the configured one)')
    .option('--json', 'print the report as JSON on stdout')
    .action(async (flags: DoctorFlags) => {
      try {
        const machine = parseMachineSpec(flags.machine);
        const vm = {
          cpus: positiveInteger('--cpus', flags.cpus, defaultVmSize.cpus),
          memoryMiB: positiveInteger('--memory', flags.memory, defaultVmSize.memoryMiB),
        };
        // resolved only when both are not given: the configured defaults may read settings
        const dirs = flags.cacheDir !== undefined && flags.out !== undefined ? { cacheDir: flags.cacheDir, outputDir: flags.out } : resolveDirs();
        const report = await runDoctor(
          {
            machine,
            ssh: sshOptions(flags),
            vm,
            cacheDir: resolve(flags.cacheDir ?? dirs.cacheDir),
            outputDir: resolve(flags.out ?? dirs.outputDir),
          },
          probe,
        );
        process.stdout.write(flags.json ? `${JSON.stringify(report)}\n` : formatDoctorReport(report, { plain: plainOutput() }));
        if (!report.ok) onExit(exitCodes.failed);
      } catch (err) {
        onExit(reportError(err, { json: !!flags.json }));
      }
    });
}
