// What the real debootstrap of this machine takes as its archive when it is given none: it is
// run with an empty mirror argument and the line's script, through a proxy on a closed
// loopback port, so its first download fails at once and its error names the URL it tried.
// The tests compare stemforge's own resolution with this, without naming any archive.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const systemDebootstrapDir = '/usr/share/debootstrap';
export const systemDebootstrap = '/usr/sbin/debootstrap';

/** Why the oracle cannot run here, or false: it needs root (debootstrap refuses otherwise) and debootstrap. */
export function oracleUnavailable(): string | false {
  if (process.getuid?.() !== 0) return 'runs the real debootstrap, which needs root';
  if (spawnSync(systemDebootstrap, ['--version']).status !== 0) return 'debootstrap is not installed';
  return false;
}

export interface OracleQuery {
  suite: string;
  script: string;
  arch?: string;
  /** DEBOOTSTRAP_DIR: a scripts folder other than the system's */
  debootstrapDir?: string;
  /** a debootstrap program other than the system's */
  program?: string;
}

export function debootstrapDefaultArchive(q: OracleQuery): string {
  const target = mkdtempSync(join(tmpdir(), 'sf-oracle-'));
  try {
    const r = spawnSync(
      q.program ?? systemDebootstrap,
      // any existing keyring: the signature check comes after the download that fails
      [`--arch=${q.arch ?? 'amd64'}`, '--keyring=/dev/null', q.suite, join(target, 'root'), '', q.script],
      {
        encoding: 'utf8',
        timeout: 60_000,
        env: {
          PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
          http_proxy: 'http://127.0.0.1:9',
          https_proxy: 'http://127.0.0.1:9',
          ...(q.debootstrapDir ? { DEBOOTSTRAP_DIR: q.debootstrapDir } : {}),
        },
      },
    );
    const url = `${r.stdout}${r.stderr}`.match(/Failed getting release file (\S+)\/dists\//)?.[1];
    if (!url) throw new Error(`debootstrap named no archive:\n${r.stdout}${r.stderr}`);
    return url;
  } finally {
    rmSync(target, { recursive: true, force: true });
  }
}
