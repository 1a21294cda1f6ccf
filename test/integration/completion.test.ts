// Shell completion as users meet it: the script `stemforge completion SHELL` prints, loaded
// into the real bash, zsh and fish, completing command lines the way each shell does on TAB.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { Command } from 'commander';
import { vagrantProviders } from '../../src/catalog/builder-vm.js';
import { infrastructures } from '../../src/catalog/infrastructures.js';
import { operatingSystems } from '../../src/catalog/operating-systems.js';
import { addCompletionCommand, completionScript, defaultValueCompletions } from '../../src/cli/completion-command.js';
import { buildProgram } from '../../src/cli/main.js';
import { packageRoot } from '../../src/util/paths.js';

const cli = join(packageRoot, 'bin', 'stemforge.js');

function stemforge(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { env: { ...process.env, NO_COLOR: '1' }, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The real command tree, with the completion command (main.ts registers it). */
function program(): Command {
  const p = buildProgram(['node', 'stemforge'], () => {}, new AbortController().signal);
  if (!p.commands.some((c) => c.name() === 'completion')) addCompletionCommand(p);
  return p;
}

const notInstalled = (shell: string): string | undefined =>
  spawnSync(shell, ['--version']).error ? `${shell} is not installed (scripts/install-build-deps.sh installs it)` : undefined;

/** What the shell offers, without descriptions, each once, sorted. */
const offered = (lines: string): string[] =>
  [
    ...new Set(
      lines
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => l.split('\t')[0]!),
    ),
  ].sort();
const sorted = (list: readonly string[]): string[] => [...list].sort();

// What the real tree and the catalog say the scripts must offer.
const tree = program();
const subcommands = (names: string[]): string[] => {
  const command = names.reduce((c, n) => c.commands.find((s) => s.name() === n)!, tree);
  return [...command.commands.map((c) => c.name()), 'help'];
};
const stemcellLongFlags = [...tree.commands.find((c) => c.name() === 'stemcell')!.options.map((o) => o.long!), '--help'];
const osNames = operatingSystems.map((o) => o.name);
const iaasA = infrastructures.map((i) => i.name).filter((n) => n.startsWith('a'));
const machines = ['local', 'vagrant', ...vagrantProviders.map((p) => `vagrant:${p}`), 'ssh://'];

/** A folder to complete file names in: one OS image and a file that does not match. */
function filesDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sf-complete-files-'));
  writeFileSync(join(dir, 'image.tgz'), '');
  writeFileSync(join(dir, 'other.txt'), '');
  return dir;
}

/**
 * A PATH whose first folder holds a `stemforge` and a `node` that leave a mark when run:
 * completing must start neither (no node start per TAB).
 */
function trapPath(): { path: string; ran: () => string[] } {
  const bin = mkdtempSync(join(tmpdir(), 'sf-complete-trap-'));
  for (const name of ['stemforge', 'node']) {
    writeFileSync(join(bin, name), `#!/bin/sh\ntouch "${bin}/ran-${name}"\n`, { mode: 0o755 });
  }
  return { path: `${bin}:${process.env.PATH ?? ''}`, ran: () => readdirSync(bin).filter((f) => f.startsWith('ran-')) };
}

interface Case {
  what: string;
  line: string;
  offers: string[];
}

/** The cases every shell answers the same way; each shell adds its own for '=', ':' and ','. */
const commonCases: Case[] = [
  { what: 'the top-level commands', line: 'stemforge ', offers: subcommands([]) },
  { what: 'the subcommands of vm', line: 'stemforge vm ', offers: subcommands(['vm']) },
  { what: 'the flags of stemcell', line: 'stemforge stemcell --', offers: stemcellLongFlags },
  { what: 'the values of --os', line: 'stemforge os-image --os ', offers: osNames },
  { what: 'the values of --iaas', line: 'stemforge stemcell --iaas a', offers: iaasA },
  { what: 'the values of --machine', line: 'stemforge stemcell --machine ', offers: machines },
  { what: 'a file for --os-image', line: 'stemforge stemcell --iaas aws --os-image im', offers: ['image.tgz'] },
  { what: 'the shells of completion', line: 'stemforge completion ', offers: ['bash', 'fish', 'zsh'] },
];

const script = (shell: string): string => {
  const r = stemforge(['completion', shell]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
};

describe('stemforge completion', () => {
  it('sees the real command tree', () => {
    for (const name of ['os-image', 'stemcell', 'vm', 'completion']) assert.ok(subcommands([]).includes(name), name);
    for (const name of ['up', 'status', 'ssh', 'halt', 'destroy']) assert.ok(subcommands(['vm']).includes(name), name);
    assert.ok(stemcellLongFlags.includes('--os-image'));
  });

  it('exits 2 for an unknown shell, listing the valid ones', () => {
    const r = stemforge(['completion', 'tcsh']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /unknown shell 'tcsh'; valid choices: bash, zsh, fish/);
    assert.equal(r.stdout, '');
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
  });

  it('says how to install each script', () => {
    const r = stemforge(['completion', '--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const line of [
      'source <(stemforge completion bash)',
      '~/.local/share/bash-completion/completions/stemforge',
      '_stemforge',
      '$fpath',
      'stemforge completion fish > ~/.config/fish/completions/stemforge.fish',
    ]) {
      assert.ok(r.stdout.includes(line), line);
    }
  });
});

// bash: source the script, fill COMP_* as bash does for the line (it splits words at ':' and
// '=' too) and call the function `complete -p` names, then print COMPREPLY.
const bashDriver = `
source "$1"
line=$2
fn=$(complete -p stemforge | sed -E 's/.* -F ([^ ]+) .*/\\1/')
read -ra raw <<<"$line"
COMP_WORDS=()
for w in "\${raw[@]}"; do
  while [[ -n $w ]]; do
    if [[ $w == [:=]* ]]; then COMP_WORDS+=("\${w:0:1}"); w=\${w:1}; else p=\${w%%[:=]*}; COMP_WORDS+=("$p"); w=\${w:\${#p}}; fi
  done
done
[[ $line == *' ' ]] && COMP_WORDS+=('')
COMP_CWORD=$((\${#COMP_WORDS[@]} - 1))
COMP_LINE=$line
COMP_POINT=\${#line}
"$fn" stemforge "\${COMP_WORDS[COMP_CWORD]}" "\${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\\n' "\${COMPREPLY[@]}"
`;

describe('bash completion', { skip: notInstalled('bash') }, () => {
  let dir: string;
  let files: string;
  const trap = trapPath();
  const complete = (line: string, scriptFile = join(dir, 'stemforge.bash')): string[] => {
    const r = spawnSync('bash', ['--norc', '--noprofile', join(dir, 'driver.bash'), scriptFile, line], {
      cwd: files,
      encoding: 'utf8',
      env: { PATH: trap.path },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    return offered(r.stdout);
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sf-complete-bash-'));
    files = filesDir();
    writeFileSync(join(dir, 'stemforge.bash'), script('bash'));
    writeFileSync(join(dir, 'driver.bash'), bashDriver);
  });

  const cases: Case[] = [
    ...commonCases,
    // bash puts back only the part after the ':' or '=' bash split the word at
    { what: 'the values of --os after =', line: 'stemforge stemcell --os=ubuntu-', offers: osNames.filter((n) => n.startsWith('ubuntu-')) },
    { what: 'the provider after vagrant:', line: 'stemforge stemcell --machine vagrant:li', offers: ['libvirt'] },
    { what: 'the last --iaas item after a comma', line: 'stemforge stemcell --iaas aws,go', offers: ['aws,google'] },
  ];
  for (const c of cases) {
    it(`offers ${c.what}`, () => assert.deepEqual(complete(c.line), sorted(c.offers)));
  }

  it('offers a command added to the tree later, with its flags', () => {
    const p = program();
    p.command('added-later').description('a command this test adds').option('--shine', 'a flag of it');
    const file = join(dir, 'later.bash');
    writeFileSync(file, completionScript('bash', p, defaultValueCompletions()));
    assert.ok(complete('stemforge ', file).includes('added-later'));
    assert.deepEqual(complete('stemforge added-later --', file), ['--help', '--shine']);
  });

  it('started neither stemforge nor node while completing', () => assert.deepEqual(trap.ran(), []));
});

// zsh: an interactive zsh on a pseudo-terminal (zsh/zpty) with compinit and the script as
// _stemforge on $fpath; the line is typed with a TAB. A compadd wrapper writes every match
// the completion functions add to a file, and a hook after the completion marks the end.
const zshDriver = `
zmodload zsh/zpty || { print -u2 'this zsh has no zsh/zpty module'; exit 3 }
local dir=$1 out=$2 line=$3
: >| $out
zpty sfz 'TERM=xterm zsh -f -i'
zpty -w sfz "fpath=(\${(q)dir} \\$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w sfz "zstyle ':completion:*' list-prompt ''; LISTMAX=100000"
zpty -w sfz "compadd() { local -a __hits; if [[ \\\${@[1,(i)(-|--)]} == *-(O|A|D)\\\\ * ]]; then builtin compadd \\"\\$@\\"; return; fi; builtin compadd -A __hits \\"\\$@\\"; (( \\$#__hits )) && print -rl -- \\$__hits >> \${(q)out}; builtin compadd \\"\\$@\\"; }"
zpty -w sfz "__sf_done() { print -r -- '--done--' >> \${(q)out} }; comppostfuncs=(__sf_done)"
zpty -w sfz "cd \${(q)PWD}"
zpty -w -n sfz "$line"$'\\t'
for i in {1..200}; do
  grep -q -- '^--done--$' $out 2>/dev/null && break
  zpty -r -t sfz junk 2>/dev/null
  sleep 0.1
done
zpty -d sfz
grep -q -- '^--done--$' $out || { print -u2 "zsh ran no completion for: $line"; exit 1 }
grep -v -- '^--done--$' $out
exit 0
`;

describe('zsh completion', { skip: notInstalled('zsh') }, () => {
  let dir: string;
  let files: string;
  const trap = trapPath();
  const complete = (line: string): string[] => {
    const r = spawnSync('zsh', ['-f', join(dir, 'driver.zsh'), join(dir, 'functions'), join(dir, 'matches'), line], {
      cwd: files,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, PATH: trap.path },
    });
    assert.equal(r.status, 0, r.stderr);
    return offered(r.stdout);
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sf-complete-zsh-'));
    files = filesDir();
    mkdirSync(join(dir, 'functions'));
    writeFileSync(join(dir, 'functions', '_stemforge'), script('zsh'));
    writeFileSync(join(dir, 'driver.zsh'), zshDriver);
  });

  const cases: Case[] = [
    ...commonCases,
    // _arguments completes the text after '='; _sequence the item after the last comma
    { what: 'the values of --os after =', line: 'stemforge stemcell --os=ubuntu-', offers: osNames.filter((n) => n.startsWith('ubuntu-')) },
    { what: 'the provider after vagrant:', line: 'stemforge stemcell --machine vagrant:li', offers: ['vagrant:libvirt'] },
    { what: 'the last --iaas item after a comma', line: 'stemforge stemcell --iaas aws,go', offers: ['google'] },
  ];
  for (const c of cases) {
    it(`offers ${c.what}`, () => assert.deepEqual(complete(c.line), sorted(c.offers)));
  }

  it('started neither stemforge nor node while completing', () => assert.deepEqual(trap.ran(), []));
});

// fish: `complete -C LINE` asks fish for exactly what TAB would offer.
describe('fish completion', { skip: notInstalled('fish') }, () => {
  let dir: string;
  let files: string;
  const trap = trapPath();
  const complete = (line: string): string[] => {
    const r = spawnSync('fish', ['--no-config', '-c', 'source $argv[1]; and complete -C $argv[2]', join(dir, 'stemforge.fish'), line], {
      cwd: files,
      encoding: 'utf8',
      env: { ...process.env, PATH: trap.path },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    return offered(r.stdout);
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sf-complete-fish-'));
    files = filesDir();
    writeFileSync(join(dir, 'stemforge.fish'), script('fish'));
  });

  const cases: Case[] = [
    ...commonCases,
    // fish answers with the whole token, --flag= included
    {
      what: 'the values of --os after =',
      line: 'stemforge stemcell --os=ubuntu-',
      offers: osNames.filter((n) => n.startsWith('ubuntu-')).map((n) => `--os=${n}`),
    },
    { what: 'the provider after vagrant:', line: 'stemforge stemcell --machine vagrant:li', offers: ['vagrant:libvirt'] },
    { what: 'the last --iaas item after a comma', line: 'stemforge stemcell --iaas aws,go', offers: ['aws,google'] },
    { what: 'the last --iaas item after --iaas=', line: 'stemforge stemcell --iaas=aws,go', offers: ['--iaas=aws,google'] },
  ];
  for (const c of cases) {
    it(`offers ${c.what}`, () => assert.deepEqual(complete(c.line), sorted(c.offers)));
  }

  it('started neither stemforge nor node while completing', () => assert.deepEqual(trap.ran(), []));
});
