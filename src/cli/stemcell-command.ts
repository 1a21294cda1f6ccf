// `stemforge stemcell`: flags → a StemcellRequest; the work is in src/pipeline/stemcell.ts.
import { Option, type Command } from 'commander';
import { infrastructures } from '../catalog/infrastructures.js';
import { findOperatingSystem } from '../catalog/planner.js';
import type { OperatingSystem } from '../catalog/operating-systems.js';
import type { AgentSource, StemcellRequest } from '../pipeline/stemcell.js';
import type { CommandSettings } from '../settings/sources.js';
import { agentInput, checkInputFile } from '../settings/validate.js';
import { UsageError } from '../util/errors.js';
import { reportError } from './errors.js';
import { machineSpec, proxyOptions, sshKeys, sshOptions, vmOptionHelp, vmOptions } from './machine-options.js';
import { printStemcellDescription, printStemcellResult } from './stemcell-output.js';
import { layerOption } from './layer-option.js';
import { archiveSettings, buildTimeFromEnv, ignoreSpaceHelp, noWaitHelp, resumeCommand } from './request.js';
import { addSettingOptions } from './setting-options.js';

interface StemcellFlags {
  [key: string]: unknown;
  osImage?: string;
  skipBlobstoreClis?: boolean;
  resumeFrom?: string;
  until?: string;
  allowUnwritten?: boolean;
  ignoreSpace?: boolean;
  layers?: boolean;
  wait?: boolean;
  dryRun?: boolean;
  json?: boolean;
  quiet?: boolean;
}

function agentSource(settings: CommandSettings): AgentSource | undefined {
  return agentInput({ file: settings.string('agentFile'), url: settings.string('agentUrl'), sha256: settings.string('agentSha256') });
}

/** The OS line: --os on this command line, else what the OS image's os-release says (a variable or stored default is meant for builds). */
async function osLine(flags: StemcellFlags, settings: CommandSettings): Promise<OperatingSystem> {
  const os = settings.resolved.get('os')?.source === 'flag' ? settings.string('os') : undefined;
  if (os) return findOperatingSystem(os);
  if (flags.osImage === undefined) throw new UsageError('missing --os-image FILE: the OS image to build the stemcells from (a dry run may name --os instead)');
  checkInputFile(flags.osImage, '--os-image', 'name an OS image tarball (make one with stemforge os-image)');
  const { detectOsLine } = await import('../stemcell/os-image-file.js'); // tar: loaded when needed, not with the CLI
  return detectOsLine(flags.osImage);
}

/** stemcell's flags and settings → the request, checked as the run checks it before it touches a machine (a dry run may go without --os-image when --os names the line). */
export async function stemcellRequest(flags: StemcellFlags, settings: CommandSettings, env: NodeJS.ProcessEnv = process.env): Promise<StemcellRequest> {
  const { checkStemcellRequest } = await import('../pipeline/stemcell.js'); // the pipeline: loaded when the command runs
  const iaas = settings.required('iaas') as string[];
  const version = String(settings.required('version'));
  const buildTime = buildTimeFromEnv(env);
  const proxy = proxyOptions(settings, env);
  const request: StemcellRequest = {
    iaas,
    hypervisor: settings.string('hypervisor'),
    diskFormat: settings.string('diskFormat'),
    os: await osLine(flags, settings),
    osImage: flags.osImage,
    version,
    machine: machineSpec(settings),
    ssh: sshOptions(settings),
    vm: vmOptions(settings, proxy),
    agent: agentSource(settings),
    blobstoreClis: !flags.skipBlobstoreClis,
    outputDir: settings.string('outputDir')!,
    ...archiveSettings(settings),
    buildTime,
    buildRoot: settings.string('buildRoot')!,
    packageCache: settings.string('packageCache')!,
    resumeFrom: flags.resumeFrom,
    until: flags.until,
    allowUnwritten: !!flags.allowUnwritten,
    ignoreSpace: !!flags.ignoreSpace,
    stageEnv: { ...proxy, ...(buildTime ? { BUILD_TIME: buildTime } : {}) },
    layers: layerOption(flags, settings),
    noWait: flags.wait === false,
  };
  checkStemcellRequest(request, !!flags.dryRun);
  return request;
}

export function addStemcellCommand(program: Command, argv: readonly string[], onExit: (code: number) => void, signal: AbortSignal): void {
  const command = program.command('stemcell').description('build stemcells from an OS image: kernel, agent, infrastructure stages, disk image, packaging');
  const keys = addSettingOptions(command, [
    { key: 'iaas', help: `infrastructure, repeatable or comma-separated: ${infrastructures.map((i) => i.name).join(', ')}` },
    { key: 'hypervisor', help: "the infrastructure's hypervisor (each has one; checked)" },
    { key: 'diskFormat', help: 'disk format when the infrastructure has several (default: its first)' },
  ]);
  command.option('--os-image <file>', 'the OS image tarball (from stemforge os-image); a --dry-run with --os plans without it');
  keys.push(
    ...addSettingOptions(command, [
      { key: 'os', help: 'the OS line of the OS image (default: read from its etc/os-release)' },
      { key: 'version', help: 'stemcell version, digits and dots (e.g. 1.622)' },
      'machine',
      'provider',
      ...sshKeys,
      ...vmOptionHelp,
      'agentFile',
      'agentUrl',
      { key: 'agentSha256', help: 'the sha256 the --agent-url download must have' },
    ]),
  );
  command.option('--skip-blobstore-clis', 'leave the blobstore CLIs out (recorded in stemcell.MF)');
  keys.push(...addSettingOptions(command, [{ key: 'outputDir', help: 'where to write the stemcell tarballs' }]));
  command
    .option('--resume-from <stage>', 'keep the existing build and run from this stage on (one --iaas)')
    .option('--until <stage>', 'stop after this stage (one --iaas; no stemcell is written)');
  keys.push(
    ...addSettingOptions(command, [
      { key: 'mirror', help: 'archive the kernel and packages come from (default as for os-image)' },
      'securityMirror',
      'snapshotMirror',
      'proxy',
      'buildRoot',
      'packageCache',
    ]),
  );
  command
    .option('--allow-unwritten', 'build even though some stages are not written yet (they are skipped and listed)')
    .option('--ignore-space', ignoreSpaceHelp)
    .option('--no-layers', 'run the stages in place instead of one overlay layer each (no reuse of unchanged stages)')
    .option('--no-wait', noWaitHelp);
  keys.push(...addSettingOptions(command, [{ key: 'layerLimit', help: 'GiB the stage layers may take on the build machine' }]));
  command
    .option('--dry-run', 'print the plan and touch nothing')
    .option('--json', 'print the plan or the result as JSON on stdout')
    .addOption(new Option('--quiet', 'no progress output').conflicts('json'))
    .action(async (flags: StemcellFlags) => {
      try {
        // the pipeline loads when the command runs, not with the CLI
        const [{ buildStemcells, describeStemcell }, { chooseRenderer }, { commandSettings }] = await Promise.all([
          import('../pipeline/stemcell.js'),
          import('../pipeline/ui.js'),
          import('../settings/sources.js'),
        ]);
        const request = await stemcellRequest(flags, commandSettings(keys, flags));
        if (flags.dryRun) {
          printStemcellDescription(describeStemcell(request), !!flags.json);
          return;
        }
        const renderer = chooseRenderer({ json: flags.json, quiet: flags.quiet });
        printStemcellResult(await buildStemcells(request, { renderer, signal }), !!flags.json);
      } catch (err) {
        onExit(reportError(err, { json: !!flags.json, resume: (stage) => resumeCommand(argv, stage) }));
      }
    });
}
