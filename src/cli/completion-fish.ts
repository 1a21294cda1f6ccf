// The fish completion script: `complete` rules per command, each guarded by a function that
// finds the command the cursor is in from the tokens typed so far.
import { allNodes, type CompletionNode, type CompletionOption, type ValueCompletion } from './completion.js';

/** Single-quote for fish (inside single quotes only \ and ' are special). */
const quote = (text: string): string => `'${text.replace(/[\\']/g, '\\$&')}'`;

/** A word inside a quoted -a or -n string, which fish expands again: bare when safe, else double-quoted. */
const inner = (text: string): string => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(text) ? text : `"${text.replace(/[\\"$]/g, '\\$&')}"`);

/** A word list for `complete -a`. */
const candidates = (list: readonly string[]): string => quote(list.map(inner).join(' '));

function valueFlags(values: ValueCompletion | undefined, fn: string): string {
  if (values === undefined) return '-x';
  if (values === 'file') return '-r -F';
  // fish's own helper lists directories; the text after --flag= is what it completes
  if (values === 'dir') return `-x -a ${quote(`(__fish_complete_directories (${fn}_token))`)}`;
  if ('commaSeparated' in values) return `-x -a ${quote(`(${fn}_comma ${values.commaSeparated.map(inner).join(' ')})`)}`;
  return `-x -a ${candidates(values)}`;
}

function optionRules(option: CompletionOption, condition: string, fn: string, name: string): string[] {
  const flags = option.flags.map((f) => (f.startsWith('--') ? `-l ${quote(f.slice(2))}` : `-s ${quote(f.slice(1))}`)).join(' ');
  const rule = `complete -c ${name} -n ${condition} ${flags}`;
  if (option.value === 'none') return [`${rule} -d ${quote(option.description)}`];
  const value = valueFlags(option.values, fn);
  if (!value.includes(' -a ')) return [`${rule} ${value} -d ${quote(option.description)}`];
  // the values in a rule of their own, so they are not all shown with the flag's description;
  // the rule with the description comes last, as fish shows the flag with the last one
  return [`${rule} ${value}`, `${rule} -x -d ${quote(option.description)}`];
}

function nodeRules(node: CompletionNode, fn: string, name: string): string[] {
  const path = node.path.join(' ');
  const inNode = quote(`${fn}_in ${inner(path)}`);
  const atArg = (index: number, variadic: boolean): string => quote(`${fn}_arg ${inner(path)} ${index}${variadic ? ' more' : ''}`);
  const rules = [`# ${path}`];
  // files only where an argument is a file
  if (!node.args.some((a) => a.values === 'file')) rules.push(`complete -c ${name} -n ${inNode} -f`);
  rules.push(...node.commands.map((c) => `complete -c ${name} -n ${atArg(0, false)} -f -a ${candidates([c.path.at(-1)!])} -d ${quote(c.description)}`));
  rules.push(...node.options.flatMap((o) => optionRules(o, inNode, fn, name)));
  node.args.forEach((a, i) => {
    if (a.values === 'file') rules.push(`complete -c ${name} -n ${atArg(i, a.variadic)} -F`);
    else if (a.values !== undefined) rules.push(`complete -c ${name} -n ${atArg(i, a.variadic)} ${valueFlags(a.values, fn).replace(/^-x /, '-f ')}`);
  });
  return rules;
}

export function fishScript(root: CompletionNode): string {
  const name = root.path[0]!;
  const fn = `__${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
  const nodes = allNodes(root);
  const commands = nodes.slice(1).map((n) => quote(n.path.join(' ')));
  const valued = nodes.flatMap((n) => n.options.filter((o) => o.value !== 'none').flatMap((o) => o.flags.map((f) => quote(`${n.path.join(' ')} ${f}`))));
  return `# fish completion for ${name}, printed by \`${name} completion fish\`. It holds this version's
# commands and flags, so completing never starts ${name}; print it again after an upgrade.

# sourcing it again replaces the rules instead of adding to them
complete -c ${name} -e

set -g ${fn}_commands ${commands.join(' ')}
# the flags that take a value, per command
set -g ${fn}_valued ${valued.join(' ')}

# prints the command the cursor is in ('${name} vm up') and how many arguments it has so far
function ${fn}_where
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l path ${quote(name)}
    set -l nargs 0
    set -l skip 0
    set -l dashdash 0
    for token in $tokens
        if test $skip = 1
            set skip 0
        else if test $dashdash = 0; and test "$token" = --
            set dashdash 1
        else if test $dashdash = 0; and string match -q -- '-?*' $token
            if not string match -q -- '*=*' $token; and contains -- "$path $token" $${fn}_valued
                set skip 1
            end
        else if test $nargs = 0; and contains -- "$path $token" $${fn}_commands
            set path "$path $token"
        else
            set nargs (math $nargs + 1)
        end
    end
    printf '%s\\n' $path $nargs
end

function ${fn}_in --argument-names command
    set -l where (${fn}_where)
    test "$where[1]" = $command
end

# true at argument INDEX of COMMAND (with 'more': or any after it)
function ${fn}_arg --argument-names command index more
    set -l where (${fn}_where)
    test "$where[1]" = $command; or return 1
    test $where[2] -eq $index; or begin; test -n "$more"; and test $where[2] -gt $index; end
end

# the current token without a leading --flag=
function ${fn}_token
    commandline -ct | string replace -r -- '^--?[^=]*=' ''
end

# the given items, each after what is already typed up to the last comma
function ${fn}_comma
    set -l head (${fn}_token | string replace -r -- '[^,]*$' '')
    printf '%s\\n' "$head"$argv
end

${nodes.flatMap((n) => nodeRules(n, fn, name)).join('\n')}
`;
}
