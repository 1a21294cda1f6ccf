// The relay QEMU runs per guest connection to the metadata address (guestfwd=…-cmd:…): it carries the
// connection, given as its stdin and stdout, to our metadata server on loopback. A guestfwd with a tcp:
// target carries only the guest's first connection; cmd: starts one relay per connection.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { shellJoin } from '../machine/quote.js';

/**
 * The relay, a Node ES module. libslirp hands it the guest's connection on fds 0, 1 and 2, so it must never
 * write to stderr (it would land in the guest's HTTP stream): it stays silent and exits when either side closes.
 */
const relayScript = `// stemforge verify --agent: one guest connection <-> the metadata server on loopback
import { connect } from 'node:net';
const [host, port] = process.argv.slice(2);
const upstream = connect({ host, port: Number(port) });
const finish = () => {
  process.stdout.end();
  process.stdin.destroy();
  setTimeout(() => process.exit(0), 2000).unref();
};
upstream.on('error', finish);
upstream.on('close', finish);
process.stdin.on('error', () => upstream.destroy());
process.stdout.on('error', () => upstream.destroy());
process.stdin.pipe(upstream);
upstream.pipe(process.stdout, { end: false });
`;

/** Writes the relay into `dir` (the verification's temp dir) and returns its path. */
export async function writeRelay(dir: string): Promise<string> {
  const path = join(dir, 'metadata-relay.mjs');
  await writeFile(path, relayScript, { mode: 0o600 });
  return path;
}

/** The command line of a guestfwd cmd: target (libslirp splits it as a shell would, so it is quoted as for one). */
export function relayCommand(relayPath: string, port: number): string {
  return shellJoin([process.execPath, '--no-warnings', relayPath, '127.0.0.1', String(port)]);
}
