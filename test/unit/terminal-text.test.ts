// terminalText: what may reach the terminal from a file we read.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { terminalText } from '../../src/util/terminal-text.js';

describe('terminalText', () => {
  it('leaves printable text alone, including non-ASCII', () => {
    for (const text of ['debian-bookworm aws raw 0.3', 'ümlaut ✓ 日本', 'a\tb', '', 'back\\slash', '%s $(id)']) assert.equal(terminalText(text), text);
  });
  it('shows an escape sequence as text: the ESC byte becomes \\x1b', () => {
    assert.equal(terminalText('x\u001b[2Jy'), 'x\\x1b[2Jy');
    assert.equal(terminalText('\u001b]0;owned\u0007'), '\\x1b]0;owned\\x07');
  });
  it('escapes every C0 control but tab, and DEL', () => {
    for (let code = 0; code < 0x20; code++) {
      const ch = String.fromCharCode(code);
      const out = terminalText(ch);
      if (code === 0x09) assert.equal(out, ch);
      else assert.equal(out, `\\x${code.toString(16).padStart(2, '0')}`, `code ${code}`);
    }
    assert.equal(terminalText('\u007f'), '\\x7f');
    assert.equal(terminalText('a\rb'), 'a\\x0db');
  });
  it('escapes C1 controls (an 8-bit CSI is U+009B) and keeps the next printable characters', () => {
    assert.equal(terminalText('\u009b2J\u0085\u00a0é'), '\\x9b2J\\x85\u00a0é');
  });
  it('escapes line and paragraph separators and bidirectional overrides', () => {
    assert.equal(terminalText('a\u2028b\u202ec\u2066d'), 'a\\u2028b\\u202ec\\u2066d');
  });
  it('keeps line feeds only when asked', () => {
    assert.equal(terminalText('a\nb'), 'a\\x0ab');
    assert.equal(terminalText('a\nb\u0007', { multiline: true }), 'a\nb\\x07');
    assert.equal(terminalText('a\r\nb', { multiline: true }), 'a\\x0d\nb');
  });
  it('leaves no control character in any output', () => {
    let all = '';
    for (let code = 0; code < 0x3000; code++) all += String.fromCharCode(code);
    // eslint-disable-next-line no-control-regex -- the test looks for control characters
    assert.doesNotMatch(terminalText(all), /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
  });
});
