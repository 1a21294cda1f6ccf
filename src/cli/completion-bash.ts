// The bash completion script: a table of every command (its subcommands, flags and what
// each value completes to) and one function that walks the words typed so far.
import { shellQuote } from '../machine/quote.js';
import { allNodes, type CompletionNode, type ValueCompletion } from './completion.js';

const words = (list: readonly string[]): string => `(${list.map(shellQuote).join(' ')})`;

/** `_sf_kind=… _sf_words=(…)` for one value; 'nothing' is an argument with nothing to offer. */
function valueAssignment(values: ValueCompletion | undefined): string {
  if (values === undefined) return '_sf_kind=nothing';
  if (values === 'file' || values === 'dir') return `_sf_kind=${values}`;
  if ('commaSeparated' in values) return `_sf_kind=list _sf_words=${words(values.commaSeparated)}`;
  return `_sf_kind=words _sf_words=${words(values)}`;
}

function nodeCase(node: CompletionNode): string {
  const flags = node.options.flatMap((o) => o.flags);
  const valued = node.options.filter((o) => o.value !== 'none').flatMap((o) => o.flags);
  return [
    `    ${shellQuote(node.path.join(' '))})`,
    `      _sf_commands=${words(node.commands.map((c) => c.path.at(-1)!))}`,
    `      _sf_flags=${words(flags)}`,
    `      _sf_valued=${words(valued)} ;;`,
  ].join('\n');
}

/** Cases keyed 'PATH --flag' for option values and 'PATH #N' for the Nth argument. */
function valueCases(node: CompletionNode): string[] {
  const path = node.path.join(' ');
  const options = node.options
    .filter((o) => o.value !== 'none' && o.values !== undefined)
    .map((o) => `    ${o.flags.map((f) => shellQuote(`${path} ${f}`)).join('|')}) ${valueAssignment(o.values)} ;;`);
  // a variadic argument is last: '#'* catches its index and every one after it
  const args = node.args.map((a, i) => `    ${shellQuote(`${path} #${a.variadic ? '' : i}`)}${a.variadic ? '*' : ''}) ${valueAssignment(a.values)} ;;`);
  return [...options, ...args];
}

export function bashScript(root: CompletionNode): string {
  const name = root.path[0]!;
  const fn = `_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
  const nodes = allNodes(root);
  return `# bash completion for ${name}, printed by \`${name} completion bash\`. It holds this
# version's commands and flags, so completing never starts ${name}; print it again after
# an upgrade.

# ${fn}_node PATH: the subcommands, flags and flags taking a value of one command
${fn}_node() {
  _sf_commands=() _sf_flags=() _sf_valued=()
  case $1 in
${nodes.map(nodeCase).join('\n')}
  esac
}

# ${fn}_value 'PATH --flag' or 'PATH #N': what that value completes to
# (_sf_kind words, list (comma-separated), file, dir, nothing or none (no such value); _sf_words)
${fn}_value() {
  _sf_kind=none _sf_words=()
  case $1 in
${nodes.flatMap(valueCases).join('\n')}
  esac
}

${fn}_has() {
  local word=$1 w
  shift
  for w in "$@"; do [[ $w == "$word" ]] && return 0; done
  return 1
}

${fn}() {
  local line=\${COMP_LINE:0:COMP_POINT} w i n spaced cur
  local -a words=()
  # bash splits words at ':' and '=' too (COMP_WORDBREAKS); glue those back so that
  # vagrant:libvirt and --os=NAME read as one word, as stemforge reads them
  for ((i = 0; i <= COMP_CWORD; i++)); do
    spaced=0
    [[ $line == [[:space:]]* ]] && spaced=1
    line=\${line#"\${line%%[![:space:]]*}"}
    if ((i < COMP_CWORD)); then
      w=\${COMP_WORDS[i]}
      line=\${line#"$w"}
    else
      w=$line
    fi
    n=\${#words[@]}
    if ((n > 0 && !spaced)) && [[ $w == [:=]* || \${words[n-1]} == *[:=] ]]; then
      words[n-1]+=$w
    else
      words+=("$w")
    fi
  done
  n=\${#words[@]}
  cur=\${words[n-1]}
  unset 'words[n-1]'

  # which command the cursor is in: follow subcommand names, step over flags and their values
  local path=${shellQuote(name)} expect= dashdash=0 nargs=0
  local -a _sf_commands _sf_flags _sf_valued _sf_words
  local _sf_kind
  ${fn}_node "$path"
  for ((i = 1; i < n - 1; i++)); do
    w=\${words[i]}
    if [[ -n $expect ]]; then
      expect=
    elif ((!dashdash)) && [[ $w == -- ]]; then
      dashdash=1
    elif ((!dashdash)) && [[ $w == -?* ]]; then
      [[ $w != *=* ]] && ${fn}_has "$w" "\${_sf_valued[@]}" && expect=$w
    elif ((nargs == 0)) && ${fn}_has "$w" "\${_sf_commands[@]}"; then
      path+=" $w"
      ${fn}_node "$path"
    else
      nargs=$((nargs + 1))
    fi
  done

  local prefix= value=$cur
  if [[ -n $expect ]]; then
    ${fn}_value "$path $expect"
  elif ((!dashdash)) && [[ $cur == -*=* ]]; then
    prefix=\${cur%%=*}= value=\${cur#*=}
    ${fn}_value "$path \${cur%%=*}"
  elif ((!dashdash)) && [[ $cur == -* ]]; then
    _sf_kind=words _sf_words=("\${_sf_flags[@]}")
  elif ((nargs == 0 && \${#_sf_commands[@]} > 0)); then
    _sf_kind=words _sf_words=("\${_sf_commands[@]}")
  else
    ${fn}_value "$path #$nargs"
    # no (further) argument: the flags are what can come next
    if [[ $_sf_kind == none ]] && ((!dashdash)); then
      _sf_kind=words _sf_words=("\${_sf_flags[@]}")
    fi
  fi

  local -a found=()
  case $_sf_kind in
    words)
      for w in "\${_sf_words[@]}"; do [[ $w == "$value"* ]] && found+=("$w"); done ;;
    list)
      local head=\${value%"\${value##*,}"}
      for w in "\${_sf_words[@]}"; do [[ $head$w == "$value"* ]] && found+=("$head$w"); done ;;
    file | dir)
      compopt -o filenames 2>/dev/null
      if [[ $_sf_kind == dir ]]; then mapfile -t found < <(compgen -d -- "$value"); else mapfile -t found < <(compgen -f -- "$value"); fi ;;
  esac

  # bash replaces only the part of the word after its last ':' or '=' break: answer with that part
  local breaks=\${COMP_WORDBREAKS//[^:=]/} keep=0
  if [[ -n $breaks && $cur == *["$breaks"]* ]]; then
    w=\${cur##*["$breaks"]}
    keep=$((\${#cur} - \${#w}))
  fi
  COMPREPLY=()
  for w in "\${found[@]}"; do
    w=$prefix$w
    COMPREPLY+=("\${w:keep}")
  done
  # ssh:// and vagrant: are only the start of a word
  if ((\${#COMPREPLY[@]} == 1)) && [[ \${COMPREPLY[0]} == *[:/,] ]]; then
    compopt -o nospace 2>/dev/null
  fi
  return 0
}

complete -F ${fn} ${shellQuote(name)}
`;
}
