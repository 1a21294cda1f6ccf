// `stemforge inspect FILE` and `stemforge verify FILE --boot|--agent`: checks on a finished stemcell tarball.
// The checks' modules load when a command runs, not with the CLI.
import type { Command } from 'commander';
import { UsageError } from '../util/errors.js';
import { exitCodes, reportError } from './errors.js';

interface InspectFlags {
  json?: boolean;
}

interface VerifyFlags {
  boot?: boolean;
  agent?: boolean;
  timeout?: string;
  consoleLog?: string;
  json?: boolean;
}

function timeoutMs(value: string): number {
  const minutes = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || !(minutes > 0)) throw new UsageError(`--timeout '${value}' is not a positive number of minutes (e.g. 10 or 2.5)`);
  return minutes * 60_000;
}

export function addInspectVerifyCommands(program: Command, onExit: (code: number) => void, signal: AbortSignal): void {
  program
    .command('inspect')
    .description(
      "print a stemcell tarball's name, OS, version, infrastructure and hypervisor, and check it as the Director would (and more); exit 1 when a check fails",
    )
    .argument('<file>', 'the stemcell tarball (.tgz)')
    .option('--json', 'print the result as one JSON document on stdout')
    .action(async (file: string, flags: InspectFlags) => {
      try {
        const { formatInspection, inspectStemcell } = await import('../stemcell/inspect.js');
        const result = await inspectStemcell(file, { signal });
        process.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : `${formatInspection(result)}\n`);
        if (!result.ok) onExit(exitCodes.failed);
      } catch (err) {
        onExit(reportError(err, { json: !!flags.json }));
      }
    });

  program
    .command('verify')
    .description(
      'verify a stemcell tarball under QEMU: --boot boots its raw, rawdisk or qcow2 image until systemd reaches multi-user and sshd answers; ' +
        "--agent also gives it its infrastructure's settings and drives the BOSH agent as bosh create-env does (ping, ssh, a job started and stopped)",
    )
    .argument('<file>', 'the stemcell tarball (.tgz)')
    .option('--boot', 'boot the image (the guest reaches no network; only its port 22 is forwarded to 127.0.0.1)')
    .option('--agent', 'boot it with a settings source (config drive or metadata service) and talk to its agent over the HTTPS mbus')
    .option('--timeout <minutes>', 'give up after this many minutes (--boot: until sshd, default 15; --agent: until the agent answers, default 20)')
    .option('--console-log <path>', 'keep the serial console log here (default: kept only on failure)')
    .option('--json', 'print the result as one JSON document on stdout')
    .action(async (file: string, flags: VerifyFlags) => {
      try {
        const [{ formatAgentResult, verifyAgent }, { formatBootResult, verifyBoot }] = await Promise.all([
          import('../stemcell/verify-agent.js'),
          import('../stemcell/verify-boot.js'),
        ]);
        if (flags.boot && flags.agent) throw new UsageError('--boot and --agent are two ways to verify: give one (--agent boots the image too)');
        if (!flags.boot && !flags.agent) {
          throw new UsageError('say what to verify: --boot (boot the image under QEMU) or --agent (boot it and drive its BOSH agent)');
        }
        const json = !!flags.json;
        const common = {
          file,
          timeoutMs: timeoutMs(flags.timeout ?? (flags.agent ? '20' : '15')),
          consoleLog: flags.consoleLog,
          signal,
          onProgress: (line: string) => process.stderr.write(`  ${line}\n`),
        };
        const { ok, text, result } = flags.agent
          ? await verifyAgent(common).then((r) => ({ ok: r.ok, text: formatAgentResult(r), result: r as object }))
          : await verifyBoot(common).then((r) => ({ ok: r.ok, text: formatBootResult(r), result: r as object }));
        process.stdout.write(json ? `${JSON.stringify(result)}\n` : `${text}\n`);
        if (!ok) onExit(signal.aborted ? exitCodes.interrupted : exitCodes.failed);
      } catch (err) {
        onExit(reportError(err, { json: !!flags.json }));
      }
    });
}
