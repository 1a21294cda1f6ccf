// The agent's mbus certificates, made with the openssl CLI as bosh create-env's manifests make them: a CA
// and a server certificate it signs for the addresses we reach the agent at. Keys are written 0600 into
// the caller's (0700) temp dir and never logged; passwords reach openssl on stdin, never in argv.
import { randomBytes } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

export interface MbusCerts {
  /** PEM strings, as env.bosh.mbus.cert wants them */
  ca: string;
  certificate: string;
  privateKey: string;
}

/** An empty 0600 file, so openssl writes the key into a file nobody else could ever read. */
async function privateFile(path: string): Promise<string> {
  await writeFile(path, '', { mode: 0o600 });
  await chmod(path, 0o600);
  return path;
}

/** `openssl req -x509`: a self-signed CA with its RSA key. */
async function opensslCa(keyPath: string, certPath: string, days: number): Promise<void> {
  await execa('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-sha256',
    '-days',
    String(days),
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-subj',
    '/CN=stemforge verify mbus CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

/** `openssl req -new`: an RSA key and its signing request (the agent's TLS config only offers ECDHE-RSA suites on TLS 1.2). */
async function opensslRequest(keyPath: string, csrPath: string, commonName: string): Promise<void> {
  await execa('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-keyout', keyPath, '-out', csrPath, '-subj', `/CN=${commonName}`]);
}

/** `openssl x509 -req`: the CA signs the request with the extensions in `extPath`. */
async function opensslSign(csrPath: string, caCert: string, caKey: string, extPath: string, certPath: string, days: number): Promise<void> {
  await execa('openssl', [
    'x509',
    '-req',
    '-sha256',
    '-in',
    csrPath,
    '-CA',
    caCert,
    '-CAkey',
    caKey,
    '-set_serial',
    `0x${randomBytes(8).toString('hex')}`,
    '-days',
    String(days),
    '-extfile',
    extPath,
    '-out',
    certPath,
  ]);
}

/** The subjectAltName value for these IP addresses. */
export function ipSubjectAltName(ips: readonly string[]): string {
  for (const ip of ips) if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) throw new Error(`not an IPv4 address: ${ip}`);
  return ips.map((ip) => `IP:${ip}`).join(',');
}

/** A CA and a server certificate for `ips` (e.g. 127.0.0.1 and the guest's address), valid two days. */
export async function makeMbusCerts(dir: string, ips: readonly string[]): Promise<MbusCerts> {
  const caKey = await privateFile(join(dir, 'mbus-ca.key'));
  const caCert = join(dir, 'mbus-ca.pem');
  const key = await privateFile(join(dir, 'mbus.key'));
  const csr = join(dir, 'mbus.csr');
  const cert = join(dir, 'mbus.pem');
  const ext = join(dir, 'mbus.ext');
  await writeFile(
    ext,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=${ipSubjectAltName(ips)}`,
      '',
    ].join('\n'),
  );
  await opensslCa(caKey, caCert, 2);
  await opensslRequest(key, csr, ips[0] ?? '127.0.0.1');
  await opensslSign(csr, caCert, caKey, ext, cert, 2);
  return { ca: await readFile(caCert, 'utf8'), certificate: await readFile(cert, 'utf8'), privateKey: await readFile(key, 'utf8') };
}

/** A SHA-512 crypt hash of `password` (`openssl passwd -6`), as env.bosh.password wants it. */
export async function sha512Crypt(password: string): Promise<string> {
  const { stdout } = await execa('openssl', ['passwd', '-6', '-stdin'], { input: `${password}\n` });
  return stdout.trim();
}
