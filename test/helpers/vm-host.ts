// The host side of the real-VM (Vagrant + libvirt) tests: a network namespace with its
// own libvirtd, an apt mirror proxy the VM reaches at its gateway, and a small Debian box
// added to a Vagrant home of its own. It drives the scripts in test/vagrant/ (see the
// README there); nothing here talks to the VM itself.
//
// The VM's network exists only inside the namespace: run vagrant, ssh and anything else
// that talks to the VM through host.inNetns([...]).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const proxyUrlForVm = 'http://192.168.121.1:3128';

export interface VmHost {
  /** Network namespace that holds libvirtd, the VM network and the VM. */
  netns: string;
  /** Pid files, logs, the proxy socket, the box and VAGRANT_HOME live here. */
  stateDir: string;
  /** As in `config.vm.box` / `config.vm.box_version`. */
  boxName: string;
  boxVersion: string;
  /** The box files: bookworm.box, box.img (qcow2, read-only use), bookworm.json. */
  boxDir: string;
  /** VAGRANT_HOME with the box added; never the caller's ~/.vagrant.d. */
  vagrantHome: string;
  /** http_proxy for apt inside the VM (the proxy only serves this host's Debian mirrors). */
  proxyUrlForVm: typeof proxyUrlForVm;
  /** Environment for vagrant: VAGRANT_HOME and VAGRANT_CHECKPOINT_DISABLE. */
  vagrantEnv: Record<string, string>;
  /** argv prefixed with `ip netns exec <netns>`. */
  inNetns(argv: string[]): string[];
  /** The proxy's request log so far (one line per request). */
  proxyLog(): string;
  /** Removes domains, networks and box volumes made since setUp, then host-down and
   *  proxy-down, then the state dir. Always runs every step; throws at the end if one failed. */
  tearDown(): Promise<void>;
}

export interface VmHostOptions {
  /** Run install-host.sh first (idempotent; ~0.2 s when all is installed). Default true. */
  install?: boolean;
  /** Progress lines (script output is collected, not streamed). */
  log?: (line: string) => void;
}

/** Why the real-VM tests cannot run here, or undefined when they can. */
export function vmHostUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux (libvirt, network namespaces)';
  if (process.getuid?.() !== 0) return 'needs root (network namespace, libvirtd, debootstrap)';
  if (process.env.STEMFORGE_VM_TESTS !== '1') return 'real-VM tests are off; set STEMFORGE_VM_TESTS=1 to run them (about 3 minutes, emulated VM)';
  return undefined;
}

/** test/vagrant/ of this checkout, from the source tree or from dist/. */
export function vagrantScriptsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'test', 'vagrant');
    if (existsSync(join(dir, 'package.json')) && existsSync(join(candidate, 'host-up.sh'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('test/vagrant/ not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

interface RunResult {
  code: number | null;
  output: string;
}

function run(argv: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    if (!cmd) return reject(new Error('empty command'));
    // Own process group, so a timeout stops the whole script (debootstrap, vagrant, ...),
    // not just the shell that would wait for its child before running its traps.
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    const collect = (d: Buffer) => {
      output += d.toString();
      if (output.length > 200_000) output = output.slice(-100_000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => {
      output += `\n[timed out after ${timeoutMs / 1000} s; sending SIGTERM to its process group]\n`;
      try {
        if (child.pid) process.kill(-child.pid, 'SIGTERM');
      } catch {
        child.kill('SIGTERM');
      }
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

async function runOk(argv: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  const { code, output } = await run(argv, env, timeoutMs);
  if (code !== 0) {
    const tail = output.split('\n').slice(-25).join('\n');
    throw new Error(`${argv.join(' ')} exited with ${code}:\n${tail}`);
  }
  return output;
}

function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = line.match(/^([A-Z_][A-Z0-9_]*)=(.*)$/);
    if (m?.[1] !== undefined && m[2] !== undefined) out[m[1]] = m[2];
  }
  return out;
}

const lines = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

/**
 * Installs (if asked) and starts the VM host, builds (or takes from the cache) the box and
 * adds it to a fresh VAGRANT_HOME. On failure it tears down what it started, then throws.
 * Environment: NETNS (default sfvm), VM_HOST_STATE (default /run/stemforge-vm-host),
 * STEMFORGE_TEST_CACHE (box cache, default /var/cache/stemforge-test),
 * STEMFORGE_VM_KEEP_STATE=1 keeps the state dir (logs) after tearDown.
 */
export async function setUpVmHost(options: VmHostOptions = {}): Promise<VmHost> {
  const why = vmHostUnavailable();
  if (why) throw new Error(`VM host unavailable: ${why}`);
  const log = options.log ?? (() => {});
  const scripts = vagrantScriptsDir();
  const netns = process.env.NETNS || 'sfvm';
  const stateDir = process.env.VM_HOST_STATE || '/run/stemforge-vm-host';
  const boxDir = join(stateDir, 'box');
  const vagrantHome = join(stateDir, 'vagrant-home');
  const env: NodeJS.ProcessEnv = { ...process.env, NETNS: netns, VM_HOST_STATE: stateDir };
  const vagrantEnv = { VAGRANT_HOME: vagrantHome, VAGRANT_CHECKPOINT_DISABLE: '1' };
  const inNetns = (argv: string[]) => ['ip', 'netns', 'exec', netns, ...argv];
  const virsh = (...args: string[]) => inNetns(['virsh', '-q', '-c', 'qemu:///system', ...args]);
  let boxName = 'stemforge-test/bookworm';
  let domainsBefore = new Set<string>();
  let networksBefore = new Set<string>();
  let hostUp = false;

  const tearDown = async (): Promise<void> => {
    const failures: string[] = [];
    const attempt = async (what: string, argv: string[], timeoutMs = 120_000) => {
      const { code, output } = await run(argv, env, timeoutMs).catch((err: unknown) => ({
        code: -1,
        output: err instanceof Error ? err.message : String(err),
      }));
      if (code !== 0) failures.push(`${what}: exit ${code}\n${output.split('\n').slice(-10).join('\n')}`);
      return code === 0 ? output : '';
    };
    if (hostUp) {
      // What the tests left in libvirt: domains and networks made since setUp, box volumes.
      const domains = lines(await attempt('list domains', virsh('list', '--all', '--name')));
      for (const d of domains.filter((d) => !domainsBefore.has(d))) {
        log(`vm-host: removing leftover domain ${d}`);
        await run(virsh('destroy', d), env, 60_000);
        await attempt(`undefine ${d}`, virsh('undefine', d, '--remove-all-storage', '--managed-save', '--snapshots-metadata'));
      }
      const networks = lines(await attempt('list networks', virsh('net-list', '--all', '--name')));
      for (const n of networks.filter((n) => !networksBefore.has(n))) {
        log(`vm-host: removing leftover network ${n}`);
        await run(virsh('net-destroy', n), env, 60_000);
        await attempt(`net-undefine ${n}`, virsh('net-undefine', n));
      }
      const prefix = `${boxName.replaceAll('/', '-VAGRANTSLASH-')}_vagrant_box_image_`;
      const volumes = (await attempt('list volumes', virsh('vol-list', 'default')))
        .split('\n')
        .map((l) => l.trim().split(/\s+/)[0] ?? '')
        .filter((v) => v.startsWith(prefix));
      for (const v of volumes) await attempt(`vol-delete ${v}`, virsh('vol-delete', '--pool', 'default', v));
    }
    log('vm-host: host-down, proxy-down');
    await attempt('host-down.sh', [join(scripts, 'host-down.sh')]);
    await attempt('proxy-down.sh', [join(scripts, 'proxy-down.sh')]);
    hostUp = false;
    if (failures.length === 0 && process.env.STEMFORGE_VM_KEEP_STATE !== '1') {
      rmSync(stateDir, { recursive: true, force: true });
    } else {
      rmSync(vagrantHome, { recursive: true, force: true });
      rmSync(boxDir, { recursive: true, force: true });
    }
    if (failures.length > 0) throw new Error(`VM host teardown:\n${failures.join('\n')}`);
  };

  try {
    mkdirSync(stateDir, { recursive: true });
    if (options.install ?? true) {
      log('vm-host: install-host.sh');
      await runOk([join(scripts, 'install-host.sh')], env, 900_000);
    }
    log('vm-host: host-up.sh');
    hostUp = true;
    await runOk([join(scripts, 'host-up.sh')], env, 120_000);
    domainsBefore = new Set(lines(await runOk(virsh('list', '--all', '--name'), env, 60_000)));
    networksBefore = new Set(lines(await runOk(virsh('net-list', '--all', '--name'), env, 60_000)));
    log('vm-host: proxy-up.sh');
    await runOk([join(scripts, 'proxy-up.sh')], env, 60_000);
    log('vm-host: build-box.sh (cached after the first build)');
    await runOk([join(scripts, 'build-box.sh'), boxDir], env, 900_000);
    const box = parseEnvFile(readFileSync(join(boxDir, 'box.env'), 'utf8'));
    boxName = box.BOX_NAME ?? boxName;
    const boxVersion = box.BOX_VERSION;
    if (!boxVersion) throw new Error(`no BOX_VERSION in ${join(boxDir, 'box.env')}`);
    log(`vm-host: vagrant box add ${boxName} ${boxVersion}`);
    rmSync(vagrantHome, { recursive: true, force: true });
    mkdirSync(vagrantHome, { recursive: true });
    // VAGRANT_CWD: not the checkout, whose Vagrantfile wants stemforge's settings file
    await runOk(inNetns(['vagrant', 'box', 'add', '--force', join(boxDir, 'bookworm.json')]), { ...env, ...vagrantEnv, VAGRANT_CWD: stateDir }, 300_000);
    const proxyLogPath = join(stateDir, 'mirror-proxy.log');
    return {
      netns,
      stateDir,
      boxName,
      boxVersion,
      boxDir,
      vagrantHome,
      proxyUrlForVm,
      vagrantEnv,
      inNetns,
      proxyLog: () => (existsSync(proxyLogPath) ? readFileSync(proxyLogPath, 'utf8') : ''),
      tearDown,
    };
  } catch (err) {
    await tearDown().catch((e: unknown) => log(`vm-host: teardown after failed setup: ${e instanceof Error ? e.message : String(e)}`));
    throw err;
  }
}
