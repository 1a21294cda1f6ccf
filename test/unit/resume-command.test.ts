// The resume command printed after a failed stage: every flag of the failed command survives
// (but --resume-from, which it replaces, and --dry-run), each value intact after a real
// shell has read the line. Checked over every option the build, os-image and stemcell
// commands register, so a flag added later is covered without editing this test.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import type { Command, Option } from 'commander';
import { answerFlags } from '../../src/cli/build-answers.js';
import { buildProgram } from '../../src/cli/main.js';
import { resumeCommand } from '../../src/cli/request.js';
import type { BuildAnswers } from '../../src/wizard/build-wizard.js';

/** The words a shell makes of `line` (its first word, the program, dropped). */
function shellWords(line: string): string[] {
  const out = execFileSync('bash', ['-c', `set -- ${line}; shift; printf '%s\\0' "$@"`]).toString();
  return out.split('\0').slice(0, -1);
}

function command(name: string): Command {
  const program = buildProgram(['node', 'stemforge'], () => undefined, new AbortController().signal);
  return program.commands.find((c) => c.name() === name)!;
}

const takesValue = (o: Option): boolean => o.required || o.optional;
/** A value a careless quoting would break: blanks, quotes, a glob, a $. */
const valueOf = (o: Option): string => `v ${o.long!.slice(2)} 'q' "d" * $HOME`;

/** Every long option of `name` but --help, as argv groups, --resume-from with an old stage. */
function everyFlag(name: string): string[][] {
  return command(name)
    .options.filter((o) => o.long && o.long !== '--help')
    .map((o) => (o.long === '--resume-from' ? [o.long, 'old_stage'] : takesValue(o) ? [o.long!, valueOf(o)] : [o.long!]));
}

/** The argv a user typed: node, the script, the command, the flags. */
const argvOf = (name: string, groups: string[][]): string[] => ['node', '/somewhere/stemforge.js', name, ...groups.flat()];

/** The flag groups of `words` (the command's name first), split by the option table of `name`. */
function groupsOf(name: string, words: string[]): string[][] {
  const options = command(name).options;
  const groups: string[][] = [];
  for (let i = 1; i < words.length; i++) {
    const option = options.find((o) => o.long === words[i] || o.short === words[i]);
    assert.ok(option, `${words[i]} is an option of ${name}`);
    groups.push(takesValue(option) ? [words[i]!, words[++i]!] : [words[i]!]);
  }
  return groups;
}

describe('resume command', () => {
  for (const name of ['build', 'os-image', 'stemcell']) {
    it(`${name}: every flag survives, quoted for a shell; --resume-from is replaced, --dry-run dropped`, () => {
      const given = everyFlag(name);
      assert.ok(given.length > 10, `${name} has its options`);
      const words = shellWords(resumeCommand(argvOf(name, given), 'new_stage'));
      assert.equal(words[0], name);
      const groups = groupsOf(name, words);
      const expected = given.filter((g) => g[0] !== '--resume-from' && g[0] !== '--dry-run');
      assert.deepEqual(groups.slice(0, -1), expected);
      assert.deepEqual(groups.at(-1), ['--resume-from', 'new_stage']);
    });
  }

  it('build: the answers come first, and a flag given is not repeated by them', () => {
    const answers: BuildAnswers = {
      iaas: ['aws'],
      os: 'debian-bookworm',
      machine: 'vagrant:libvirt',
      cpus: 4,
      memory: 8192,
      diskSize: 60,
      version: '1.2',
      agent: { kind: 'file', file: 'my agent' },
      outputDir: 'out dir',
    };
    const argv = argvOf('build', [['-y'], ['--iaas', 'aws'], ['--cache-dir', '/c d'], ['--mirror', 'http://m/debian'], ['--resume-from', 'x'], ['--json']]);
    const words = shellWords(resumeCommand(argv, 'bosh_go_agent', answerFlags(answers)));
    const groups = groupsOf('build', words);
    assert.deepEqual(groups.slice(0, answerFlags(answers).length), answerFlags(answers));
    assert.deepEqual(groups.slice(answerFlags(answers).length), [
      ['--cache-dir', '/c d'],
      ['--mirror', 'http://m/debian'],
      ['--json'],
      ['--resume-from', 'bosh_go_agent'],
    ]);
    assert.equal(groups.filter((g) => g[0] === '--iaas').length, 1, '--iaas once');
    assert.ok(!groups.some((g) => g[0] === '-y'), '-y is the answers’ --yes');
  });

  it('the --flag=value form of --resume-from is replaced too', () => {
    assert.equal(
      resumeCommand(['node', 's', 'os-image', '--os=debian-bookworm', '--resume-from=x', '--dry-run'], 'y'),
      'stemforge os-image --os=debian-bookworm --resume-from y',
    );
  });
});
