#!/usr/bin/env node
// A small HTTP forward proxy for the test VM's apt: it accepts absolute-URI GET/HEAD
// requests (what apt sends to an http_proxy) and forwards them only to the hosts of the
// Debian mirrors that this machine's own apt configuration names. Everything else gets a
// 403 with a plain-text reason. It listens on a Unix socket, so the socket file can be
// reached from inside a network namespace (socat bridges TCP to it there) while the
// proxy itself runs in the root namespace, where the mirror is reachable.
//
//   node mirror-proxy.mjs --socket PATH [--pid-file PATH] [--log PATH] [--apt-dir DIR]
//   node mirror-proxy.mjs --listen 127.0.0.1:PORT [--snapshot-stand-in] [...]
//   node mirror-proxy.mjs --print-sources [--apt-dir DIR]
//
// --listen serves on a loopback TCP port instead (0 = any free one; the first log line
// names it). --snapshot-stand-in also answers origin-form requests /<YYYYMMDDTHHMMSSZ>/PATH
// with the host's Debian mirror's PATH: a STAND-IN for a dated snapshot archive, which is
// not reachable from our machines. It serves today's archive under any date, so it tests
// how stemforge addresses a snapshot, not what a snapshot contains.
//
// --print-sources prints the Debian entries it found, one "URI<TAB>SUITE<TAB>COMPONENTS"
// line per suite, so shell scripts (build-box.sh) use the very same parser.
// Plain Node.js (20+), no dependencies.

import { appendFileSync, existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { lookup as dnsLookup } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';

// ---------------------------------------------------------------------------------------
// apt configuration

function hostCodename() {
  try {
    const m = readFileSync('/etc/os-release', 'utf8').match(/^VERSION_CODENAME=["']?([a-z]+)/m);
    return m ? m[1] : undefined;
  } catch {
    return undefined;
  }
}

/** One-line format: `deb [opt=val ...] URI SUITE [COMPONENT...]`. */
function parseListFile(text, file) {
  const entries = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const optMatch = line.match(/^(\S+)\s+\[([^\]]*)\]\s+(.*)$/);
    let type, rest;
    const options = {};
    if (optMatch) {
      type = optMatch[1];
      for (const kv of optMatch[2].trim().split(/\s+/)) {
        const eq = kv.indexOf('=');
        if (eq > 0) options[kv.slice(0, eq).toLowerCase()] = kv.slice(eq + 1);
      }
      rest = optMatch[3].split(/\s+/);
    } else {
      [type, ...rest] = line.split(/\s+/);
    }
    const [uri, suite, ...components] = rest;
    if (!uri || !suite) continue;
    entries.push({
      file,
      types: [type],
      uris: [uri],
      suites: [suite],
      components,
      signedBy: options['signed-by'] ?? '',
      enabled: true,
    });
  }
  return entries;
}

/** deb822 format: paragraphs of `Field: value` with indented continuation lines. */
function parseSourcesFile(text, file) {
  const entries = [];
  for (const paragraph of text.split(/\n\s*\n/)) {
    const fields = {};
    let current;
    for (const line of paragraph.split('\n')) {
      if (line.startsWith('#') || line.trim() === '') continue;
      if (/^[ \t]/.test(line)) {
        if (current) fields[current] += '\n' + line.trim();
        continue;
      }
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      current = line.slice(0, colon).trim().toLowerCase();
      fields[current] = line.slice(colon + 1).trim();
    }
    if (!fields.types || !fields.uris || !fields.suites) continue;
    const words = (v) => (v ?? '').split(/\s+/).filter(Boolean);
    entries.push({
      file,
      types: words(fields.types),
      uris: words(fields.uris),
      suites: words(fields.suites),
      components: words(fields.components),
      signedBy: fields['signed-by'] ?? '',
      enabled: !/^(no|false|0)$/i.test(fields.enabled ?? 'yes'),
    });
  }
  return entries;
}

export function readAptSources(aptDir = '/etc/apt') {
  const entries = [];
  const main = join(aptDir, 'sources.list');
  if (existsSync(main)) entries.push(...parseListFile(readFileSync(main, 'utf8'), main));
  const dir = join(aptDir, 'sources.list.d');
  if (existsSync(dir)) {
    for (const name of readdirSync(dir).sort()) {
      const file = join(dir, name);
      if (!statSync(file).isFile()) continue;
      if (name.endsWith('.list')) entries.push(...parseListFile(readFileSync(file, 'utf8'), file));
      else if (name.endsWith('.sources')) entries.push(...parseSourcesFile(readFileSync(file, 'utf8'), file));
    }
  }
  return entries;
}

const releaseWords = new Set(['stable', 'oldstable', 'testing', 'unstable', 'sid', 'experimental']);

/**
 * The entries that are Debian's own archive: binary ("deb"), enabled, http(s), signed by
 * Debian's archive keyring (or by the default keyring: no Signed-By), for the host's
 * release (its codename, codename-updates, codename-security, ...).
 */
export function debianMirrors(entries, codename = hostCodename()) {
  const out = [];
  for (const e of entries) {
    if (!e.enabled || !e.types.includes('deb')) continue;
    if (e.signedBy && !/debian-archive-/.test(e.signedBy)) continue;
    const suites = e.suites.filter((s) => {
      const base = s.split(/[-/]/)[0];
      return base === codename || releaseWords.has(base);
    });
    if (suites.length === 0) continue;
    for (const uri of e.uris) {
      let url;
      try {
        url = new URL(uri);
      } catch {
        continue;
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') continue;
      for (const suite of suites) out.push({ uri: uri.replace(/\/+$/, ''), suite, components: e.components });
    }
  }
  return out;
}

/** host name -> { protocol, port } to forward to. */
function allowlist(mirrors) {
  const hosts = new Map();
  for (const m of mirrors) {
    const url = new URL(m.uri);
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    hosts.set(url.hostname.toLowerCase(), { protocol: url.protocol, port });
  }
  return hosts;
}

// ---------------------------------------------------------------------------------------
// never to a private address from the root namespace

function isPrivateAddress(address) {
  if (net.isIPv4(address)) {
    const [a, b] = address.split('.').map(Number);
    return (
      a === 10 || a === 0 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127) || (a === 169 && b === 254)
    );
  }
  const lower = address.toLowerCase();
  if (lower.startsWith('::ffff:')) return isPrivateAddress(lower.slice(7));
  return /^f[cd]/.test(lower) || /^fe[89ab]/.test(lower);
}

function guardedLookup(hostname, options, callback) {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err);
    const usable = addresses.filter((a) => !isPrivateAddress(a.address));
    if (usable.length === 0) {
      const e = new Error(`${hostname} resolves only to private addresses; refusing`);
      e.code = 'EPRIVATE';
      return callback(e);
    }
    if (options.all) return callback(null, usable);
    return callback(null, usable[0].address, usable[0].family);
  });
}

// ---------------------------------------------------------------------------------------
// the proxy

const hopByHop = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function forwardHeaders(headers) {
  const out = {};
  const listed = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
  for (const [k, v] of Object.entries(headers)) {
    if (hopByHop.has(k) || listed.has(k) || v === undefined) continue;
    out[k] = v;
  }
  return out;
}

const snapshotPath = /^\/(\d{8}T\d{6}Z)(\/.*)$/;

function startProxy({ socket, listen, pidFile, logFile, hosts, snapshotBase }) {
  const log = (line) => {
    const text = `${new Date().toISOString()} ${line}\n`;
    if (logFile) appendFileSync(logFile, text);
    else process.stdout.write(text);
  };
  const agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: 8, lookup: guardedLookup }),
    'https:': new https.Agent({ keepAlive: true, maxSockets: 8, lookup: guardedLookup }),
  };

  const server = http.createServer((req, res) => {
    const started = Date.now();
    const deny = (status, reason) => {
      const body = `mirror-proxy: ${reason}\n`;
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
      log(`${req.method} ${req.url} ${status} denied: ${reason}`);
    };

    if (req.method !== 'GET' && req.method !== 'HEAD') return deny(405, `method ${req.method} not allowed (GET and HEAD only)`);
    let target;
    const snapshot = snapshotBase && (req.url ?? '').match(snapshotPath);
    try {
      target = snapshot ? new URL(`${snapshotBase.replace(/\/$/, '')}${snapshot[2]}`) : new URL(req.url ?? '');
    } catch {
      return deny(400, 'only absolute-URI proxy requests (GET http://host/path) are accepted');
    }
    if (target.protocol !== 'http:') return deny(403, `scheme ${target.protocol} not allowed (http only)`);
    const allowed = hosts.get(target.hostname.toLowerCase());
    if (!allowed) return deny(403, `host ${target.hostname} is not a Debian mirror of this machine's apt configuration`);
    if (target.port && target.port !== '80' && target.port !== allowed.port) return deny(403, `port ${target.port} not allowed for ${target.hostname}`);
    if (target.username || target.password) return deny(403, 'credentials in the URL are not allowed');

    const headers = forwardHeaders(req.headers);
    headers.host = target.host;
    const client = allowed.protocol === 'https:' ? https : http;
    const upstream = client.request(
      {
        protocol: allowed.protocol,
        hostname: target.hostname,
        port: allowed.port,
        method: req.method,
        path: target.pathname + target.search,
        headers,
        agent: agents[allowed.protocol],
        timeout: 60_000,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.statusMessage, forwardHeaders(up.headers));
        let bytes = 0;
        up.on('data', (chunk) => (bytes += chunk.length));
        up.pipe(res);
        up.on('end', () => log(`${req.method} ${req.url} ${up.statusCode} ${bytes}B ${Date.now() - started}ms`));
        up.on('error', () => res.destroy());
      },
    );
    upstream.on('timeout', () => upstream.destroy(Object.assign(new Error('upstream timed out'), { code: 'ETIMEDOUT' })));
    upstream.on('error', (err) => {
      if (res.headersSent) {
        res.destroy();
        log(`${req.method} ${req.url} aborted: ${err.code ?? err.message}`);
        return;
      }
      const status = err.code === 'ETIMEDOUT' ? 504 : 502;
      const body = `mirror-proxy: upstream ${target.hostname}: ${err.message}\n`;
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      log(`${req.method} ${req.url} ${status} upstream error: ${err.code ?? err.message}`);
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });

  // CONNECT (https tunnels) is never allowed.
  server.on('connect', (req, sock) => {
    sock.end('HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nmirror-proxy: CONNECT not allowed\n');
    log(`CONNECT ${req.url} 403 denied: CONNECT not allowed`);
  });
  server.on('clientError', (_err, sock) => {
    if (sock.writable) sock.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
  });

  const shutdown = (signal) => {
    log(`stopping on ${signal}`);
    server.close();
    server.closeAllConnections();
    for (const agent of Object.values(agents)) agent.destroy();
    if (socket) rmSync(socket, { force: true });
    if (pidFile) rmSync(pidFile, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  const ready = () => {
    if (pidFile) writeFileSync(pidFile, `${process.pid}\n`);
    const where = socket ?? `${server.address().address}:${server.address().port}`;
    log(`listening on ${where} (pid ${process.pid}); allowed: ${[...hosts.keys()].join(', ')}${snapshotBase ? `; snapshot stand-in for ${snapshotBase}` : ''}`);
  };
  if (socket) server.listen(socket, ready);
  else server.listen(listen.port, listen.host, ready);
  server.on('error', (err) => {
    process.stderr.write(`mirror-proxy: ${err.message}\n`);
    process.exit(1);
  });
}

/** A socket file left by a dead proxy is removed; one that answers means a proxy is live. */
async function clearStaleSocket(path) {
  if (!existsSync(path)) return;
  const live = await new Promise((resolve) => {
    const s = net.connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (live) throw new Error(`${path} is already served by a running process`);
  rmSync(path, { force: true });
}

// ---------------------------------------------------------------------------------------

function parseArgs(argv) {
  const args = { aptDir: '/etc/apt' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--socket') args.socket = value();
    else if (a === '--listen') args.listen = value();
    else if (a === '--snapshot-stand-in') args.snapshotStandIn = true;
    else if (a === '--pid-file') args.pidFile = value();
    else if (a === '--log') args.logFile = value();
    else if (a === '--apt-dir') args.aptDir = value();
    else if (a === '--print-sources') args.print = true;
    else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const mirrors = debianMirrors(readAptSources(args.aptDir));
  if (args.print) {
    const seen = new Set();
    for (const m of mirrors) {
      const line = `${m.uri}\t${m.suite}\t${m.components.join(' ')}`;
      if (!seen.has(line)) process.stdout.write(line + '\n');
      seen.add(line);
    }
    if (mirrors.length === 0) throw new Error(`no Debian mirror found in ${args.aptDir}`);
    return;
  }
  if (!args.socket === !args.listen) {
    throw new Error('usage: mirror-proxy.mjs --socket PATH | --listen 127.0.0.1:PORT [--snapshot-stand-in] [--pid-file PATH] [--log PATH] [--apt-dir DIR]');
  }
  const hosts = allowlist(mirrors);
  if (hosts.size === 0) throw new Error(`no Debian mirror found in ${args.aptDir}; nothing to allow`);
  let listen;
  if (args.listen) {
    const m = args.listen.match(/^(127\.0\.0\.1|\[::1\]):(\d+)$/);
    if (!m) throw new Error(`--listen ${args.listen}: only 127.0.0.1:PORT or [::1]:PORT (loopback)`);
    listen = { host: m[1].replace(/[[\]]/g, ''), port: Number(m[2]) };
  } else {
    await clearStaleSocket(args.socket);
  }
  // the stand-in serves the archive of the host's own release (the first one apt names)
  const snapshotBase = args.snapshotStandIn ? (mirrors.find((m) => m.suite === hostCodename()) ?? mirrors[0]).uri : undefined;
  startProxy({ socket: args.socket, listen, pidFile: args.pidFile, logFile: args.logFile, hosts, snapshotBase });
}

main().catch((err) => {
  process.stderr.write(`mirror-proxy: ${err.message}\n`);
  process.exit(1);
});
