// The Vagrant driver: every call to the `vagrant` command goes through here. Each call is
// bounded by a timeout that stops Vagrant with SIGINT (it then removes a half-made VM), and
// a cancel (Ctrl-C) is forwarded the same way, once.
import { execa } from 'execa';
import { versionAtLeast } from '../../util/dotted-version.js';
import { HintedError } from '../../util/errors.js';
import { LineSplitter } from '../../util/lines.js';
import { errorMessages, parseStatus, type VagrantStatus } from './machine-readable.js';
import { parseSshConfig, type VagrantSshConfig } from './ssh-config.js';

export const minimumVagrant = '2.3.0';

export interface VagrantDriverOptions {
  /** the folder with stemforge's Vagrantfile */
  vagrantfileDir: string;
  /** Vagrant's per-machine state (VAGRANT_DOTFILE_PATH), kept in stemforge's state dir */
  dotfilePath: string;
  /** the JSON settings file the Vagrantfile reads (STEMFORGE_VM_CONFIG) */
  configFile: string;
  /** the provider this VM uses (VAGRANT_DEFAULT_PROVIDER for every call) */
  provider: string;
  /** the vagrant executable */
  command?: string;
}

export interface CallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  onLine?: (line: string) => void;
}

interface CallResult {
  exitCode: number;
  output: string;
  timedOut: boolean;
  cancelled: boolean;
}

function tail(output: string, lines = 15): string {
  return output.trimEnd().split('\n').slice(-lines).join('\n');
}

export class VagrantDriver {
  private readonly command: string;

  constructor(private readonly options: VagrantDriverOptions) {
    this.command = options.command ?? 'vagrant';
  }

  private async call(args: string[], options: CallOptions = {}): Promise<CallResult> {
    const child = execa(this.command, args, {
      cwd: this.options.vagrantfileDir,
      env: {
        VAGRANT_CWD: this.options.vagrantfileDir,
        VAGRANT_DOTFILE_PATH: this.options.dotfilePath,
        STEMFORGE_VM_CONFIG: this.options.configFile,
        VAGRANT_DEFAULT_PROVIDER: this.options.provider,
        VAGRANT_CHECKPOINT_DISABLE: '1',
        VAGRANT_NO_COLOR: '1',
      },
      stdin: 'ignore',
      all: true,
      reject: false,
      timeout: options.timeoutMs,
      cancelSignal: options.signal,
      // SIGINT makes Vagrant clean up (a half-made VM is destroyed); a second one would
      // make it quit at once, so it gets its own process group and only our one signal.
      killSignal: 'SIGINT',
      detached: true,
      forceKillAfterDelay: 120_000,
    });
    const lines = new LineSplitter((l) => options.onLine?.(l));
    child.all?.on('data', (chunk: Buffer) => lines.push(chunk));
    const result = await child;
    lines.flush();
    if (result.code === 'ENOENT' || (result.exitCode === undefined && !result.signal && !result.isCanceled && !result.timedOut)) {
      throw new HintedError(
        `vagrant is not installed (no '${this.command}' on PATH)`,
        "install Vagrant (from your package manager or HashiCorp's installer), or use --machine ssh://… or --machine local",
      );
    }
    return {
      exitCode: result.exitCode ?? 1,
      output: typeof result.all === 'string' ? result.all : '',
      timedOut: !!result.timedOut,
      cancelled: !!result.isCanceled,
    };
  }

  private failure(what: string, result: CallResult, timeoutMs?: number): Error {
    if (result.cancelled) return new Error(`${what}: interrupted`);
    if (result.timedOut) {
      return new HintedError(
        `${what} did not finish within ${Math.round((timeoutMs ?? 0) / 60_000)} min; Vagrant was stopped with SIGINT and removed what it had half made`,
        'look at the output above; raise the bound with --vm-timeout MINUTES if the machine is just slow',
      );
    }
    const text = `${errorMessages(result.output).join('\n')}\n${result.output}`;
    const provider = /provider '([^']+)' could not be found/i.exec(text)?.[1];
    if (provider) {
      return new HintedError(
        `Vagrant has no '${provider}' provider`,
        provider === 'libvirt'
          ? "install the vagrant-libvirt plugin (vagrant plugin install vagrant-libvirt, or your distribution's vagrant-libvirt package)"
          : `install the ${provider} provider for Vagrant, or choose another with --machine vagrant:PROVIDER`,
      );
    }
    const unusable = /provider '([^']+)' that was requested to back the machine\s+'[^']*'\s+is\s+reporting that it isn't usable on this system/i.exec(text);
    if (unusable) {
      const reason = /The\s+reason is shown below:\s*([^\n]*)/i.exec(text)?.[1]?.trim();
      return new HintedError(
        `the Vagrant provider '${unusable[1]}' is not usable on this machine${reason ? `: ${reason}` : ''}`,
        `install ${unusable[1]}, or choose another provider with --machine vagrant:PROVIDER`,
      );
    }
    const box = /box '([^']+)' could not be found|could not be accessed in the remote catalog/i.exec(text);
    if (box) {
      return new HintedError(
        `the box ${box[1] ? `'${box[1]}' ` : ''}is not available: ${tail(result.output, 3)}`,
        'add it first (vagrant box add NAME --provider PROVIDER) or name another with --box NAME',
      );
    }
    return new Error(`${what} failed (exit ${result.exitCode}):\n${tail(result.output)}`);
  }

  /** The installed Vagrant's version; fails clearly when it is missing or too old. */
  async version(): Promise<string> {
    const result = await this.call(['--version'], { timeoutMs: 60_000 });
    const version = /Vagrant (\d+\.\d+\.\d+)/.exec(result.output)?.[1];
    if (result.exitCode !== 0 || !version) throw this.failure('vagrant --version', result);
    if (!versionAtLeast(version, minimumVagrant)) {
      throw new HintedError(`Vagrant ${version} is too old; stemforge needs ${minimumVagrant} or newer`, 'upgrade Vagrant');
    }
    return version;
  }

  async status(options: CallOptions = {}): Promise<VagrantStatus> {
    const result = await this.call(['status', '--machine-readable'], { timeoutMs: 120_000, ...options });
    if (result.exitCode !== 0) throw this.failure('vagrant status', result);
    return parseStatus(result.output);
  }

  async up(provider: string, options: CallOptions = {}): Promise<void> {
    const result = await this.call(['up', `--provider=${provider}`], options);
    if (result.exitCode !== 0 || result.cancelled) throw this.failure('vagrant up', result, options.timeoutMs);
  }

  async sshConfig(options: CallOptions = {}): Promise<VagrantSshConfig> {
    const result = await this.call(['ssh-config'], { timeoutMs: 120_000, ...options });
    if (result.exitCode !== 0) throw this.failure('vagrant ssh-config', result);
    return parseSshConfig(result.output);
  }

  async provision(options: CallOptions = {}): Promise<void> {
    const result = await this.call(['provision'], options);
    if (result.exitCode !== 0 || result.cancelled) throw this.failure('vagrant provision', result, options.timeoutMs);
  }

  async halt(options: CallOptions = {}): Promise<void> {
    const result = await this.call(['halt'], { timeoutMs: 300_000, ...options });
    if (result.exitCode !== 0 || result.cancelled) throw this.failure('vagrant halt', result, options.timeoutMs ?? 300_000);
  }

  async destroy(options: CallOptions = {}): Promise<void> {
    const result = await this.call(['destroy', '-f'], { timeoutMs: 300_000, ...options });
    if (result.exitCode !== 0 || result.cancelled) throw this.failure('vagrant destroy', result, options.timeoutMs ?? 300_000);
  }
}
