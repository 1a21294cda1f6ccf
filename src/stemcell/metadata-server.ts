// The metadata service of aws, alicloud, cloudstack (EC2 layout, IMDSv2 where agent.json names a token path)
// and google (instance metadata behind Metadata-Flavor: Google), served on 127.0.0.1 for the guest's relays.
// It answers only what a VM of that cloud would get, and records every request for the report.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { HttpSource } from './settings-sources.js';

export interface MetadataRequest {
  method: string;
  path: string;
  status: number;
  /** seconds by the server's clock (by default since it started) */
  seconds: number;
}

export interface MetadataContent {
  /** HTTP: user data (settings + server name); InstanceMetadata: the settings */
  userData: string;
  instanceId: string;
  vmName: string;
}

export interface MetadataServer {
  port: number;
  requests: MetadataRequest[];
  /** seconds at which the settings were first served, if they were */
  settingsServedAt: () => number | undefined;
  close: () => Promise<void>;
}

const tokenHeader = 'x-aws-ec2-metadata-token';
const tokenTtlHeader = 'x-aws-ec2-metadata-token-ttl-seconds';

type Answer = { status: number; body?: string };

/** Google's instance metadata beside bosh_settings: what an agent or a guest tool may ask for. */
function googleExtras(content: MetadataContent): Record<string, string> {
  return {
    '/computeMetadata/v1/instance/name': content.vmName,
    '/computeMetadata/v1/instance/hostname': `${content.vmName}.c.stemforge.internal`,
    '/computeMetadata/v1/instance/id': content.instanceId,
    '/computeMetadata/v1/instance/zone': 'projects/0/zones/stemforge-a',
  };
}

/** What the service answers to one request; pure, so the routing is tested without sockets. */
function answer(source: HttpSource, content: MetadataContent, token: string, method: string, path: string, headers: IncomingMessage['headers']): Answer {
  for (const [name, value] of Object.entries(source.headers)) {
    // Google answers 403 to a request without Metadata-Flavor: Google
    if (headers[name.toLowerCase()] !== value) return { status: 403, body: `missing header ${name}: ${value}` };
  }
  if (source.tokenPath && path === source.tokenPath) {
    if (method !== 'PUT') return { status: 405 };
    const ttl = Number(headers[tokenTtlHeader]);
    if (!(ttl >= 1 && ttl <= 21600)) return { status: 400, body: `${tokenTtlHeader} must be 1..21600` };
    return { status: 200, body: token };
  }
  if (method !== 'GET') return { status: 405 };
  if (source.tokenPath && headers[tokenHeader] !== token) return { status: 401 };
  if (path === source.userDataPath) return { status: 200, body: content.userData };
  if (source.instanceIdPath && path === source.instanceIdPath) return { status: 200, body: content.instanceId };
  if (source.type === 'InstanceMetadata') {
    const extra = googleExtras(content)[path];
    if (extra !== undefined) return { status: 200, body: extra };
  }
  // sshKeysPath included: no key, which the agent takes as "none"
  return { status: 404 };
}

/** Starts the service on 127.0.0.1 on a free port. */
export async function startMetadataServer(
  source: HttpSource,
  content: MetadataContent,
  clock?: () => number,
  onRequest?: (request: MetadataRequest) => void,
): Promise<MetadataServer> {
  const token = randomBytes(24).toString('base64url');
  const started = Date.now();
  const now = clock ?? ((): number => Math.round((Date.now() - started) / 100) / 10);
  const requests: MetadataRequest[] = [];
  let servedAt: number | undefined;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const method = req.method ?? 'GET';
    req.resume();
    req.on('end', () => {
      const result = answer(source, content, token, method, path, req.headers);
      const seconds = now();
      const record = { method, path, status: result.status, seconds };
      requests.push(record);
      onRequest?.(record);
      if (result.status === 200 && path === source.userDataPath) servedAt ??= seconds;
      res.writeHead(result.status, { 'Content-Type': 'text/plain' });
      res.end(result.body ?? '');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('the metadata server has no address');
  return {
    port: address.port,
    requests,
    settingsServedAt: () => servedAt,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
