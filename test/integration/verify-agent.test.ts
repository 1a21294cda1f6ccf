// `stemforge verify --agent` with QEMU but without a real stemcell: refusals (warden, formats we cannot
// boot), usage errors, and disks that boot into a hang and never answer, which still show what the guest is given (the
// netdev with its relay or the config drive, the NIC's mac, the sandbox) and that everything is cleaned up.
// A real agent run takes minutes under TCG; that is the e2e suite's job.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import type { VerifyAgentResult } from '../../src/stemcell/verify-agent.js';
import { hasCommand, pidAlive, qemuPidOf } from '../helpers/processes.js';
import { stemforgeSpawn, stemforgeSync } from '../helpers/stemcell-cli.js';
import { hangingDisk, rawImage, rawTar, stemcellTarball } from '../helpers/stemcell-tarball.js';

const noQemu = ['qemu-system-x86_64', 'qemu-img', 'openssl'].every(hasCommand) ? undefined : 'qemu-system-x86_64, qemu-img and openssl are needed';
const noMtools = noQemu ?? (hasCommand('mkfs.vfat') && hasCommand('mcopy') ? undefined : 'dosfstools and mtools are needed for the config drive');

let sandbox: string;
let scratch: string;

function freshTmp(name: string): string {
  const dir = join(sandbox, `tmp-${name}`);
  mkdirSync(dir);
  return dir;
}

function cmdline(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
}

function after1(args: string[], flag: string, nth = 0): string {
  const at = args.flatMap((a, i) => (a === flag ? [i] : []))[nth];
  return at === undefined ? '' : (args[at + 1] ?? '');
}

before(() => {
  sandbox = mkdtempSync(join(tmpdir(), 'sf-verify-agent-test-'));
  scratch = join(sandbox, 'scratch');
  mkdirSync(scratch);
});

after(() => rmSync(sandbox, { recursive: true, force: true }));

describe('stemforge verify --agent: refusals and usage', { skip: noQemu }, () => {
  it('refuses warden (disk_format files) with exit 2, naming what it can verify, leaving nothing behind', () => {
    const path = join(scratch, 'warden.tgz');
    // a root filesystem: far more entries than a disk image may have
    const rootfs = gzipSync(rawTar(Array.from({ length: 40 }, (_, i) => ({ name: `etc/file-${i}`, body: `${i}\n` }))));
    writeFileSync(path, stemcellTarball({ iaas: 'warden', diskFormat: 'files', image: rootfs }));
    const tmp = freshTmp('warden');
    const r = stemforgeSync(['verify', path, '--agent'], { TMPDIR: tmp });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /cannot verify this warden stemcell \(disk_format files\): its stemcells are a root filesystem for containers/);
    assert.match(r.stderr, /It verifies aws \(metadata service \(IMDSv2\)[^)]*\), alicloud .*google .*openstack \(config drive labelled config-2\)/);
    assert.deepEqual(readdirSync(tmp), []);
  });

  it('refuses vsphere (ovf: its settings come on a CD-ROM) with exit 2 and the reason', () => {
    const path = join(scratch, 'vsphere.tgz');
    writeFileSync(path, stemcellTarball({ iaas: 'vsphere', diskFormat: 'ovf' }));
    const r = stemforgeSync(['verify', path, '--agent', '--json']);
    assert.equal(r.code, 2, r.stderr);
    const doc = JSON.parse(r.stdout) as { ok: boolean; error: string; usage: boolean };
    assert.equal(doc.ok, false);
    // its disk boots (verify --boot), but the agent's CD-ROM settings are not served
    assert.match(doc.error, /vsphere stemcell \(disk_format ovf\): stemforge does not serve its agent settings source \(CDROM\) yet/);
  });

  it('usage: --boot with --agent, or neither, exit 2', () => {
    const path = join(scratch, 'usage.tgz');
    writeFileSync(path, stemcellTarball());
    const both = stemforgeSync(['verify', path, '--boot', '--agent']);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /give one/);
    const neither = stemforgeSync(['verify', path]);
    assert.equal(neither.code, 2);
    assert.match(neither.stderr, /--boot .* or --agent/);
  });
});

describe('stemforge verify --agent: blank disks that never answer', { skip: noQemu }, () => {
  it('aws: a metadata relay by guestfwd cmd:, spawn allowed for it only; times out at ping with exit 1, log kept, temp dir gone', async () => {
    const path = join(scratch, 'aws-blank.tgz');
    writeFileSync(path, stemcellTarball({ iaas: 'aws', diskFormat: 'raw', image: rawImage(hangingDisk()) }));
    const tmp = freshTmp('aws-blank');
    const run = stemforgeSpawn(['verify', path, '--agent', '--json', '--timeout', '0.25'], { TMPDIR: tmp });
    const pid = await qemuPidOf(run);
    assert.ok(pid, run.out.stderr);
    const args = cmdline(pid);
    const netdev = after1(args, '-netdev');
    // a /8 around the link-local metadata address (networkd refuses a link-local lease), its addresses named
    assert.match(netdev, /^user,id=n,restrict=on,net=169\.0\.0\.0\/8,host=169\.0\.0\.2,dns=169\.0\.0\.3,dhcpstart=169\.0\.0\.15,/);
    assert.match(netdev, /,hostfwd=tcp:127\.0\.0\.1:\d+-169\.0\.0\.15:6868,hostfwd=tcp:127\.0\.0\.1:\d+-169\.0\.0\.15:22,/);
    assert.match(netdev, /,guestfwd=tcp:169\.254\.169\.254:80-cmd:\S*node\S* --no-warnings \S+metadata-relay\.mjs 127\.0\.0\.1 \d+$/);
    assert.match(after1(args, '-sandbox'), /elevateprivileges=allow,spawn=allow/);
    assert.match(after1(args, '-device'), /^virtio-net-pci,netdev=n,mac=52:54:00(:[0-9a-f]{2}){3}$/);
    assert.equal(args.filter((a) => a === '-drive').length, 1, 'no config drive for aws');
    const r = await run.done;
    assert.equal(r.code, 1, r.stderr);
    const result = JSON.parse(r.stdout) as VerifyAgentResult;
    assert.equal(result.ok, false);
    assert.equal(result.infrastructure, 'aws');
    assert.match(result.settingsSource, /metadata service \(IMDSv2\) at http:\/\/169\.254\.169\.254/);
    assert.deepEqual(
      result.steps.map((s) => [s.name, s.ok]),
      [
        ['settings', true],
        ['boot', true],
        ['ping', false],
      ],
    );
    assert.match(result.error ?? '', /^ping: no pong within 15 s .*the agent never fetched its settings/);
    assert.deepEqual(result.metadataRequests, []);
    assert.ok(result.consoleLog && existsSync(result.consoleLog));
    assert.deepEqual(readdirSync(tmp), [result.consoleLog.slice(tmp.length + 1)], 'only the kept console log');
    assert.doesNotMatch(r.stderr, /PRIVATE KEY|\$6\$/, 'no key or password hash on the terminal');
  });

  it('openstack: a read-only config drive, no spawn; Ctrl-C stops QEMU and removes the temp dir', { skip: noMtools }, async () => {
    const raw = join(scratch, 'hanging.raw');
    writeFileSync(raw, hangingDisk(64 * 1024 * 1024));
    const qcow = join(scratch, 'hanging.qcow2');
    execFileSync('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, qcow]);
    const path = join(scratch, 'openstack-blank.tgz');
    writeFileSync(path, stemcellTarball({ iaas: 'openstack', diskFormat: 'qcow2', image: rawImage(readFileSync(qcow)) }));
    const tmp = freshTmp('openstack-blank');
    const run = stemforgeSpawn(['verify', path, '--agent', '--timeout', '10'], { TMPDIR: tmp });
    const pid = await qemuPidOf(run);
    assert.ok(pid, run.out.stderr);
    const args = cmdline(pid);
    assert.match(
      after1(args, '-netdev'),
      /^user,id=n,restrict=on,net=10\.0\.2\.0\/24,host=10\.0\.2\.2,dns=10\.0\.2\.3,dhcpstart=10\.0\.2\.15,hostfwd=tcp:127\.0\.0\.1:\d+-10\.0\.2\.15:6868,hostfwd=tcp:127\.0\.0\.1:\d+-10\.0\.2\.15:22$/,
    );
    assert.match(after1(args, '-sandbox'), /elevateprivileges=deny,spawn=deny/);
    assert.match(after1(args, '-drive', 1), /config-drive\.img,format=raw,if=virtio,readonly=on$/);
    const work = readdirSync(tmp).find((n) => n.startsWith('stemforge-agent-'));
    assert.ok(work, 'the temp dir exists while QEMU runs');
    const image = join(tmp, work, 'config-drive.img');
    const userData = execFileSync('mtype', ['-i', image, '::ec2/latest/user-data'], { env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } }).toString();
    const settings = JSON.parse(userData) as { networks: { default: { ip: string; dns: string[] } }; server: { name: string }; vm: { name: string } };
    assert.equal(settings.networks.default.ip, '10.0.2.15');
    assert.deepEqual(settings.networks.default.dns, ['10.0.2.3']);
    assert.equal(settings.server.name, settings.vm.name);
    run.child.kill('SIGINT');
    const r = await run.done;
    assert.equal(r.code, 130, r.stderr);
    assert.equal(pidAlive(pid), false, 'QEMU is gone');
    assert.ok(!readdirSync(tmp).some((n) => n.startsWith('stemforge-agent-')), 'the temp dir is removed');
  });
});
