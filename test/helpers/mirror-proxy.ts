// The harness's Debian mirror proxy (test/vagrant/mirror-proxy.mjs) on a loopback port, for
// tests that need an http_proxy or a stand-in snapshot archive. It only forwards to the
// Debian mirrors this machine's own apt configuration names.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../src/util/paths.js';

export interface MirrorProxy {
  /** http://127.0.0.1:PORT */
  url: string;
  /** everything it logged so far: one line per request */
  log(): string;
  stop(): Promise<void>;
}

export function startMirrorProxy(): Promise<MirrorProxy> {
  const child = spawn(process.execPath, [join(packageRoot, 'test', 'vagrant', 'mirror-proxy.mjs'), '--listen', '127.0.0.1:0', '--snapshot-stand-in'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`mirror proxy did not start:\n${out}`)), 10_000);
    const poll = setInterval(() => {
      const port = out.match(/listening on 127\.0\.0\.1:(\d+)/)?.[1];
      if (!port) return;
      clearTimeout(timer);
      clearInterval(poll);
      resolve({
        url: `http://127.0.0.1:${port}`,
        log: () => out,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    }, 50);
    child.once('exit', (code) => {
      clearTimeout(timer);
      clearInterval(poll);
      if (!out.includes('listening on')) reject(new Error(`mirror proxy exited ${code}:\n${out}`));
    });
  });
}
