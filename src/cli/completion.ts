// The completion tree: what the shell completion scripts are generated from, read off the
// commander tree when `stemforge completion` runs, so a command or flag added anywhere shows
// up without a change here. The shell-specific writers (completion-bash.ts, -zsh.ts, -fish.ts)
// import it; it imports none of them.
import type { Argument, Command, Option } from 'commander';

/** What a value completes to: fixed words, the last item of a comma-separated list, or paths. */
export type ValueCompletion = readonly string[] | { readonly commaSeparated: readonly string[] } | 'file' | 'dir';

/**
 * Value completions by an option's long flag ('--os') or an argument's name in angle brackets
 * ('<file>'), for those without commander choices. Anything else completes to nothing.
 */
export type ValueCompletions = Readonly<Record<string, ValueCompletion>>;

export interface CompletionOption {
  /** the short flag first when there is one: ['-V', '--version'] */
  flags: string[];
  description: string;
  /** 'none': a flag; 'required': <value>; 'optional': [value] */
  value: 'none' | 'required' | 'optional';
  /** the value's name in the help (<name>), for the shells that show it */
  valueName: string;
  /** undefined: nothing to offer (a URL, a number) */
  values?: ValueCompletion;
}

export interface CompletionArgument {
  name: string;
  required: boolean;
  variadic: boolean;
  /** undefined: nothing to offer (a setting's value, a remote command) */
  values?: ValueCompletion;
}

export interface CompletionNode {
  /** ['stemforge', 'vm', 'up'] */
  path: string[];
  description: string;
  options: CompletionOption[];
  commands: CompletionNode[];
  args: CompletionArgument[];
}

const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim();

function completionOption(option: Option, values: ValueCompletions): CompletionOption {
  const flags = [option.short, option.long].filter((f): f is string => f !== undefined);
  return {
    flags,
    description: oneLine(option.description),
    value: option.required ? 'required' : option.optional ? 'optional' : 'none',
    valueName: /[<[]([^>\]]+?)(\.\.\.)?[>\]]/.exec(option.flags)?.[1] ?? 'value',
    // commander's choices are what it accepts; the map covers everything else
    values: option.argChoices ?? (option.long ? values[option.long] : undefined),
  };
}

function completionArgument(argument: Argument, command: Command, siblings: string[], values: ValueCompletions): CompletionArgument {
  // commander's own `help [command]` takes the name of a command next to it
  const helpTarget = command.name() === 'help' && argument.name() === 'command';
  return {
    name: argument.name(),
    required: argument.required,
    variadic: argument.variadic,
    values: argument.argChoices ?? (helpTarget ? siblings : values[`<${argument.name()}>`]),
  };
}

/** The visible commands, options and arguments of a program, with what each value completes to. */
export function completionTree(program: Command, values: ValueCompletions): CompletionNode {
  // commander's Help knows which commands and options are visible, its implicit help command included
  const help = program.createHelp();
  const walk = (command: Command, path: string[], siblings: string[]): CompletionNode => {
    const commands = help.visibleCommands(command);
    const names = commands.map((c) => c.name()).filter((n) => n !== 'help');
    return {
      path,
      description: oneLine(command.description()),
      options: help.visibleOptions(command).map((o) => completionOption(o, values)),
      commands: commands.map((c) => walk(c, [...path, c.name()], names)),
      args: command.registeredArguments.map((a) => completionArgument(a, command, siblings, values)),
    };
  };
  return walk(program, [program.name()], []);
}

/** Every node of the tree, parents before their children. */
export function allNodes(root: CompletionNode): CompletionNode[] {
  return [root, ...root.commands.flatMap(allNodes)];
}
