import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { shellJoin, shellQuote, withCleanEnv } from '../../src/machine/quote.js';
import { hostileArguments } from '../helpers/hostile.js';

function echoThroughShell(shell: string, args: string[]): string[] {
  const out = execFileSync(shell, ['-c', `printf '%s\\0' ${shellJoin(args)}`]);
  return out.toString('utf8').split('\0').slice(0, -1);
}

describe('shellQuote', () => {
  for (const shell of ['sh', 'bash']) {
    it(`round-trips hostile arguments through ${shell}`, () => {
      assert.deepEqual(echoThroughShell(shell, hostileArguments), hostileArguments);
    });
  }

  it('leaves safe words alone and quotes the rest', () => {
    assert.equal(shellQuote('/var/lib/stemforge'), '/var/lib/stemforge');
    assert.equal(shellQuote('a b'), "'a b'");
    assert.equal(shellQuote(''), "''");
    assert.equal(shellQuote("it's"), `'it'\\''s'`);
  });

  it('refuses NUL bytes', () => {
    assert.throws(() => shellQuote('a\0b'), /NUL/);
  });
});

describe('withCleanEnv', () => {
  it('builds env -i with the variables, and refuses bad names', () => {
    assert.deepEqual(withCleanEnv({ A: '1', B_2: 'x y' }, ['cmd']), ['env', '-i', 'A=1', 'B_2=x y', 'cmd']);
    assert.throws(() => withCleanEnv({ 'A=B': '1' }, ['cmd']), /invalid environment variable name/);
    assert.throws(() => withCleanEnv({ 'X;rm': '1' }, ['cmd']), /invalid environment variable name/);
  });

  it('runs the command with exactly that environment', () => {
    const argv = withCleanEnv({ PATH: '/usr/bin:/bin', ONLY: 'me' }, ['env']);
    const out = execFileSync('sh', ['-c', shellJoin(argv)], { env: { ...process.env, LEAK: 'no' } }).toString();
    assert.deepEqual(out.trim().split('\n').sort(), ['ONLY=me', 'PATH=/usr/bin:/bin']);
  });
});
