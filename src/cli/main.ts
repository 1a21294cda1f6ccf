// Commands and flags only: each command turns its flags into a request and hands it on.
import { Command, CommanderError, Option } from 'commander';
import { parseMachineSpec } from '../machine/spec.js';
import { defaultBuildRoot, defaultPackageCacheRoot } from '../pipeline/layout.js';
import { buildOsImage, describeOsImage, type OsImageRequest } from '../pipeline/os-image.js';
import { chooseRenderer } from '../pipeline/ui.js';
import { effectiveSettings } from '../settings/layers.js';
import { version } from '../util/version.js';
import { exitCodes, reportError } from './errors.js';
import { printOsImageDescription, printOsImageResult } from './output.js';
import { addSshOptions, addVmOptions, defaultMachine, sshOptions, vmOptions, type SshFlags, type VmFlags } from './machine-options.js';
import { archiveFlags, buildTimeFromEnv, checkBuildMachineDirs, monitSource, proxyEnvironment, resumeCommand, type ArchiveFlags } from './request.js';
import { addBuildCommand } from './build-command.js';
import { addCacheCommands } from './cache-command.js';
import { addCompletionCommand } from './completion-command.js';
import { addConfigCommands } from './config-command.js';
import { addDoctorCommand } from './doctor-command.js';
import { cacheLines, cacheOption, layerOption } from './layer-option.js';
import { addStemcellCommand } from './stemcell-command.js';
import { addStemcellCommands } from './stemcell-commands.js';
import { addVmCommands } from './vm-command.js';

interface OsImageFlags extends SshFlags, VmFlags, ArchiveFlags {
  os: string;
  machine: string;
  out?: string;
  resumeFrom?: string;
  until?: string;
  buildRoot: string;
  packageCache: string;
  allowUnwritten?: boolean;
  layers?: boolean;
  layerLimit?: string;
  cache?: boolean;
  cacheDir?: string;
  refreshOsImage?: boolean;
  osImageMaxAge?: string;
  explainCache?: boolean;
  monitFile?: string;
  dryRun?: boolean;
  json?: boolean;
  quiet?: boolean;
}

function osImageRequest(flags: OsImageFlags): OsImageRequest {
  const buildTime = buildTimeFromEnv(process.env);
  checkBuildMachineDirs(flags);
  return {
    os: flags.os,
    machine: parseMachineSpec(flags.machine),
    ssh: sshOptions(flags),
    vm: vmOptions(flags),
    out: flags.out,
    resumeFrom: flags.resumeFrom,
    until: flags.until,
    ...archiveFlags(flags),
    buildTime,
    buildRoot: flags.buildRoot,
    packageCache: flags.packageCache,
    allowUnwritten: !!flags.allowUnwritten,
    monit: monitSource(flags.monitFile ?? (process.env.STEMFORGE_MONIT_FILE || undefined)),
    stageEnv: { ...proxyEnvironment(process.env), ...(buildTime ? { BUILD_TIME: buildTime } : {}) },
    layers: layerOption(flags),
    cache: cacheOption(flags),
  };
}

/** The cache and output folders the doctor looks at when no flag names them: the settings' effective values. */
function doctorDirs(): { cacheDir: string; outputDir: string } {
  const settings = effectiveSettings({});
  return { cacheDir: String(settings.get('cacheDir')!.value), outputDir: String(settings.get('outputDir')!.value) };
}

export function buildProgram(argv: readonly string[], onExit: (code: number) => void, signal: AbortSignal): Command {
  const program = new Command('stemforge')
    .description('Build BOSH stemcells from any laptop: OS image and stemcell phases on a builder machine.')
    .version(version)
    .showHelpAfterError('(run with --help for usage)')
    .enablePositionalOptions()
    .exitOverride();

  const osImage = program
    .command('os-image')
    .description('build an OS image (the OS-image phase) and fetch it as a gzip tarball')
    .requiredOption('--os <name>', 'operating system line: ubuntu-jammy, ubuntu-noble, debian-bookworm')
    .option(
      '--machine <machine>',
      'build machine: vagrant[:PROVIDER] (a builder VM), local (this Linux host, as root) or ssh://user@host[:port]',
      defaultMachine,
    );
  addSshOptions(osImage);
  addVmOptions(osImage);
  osImage
    .option('--out <file>', 'where to write the OS image (.tgz)')
    .option('--resume-from <stage>', 'keep the existing chroot and run from this stage on')
    .option('--until <stage>', 'stop after this stage (no OS image is written)')
    .option(
      '--mirror <url>',
      "archive to build from, used as given (default: with BUILD_TIME the snapshot, else for Debian the build machine's own apt configuration)",
    )
    .option(
      '--security-mirror <url>',
      "archive of the SUITE-security pocket (default: Ubuntu the archive itself, Debian the build machine's apt configuration)",
    )
    .option('--snapshot-mirror <url>', 'dated snapshot archive base; with BUILD_TIME=YYYYMMDDTHHMMSSZ the archive is URL/BUILD_TIME')
    .option('--monit-file <file>', 'build monit from this source tarball instead of the pinned download [env STEMFORGE_MONIT_FILE]')
    .option('--build-root <dir>', "stemforge's folder on the build machine", defaultBuildRoot)
    .option('--package-cache <dir>', 'where the build machine keeps downloaded .deb files between builds', defaultPackageCacheRoot)
    .option('--allow-unwritten', 'build even though some stages are not written yet (they are skipped and listed)')
    .option('--no-layers', 'run the stages in place instead of one overlay layer each (no reuse of unchanged stages)')
    .option('--layer-limit <gib>', 'GiB the stage layers may take on the build machine [env STEMFORGE_LAYER_LIMIT; setting layerLimit]')
    .option('--no-cache', 'neither use nor fill the local artifact cache')
    .option('--cache-dir <dir>', 'the local artifact cache [env STEMFORGE_CACHE_DIR; setting cacheDir]')
    .option('--refresh-os-image', 'build even when a fresh OS image is cached')
    .option('--os-image-max-age <days>', 'days a cached OS image is used before it is rebuilt [env STEMFORGE_OS_IMAGE_MAX_AGE; setting osImageMaxAge]')
    .option('--explain-cache', 'on a cache miss, say which input changed')
    .option('--dry-run', 'print the plan (machine, settings, phases and stages) and touch nothing')
    .option('--json', 'print the plan or the result as JSON on stdout')
    .addOption(new Option('--quiet', 'no progress output').conflicts('json'))
    .action(async (flags: OsImageFlags) => {
      try {
        const request = osImageRequest(flags);
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

  addBuildCommand(program, onExit, signal);
  addStemcellCommand(program, argv, onExit, signal);
  addStemcellCommands(program, onExit, signal);
  addVmCommands(program, onExit, signal);
  addDoctorCommand(program, onExit, doctorDirs);
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
