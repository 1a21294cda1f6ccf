// The plain lines beside each infrastructure and OS line, in the wizard and in build --help,
// and the choice recommended to try stemforge on a laptop.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { infrastructures, tryItLocally } from '../../src/catalog/infrastructures.js';
import { operatingSystems } from '../../src/catalog/operating-systems.js';
import { bootableDisks } from '../../src/stemcell/boot-prep.js';
import { catalogHelp, infrastructureLines, osLines } from '../../src/wizard/choice-text.js';

describe('wizard: the catalog in plain words', () => {
  it('has one short plain line for every infrastructure and OS line', () => {
    for (const entry of [...infrastructures, ...operatingSystems]) {
      assert.ok(entry.summary.length > 10 && entry.summary.length <= 90, `${entry.name}: '${entry.summary}'`);
      assert.doesNotMatch(entry.summary, /\n/);
    }
  });

  it('recommends one infrastructure to try it, and it is one verify --boot boots here', () => {
    const lines = infrastructureLines();
    const marked = lines.filter((l) => l.text.endsWith('(recommended to try it)'));
    assert.deepEqual(
      marked.map((l) => l.name),
      [tryItLocally.iaas],
    );
    const infra = infrastructures.find((i) => i.name === tryItLocally.iaas);
    assert.ok(infra?.diskFormats.includes(tryItLocally.diskFormat));
    assert.ok(bootableDisks[tryItLocally.diskFormat], `${tryItLocally.diskFormat} must be a disk verify --boot boots`);
  });

  it('lists every --iaas and --os value with its line in build --help, aligned as in the wizard', () => {
    const help = catalogHelp();
    for (const l of [...infrastructureLines(), ...osLines()]) assert.ok(help.includes(`\n  ${l.text}`), l.text);
    for (const o of operatingSystems) assert.match(help, new RegExp(`^  ${o.name} +${o.summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    // one column: every summary starts at the same place
    const starts = new Set(infrastructureLines().map((l) => l.text.indexOf(infrastructures.find((i) => i.name === l.name)!.summary)));
    assert.equal(starts.size, 1);
  });
});
