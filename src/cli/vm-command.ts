// `stemforge vm up|status|ssh|provision|halt|destroy`: the Vagrant builder VM by hand.
import type { Command } from 'commander';
import type * as Execa from 'execa';
import { parseProvider } from '../machine/spec.js';
import type { BuilderVm } from '../machine/vagrant/builder-vm.js';
import type * as VagrantBuilderVm from '../machine/vagrant/builder-vm.js';
import type { CommandSettings } from '../settings/sources.js';
import type * as SettingSources from '../settings/sources.js';
import { reportError } from './errors.js';
import { proxyOptions, vmOptionHelp, vmOptions } from './machine-options.js';
import { proxyEnvironment } from './request.js';
import { addSettingOptions } from './setting-options.js';

// The modules that do the work, loaded when a vm command runs (not when the CLI starts).
let { execa } = {} as typeof Execa;
let { BuilderVm: BuilderVmClass } = {} as typeof VagrantBuilderVm;
let { commandSettings } = {} as typeof SettingSources;

async function loadVmModules(): Promise<void> {
  ({ execa } = await import('execa'));
  ({ BuilderVm: BuilderVmClass } = await import('../machine/vagrant/builder-vm.js'));
  ({ commandSettings } = await import('../settings/sources.js'));
}

interface VmCommandFlags {
  [key: string]: unknown;
  json?: boolean;
}

/** The builder VM the settings name: its provider, and (for up and provision) its size. */
export function builderOptions(settings: CommandSettings): ConstructorParameters<typeof BuilderVm>[0] {
  const provider = parseProvider(settings.string('provider')!);
  // status, halt, destroy and ssh take no size: the VM keeps what it was made with
  if (!settings.resolved.has('cpus')) return { provider, proxy: proxyEnvironment(process.env) };
  return { provider, ...vmOptions(settings, proxyOptions(settings)) };
}

function progress(line: string): void {
  process.stderr.write(`  ${line}\n`);
}

function print(json: boolean, value: Record<string, unknown>, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text}\n`);
}

export function addVmCommands(program: Command, onExit: (code: number) => void, signal: AbortSignal): void {
  const vm = program.command('vm').description('manage the Vagrant builder VM (one per provider)');

  const sub = (
    name: string,
    description: string,
    run: (flags: VmCommandFlags, builder: () => BuilderVm, args: string[]) => Promise<number | void>,
    sized = false,
  ): Command => {
    const command = vm.command(name).description(description);
    const keys = addSettingOptions(command, [
      { key: 'provider', help: 'virtualbox, libvirt, parallels, vmware_desktop or hyperv' },
      ...(sized ? [...vmOptionHelp, 'proxy'] : []),
    ]);
    command.option('--json', 'print the result as JSON on stdout');
    command.action(async (...params: unknown[]) => {
      const flags = command.opts<VmCommandFlags>();
      const args = Array.isArray(params[0]) ? (params[0] as string[]) : [];
      try {
        await loadVmModules();
        const builderFor = (): BuilderVm => new BuilderVmClass(builderOptions(commandSettings(keys, flags)));
        const code = await run(flags, builderFor, args);
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
    async (flags, builderFor) => {
      const builder = builderFor();
      const machine = await builder.up({ onLine: progress, signal });
      await machine.close();
      const { provider } = builder.options;
      print(!!flags.json, { ok: true, provider, state: 'running', ssh: machine.description }, `builder VM (${provider}) is up: ${machine.description}`);
    },
    true,
  );

  sub('status', "print the builder VM's state", async (flags, builderFor) => {
    const status = await builderFor().status({ signal });
    print(!!flags.json, { ok: true, ...status }, `${status.state}${status.description ? `: ${status.description.split('\n')[0]}` : ''}`);
  });

  sub(
    'provision',
    'run the provisioning script again',
    async (flags, builderFor) => {
      await builderFor().provision({ onLine: progress, signal });
      print(!!flags.json, { ok: true }, 'builder VM provisioned');
    },
    true,
  );

  sub('halt', 'shut the builder VM down (its disk, packages and layers stay)', async (flags, builderFor) => {
    await builderFor().halt({ onLine: progress, signal });
    print(!!flags.json, { ok: true, state: 'halted' }, 'builder VM halted');
  });

  sub('destroy', 'delete the builder VM and forget its host key', async (flags, builderFor) => {
    await builderFor().destroy({ onLine: progress, signal });
    print(!!flags.json, { ok: true, state: 'not_created' }, 'builder VM destroyed');
  });

  sub('ssh', 'open a shell in the builder VM, or run a command there (after --)', async (flags, builderFor, args) => {
    const builder = builderFor();
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
