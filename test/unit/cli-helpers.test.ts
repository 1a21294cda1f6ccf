import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { proxyEnvironment, resumeCommand } from '../../src/cli/request.js';
import { parseMachineSpec } from '../../src/machine/spec.js';
import { durationReport, slowest } from '../../src/pipeline/report.js';
import { UsageError } from '../../src/util/errors.js';

describe('--machine', () => {
  it('parses local and ssh addresses', () => {
    assert.deepEqual(parseMachineSpec('local'), { kind: 'local' });
    assert.deepEqual(parseMachineSpec('vagrant'), { kind: 'vagrant', provider: 'virtualbox' });
    assert.deepEqual(parseMachineSpec('vagrant:libvirt'), { kind: 'vagrant', provider: 'libvirt' });
    assert.deepEqual(parseMachineSpec('ssh://root@127.0.0.1:2222'), { kind: 'ssh', user: 'root', host: '127.0.0.1', port: 2222 });
    assert.deepEqual(parseMachineSpec('ssh://vagrant@builder'), { kind: 'ssh', user: 'vagrant', host: 'builder', port: 22 });
    assert.deepEqual(parseMachineSpec('ssh://root@[::1]:22'), { kind: 'ssh', user: 'root', host: '::1', port: 22 });
  });

  it('refuses other forms with the valid ones listed', () => {
    assert.throws(
      () => parseMachineSpec('docker'),
      (e: unknown) => e instanceof UsageError && /valid forms: vagrant\[:PROVIDER\], local, ssh:\/\/user@host\[:port\]/.test(e.message),
    );
    assert.throws(() => parseMachineSpec('ssh://root:secret@host'), /passwords in the address are not accepted/);
    assert.throws(() => parseMachineSpec('ssh://root@host/path'), /takes no path/);
  });
});

describe('resume command', () => {
  it('repeats the flags and replaces --resume-from', () => {
    const argv = ['node', 'stemforge', 'os-image', '--os', 'debian-bookworm', '--resume-from', 'base_apt', '--out', 'my image.tgz'];
    assert.equal(resumeCommand(argv, 'base_ssh'), "stemforge os-image --os debian-bookworm --out 'my image.tgz' --resume-from base_ssh");
    assert.equal(resumeCommand(['node', 's', 'os-image', '--resume-from=x', '--dry-run'], 'y'), 'stemforge os-image --resume-from y');
  });
});

describe('proxy environment', () => {
  it('passes only the proxy variables, lower-cased', () => {
    assert.deepEqual(proxyEnvironment({ HTTP_PROXY: 'http://p:3128', no_proxy: 'localhost', HOME: '/root', SECRET: 'x' }), {
      http_proxy: 'http://p:3128',
      no_proxy: 'localhost',
    });
  });
});

describe('duration report', () => {
  it('sums config and apply per stage in run order', () => {
    const records = [
      { stage: 'a', step: 'config' as const, durationMs: 100, exitCode: 0, logPath: '' },
      { stage: 'b', step: 'apply' as const, durationMs: 3000, exitCode: 0, logPath: '' },
      { stage: 'a', step: 'apply' as const, durationMs: 1900, exitCode: 0, logPath: '' },
    ];
    const report = durationReport(records).split('\n');
    assert.equal(report[0], 'Stage duration report');
    assert.match(report[2]!, /^a\s+0\.1s\s+1\.9s\s+2\.0s$/);
    assert.match(report[3]!, /^b\s+-\s+3\.0s\s+3\.0s$/);
    assert.match(report[4]!, /^total\s+5\.0s$/);
    assert.deepEqual(slowest(records, 1), [{ stage: 'b', ms: 3000 }]);
  });

  it('keeps the same stage of two infrastructures apart, a block and a subtotal each', () => {
    const rec = (group: string, stage: string, durationMs: number) => ({ group, stage, step: 'apply' as const, durationMs, exitCode: 0, logPath: '' });
    const report = durationReport([rec('debian-bookworm', 'base_apt', 1000), rec('aws', 'system_kernel', 2000), rec('warden', 'system_kernel', 4000)]).split(
      '\n',
    );
    assert.deepEqual(
      report.slice(2).map((l) => l.replace(/\s+/g, ' ').trim()),
      [
        '[debian-bookworm]',
        'base_apt - 1.0s 1.0s',
        'debian-bookworm total 1.0s',
        '[aws]',
        'system_kernel - 2.0s 2.0s',
        'aws total 2.0s',
        '[warden]',
        'system_kernel - 4.0s 4.0s',
        'warden total 4.0s',
        'total 7.0s',
      ],
    );
  });
});
