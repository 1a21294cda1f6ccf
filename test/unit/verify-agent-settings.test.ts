// verify --agent, what it hands the guest: the agent settings document, the per-infrastructure settings
// source (derived from agent.json), the mbus certificates made with openssl, and the config drive image.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer as createTlsServer, connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { agentSettings } from '../../src/catalog/agent-settings.js';
import { infrastructures } from '../../src/catalog/infrastructures.js';
import { agentSettingsDocument, randomMac, userData } from '../../src/stemcell/agent-settings-doc.js';
import { qemuSandbox } from '../../src/stemcell/boot-prep.js';
import { hasCommand } from '../helpers/processes.js';
import { makeConfigDrive } from '../../src/stemcell/config-drive.js';
import { ipSubjectAltName, makeMbusCerts, sha512Crypt, type MbusCerts } from '../../src/stemcell/mbus-certs.js';
import { guestNetwork, verifiability, type ConfigDriveSource, type HttpSource } from '../../src/stemcell/settings-sources.js';

let dir: string;
before(() => (dir = mkdtempSync(join(tmpdir(), 'sf-verify-agent-unit-'))));
after(() => rmSync(dir, { recursive: true, force: true }));

const fakeCerts: MbusCerts = { ca: 'CA PEM', certificate: 'CERT PEM', privateKey: 'KEY PEM' };

describe('agent settings document', () => {
  const network = guestNetwork('169.254.169.254');
  const doc = agentSettingsDocument({
    agentId: 'agent-1',
    vmName: 'vm-1',
    mbusPassword: 'secret123',
    certs: fakeCerts,
    passwordHash: '$6$salt$hash',
    network,
    mac: '52:54:00:aa:bb:cc',
  });

  it('has a manual network with a DNS server, as a Director sends, on the NIC with our mac', () => {
    assert.deepEqual(doc.networks, {
      default: {
        type: 'manual',
        ip: '169.0.0.15',
        netmask: '255.0.0.0',
        gateway: '169.0.0.2',
        dns: ['169.0.0.3'],
        default: ['dns', 'gateway'],
        mac: '52:54:00:aa:bb:cc',
      },
    });
  });

  it('names an https mbus with the password, and the certificate fields the agent reads', () => {
    assert.equal(doc.mbus, 'https://mbus:secret123@0.0.0.0:6868');
    assert.deepEqual(doc.env.bosh.mbus.cert, { ca: 'CA PEM', certificate: 'CERT PEM', private_key: 'KEY PEM' });
    assert.equal(doc.env.bosh.password, '$6$salt$hash');
    assert.equal(doc.agent_id, 'agent-1');
    assert.deepEqual(doc.vm, { name: 'vm-1' });
    assert.deepEqual(doc.blobstore, { provider: 'local', options: { blobstore_path: '/var/vcap/micro_bosh/data/cache' } });
    assert.deepEqual(doc.disks, { system: '/dev/vda', persistent: {} });
    assert.deepEqual(doc.ntp, []);
  });

  it('user data adds the server name (EC2 layout and config drive)', () => {
    assert.deepEqual(userData(doc).server, { name: 'vm-1' });
    assert.equal(userData(doc).agent_id, 'agent-1');
  });

  it("makes locally administered macs in QEMU's range", () => {
    assert.match(randomMac(), /^52:54:00(:[0-9a-f]{2}){3}$/);
  });
});

describe('settings source per infrastructure', () => {
  it('every infrastructure is either verifiable with a source and network, or named with the reason', () => {
    for (const infra of infrastructures) {
      const v = verifiability(infra.name);
      if (v.verifiable) {
        assert.ok(v.source.type, infra.name);
        assert.match(v.network.net, /^\d+\.\d+\.\d+\.0\/(8|24)$/, infra.name);
      } else {
        assert.ok(v.reason.length > 20, `${infra.name}: ${v.reason}`);
      }
    }
    const verifiable = infrastructures
      .filter((i) => verifiability(i.name).verifiable)
      .map((i) => i.name)
      .sort();
    assert.deepEqual(verifiable, ['alicloud', 'aws', 'google', 'openstack']);
  });

  it("says why the others are not verifiable: formats we cannot boot, sources not served, warden's files", () => {
    const reason = (name: string): string => {
      const v = verifiability(name);
      return v.verifiable ? '' : v.reason;
    };
    // ovf disks boot (verify --boot), but the agent's CD-ROM settings are not served
    assert.match(reason('vsphere'), /does not serve its agent settings source \(CDROM\)/);
    assert.match(reason('vcloud'), /does not serve its agent settings source \(CDROM\)/);
    assert.match(reason('azure'), /vhd images/);
    assert.match(reason('cloudstack'), /vhdx images/);
    assert.match(reason('softlayer'), /does not serve its agent settings source \(HTTP\)/);
    assert.match(reason('warden'), /disk_format files/);
  });

  it('openstack: a config drive with the label and paths agent.json names', () => {
    const v = verifiability('openstack');
    assert.ok(v.verifiable);
    const source = v.source as ConfigDriveSource;
    assert.equal(source.type, 'ConfigDrive');
    assert.equal(source.label, 'config-2');
    const listed = agentSettings.openstack as { Infrastructure: { Settings: { Sources: { Type: string; DiskPaths?: string[] }[] } } };
    const drive = listed.Infrastructure.Settings.Sources.find((s) => s.Type === 'ConfigDrive');
    assert.ok(drive?.DiskPaths?.some((p) => p.endsWith(`/${source.label}`)));
    assert.equal(source.metaDataPath, 'ec2/latest/meta-data.json');
    assert.equal(source.userDataPath, 'ec2/latest/user-data');
    assert.equal(v.network.ip, '10.0.2.15');
  });

  it('aws: IMDSv2 at 169.254.169.254:80, the guest on 169.0.0.0/8 (networkd refuses a link-local lease)', () => {
    const v = verifiability('aws');
    assert.ok(v.verifiable);
    const source = v.source as HttpSource;
    assert.deepEqual(
      [source.type, source.address, source.port, source.tokenPath, source.userDataPath],
      ['HTTP', '169.254.169.254', 80, '/latest/api/token', '/latest/user-data'],
    );
    assert.deepEqual(v.network, { net: '169.0.0.0/8', ip: '169.0.0.15', netmask: '255.0.0.0', gateway: '169.0.0.2', dns: '169.0.0.3' });
  });

  it("alicloud on 100.100.100.0/24; google with its header; cloudstack's port kept", () => {
    const ali = verifiability('alicloud');
    assert.ok(ali.verifiable);
    assert.equal(ali.network.net, '100.100.100.0/24');
    assert.equal((ali.source as HttpSource).tokenPath, undefined);
    const google = verifiability('google');
    assert.ok(google.verifiable);
    assert.deepEqual((google.source as HttpSource).headers, { 'Metadata-Flavor': 'Google' });
    assert.equal((google.source as HttpSource).userDataPath, '/computeMetadata/v1/instance/attributes/bosh_settings');
    assert.equal(google.source.type, 'InstanceMetadata');
    const cloudstack = verifiability('cloudstack');
    assert.deepEqual(cloudstack.sourceTypes, ['HTTP']);
  });
});

describe('QEMU sandbox', () => {
  it('denies spawning and privilege syscalls unless a guestfwd relay needs them', () => {
    assert.equal(qemuSandbox(false), 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny');
    // libslirp's child calls setsid(), which elevateprivileges=deny (and =children) kill with SIGSYS before the relay runs
    assert.equal(qemuSandbox(true), 'on,obsolete=deny,elevateprivileges=allow,spawn=allow,resourcecontrol=deny');
  });
});

describe('mbus certificates (openssl)', { skip: hasCommand('openssl') ? undefined : 'no openssl' }, () => {
  let certs: MbusCerts;
  let other: MbusCerts;
  before(async () => {
    certs = await makeMbusCerts(dir, ['127.0.0.1', '10.0.2.15']);
    const otherDir = join(dir, 'other');
    execFileSync('mkdir', [otherDir]);
    other = await makeMbusCerts(otherDir, ['127.0.0.1']);
  });

  it('keeps the keys 0600', () => {
    assert.equal(statSync(join(dir, 'mbus.key')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'mbus-ca.key')).mode & 0o777, 0o600);
    assert.match(certs.privateKey, /BEGIN (RSA )?PRIVATE KEY/);
  });

  it('refuses a non-IP subjectAltName', () => {
    assert.equal(ipSubjectAltName(['127.0.0.1', '10.0.2.15']), 'IP:127.0.0.1,IP:10.0.2.15');
    assert.throws(() => ipSubjectAltName(['evil,DNS:x']), /not an IPv4/);
  });

  /** A TLS handshake with a server holding `certs`' key pair and a client pinning `ca`, to 127.0.0.1. */
  async function handshake(ca: string): Promise<string> {
    const server = createTlsServer({ key: certs.privateKey, cert: certs.certificate }, (s) => s.end('hi'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.address() as { port: number }).port;
    try {
      return await new Promise<string>((resolve, reject) => {
        const socket = tlsConnect({ host: '127.0.0.1', port, ca }, () => socket.once('data', (d: Buffer) => resolve(d.toString())));
        socket.on('error', reject);
      });
    } finally {
      server.close();
    }
  }

  it('a client pinning our CA accepts the server at 127.0.0.1 (IP SAN)', async () => {
    assert.equal(await handshake(certs.ca), 'hi');
  });

  it('a client pinning another CA refuses it', async () => {
    await assert.rejects(handshake(other.ca), /self[- ]signed|unable to verify|certificate/i);
  });

  it('hashes a password with sha512-crypt', async () => {
    assert.match(await sha512Crypt('pw'), /^\$6\$[^$]+\$[A-Za-z0-9./]{86}$/);
  });
});

const noMtools =
  hasCommand('mkfs.vfat') && hasCommand('mcopy') && hasCommand('mdir') && hasCommand('mtype') ? undefined : 'dosfstools and mtools are not installed';

describe('config drive image', { skip: noMtools }, () => {
  it('holds the files, readable with mtools, under the label config-2', async () => {
    const image = join(dir, 'cd.img');
    await makeConfigDrive(image, 'config-2', join(dir, 'cd-stage'), {
      'ec2/latest/meta-data.json': '{"instance-id":"i-1"}',
      'ec2/latest/user-data': '{"agent_id":"a"}',
    });
    const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
    assert.equal(execFileSync('mtype', ['-i', image, '::ec2/latest/user-data'], { env }).toString(), '{"agent_id":"a"}');
    assert.equal(execFileSync('mtype', ['-i', image, '::ec2/latest/meta-data.json'], { env }).toString(), '{"instance-id":"i-1"}');
    assert.match(execFileSync('mdir', ['-i', image, '::ec2/latest'], { env }).toString(), /user-data/);
    assert.equal(statSync(image).mode & 0o777, 0o600);
    const label = hasCommand('blkid')
      ? execFileSync('blkid', ['-o', 'value', '-s', 'LABEL', image]).toString().trim()
      : /label: "?([^",]+)/i.exec(execFileSync('file', [image]).toString())?.[1]?.trim();
    assert.equal(label?.toLowerCase(), 'config-2');
  });

  it('refuses files outside one top-level directory', async () => {
    await assert.rejects(makeConfigDrive(join(dir, 'bad.img'), 'config-2', join(dir, 'bad'), { 'a/x': '1', 'b/y': '2' }), /one top-level/);
    await assert.rejects(makeConfigDrive(join(dir, 'bad2.img'), 'config-2', join(dir, 'bad2'), { 'a/../x': '1' }), /one top-level/);
  });
});
