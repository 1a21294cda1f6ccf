// The zsh completion script: one _arguments function per command. The file works both as
// an autoloaded _stemforge on $fpath and sourced after compinit.
import { allNodes, type CompletionNode, type CompletionOption, type ValueCompletion } from './completion.js';

/** Single-quote for zsh. */
const quote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

/** One word inside an _arguments action: shell-escaped, and ':' escaped for the spec's fields. */
const actionWord = (word: string): string => word.replace(/[^A-Za-z0-9_@%+=,./-]/g, '\\$&');

/** Text inside an option's [description]. */
const bracketed = (text: string): string => text.replace(/[\\[\]:]/g, '\\$&');

function action(values: ValueCompletion | undefined): string {
  if (values === undefined) return ' ';
  if (values === 'file') return '_files';
  if (values === 'dir') return '_files -/';
  // _sequence completes the item after the last comma and leaves out the ones already given
  if ('commaSeparated' in values) return `_sequence compadd - ${values.commaSeparated.map(actionWord).join(' ')}`;
  return `(${values.map(actionWord).join(' ')})`;
}

function optionSpecs(option: CompletionOption): string[] {
  const exclusive = option.flags.length > 1 ? `(${option.flags.join(' ')})` : '';
  const argument = option.value === 'none' ? '' : `${option.value === 'optional' ? '::' : ':'}${option.valueName}:${action(option.values)}`;
  return option.flags.map((flag) => {
    // --flag= takes the value after '=' or as the next word; -f+ in the same word or the next
    const valueMark = option.value === 'none' ? '' : flag.startsWith('--') ? '=' : '+';
    return quote(`${exclusive}${flag}${valueMark}[${bracketed(option.description)}]${argument}`);
  });
}

function functionName(node: CompletionNode): string {
  return `_${node.path.join('_').replace(/[^A-Za-z0-9_]/g, '_')}`;
}

function nodeFunction(node: CompletionNode): string {
  const options = node.options.flatMap(optionSpecs);
  const head = `# ${node.path.join(' ')}\n${functionName(node)}() {`;
  if (node.commands.length === 0) {
    const args = node.args.map((a, i) => {
      const position = a.variadic ? '*' : `${i + 1}`;
      return quote(`${position}${a.required || a.variadic ? ':' : '::'}${a.name}:${action(a.values)}`);
    });
    const specs = [...options, ...args];
    return `${head}\n  _arguments -S${specs.map((s) => ` \\\n    ${s}`).join('')}\n}`;
  }
  const commands = node.commands.map((c) => quote(`${c.path.at(-1)!.replace(/:/g, '\\:')}:${c.description}`));
  const dispatch = node.commands.map((c) => `        (${quote(c.path.at(-1)!)}) ${functionName(c)} && ret=0 ;;`);
  return `${head}
  local curcontext=$curcontext state state_descr line ret=1
  typeset -A opt_args
  _arguments -C -S${[...options, quote(': :->command'), quote('*:: :->argument')].map((s) => ` \\\n    ${s}`).join('')} && ret=0
  case $state in
    (command)
      local -a commands=(${commands.map((c) => `\n        ${c}`).join('')}
      )
      _describe -t commands ${quote(`${node.path.join(' ')} command`)} commands && ret=0
      ;;
    (argument)
      curcontext=\${curcontext%:*:*}:${node.path.join('-')}-$words[1]:
      case $words[1] in
${dispatch.join('\n')}
      esac
      ;;
  esac
  return ret
}`;
}

export function zshScript(root: CompletionNode): string {
  const name = root.path[0]!;
  const fn = functionName(root);
  // children first: the root function comes last, right before it is called
  const functions = allNodes(root).reverse().map(nodeFunction);
  return `#compdef ${name}
# zsh completion for ${name}, printed by \`${name} completion zsh\`. It holds this version's
# commands and flags, so completing never starts ${name}; print it again after an upgrade.

${functions.join('\n\n')}

# autoloaded from $fpath this file is the body of ${fn}: define, then complete; sourced, register
if [[ \${funcstack[1]} == ${fn} ]]; then
  ${fn} "$@"
else
  compdef ${fn} ${name}
fi
`;
}
