// verify --agent, the services around the guest: the metadata service (IMDSv2, Google's header), the
// relay QEMU runs per guest connection, the mbus client (against a stand-in for the agent's HTTPS mbus,
// not the agent), and the host key fingerprints read from the console.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AgentException, mbusCall, runAgentTask, waitForPong, type MbusTarget } from '../../src/stemcell/agent-mbus.js';
import { consoleHostKeys } from '../../src/stemcell/guest-ssh.js';
import { makeMbusCerts, type MbusCerts } from '../../src/stemcell/mbus-certs.js';
import { relayCommand, writeRelay } from '../../src/stemcell/metadata-relay.js';
import { startMetadataServer, type MetadataServer } from '../../src/stemcell/metadata-server.js';
import { freeLocalPort } from '../../src/stemcell/boot-prep.js';
import { verifiability, type HttpSource } from '../../src/stemcell/settings-sources.js';

let dir: string;
before(() => (dir = mkdtempSync(join(tmpdir(), 'sf-verify-agent-services-'))));
after(() => rmSync(dir, { recursive: true, force: true }));

function source(iaas: string): HttpSource {
  const v = verifiability(iaas);
  assert.ok(v.verifiable && v.source.type !== 'ConfigDrive');
  return v.source;
}

/** One plain HTTP request to 127.0.0.1:port. */
function fetchLocal(port: number, method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const content = { userData: '{"agent_id":"a-1","server":{"name":"vm-1"}}', instanceId: 'vm-1', vmName: 'vm-1' };

describe('metadata service: aws (IMDSv2)', () => {
  let server: MetadataServer;
  before(async () => (server = await startMetadataServer(source('aws'), content)));
  after(() => server.close());

  it('PUT /latest/api/token with a TTL gives a token; GETs with it get the user data', async () => {
    const token = await fetchLocal(server.port, 'PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': '300' });
    assert.equal(token.status, 200);
    assert.ok(token.body.length >= 20);
    const data = await fetchLocal(server.port, 'GET', '/latest/user-data', { 'X-aws-ec2-metadata-token': token.body });
    assert.deepEqual(data, { status: 200, body: content.userData });
    const id = await fetchLocal(server.port, 'GET', '/latest/meta-data/instance-id', { 'X-aws-ec2-metadata-token': token.body });
    assert.deepEqual(id, { status: 200, body: 'vm-1' });
    const key = await fetchLocal(server.port, 'GET', '/latest/meta-data/public-keys/0/openssh-key', { 'X-aws-ec2-metadata-token': token.body });
    assert.equal(key.status, 404);
    assert.equal(server.settingsServedAt() !== undefined, true);
  });

  it('answers 401 to a GET without the token (or with a wrong one), 400 to a PUT without a TTL', async () => {
    assert.equal((await fetchLocal(server.port, 'GET', '/latest/user-data')).status, 401);
    assert.equal((await fetchLocal(server.port, 'GET', '/latest/user-data', { 'X-aws-ec2-metadata-token': 'forged' })).status, 401);
    assert.equal((await fetchLocal(server.port, 'PUT', '/latest/api/token')).status, 400);
  });

  it('records every request with method, path and status', () => {
    const seen = server.requests.map((r) => `${r.method} ${r.path} ${r.status}`);
    assert.ok(seen.includes('PUT /latest/api/token 200'));
    assert.ok(seen.includes('GET /latest/user-data 200'));
    assert.ok(seen.includes('GET /latest/user-data 401'));
    assert.ok(server.requests.every((r) => typeof r.seconds === 'number'));
  });
});

describe('metadata service: google (instance metadata)', () => {
  let server: MetadataServer;
  before(async () => (server = await startMetadataServer(source('google'), { ...content, userData: '{"agent_id":"a-1"}' })));
  after(() => server.close());

  it('requires Metadata-Flavor: Google', async () => {
    const path = '/computeMetadata/v1/instance/attributes/bosh_settings';
    assert.equal((await fetchLocal(server.port, 'GET', path)).status, 403);
    assert.deepEqual(await fetchLocal(server.port, 'GET', path, { 'Metadata-Flavor': 'Google' }), { status: 200, body: '{"agent_id":"a-1"}' });
    assert.deepEqual(await fetchLocal(server.port, 'GET', '/computeMetadata/v1/instance/name', { 'Metadata-Flavor': 'Google' }), { status: 200, body: 'vm-1' });
    assert.equal((await fetchLocal(server.port, 'GET', '/latest/user-data', { 'Metadata-Flavor': 'Google' })).status, 404);
  });
});

describe('metadata relay (what QEMU runs per guest connection)', () => {
  it('carries an HTTP request from its stdin to the loopback server and the answer back to its stdout', async () => {
    const server = createHttpServer((req, res) => res.end(`you asked for ${req.url ?? ''}`));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.address() as { port: number }).port;
    const relay = await writeRelay(dir);
    try {
      const child = spawn(process.execPath, ['--no-warnings', relay, '127.0.0.1', String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.stdin.end('GET /latest/user-data HTTP/1.1\r\nHost: 169.254.169.254\r\nConnection: close\r\n\r\n');
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      assert.equal(code, 0);
      assert.match(out, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(out, /you asked for \/latest\/user-data$/);
      assert.equal(err, '', 'the relay writes nothing to stderr (it would reach the guest)');
    } finally {
      server.close();
    }
  });

  it("its command line is quoted for libslirp's shell-like split", () => {
    const line = relayCommand('/tmp/a dir/relay.mjs', 1234);
    assert.ok(line.endsWith(`'/tmp/a dir/relay.mjs' 127.0.0.1 1234`), line);
    assert.ok(line.includes('--no-warnings'));
  });
});

describe("mbus client, against a stand-in for the agent's HTTPS mbus (not the real agent)", () => {
  let certs: MbusCerts;
  let target: MbusTarget;
  const calls: string[] = [];
  let server: ReturnType<typeof createHttpsServer>;
  let taskPolls = 0;

  before(async () => {
    certs = await makeMbusCerts(dir, ['127.0.0.1']);
    target = { host: '127.0.0.1', port: await freeLocalPort(), user: 'mbus', password: 'pw', ca: certs.ca };
    // the stand-in: basic auth, POST /agent, {value} or {exception}; stop is asynchronous like the agent's
    server = createHttpsServer({ key: certs.privateKey, cert: certs.certificate }, (req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (req.headers.authorization !== `Basic ${Buffer.from('mbus:pw').toString('base64')}`) {
          res.writeHead(401).end();
          return;
        }
        type Message = { method: string; arguments: unknown[]; reply_to: string; protocol: number };
        const { method, arguments: args, reply_to: replyTo, protocol } = JSON.parse(body) as Message;
        calls.push(`${method} ${JSON.stringify(args)} ${replyTo} ${protocol}`);
        const reply = (doc: unknown): void => void res.end(JSON.stringify(doc));
        if (method === 'ping') reply({ value: 'pong' });
        else if (method === 'stop') reply({ value: { agent_task_id: 'task-1', state: 'running' } });
        else if (method === 'get_task') reply(++taskPolls < 3 ? { value: { agent_task_id: 'task-1', state: 'running' } } : { value: 'stopped' });
        else reply({ exception: { message: `unknown message ${method}` } });
      });
    });
  });
  after(() => server.close());

  it('waits for the pong while nothing listens yet, then gets it', async () => {
    setTimeout(() => server.listen(target.port, '127.0.0.1'), 700);
    let misses = 0;
    const ok = await waitForPong(target, { deadline: Date.now() + 20_000, intervalMs: 300, onMiss: () => misses++ });
    assert.equal(ok, true);
    assert.ok(misses >= 1, 'at least one miss before the server listened');
  });

  it("sends method, arguments, reply_to and protocol; an exception rejects with the agent's message", async () => {
    const isAgentException = (err: Error): boolean => err instanceof AgentException && /unknown message frobnicate/.test(err.message);
    await assert.rejects(mbusCall(target, 'frobnicate', ['x']), isAgentException);
    assert.ok(calls.includes('frobnicate ["x"] stemforge 3'));
  });

  it('polls get_task until an asynchronous task ends', async () => {
    const value = await runAgentTask(target, 'stop', [], { taskTimeoutMs: 10_000, pollMs: 50 });
    assert.equal(value, 'stopped');
    assert.equal(calls.filter((c) => c.startsWith('get_task ["task-1"]')).length, 3);
  });

  it('a wrong password is a 401, and a CA we did not make is refused', async () => {
    await assert.rejects(mbusCall({ ...target, password: 'nope' }, 'ping', []), /HTTP 401/);
    const other = join(dir, 'other-ca');
    execFileSync('mkdir', [other]);
    const foreign = await makeMbusCerts(other, ['127.0.0.1']);
    await assert.rejects(mbusCall({ ...target, ca: foreign.ca }, 'ping', []), /self[- ]signed|unable to verify|certificate/i);
  });
});

describe('host keys printed on the console', () => {
  it('reads each stemforge-ssh-host-key line once, with its type', () => {
    const fp = (s: string): string => `SHA256:${createHash('sha256').update(s).digest('base64').replace(/=+$/, '')}`;
    const a = fp('a');
    const b = fp('b');
    const text =
      `[   12.3] firstboot.sh[301]: stemforge-ssh-host-key: 256 ${a} root@localhost (ED25519)\r\n` +
      `stemforge-ssh-host-key: 3072 ${b} root@localhost (RSA)\n` +
      `stemforge-ssh-host-key: 256 ${a} root@localhost (ED25519)\nsomething else SHA256:xyz\n`;
    assert.deepEqual(consoleHostKeys(text), [
      { bits: 256, fingerprint: a, type: 'ED25519' },
      { bits: 3072, fingerprint: b, type: 'RSA' },
    ]);
    assert.deepEqual(consoleHostKeys('no keys here'), []);
  });
});
