// Commands and flags only: each command turns its flags into a request and hands it on.
import { Command, CommanderError, Option } from 'commander';
import { buildOsImage, describeOsImage, type OsImageRequest } from '../pipeline/os-image.js';
import { chooseRenderer } from '../pipeline/ui.js';
import { builtinDirs, commandSettings, type CommandSettings } from '../settings/sources.js';
import { version } from '../util/version.js';
import { exitCodes, reportError } from './errors.js';
import { printOsImageDescription, printOsImageResult } from './output.js';
import { machineSpec, proxyOptions, sshKeys, sshOptions, vmOptionHelp, vmOptions } from './machine-options.js';
import { archiveSettings, buildTimeFromEnv, monitSource, resumeCommand } from './request.js';
import { addBuildCommand } from './build-command.js';
import { addCacheCommands } from './cache-command.js';
import { addCompletionCommand } from './completion-command.js';
import { addSettingOptions } from './setting-options.js';
import { addConfigCommands } from './config-command.js';
import { addDoctorCommand } from './doctor-command.js';
import { cacheLines, cacheOption, layerOption } from './layer-option.js';
import { addStemcellCommand } from './stemcell-command.js';
import { addInspectVerifyCommands } from './inspect-verify-commands.js';
import { addVmCommands } from './vm-command.js';

interface OsImageFlags {
  [key: string]: unknown;
  out?: string;
  resumeFrom?: string;
  until?: string;
  allowUnwritten?: boolean;
  layers?: boolean;
  cache?: boolean;
  refreshOsImage?: boolean;
  explainCache?: boolean;
  dryRun?: boolean;
  json?: boolean;
  quiet?: boolean;
}

/** os-image's flags and settings → the request. */
export function osImageRequest(flags: OsImageFlags, settings: CommandSettings, env: NodeJS.ProcessEnv = process.env): OsImageRequest {
  const buildTime = buildTimeFromEnv(env);
  const proxy = proxyOptions(settings, env);
  return {
    os: String(settings.required('os')),
    machine: machineSpec(settings),
    ssh: sshOptions(settings),
    vm: vmOptions(settings, proxy),
    out: flags.out,
    resumeFrom: flags.resumeFrom,
    until: flags.until,
    ...archiveSettings(settings),
    buildTime,
    buildRoot: settings.string('buildRoot')!,
    packageCache: settings.string('packageCache')!,
    allowUnwritten: !!flags.allowUnwritten,
    monit: monitSource(settings.string('monitFile')),
    stageEnv: { ...proxy, ...(buildTime ? { BUILD_TIME: buildTime } : {}) },
    layers: layerOption(flags, settings),
    cache: cacheOption(flags, settings),
  };
}

export function buildProgram(argv: readonly string[], onExit: (code: number) => void, signal: AbortSignal): Command {
  const program = new Command('stemforge')
    .description('Build BOSH stemcells from any laptop: OS image and stemcell phases on a builder machine.')
    .version(version)
    .showHelpAfterError('(run with --help for usage)')
    .enablePositionalOptions()
    .exitOverride();

  const osImage = program.command('os-image').description('build an OS image (the OS-image phase) and fetch it as a gzip tarball');
  const osImageKeys = [
    ...addSettingOptions(osImage, [
      { key: 'os', help: 'operating system line: ubuntu-jammy, ubuntu-noble, debian-bookworm' },
      { key: 'machine', help: 'build machine: vagrant[:PROVIDER] (a builder VM), local (this Linux host, as root) or ssh://user@host[:port]' },
      'provider',
      ...sshKeys,
      ...vmOptionHelp,
    ]),
  ];
  osImage
    .option('--out <file>', 'where to write the OS image (.tgz)')
    .option('--resume-from <stage>', 'keep the existing chroot and run from this stage on')
    .option('--until <stage>', 'stop after this stage (no OS image is written)')
    .option('--allow-unwritten', 'build even though some stages are not written yet (they are skipped and listed)')
    .option('--no-layers', 'run the stages in place instead of one overlay layer each (no reuse of unchanged stages)')
    .option('--no-cache', 'neither use nor fill the local artifact cache')
    .option('--refresh-os-image', 'build even when a fresh OS image is cached')
    .option('--explain-cache', 'on a cache miss, say which input changed');
  osImageKeys.push(
    ...addSettingOptions(osImage, [
      {
        key: 'mirror',
        help: "archive to build from, used as given (default: with BUILD_TIME the snapshot, else for Debian the build machine's own apt configuration)",
      },
      {
        key: 'securityMirror',
        help: "archive of the SUITE-security pocket (default: Ubuntu the archive itself, Debian the build machine's apt configuration)",
      },
      { key: 'snapshotMirror', help: 'dated snapshot archive base; with BUILD_TIME=YYYYMMDDTHHMMSSZ the archive is URL/BUILD_TIME' },
      'proxy',
      'monitFile',
      'buildRoot',
      { key: 'packageCache', help: 'where the build machine keeps downloaded .deb files between builds' },
      'layerLimit',
      { key: 'cacheDir', help: 'the local artifact cache' },
      { key: 'osImageMaxAge', help: 'days a cached OS image is used before it is rebuilt' },
    ]),
  );
  osImage
    .option('--dry-run', 'print the plan (machine, settings, phases and stages) and touch nothing')
    .option('--json', 'print the plan or the result as JSON on stdout')
    .addOption(new Option('--quiet', 'no progress output').conflicts('json'))
    .action(async (flags: OsImageFlags) => {
      try {
        const request = osImageRequest(flags, commandSettings(osImageKeys, flags));
        if (flags.dryRun) {
          printOsImageDescription(describeOsImage(request), !!flags.json);
          return;
        }
        const renderer = chooseRenderer({ json: flags.json, quiet: flags.quiet });
        printOsImageResult(await buildOsImage(request, { renderer, signal, emit: cacheLines(!!flags.explainCache, !!flags.json) }), !!flags.json);
      } catch (err) {
        onExit(reportError(err, { json: !!flags.json, resume: (stage) => resumeCommand(argv, stage) }));
      }
    });

  addBuildCommand(program, argv, onExit, signal);
  addStemcellCommand(program, argv, onExit, signal);
  addInspectVerifyCommands(program, onExit, signal);
  addVmCommands(program, onExit, signal);
  addDoctorCommand(program, onExit, builtinDirs);
  addConfigCommands(program, onExit);
  addCacheCommands(program, onExit);
  addCompletionCommand(program);

  // `stemforge --help` shows every command's flags too, not only the command names
  program.addHelpText('after', () =>
    program.commands
      .filter((c) => c.name() !== 'help')
      .flatMap((c) => [c, ...c.commands])
      .map((c) => `\n${c.helpInformation()}`)
      .join(''),
  );
  return program;
}

/** Run the CLI; resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts += 1;
    if (interrupts > 1) process.exit(exitCodes.interrupted);
    process.stderr.write('\nstemforge: interrupted: stopping the current stage and cleaning up (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  // conf's atomic writes load when-exit, which hooks SIGINT/SIGTERM at import and re-raises
  // the signal after its own cleanup: we would take that as the second Ctrl-C and exit
  // without cleaning up. Our handler owns these signals; settings writes are synchronous,
  // so no half-written temp file can be left for it to remove.
  for (const name of ['SIGINT', 'SIGTERM'] as const) process.removeAllListeners(name);
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  let code = 0;
  const program = buildProgram(argv, (c) => (code = c), controller.signal);
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and --version exit 0; everything else commander reports is a usage error
      return err.exitCode === 0 ? 0 : exitCodes.usage;
    }
    return reportError(err, { json: false });
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
  if (controller.signal.aborted && code !== 0) return exitCodes.interrupted;
  return code;
}
