// `stemforge completion bash|zsh|fish`: print the shell's completion script, written by the
// shell's module from the completion tree (completion.ts). The scripts are fixed tables, so
// pressing TAB never starts node. The values offered for flags come from the catalog here;
// completion.ts knows no stemforge names.
import { Argument, type Command } from 'commander';
import { vagrantProviders } from '../catalog/builder-vm.js';
import { infrastructures } from '../catalog/infrastructures.js';
import { operatingSystems } from '../catalog/operating-systems.js';
import { optionSpecs, storedKeys } from '../settings/options.js';
import { UnknownNameError } from '../util/errors.js';
import { completionTree, type ValueCompletions } from './completion.js';
import { bashScript } from './completion-bash.js';
import { fishScript } from './completion-fish.js';
import { zshScript } from './completion-zsh.js';

export const completionShells = ['bash', 'zsh', 'fish'] as const;
export type CompletionShell = (typeof completionShells)[number];

export function completionScript(shell: CompletionShell, program: Command, values: ValueCompletions): string {
  const tree = completionTree(program, values);
  switch (shell) {
    case 'bash':
      return bashScript(tree);
    case 'zsh':
      return zshScript(tree);
    case 'fish':
      return fishScript(tree);
  }
}

/** What the values of stemforge's flags and arguments complete to, wherever a command has them. */
export function defaultValueCompletions(): ValueCompletions {
  const unique = (list: string[]): string[] => [...new Set(list)];
  // the option table's fixed sets (--libvirt-driver, …); the entries below say more where they know more
  const choices = Object.fromEntries(
    optionSpecs.filter((s) => s.choices).map((s) => [s.flag, s.kind === 'list' ? { commaSeparated: s.choices! } : s.choices!] as const),
  );
  return {
    ...choices,
    '--os': operatingSystems.map((o) => o.name),
    '--iaas': { commaSeparated: infrastructures.map((i) => i.name) },
    '--provider': [...vagrantProviders],
    // the forms parseMachineSpec takes; ssh:// is only the start of an address
    '--machine': ['local', 'vagrant', ...vagrantProviders.map((p) => `vagrant:${p}`), 'ssh://'],
    '--disk-format': unique(infrastructures.flatMap((i) => i.diskFormats)),
    // the planner accepts either hypervisor word of an infrastructure
    '--hypervisor': unique(infrastructures.flatMap((i) => [i.nameHypervisor, i.hypervisor])),
    '--on-error': ['abort', 'keep', 'retry', 'ask'],
    '--out': 'dir',
    '--cache-dir': 'dir',
    // a folder on the build machine; often this one (--machine local)
    '--build-root': 'dir',
    '--os-image': 'file',
    '--agent-file': 'file',
    '--identity': 'file',
    '--known-hosts': 'file',
    '--console-log': 'file',
    // arguments, by name: inspect <file>, version set <os> <iaas> <version>, config get <key>
    '<file>': 'file',
    '<os>': operatingSystems.map((o) => o.name),
    '<iaas>': infrastructures.map((i) => i.name),
    '<key>': [...storedKeys],
  };
}

const installHelp = `
Install (the script lists this version's commands: print it again after an upgrade):
  bash  in ~/.bashrc:  source <(stemforge completion bash)
        or once:       stemforge completion bash > ~/.local/share/bash-completion/completions/stemforge
  zsh   a _stemforge file in a folder on $fpath, before compinit runs in ~/.zshrc:
                       mkdir -p ~/.zfunc && stemforge completion zsh > ~/.zfunc/_stemforge
                       (in ~/.zshrc: fpath=(~/.zfunc $fpath); autoload -Uz compinit; compinit)
  fish                 stemforge completion fish > ~/.config/fish/completions/stemforge.fish`;

function parseShell(value: string): CompletionShell {
  const shell = completionShells.find((s) => s === value);
  if (!shell) throw new UnknownNameError('shell', value, completionShells);
  return shell;
}

export function addCompletionCommand(program: Command): void {
  program
    .command('completion')
    .description('print the shell completion script for bash, zsh or fish on stdout')
    // choices() shows the shells in --help and to the completion scripts; the parser after it
    // replaces commander's check, so an unknown shell reads like every other unknown name (exit 2)
    .addArgument(new Argument('<shell>', 'the shell').choices(completionShells).argParser(parseShell))
    .addHelpText('after', installHelp)
    .action((shell: CompletionShell) => {
      process.stdout.write(completionScript(shell, program, defaultValueCompletions()));
    });
}
