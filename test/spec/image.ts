// A read-only view of an OS image unpacked into a directory, for the OS-image spec: files,
// modes, the dpkg database, users and groups, and commands run inside it with chroot.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { OperatingSystem } from '../../src/catalog/operating-systems.js';

export interface Account {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class ImageView {
  #packages?: Map<string, string>;

  constructor(
    readonly root: string,
    readonly os: OperatingSystem,
  ) {}

  path(p: string): string {
    return join(this.root, p);
  }

  exists(p: string): boolean {
    return existsSync(this.path(p)) || this.lstat(p) !== undefined;
  }

  lstat(p: string): Stats | undefined {
    try {
      return lstatSync(this.path(p));
    } catch {
      return undefined;
    }
  }

  /** permission bits incl. setuid/setgid/sticky, e.g. 0o644 */
  mode(p: string): number {
    const st = this.lstat(p);
    if (!st) throw new Error(`${p} does not exist in the image`);
    return st.mode & 0o7777;
  }

  read(p: string): string {
    return readFileSync(this.path(p), 'utf8');
  }

  list(p: string): string[] {
    return readdirSync(this.path(p));
  }

  /** the file's lines without comments and blank lines, whitespace trimmed */
  activeLines(p: string, comment = '#'): string[] {
    return this.read(p)
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith(comment));
  }

  /** dpkg's status word per package (installed, config-files, …) */
  packages(): Map<string, string> {
    if (!this.#packages) {
      const map = new Map<string, string>();
      for (const para of this.read('var/lib/dpkg/status').split(/\n\n+/)) {
        const name = para.match(/^Package: (.+)$/m)?.[1];
        const status = para.match(/^Status: .* (\S+)$/m)?.[1];
        if (name && status) map.set(name, status);
      }
      this.#packages = map;
    }
    return this.#packages;
  }

  installed(pkg: string): boolean {
    return this.packages().get(pkg) === 'installed';
  }

  accounts(): Account[] {
    return this.read('etc/passwd')
      .split('\n')
      .filter((l) => l.includes(':'))
      .map((l) => {
        const f = l.split(':');
        return { name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]!, shell: f[6]! };
      });
  }

  /** group name → member names */
  groups(): Map<string, { gid: number; members: string[] }> {
    const map = new Map<string, { gid: number; members: string[] }>();
    for (const l of this.read('etc/group')
      .split('\n')
      .filter((x) => x.includes(':'))) {
      const f = l.split(':');
      map.set(f[0]!, { gid: Number(f[2]), members: f[3] ? f[3].split(',') : [] });
    }
    return map;
  }

  /**
   * Run a command inside the image with chroot (root only), in a clean environment, with
   * no network namespace changes: for the image's own validators (visudo -c, sshd -t, …).
   */
  run(argv: string[], input?: string): RunResult {
    const r = spawnSync('chroot', [this.root, '/usr/bin/env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'LANG=C.UTF-8', ...argv], {
      input,
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
  }

  /** run() that throws with the output when the command fails */
  runOk(argv: string[], input?: string): string {
    const r = this.run(argv, input);
    if (r.code !== 0) throw new Error(`in the image, '${argv.join(' ')}' exited ${r.code}:\n${r.stdout}${r.stderr}`);
    return r.stdout;
  }
}

/** One promise of one stage (or of the same stage under its per-OS names), checked on an image. */
export interface Check {
  /** the stage names this check covers, e.g. ['base_debian_packages', 'base_ubuntu_packages'] */
  stages: string[];
  title: string;
  /** the reference's spec examples this check asserts (ids of test/spec/reference/examples.ts) */
  covers?: readonly string[];
  run(image: ImageView): void;
}
