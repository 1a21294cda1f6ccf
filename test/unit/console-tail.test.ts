// The console lines verify shows: the guest's UTF-8 decoded, its terminal escapes gone, any
// other control character it sent shown, not acted on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tail } from '../../src/stemcell/boot-prep.js';

/** What verify reads: the console log's bytes, one character each (latin1). */
const asRead = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

describe('console tail', () => {
  it('decodes the UTF-8 the guest wrote (systemd shortens with …)', () => {
    assert.deepEqual(tail(asRead('a\n         Starting systemd-networkd.…ice - Network Configuration...\n'), 1), [
      '         Starting systemd-networkd.…ice - Network Configuration...',
    ]);
  });

  it('drops colour and cursor escapes, shows any other control character escaped', () => {
    const lines = tail(asRead('[\x1b[0;32m  OK  \x1b[0m] Finished x\r\n\x1bMtitle\x07 \x1b]0;evil\x07\n'), 2);
    assert.deepEqual(lines, ['[  OK  ] Finished x', 'title\\x07 0;evil\\x07']);
    // eslint-disable-next-line no-control-regex -- no control character may reach the terminal
    for (const line of lines) assert.doesNotMatch(line, /[\x00-\x1f\x7f]/);
  });
});
