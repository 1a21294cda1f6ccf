// `stemforge stemcell`: flags → a StemcellRequest; the work is in src/pipeline/stemcell.ts.
import { existsSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { infrastructures } from '../catalog/infrastructures.js';
import { findOperatingSystem } from '../catalog/planner.js';
import { parseMachineSpec } from '../machine/spec.js';
import { defaultBuildRoot, defaultPackageCacheRoot } from '../pipeline/layout.js';
import { buildStemcells, describeStemcell, type AgentSource, type StemcellRequest } from '../pipeline/stemcell.js';
import { chooseRenderer } from '../pipeline/ui.js';
import { versionPattern } from '../stemcell/naming.js';
import { detectOsLine } from '../stemcell/os-image-file.js';
import { UsageError } from '../util/errors.js';
import { reportError } from './errors.js';
import { addSshOptions, addVmOptions, defaultMachine, sshOptions, vmOptions, type SshFlags, type VmFlags } from './machine-options.js';
import { printStemcellDescription, printStemcellResult } from './stemcell-output.js';
import { layerOption } from './layer-option.js';
import { archiveFlags, buildTimeFromEnv, checkBuildMachineDirs, proxyEnvironment, resumeCommand, type ArchiveFlags } from './request.js';

interface StemcellFlags extends SshFlags, VmFlags, ArchiveFlags {
  iaas: string[];
  hypervisor?: string;
  diskFormat?: string;
  os?: string;
  osImage: string;
  version: string;
  machine: string;
  agentUrl?: string;
  agentSha256?: string;
  agentFile?: string;
  skipBlobstoreClis?: boolean;
  out: string;
  buildRoot: string;
  packageCache: string;
  resumeFrom?: string;
  until?: string;
  allowUnwritten?: boolean;
  layers?: boolean;
  layerLimit?: string;
  dryRun?: boolean;
  json?: boolean;
  quiet?: boolean;
}

function agentSource(flags: StemcellFlags): AgentSource | undefined {
  if (flags.agentFile && (flags.agentUrl || flags.agentSha256)) throw new UsageError('--agent-file and --agent-url/--agent-sha256 exclude each other');
  if (flags.agentFile) {
    if (!existsSync(flags.agentFile)) throw new UsageError(`--agent-file ${flags.agentFile}: no such file`);
    return { file: flags.agentFile };
  }
  if (flags.agentUrl || flags.agentSha256) {
    if (!flags.agentUrl || !flags.agentSha256)
      throw new UsageError('--agent-url needs --agent-sha256 (and the other way round): a download is only used when its digest is known');
    if (!/^[0-9a-f]{64}$/.test(flags.agentSha256)) throw new UsageError(`--agent-sha256 '${flags.agentSha256}' is not 64 lowercase hex digits`);
    if (!/^https?:\/\/\S+$/.test(flags.agentUrl)) throw new UsageError(`--agent-url '${flags.agentUrl}' is not an http(s) URL`);
    return { url: flags.agentUrl, sha256: flags.agentSha256 };
  }
  return undefined;
}

async function stemcellRequest(flags: StemcellFlags): Promise<StemcellRequest> {
  if (!versionPattern.test(flags.version)) throw new UsageError(`--version '${flags.version}' is not digits and dots (e.g. 1.622)`);
  if (!existsSync(flags.osImage)) throw new UsageError(`--os-image ${flags.osImage}: no such file (make one with stemforge os-image)`);
  checkBuildMachineDirs(flags);
  const buildTime = buildTimeFromEnv(process.env);
  return {
    iaas: flags.iaas,
    hypervisor: flags.hypervisor,
    diskFormat: flags.diskFormat,
    os: flags.os ? findOperatingSystem(flags.os) : await detectOsLine(flags.osImage),
    osImage: flags.osImage,
    version: flags.version,
    machine: parseMachineSpec(flags.machine),
    ssh: sshOptions(flags),
    vm: vmOptions(flags),
    agent: agentSource(flags),
    blobstoreClis: !flags.skipBlobstoreClis,
    outDir: flags.out,
    ...archiveFlags(flags),
    buildTime,
    buildRoot: flags.buildRoot,
    packageCache: flags.packageCache,
    resumeFrom: flags.resumeFrom,
    until: flags.until,
    allowUnwritten: !!flags.allowUnwritten,
    stageEnv: { ...proxyEnvironment(process.env), ...(buildTime ? { BUILD_TIME: buildTime } : {}) },
    layers: layerOption(flags),
  };
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, ...value.split(',').filter((v) => v !== '')];

export function addStemcellCommand(program: Command, argv: readonly string[], onExit: (code: number) => void, signal: AbortSignal): void {
  const command = program
    .command('stemcell')
    .description('build stemcells from an OS image: kernel, agent, infrastructure stages, disk image, packaging')
    .requiredOption('--iaas <name>', `infrastructure, repeatable or comma-separated: ${infrastructures.map((i) => i.name).join(', ')}`, collect)
    .option('--hypervisor <name>', "the infrastructure's hypervisor (each has one; checked)")
    .option('--disk-format <format>', 'disk format when the infrastructure has several (default: its first)')
    .requiredOption('--os-image <file>', 'the OS image tarball (from stemforge os-image)')
    .option('--os <name>', 'the OS line of the OS image (default: read from its etc/os-release)')
    .requiredOption('--version <version>', 'stemcell version, digits and dots (e.g. 1.622)')
    .option('--machine <machine>', 'build machine: vagrant[:PROVIDER], local or ssh://user@host[:port]', defaultMachine);
  addSshOptions(command);
  addVmOptions(command);
  command
    .option('--agent-file <file>', 'install this bosh-agent binary')
    .option('--agent-url <url>', 'download the bosh-agent from this URL (with --agent-sha256)')
    .option('--agent-sha256 <hex>', 'the sha256 the --agent-url download must have')
    .option('--skip-blobstore-clis', 'leave the blobstore CLIs out (recorded in stemcell.MF)')
    .option('--out <dir>', 'where to write the stemcell tarballs', 'out')
    .option('--resume-from <stage>', 'keep the existing build and run from this stage on (one --iaas)')
    .option('--until <stage>', 'stop after this stage (one --iaas; no stemcell is written)')
    .option('--mirror <url>', 'archive the kernel and packages come from (default as for os-image)')
    .option('--security-mirror <url>', 'archive of the SUITE-security pocket')
    .option('--snapshot-mirror <url>', 'dated snapshot archive base, used with BUILD_TIME')
    .option('--build-root <dir>', "stemforge's folder on the build machine", defaultBuildRoot)
    .option('--package-cache <dir>', 'where the build machine keeps downloaded .deb files', defaultPackageCacheRoot)
    .option('--allow-unwritten', 'build even though some stages are not written yet (they are skipped and listed)')
    .option('--no-layers', 'run the stages in place instead of one overlay layer each (no reuse of unchanged stages)')
    .option('--layer-limit <gib>', 'GiB the stage layers may take on the build machine [env STEMFORGE_LAYER_LIMIT; setting layerLimit]')
    .option('--dry-run', 'print the plan and touch nothing')
    .option('--json', 'print the plan or the result as JSON on stdout')
    .addOption(new Option('--quiet', 'no progress output').conflicts('json'))
    .action(async (flags: StemcellFlags) => {
      try {
        const request = await stemcellRequest(flags);
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
