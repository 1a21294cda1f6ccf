// `stemforge doctor`: check the build machine before a build. Exit 0 when nothing blocks
// a build (warnings allowed), 1 when a check fails.
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { defaultVmSize } from '../catalog/builder-vm.js';
import type { DoctorRequest } from '../doctor/doctor.js';
import type { DoctorProbe } from '../doctor/probe.js';
import type { CommandSettings } from '../settings/sources.js';
import type { BuiltinDirs } from '../settings/options.js';
import { exitCodes, reportError } from './errors.js';
import { machineKeys, machineSpec, sshOptions } from './machine-options.js';
import { addSettingOptions } from './setting-options.js';

interface DoctorFlags {
  [key: string]: unknown;
  cacheDir?: string;
  out?: string;
  json?: boolean;
}

/** doctor's settings → what it checks: the machine, the VM's size, the cache and output folders. */
export function doctorRequest(settings: CommandSettings): DoctorRequest {
  return {
    machine: machineSpec(settings),
    ssh: sshOptions(settings),
    vm: { cpus: settings.number('cpus')!, memoryMiB: settings.number('memory')! },
    cacheDir: resolve(settings.string('cacheDir')!),
    outputDir: resolve(settings.string('outputDir')!),
    buildRoot: settings.string('buildRoot'),
  };
}

/** ASCII marks where a terminal may not draw ✓ and ✗, and in piped output (easy to grep). */
function plainOutput(): boolean {
  return !process.stdout.isTTY || process.env.TERM === 'dumb';
}

/**
 * `builtinDirs`: the cache and output folders when no flag, variable or settings file names
 * them; asked only when a flag does not name both.
 */
export function addDoctorCommand(program: Command, onExit: (code: number) => void, builtinDirs: () => BuiltinDirs, probe?: DoctorProbe): void {
  const doctor = program.command('doctor').description('check this host and the build machine before a build (tools, versions, disk, memory, access)');
  const keys = addSettingOptions(doctor, [
    { key: 'machine', help: 'build machine to check: vagrant[:PROVIDER], local or ssh://user@host[:port]' },
    ...machineKeys.filter((k) => k !== 'machine'),
    { key: 'cpus', help: `vagrant: the builder VM's CPUs (default ${defaultVmSize.cpus})` },
    { key: 'memory', help: `vagrant: the builder VM's memory in MiB (default ${defaultVmSize.memoryMiB})` },
    { key: 'cacheDir', help: "stemforge's local cache (default: the configured one)" },
    { key: 'outputDir', help: 'where stemcells and OS images are written (default: the configured one)' },
    { key: 'buildRoot', help: "the build machine's build root, whose free space is checked (a local build machine)" },
  ]);
  doctor.option('--json', 'print the report as JSON on stdout').action(async (flags: DoctorFlags) => {
    try {
      // the checks load when the doctor runs, not with the CLI
      const [{ formatDoctorReport, runDoctor }, { commandSettings }] = await Promise.all([import('../doctor/doctor.js'), import('../settings/sources.js')]);
      const dirs = flags.cacheDir !== undefined && flags.out !== undefined ? { cacheDir: flags.cacheDir, outputDir: flags.out } : builtinDirs();
      const report = await runDoctor(doctorRequest(commandSettings(keys, flags, process.env, process.cwd(), dirs)), probe);
      process.stdout.write(flags.json ? `${JSON.stringify(report)}\n` : formatDoctorReport(report, { plain: plainOutput() }));
      if (!report.ok) onExit(exitCodes.failed);
    } catch (err) {
      onExit(reportError(err, { json: !!flags.json }));
    }
  });
}
