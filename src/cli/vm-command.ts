// `stemforge vm up|status|ssh|provision|halt|destroy`: the Vagrant builder VM by hand.
import type { Command } from 'commander';
import { execa } from 'execa';
import { parseProvider } from '../machine/spec.js';
import { BuilderVm } from '../machine/vagrant/builder-vm.js';
import { reportError } from './errors.js';
import { addVmOptions, providerFromEnv, vmOptions, type VmFlags } from './machine-options.js';

interface VmCommandFlags extends VmFlags {
  provider: string;
  json?: boolean;
}

function builderFor(flags: VmCommandFlags): BuilderVm {
  return new BuilderVm({ provider: parseProvider(flags.provider), ...vmOptions(flags) });
}

function progress(line: string): void {
  process.stderr.write(`  ${line}\n`);
}

function print(json: boolean, value: Record<string, unknown>, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text}\n`);
}

export function addVmCommands(program: Command, onExit: (code: number) => void, signal: AbortSignal): void {
  const vm = program.command('vm').description('manage the Vagrant builder VM (one per provider)');

  const sub = (name: string, description: string, run: (flags: VmCommandFlags, args: string[]) => Promise<number | void>, sized = false): Command => {
    const command = vm
      .command(name)
      .description(description)
      .option('--provider <provider>', 'virtualbox, libvirt, parallels, vmware_desktop or hyperv', providerFromEnv)
      .option('--json', 'print the result as JSON on stdout');
    if (sized) addVmOptions(command);
    command.action(async (...params: unknown[]) => {
      const flags = command.opts<VmCommandFlags>();
      const args = Array.isArray(params[0]) ? (params[0] as string[]) : [];
      try {
        const code = await run(flags, args);
        if (typeof code === 'number' && code !== 0) onExit(code);
      } catch (err) {
        onExit(reportError(err, { json: !!flags.json }));
      }
    });
    return command;
  };

  sub(
    'up',
    'create or start the builder VM and provision it',
    async (flags) => {
      const builder = builderFor(flags);
      const machine = await builder.up({ onLine: progress, signal });
      await machine.close();
      const { provider } = builder.options;
      print(!!flags.json, { ok: true, provider, state: 'running', ssh: machine.description }, `builder VM (${provider}) is up: ${machine.description}`);
    },
    true,
  );

  sub('status', "print the builder VM's state", async (flags) => {
    const status = await builderFor(flags).status({ signal });
    print(!!flags.json, { ok: true, ...status }, `${status.state}${status.description ? `: ${status.description.split('\n')[0]}` : ''}`);
  });

  sub(
    'provision',
    'run the provisioning script again',
    async (flags) => {
      await builderFor(flags).provision({ onLine: progress, signal });
      print(!!flags.json, { ok: true }, 'builder VM provisioned');
    },
    true,
  );

  sub('halt', 'shut the builder VM down (its disk, packages and layers stay)', async (flags) => {
    await builderFor(flags).halt({ onLine: progress, signal });
    print(!!flags.json, { ok: true, state: 'halted' }, 'builder VM halted');
  });

  sub('destroy', 'delete the builder VM and forget its host key', async (flags) => {
    await builderFor(flags).destroy({ onLine: progress, signal });
    print(!!flags.json, { ok: true, state: 'not_created' }, 'builder VM destroyed');
  });

  sub('ssh', 'open a shell in the builder VM, or run a command there (after --)', async (flags, args) => {
    const builder = builderFor(flags);
    await builder.status({ signal });
    const ssh = await builder.driver.sshConfig({ signal });
    // connecting once records (or checks) the VM's host key, which OpenSSH then enforces
    await (await builder.connect({ signal })).close();
    const result = await execa(
      'ssh',
      [
        '-p',
        String(ssh.port),
        ...ssh.identityFiles.flatMap((f) => ['-i', f]),
        '-o',
        'IdentitiesOnly=yes',
        '-o',
        `UserKnownHostsFile=${builder.knownHostsFile}`,
        '-o',
        'GlobalKnownHostsFile=/dev/null',
        '-o',
        'StrictHostKeyChecking=yes',
        '-o',
        'LogLevel=ERROR',
        `${ssh.user}@${ssh.host}`,
        ...(args.length > 0 ? ['--', ...args] : []),
      ],
      { stdio: 'inherit', reject: false },
    );
    return result.exitCode ?? 1;
  }).argument('[command...]', 'a command to run instead of a shell');
}
