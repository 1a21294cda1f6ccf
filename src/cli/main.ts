// Commands and flags only: each command turns its flags into a request and hands it on.
// Registration loads commander and the option table, nothing heavier: each action loads the
// modules that do its work, so `--version` and `--help` start fast.
import { Command, CommanderError, Help, Option } from 'commander';
import type { OsImageRequest } from '../pipeline/os-image.js';
import type { CommandSettings } from '../settings/sources.js';
import { builtinDirs } from '../settings/builtin-dirs.js';
import { version } from '../util/version.js';
import { UsageError } from '../util/errors.js';
import { exitCodes, reportError } from './errors.js';
import { printOsImageDescription, printOsImageResult } from './output.js';
import { machineSpec, proxyOptions, sshKeys, sshOptions, vmOptionHelp, vmOptions } from './machine-options.js';
import { archiveSettings, buildTimeFromEnv, monitSource, ignoreSpaceHelp, noWaitHelp, resumeCommand } from './request.js';
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
  arch?: string;
  resumeFrom?: string;
  until?: string;
  allowUnwritten?: boolean;
  ignoreSpace?: boolean;
  layers?: boolean;
  cache?: boolean;
  refreshOsImage?: boolean;
  explainCache?: boolean;
  wait?: boolean;
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
    arch: flags.arch,
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
    ignoreSpace: !!flags.ignoreSpace,
    monit: monitSource(settings.string('monitFile')),
    stageEnv: { ...proxy, ...(buildTime ? { BUILD_TIME: buildTime } : {}) },
    layers: layerOption(flags, settings),
    cache: cacheOption(flags, settings),
    noWait: flags.wait === false,
  };
}

function addOsImageCommand(program: Command, argv: readonly string[], onExit: (code: number) => void, signal: AbortSignal): void {
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
    .option(
      '--arch <arch>',
      "the image's CPU architecture: amd64 (default; what stemcells are made from) or arm64 (debian-bookworm; an OS image only). The image's programs run under emulation on a build machine of another architecture",
    )
    .option('--resume-from <stage>', 'keep the existing chroot and run from this stage on')
    .option('--until <stage>', 'stop after this stage (no OS image is written)')
    .option('--allow-unwritten', 'build even though some stages are not written yet (they are skipped and listed)')
    .option('--ignore-space', ignoreSpaceHelp)
    .option('--no-layers', 'run the stages in place instead of one overlay layer each (no reuse of unchanged stages)')
    .option('--no-cache', 'neither use nor fill the local artifact cache')
    .option('--refresh-os-image', 'build even when a fresh OS image is cached')
    .option('--explain-cache', 'on a cache miss, say which input changed')
    .option('--no-wait', noWaitHelp);
  osImageKeys.push(
    ...addSettingOptions(osImage, [
      {
        key: 'mirror',
        help: "archive to build from, used as given (default: with BUILD_TIME the snapshot, else the archive the build machine's debootstrap uses for the suite)",
      },
      {
        key: 'securityMirror',
        help: 'archive of the SUITE-security pocket (default: beside the archive: Ubuntu the archive itself, Debian its sibling …/debian-security)',
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
        const [{ buildOsImage, describeOsImage }, { chooseRenderer }, { commandSettings }] = await Promise.all([
          import('../pipeline/os-image.js'),
          import('../pipeline/ui.js'),
          import('../settings/sources.js'),
        ]);
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
}

const lastGroup = 'Settings and state:';

/** The top-level help's line and group for each command: where to start, then the rest. */
const overview: Readonly<Record<string, { group: string; summary: string }>> = {
  doctor: { group: 'Start with:', summary: 'check this machine and the build machine' },
  build: { group: 'Start with:', summary: 'the whole job: OS image, then stemcells' },
  inspect: { group: 'Start with:', summary: 'check a stemcell tarball as the Director would' },
  verify: { group: 'Start with:', summary: 'boot a stemcell under QEMU, or run its agent' },
  'os-image': { group: 'One phase at a time:', summary: 'the OS-image phase alone: an OS image tarball' },
  stemcell: { group: 'One phase at a time:', summary: 'the stemcell phase alone, from an OS image' },
  vm: { group: lastGroup, summary: 'the Vagrant builder VM: up, status, ssh, halt…' },
  config: { group: lastGroup, summary: 'user settings: get, set, unset, list, show, reset' },
  version: { group: lastGroup, summary: 'the stemcell version counters: list, set' },
  cache: { group: lastGroup, summary: 'the artifact cache: ls, info, verify, prune…' },
  completion: { group: lastGroup, summary: 'a shell completion script: bash, zsh or fish' },
};

const helpFooter = 'Run `stemforge help CMD` or `stemforge CMD --help` for its flags.';

/** Top-level commands in the overview's order (the others after them, as they were); the rest as they are. */
function inOrder<T extends Command | Option>(items: readonly T[]): T[] {
  const rank = (item: T): number => {
    const topLevel = item instanceof Command && item.parent !== null && item.parent.parent === null;
    const at = topLevel ? Object.keys(overview).indexOf(item.name()) : -1;
    return at < 0 ? Infinity : at;
  };
  return [...items].sort((a, b) => rank(a) - rank(b));
}

/**
 * Each top-level command's one line and group in `stemforge --help`, in the overview's order
 * (its own help keeps the full description). Set on the program after its commands are
 * added, so that they do not inherit it.
 */
function describeCommands(program: Command): void {
  for (const command of program.commands) {
    const entry = overview[command.name()];
    if (entry) command.summary(entry.summary).helpGroup(entry.group);
  }
  program.configureHelp({
    // the help command is shared by every command (so not given a group of its own): listed last here
    groupItems: (unsorted, visible, getGroup) =>
      new Help().groupItems(inOrder(unsorted), inOrder(visible), (item) => (item instanceof Command && item.name() === 'help' ? lastGroup : getGroup(item))),
  });
}

export function buildProgram(argv: readonly string[], onExit: (code: number) => void, signal: AbortSignal): Command {
  const program = new Command('stemforge')
    .description('Build BOSH stemcells from any laptop: OS image and stemcell phases on a builder machine.')
    .usage('<command> [flags]')
    .version(version, '-V, --version', "print stemforge's version")
    .helpOption('-h, --help', 'print this help')
    .showHelpAfterError('(run with --help for usage)')
    .enablePositionalOptions()
    .exitOverride()
    // every message commander prints is one of ours: the same prefix as reportError's
    .configureOutput({ outputError: (text, write) => write(`stemforge: ${text}`) });
  // commander's help command stays for completion; main() answers `help CMD…` itself
  program.helpCommand('help [command]', "print a command's usage and flags");

  addOsImageCommand(program, argv, onExit, signal);
  addBuildCommand(program, argv, onExit, signal);
  addStemcellCommand(program, argv, onExit, signal);
  addInspectVerifyCommands(program, onExit, signal);
  addVmCommands(program, onExit, signal);
  addDoctorCommand(program, onExit, builtinDirs);
  addConfigCommands(program, onExit);
  addCacheCommands(program, onExit);
  addCompletionCommand(program);
  describeCommands(program);
  program.addHelpText('after', `\n${helpFooter}`);
  return program;
}

/** The command at a path of names ("cache ls"), or a usage error listing what there is. */
function findCommand(program: Command, path: readonly string[]): Command {
  let command = program;
  for (const [i, name] of path.entries()) {
    const visible = inOrder(command.commands.filter((c) => c.name() !== 'help'));
    const next = visible.find((c) => c.name() === name || c.aliases().includes(name));
    if (!next) {
      const where = i === 0 ? 'commands' : `commands of ${path.slice(0, i).join(' ')}`;
      throw new UsageError(`unknown command '${path.slice(0, i + 1).join(' ')}' (${where}: ${visible.map((c) => c.name()).join(', ')})`);
    }
    command = next;
  }
  return command;
}

/** `stemforge help [CMD…]`: the short overview, or one command's usage and flags, on stdout. */
function help(program: Command, topic: readonly string[]): number {
  findCommand(
    program,
    topic.filter((word) => word !== '--help' && word !== '-h'),
  ).outputHelp();
  return exitCodes.ok;
}

/**
 * conf (the settings store) hooks SIGINT and SIGTERM when it loads and re-raises the signal
 * after its own cleanup: we would take that as the second Ctrl-C and exit without cleaning
 * up. It is loaded before any action (the actions load their other modules themselves) and
 * its listeners dropped: our handler owns these signals, and settings writes are
 * synchronous, so no half-written temp file can be left for it to remove.
 */
function ownSignals(program: Command, onSignal: () => void): void {
  program.hook('preAction', async () => {
    await import('../settings/store.js');
    for (const name of ['SIGINT', 'SIGTERM'] as const) {
      process.removeAllListeners(name);
      process.on(name, onSignal);
    }
  });
}

function stopOwningSignals(onSignal: () => void): void {
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}

/** The command main() is running, so that a reader who goes away stops it as Ctrl-C would. */
let running: AbortController | undefined;

/** Run the CLI; resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const controller = new AbortController();
  running = controller;
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts += 1;
    if (interrupts > 1) process.exit(exitCodes.interrupted);
    process.stderr.write('\nstemforge: interrupted: stopping the current stage and cleaning up (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  let code = 0;
  try {
    const program = buildProgram(argv, (c) => (code = c), controller.signal);
    const [first, ...rest] = argv.slice(2);
    // as git does: no command is a usage error, answered with the overview on stderr
    if (first === undefined) {
      program.outputHelp({ error: true });
      return exitCodes.usage;
    }
    if (first === 'help') return help(program, rest);
    if (!first.startsWith('-')) findCommand(program, [first]);
    ownSignals(program, onSigint);
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and --version exit 0; everything else commander reports is a usage error
      return err.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
    }
    return reportError(err, { json: false });
  } finally {
    stopOwningSignals(onSigint);
    running = undefined;
  }
  if (controller.signal.aborted && code !== 0) return exitCodes.interrupted;
  return code;
}

/**
 * The last line of defence, for the whole process: a reader that stopped reading
 * (`stemforge --help | head -1`) ends the run quietly, and an error no command caught (an
 * event handler's throw, a rejected promise nobody awaited, a thrown string) is one line and
 * exit 1, as from any command; STEMFORGE_DEBUG=1 adds the stack.
 */
export function guardProcess(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') process.exit(reportError(err, { json: false }));
    if (!running || running.signal.aborted) process.exit(exitCodes.ok);
    // a build's NDJSON reader went away mid-run: stop as after Ctrl-C, so mounts, loop
    // devices and locks are released; what it would still print has no reader
    const drop = (_chunk: unknown, encoding?: unknown, done?: unknown): boolean => {
      const callback = typeof encoding === 'function' ? encoding : done;
      if (typeof callback === 'function') process.nextTick(callback as () => void);
      return true;
    };
    process.stdout.write = drop as typeof process.stdout.write;
    process.stderr.write('stemforge: the reader of stdout went away (broken pipe): stopping the current stage and cleaning up\n');
    running.abort();
  });
  // with stderr gone there is nowhere left to report anything; the exit code still says it
  process.stderr.on('error', () => {});
  process.on('uncaughtException', (err) => process.exit(reportError(err, { json: false })));
  process.on('unhandledRejection', (reason) => process.exit(reportError(reason, { json: false })));
}
