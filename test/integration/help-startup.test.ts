// The CLI's front door, driven as a user meets it (the real bin/stemforge.js in a child
// process): the short overview and each command's help, unknown commands, a reader that stops
// reading (`| head -1`), which modules start-up loads, and errors nobody caught.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../../src/util/paths.js';

const cli = join(packageRoot, 'bin', 'stemforge.js');
const scratch = mkdtempSync(join(tmpdir(), 'sf-front-'));
const env: NodeJS.ProcessEnv = {
  ...process.env,
  CI: 'true',
  NO_COLOR: '1',
  STEMFORGE_CONFIG_DIR: join(scratch, 'config'),
  STEMFORGE_CACHE_DIR: join(scratch, 'cache'),
};
delete env.STEMFORGE_DEBUG;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function stemforge(args: string[], options: { node?: string[]; env?: NodeJS.ProcessEnv } = {}): Run {
  const r = spawnSync(process.execPath, [...(options.node ?? []), cli, ...args], { env: { ...env, ...options.env }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The CLI with its stdout's reader gone before it writes, as `| head -1` is once it has its line. */
function readerGone(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

const overviewLines = (text: string): string[] => text.trimEnd().split('\n');

describe('help', () => {
  it('--help: one line per command, the commands to start with, and how to get a command’s flags', () => {
    const r = stemforge(['--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const lines = overviewLines(r.stdout);
    assert.ok(lines.length < 45, `${lines.length} lines`);
    assert.equal(lines[0], 'Usage: stemforge <command> [flags]');
    const startWith = /^Start with:\n((?: {2}.*\n)+)/m.exec(r.stdout)?.[1] ?? '';
    assert.deepEqual(
      startWith.split('\n').flatMap((l) => /^ {2}(\S+)/.exec(l)?.[1] ?? []),
      ['doctor', 'build', 'inspect', 'verify'],
    );
    assert.equal(lines.at(-1), 'Run `stemforge help CMD` or `stemforge CMD --help` for its flags.');
    assert.ok(!r.stdout.includes('--iaas'), 'no command’s flags in the overview');
  });

  it('bare `stemforge`: the overview on stderr and exit 2, as a missing command is a usage error', () => {
    const r = stemforge([]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, stemforge(['--help']).stdout);
  });

  it('`help CMD` and `CMD --help` print the same usage and flags, nested commands too', () => {
    for (const path of [['build'], ['cache', 'ls'], ['vm', 'up']]) {
      const viaHelp = stemforge(['help', ...path]);
      const viaFlag = stemforge([...path, '--help']);
      assert.equal(viaHelp.code, 0, viaHelp.stderr);
      assert.equal(viaFlag.code, 0, viaFlag.stderr);
      assert.equal(viaHelp.stdout, viaFlag.stdout);
      assert.match(viaHelp.stdout, new RegExp(`^Usage: stemforge ${path.join(' ')} \\[options\\]`));
    }
    const build = stemforge(['help', 'build']).stdout;
    for (const flag of ['--iaas', '--os', '--machine', '--on-error', '--resume-from', '--dry-run']) assert.ok(build.includes(flag), flag);
  });

  it('an unknown command or help topic is one line naming the commands there are, exit 2', () => {
    const commands = 'doctor, build, inspect, verify, os-image, stemcell, vm, config, version, cache, completion';
    for (const args of [
      ['help', 'frob'],
      ['frob', '--json'],
    ]) {
      const r = stemforge(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, `stemforge: error: unknown command 'frob' (commands: ${commands})\n`);
    }
    const nested = stemforge(['help', 'cache', 'frob']);
    assert.equal(nested.code, 2);
    assert.match(nested.stderr, /^stemforge: error: unknown command 'cache frob' \(commands of cache: dir, ls, info, .*\)\n$/);
  });
});

describe('a reader that stops reading', () => {
  for (const args of [['--help'], ['help', 'build'], ['cache', 'ls', '--json'], ['completion', 'bash']]) {
    it(`stemforge ${args.join(' ')}: exit 0 and nothing on stderr when stdout's reader is gone`, async () => {
      const r = await readerGone(args);
      assert.deepEqual(r, { code: 0, stderr: '' });
    });
  }

  it(
    'a build whose NDJSON reader goes away mid-run stops as after Ctrl-C: its steps unwind, exit 130, and it says why',
    { skip: process.getuid?.() === 0 ? false : 'builds on this machine need root' },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sf-epipe-'));
      const image = join(dir, 'os-image.tgz');
      writeFileSync(image, '');
      const child = spawn(
        process.execPath,
        [
          cli,
          'build',
          '--json',
          '--yes',
          '--machine',
          'local',
          '--iaas',
          'warden',
          '--os',
          'debian-bookworm',
          '--os-image',
          image,
          '--skip-doctor',
          '--skip-blobstore-clis',
        ].concat(['--agent-file', image, '--out', join(dir, 'out'), '--build-root', join(dir, 'root'), '--cache-dir', join(dir, 'cache')]),
        { env: { ...env, XDG_STATE_HOME: join(dir, 'state') }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      // as `| head -1`: the first event is read, then the reader is gone
      child.stdout.once('data', () => child.stdout.destroy());
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      try {
        assert.equal(code, 130, stderr);
        assert.match(stderr, /^stemforge: the reader of stdout went away \(broken pipe\): stopping the current stage and cleaning up$/m);
        const runLog = /^run log: (.+)$/m.exec(stderr)?.[1];
        assert.ok(runLog, stderr);
        const events = readFileSync(runLog, 'utf8');
        assert.match(events, /"type":"note","text":"failed: interrupted"/);
        // it stopped where it was: the OS image (an empty stand-in) was never sent
        assert.doesNotMatch(events, /Send the OS image/);
        assert.ok(!readFileSync('/proc/self/mounts', 'utf8').includes(dir), 'nothing stays mounted');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('`stemforge --help | head -1` in a real shell pipeline', () => {
    const r = spawnSync('bash', ['-c', 'set -o pipefail; "$0" "$1" --help | head -1', process.execPath, cli], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'Usage: stemforge <command> [flags]\n');
    assert.equal(r.stderr, '');
  });
});

describe('start-up', () => {
  // Node's module hooks, through --import, record every module the CLI loads
  const trace = join(scratch, 'trace');
  const hooks = join(scratch, 'hooks.mjs');
  const register = join(scratch, 'register.mjs');
  writeFileSync(
    hooks,
    `import { appendFileSync } from 'node:fs';\n` +
      `export async function load(url, context, next) { appendFileSync(${JSON.stringify(trace)}, url + '\\n'); return next(url, context); }\n`,
  );
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  const heavy = ['ssh2', 'listr2', '@inquirer/prompts', '@listr2/prompt-adapter-inquirer', 'tar', 'execa', 'conf', 'yaml'];

  /** The packages a run loaded, by name. */
  function packagesLoaded(args: string[]): Set<string> {
    rmSync(trace, { force: true });
    stemforge(args, { node: ['--import', pathToFileURL(register).href] });
    const urls = readFileSync(trace, 'utf8').split('\n');
    return new Set(urls.flatMap((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1] ?? []));
  }

  for (const args of [['--version'], ['--help'], ['help', 'build'], ['cache', '--help']]) {
    it(`stemforge ${args.join(' ')} loads commander and none of the modules that do the work`, () => {
      const loaded = packagesLoaded(args);
      assert.ok(loaded.has('commander'), `the trace sees packages: ${[...loaded].join(', ')}`);
      assert.deepEqual(
        heavy.filter((p) => loaded.has(p)),
        [],
      );
    });
  }

  it('a command that runs loads what it needs (the trace sees them)', () => {
    assert.ok(packagesLoaded(['config', 'path']).has('conf'));
    const inspect = packagesLoaded(['inspect', join(scratch, 'missing.tgz')]);
    assert.ok(inspect.has('tar') && inspect.has('yaml'), [...inspect].join(', '));
  });
});

describe('a command busy at a silent ssh server: signals and errors nobody caught', () => {
  // A silent server on loopback: `doctor` over ssh waits there for a banner, so the CLI is
  // busy in a command when the fault comes.
  let server: Server;
  let port = 0;
  const sockets: Socket[] = [];
  const identity = join(scratch, 'id_ed25519');

  before(async () => {
    server = createServer((s) => void sockets.push(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', identity]);
  });
  after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });

  const doctorAtSilentServer = (): string[] => ['doctor', '--machine', `ssh://root@127.0.0.1:${port}`, '--host-key', 'SHA256:x', '--identity', identity];

  /**
   * A fault injected from outside, through Node's --import: once the CLI has its last-resort
   * handlers in place, a timer throws `fault` (or rejects with it, nobody awaiting).
   */
  function withFault(kind: 'throw' | 'reject', fault: string, debug = false): Run {
    const file = join(scratch, `fault-${kind}-${Math.random().toString(36).slice(2)}.mjs`);
    const act = kind === 'throw' ? `throw ${fault};` : `void Promise.reject(${fault});`;
    writeFileSync(file, `const wait = setInterval(() => { if (process.listenerCount('uncaughtException') === 0) return; clearInterval(wait); ${act} }, 20);\n`);
    return stemforge(doctorAtSilentServer(), {
      node: ['--import', pathToFileURL(file).href],
      env: debug ? { STEMFORGE_DEBUG: '1' } : {},
    });
  }

  it('Ctrl-C in a command is ours alone: the first stops the run, the second exits 130 (the settings store hooks no signal)', async () => {
    const child = spawn(process.execPath, [cli, ...doctorAtSilentServer()], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const connected = sockets.length;
    // the doctor at the server: in its action
    while (sockets.length === connected) {
      assert.equal(child.exitCode, null, `the doctor ended before it reached the server: ${stderr}`);
      await sleep(20);
    }
    child.kill('SIGINT');
    await sleep(1000);
    assert.equal(child.exitCode, null, `still running after one Ctrl-C: ${stderr}`);
    assert.match(stderr, /stemforge: interrupted: stopping the current stage and cleaning up \(Ctrl-C again to quit at once\)/);
    child.kill('SIGINT');
    assert.equal(await exited, 130);
  });

  it('a thrown string: one line, exit 1', () => {
    const r = withFault('throw', "'the disk is full'");
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'stemforge: error: the disk is full\n');
  });

  it('a promise rejected with a plain object that nobody awaited: one line, exit 1', () => {
    const r = withFault('reject', "{ code: 42, why: 'nobody awaited me' }");
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "stemforge: error: { code: 42, why: 'nobody awaited me' }\n");
  });

  it('a thrown Error: its message and no stack, unless STEMFORGE_DEBUG=1', () => {
    const plain = withFault('throw', "new Error('socket hang up')");
    assert.equal(plain.code, 1);
    assert.equal(plain.stderr, 'stemforge: error: socket hang up\n');
    const debug = withFault('throw', "new Error('socket hang up')", true);
    assert.equal(debug.code, 1);
    assert.match(debug.stderr, /^stemforge: error: socket hang up\nError: socket hang up\n {4}at /);
  });
});

after(() => rmSync(scratch, { recursive: true, force: true }));
