// SSH host key checking against an OpenSSH known_hosts file or a pinned fingerprint.
// ssh2 accepts any host key unless told otherwise; this module is what tells it.
import { createHash, createHmac } from 'node:crypto';

export type HostKeyVerdict = { kind: 'match' } | { kind: 'unknown' } | { kind: 'mismatch'; knownTypes: string[] } | { kind: 'revoked' };

/** OpenSSH's "SHA256:…" fingerprint of a raw public key blob. */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside a public key blob (ssh-ed25519, ecdsa-sha2-nistp256, …). */
export function keyType(keyBlob: Buffer): string {
  const len = keyBlob.readUInt32BE(0);
  return keyBlob.subarray(4, 4 + len).toString('latin1');
}

/** The name known_hosts uses: "host" on port 22, "[host]:port" otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (!salt || !hash) return false;
    const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return mac === hash;
  }
  let matched = false;
  for (const raw of field.split(',')) {
    const negated = raw.startsWith('!');
    const pattern = negated ? raw.slice(1) : raw;
    if (globToRegExp(pattern).test(name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/** Decide what a known_hosts file says about this host and key. */
export function checkKnownHosts(contents: string, host: string, port: number, keyBlob: Buffer): HostKeyVerdict {
  const name = knownHostsName(host, port);
  const offered = keyBlob.toString('base64');
  const knownTypes: string[] = [];
  let matched = false;
  for (const rawLine of contents.split('\n')) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    let fields = line.split(/\s+/);
    let marker = '';
    if (fields[0]?.startsWith('@')) {
      marker = fields[0];
      fields = fields.slice(1);
    }
    const [hosts, type, key] = fields;
    if (!hosts || !type || !key || marker === '@cert-authority') continue;
    if (!hostFieldMatches(hosts, name)) continue;
    if (marker === '@revoked') {
      if (key === offered) return { kind: 'revoked' };
      continue;
    }
    if (key === offered) matched = true;
    else knownTypes.push(type);
  }
  if (matched) return { kind: 'match' };
  return knownTypes.length > 0 ? { kind: 'mismatch', knownTypes } : { kind: 'unknown' };
}
