// Cache faults as a user meets them through the real CLI: a cache folder that is a file, lies
// under a file or cannot be read; `cache import` of things that are not an export (empty,
// garbage, text, every cut-short prefix of a real one), which must leave the cache unchanged;
// and names from files (cache labels, stemcell.MF fields, tar entry names) that hold escape
// sequences and reach the terminal only as visible text.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tar from 'tar';
import { ArtifactCache, type CacheEntry } from '../../src/cache/store.js';
import { exportEntries } from '../../src/cache/transfer.js';
import { packageRoot } from '../../src/util/paths.js';
import { stemcellTarball } from '../helpers/stemcell-tarball.js';
import { digestTree, diffTrees } from '../helpers/tree-digest.js';

const cli = join(packageRoot, 'bin', 'stemforge.js');
const hostile = 'evil \u001b[2J\u001b]0;owned\u0007 bell\u0007';
const nobody = ['--reuid', '65534', '--regid', '65534', '--clear-groups'];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let dir: string;
let env: NodeJS.ProcessEnv;

function stemforge(args: string[], options: { asNobody?: boolean } = {}): Run {
  const r = options.asNobody
    ? spawnSync('setpriv', [...nobody, process.execPath, cli, ...args], { env, encoding: 'utf8' })
    : spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Nothing a terminal would act on: no ESC, BEL or other control character but the line feeds. */
function assertNoControls(text: string, what: string): void {
  // eslint-disable-next-line no-control-regex -- the test looks for control characters
  assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/, `${what} holds a raw control character: ${JSON.stringify(text)}`);
}

async function cacheWith(path: string, label: string, n = 1): Promise<{ cache: ArtifactCache; entries: CacheEntry[] }> {
  const cache = new ArtifactCache(path);
  const entries: CacheEntry[] = [];
  for (let i = 1; i <= n; i++) {
    const file = join(dir, `artifact-${i}`);
    writeFileSync(file, `artifact ${i} `.repeat(200 * i));
    entries.push(await cache.putFile(file, { key: String(i).repeat(64), kind: 'os-image', name: `os-image-${i}.tgz`, label, manifest: { i } }));
  }
  return { cache, entries };
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sf-cache-probes-'));
  chmodSync(dir, 0o755);
  const config = join(dir, 'config');
  mkdirSync(config);
  env = { ...process.env, CI: 'true', NO_COLOR: '1', HOME: dir, XDG_CONFIG_HOME: config, XDG_CACHE_HOME: join(dir, 'xdg-cache'), STEMFORGE_CONFIG_DIR: config };
  delete env.STEMFORGE_CACHE_DIR;
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('a cache folder that cannot be used', () => {
  it('is a file: every cache command names it and the fix, exit 1, and the file is left as it was', () => {
    const file = join(dir, 'cache-is-a-file');
    writeFileSync(file, 'not a folder\n');
    for (const args of [['ls'], ['verify'], ['info', 'abcdef'], ['prune', '--max-age', '1']]) {
      const r = stemforge(['cache', ...args, '--cache-dir', file]);
      assert.equal(r.code, 1, `cache ${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`the cache folder ${file} is a file, not a folder`));
      assert.match(r.stderr, /what to do: move it away .*--cache-dir DIR/);
      assert.doesNotMatch(r.stdout, /empty/);
    }
    assert.equal(readFileSync(file, 'utf8'), 'not a folder\n');
  });

  it('doctor reports a cache folder that is a file, or under one, as a failed check with the fix (exit 1)', () => {
    const file = join(dir, 'doctor-cache-file');
    writeFileSync(file, '');
    for (const [cacheDir, detail] of [
      [file, `the cache folder ${file} is a file, not a folder`],
      [join(file, 'sub'), `the cache folder ${join(file, 'sub')} cannot be made: ${file} is a file, not a folder`],
    ] as const) {
      const r = stemforge(['doctor', '--machine', 'ssh://nobody@127.0.0.1:1', '--cache-dir', cacheDir, '--out', join(dir, 'out'), '--json']);
      assert.equal(r.code, 1, r.stderr);
      const check = (JSON.parse(r.stdout) as { checks: { id: string; status: string; detail: string; fix?: string }[] }).checks.find(
        (c) => c.id === 'disk-cache',
      );
      assert.equal(check?.status, 'fail');
      assert.equal(check?.detail, detail);
      assert.match(check?.fix ?? '', /--cache-dir DIR/);
    }
    const good = stemforge(['doctor', '--machine', 'ssh://nobody@127.0.0.1:1', '--cache-dir', join(dir, 'doctor-cache'), '--out', join(dir, 'out'), '--json']);
    const check = (JSON.parse(good.stdout) as { checks: { id: string; status: string }[] }).checks.find((c) => c.id === 'disk-cache');
    assert.notEqual(check?.status, 'fail');
  });

  it('lies under a file (ENOTDIR): the file is named', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const r = stemforge(['cache', 'ls', '--cache-dir', join(file, 'cache')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`cannot be made: ${file} is a file, not a folder`));
    assert.doesNotMatch(r.stderr, /ENOTDIR/);
  });

  it('a part of it is a file: the part is named', async () => {
    const path = join(dir, 'cache-index-file');
    await cacheWith(path, 'plain');
    rmSync(join(path, 'index'), { recursive: true });
    writeFileSync(join(path, 'index'), '');
    const r = stemforge(['cache', 'ls', '--cache-dir', path]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`${join(path, 'index')} in the cache folder ${path} is a file, not a folder`)); // deeper down, met only while verify walks the blobs: still named, with the fix
    const deep = join(dir, 'cache-blob-prefix-file');
    const { entries } = await cacheWith(deep, 'plain');
    const prefix = join(deep, 'blobs', 'sha256', entries[0]!.digest.slice(0, 2));
    rmSync(prefix, { recursive: true });
    writeFileSync(prefix, '');
    const verify = stemforge(['cache', 'verify', '--cache-dir', deep]);
    assert.equal(verify.code, 1);
    assert.match(verify.stderr, new RegExp(`cannot use the cache folder ${deep}: ${prefix}: a file stands where a folder should be`));
    assert.match(verify.stderr, /what to do: .*move .* away/);
  });

  it('cannot be read by this user (mode 000, as nobody): ls and import say so, no stack trace', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root to run as nobody');
    if (spawnSync('setpriv', [...nobody, 'test', '-r', cli]).status !== 0) return t.skip('user nobody cannot read this checkout');
    const { cache, entries } = await cacheWith(join(dir, 'source-for-nobody'), 'plain');
    const tarFile = join(dir, 'for-nobody.tar');
    await exportEntries(cache, entries, tarFile);
    chmodSync(tarFile, 0o644);
    const locked = join(dir, 'locked-cache');
    mkdirSync(locked, { mode: 0o000 });
    chmodSync(locked, 0o000);
    chownSync(join(dir, 'config'), 65534, 65534);
    t.after(() => chownSync(join(dir, 'config'), 0, 0));
    for (const args of [['ls'], ['import', tarFile], ['verify']]) {
      const r = stemforge(['cache', ...args, '--cache-dir', locked], { asNobody: true });
      assert.equal(r.code, 1, `cache ${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`cannot use the cache folder ${locked}: permission denied`));
      assert.match(r.stderr, /what to do: make it this user's/);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
  });
});

describe('cache import of what is not an export', () => {
  let target: string;
  let exportFile: string;
  let before: ReturnType<typeof digestTree>;

  const assertUnchanged = (what: string): void => assert.deepEqual(diffTrees(before, digestTree(target)), [], `${what} changed the cache`);

  it('setup: a cache with one entry, and a real export of two others', async () => {
    target = join(dir, 'import-target');
    await cacheWith(target, 'already here');
    const { cache, entries } = await cacheWith(join(dir, 'import-source'), 'from a teammate', 3);
    exportFile = join(dir, 'export.tar');
    await exportEntries(cache, entries.slice(1), exportFile);
    before = digestTree(target);
  });

  it('empty, garbage, text and a tar of other files: exit 2, "not a stemforge cache export (…)", the cache unchanged', async () => {
    const other = join(dir, 'other');
    mkdirSync(join(other, 'entries'), { recursive: true });
    mkdirSync(join(other, 'blobs'), { recursive: true });
    writeFileSync(join(other, 'notes.txt'), 'a tar, but not of a cache\n');
    await tar.c({ cwd: other, file: join(dir, 'o.tar'), portable: true }, ['notes.txt']);
    await tar.c({ cwd: other, file: join(dir, 'f.tar'), portable: true }, ['entries', 'blobs']);
    const otherTar = readFileSync(join(dir, 'o.tar'));
    const foldersOnly = readFileSync(join(dir, 'f.tar'));
    const cases: [string, Buffer, RegExp][] = [
      ['empty.tar', Buffer.alloc(0), /\(an empty file\)/],
      ['garbage.tar', Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7919 + 13) % 256)), /\(not a tar archive\)/],
      ['text.tar', Buffer.from('hello, this is a text file\n'.repeat(40)), /\(not a tar archive\)/],
      ['other.tar', otherTar, /\(refusing 'notes\.txt' \(File\): only entries\/<key>\.json and blobs\/<sha256> files belong in one\)/],
      ['folders-only.tar', foldersOnly, /\(it holds no cache entry\)/],
    ];
    for (const [name, data, reason] of cases) {
      writeFileSync(join(dir, name), data);
      const r = stemforge(['cache', 'import', join(dir, name), '--cache-dir', target]);
      assert.equal(r.code, 2, `${name}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`${join(dir, name)} is not a stemforge cache export`));
      assert.match(r.stderr, reason, name);
      assert.match(r.stderr, /make one with `stemforge cache export/);
      assertUnchanged(name);
    }
  });

  it('every prefix of a real export cut at a tar block, 512 bytes and all but the last block included, and cuts inside blocks', () => {
    const whole = readFileSync(exportFile);
    const cuts = new Set<number>();
    for (let n = 512; n < whole.length; n += 512) cuts.add(n);
    for (const n of [1, 100, 700, Math.floor(whole.length / 2) + 3, whole.length - 1]) cuts.add(n);
    assert.ok(cuts.has(512) && cuts.has(whole.length - 512));
    const cut = join(dir, 'cut.tar');
    for (const n of [...cuts].sort((a, b) => a - b)) {
      writeFileSync(cut, whole.subarray(0, n));
      const r = stemforge(['cache', 'import', cut, '--cache-dir', target]);
      assert.equal(r.code, 2, `a prefix of ${n} of ${whole.length} bytes: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /is not a stemforge cache export \((the archive ends early|not a tar archive)/, `prefix ${n}`);
      assertUnchanged(`a prefix of ${n} bytes`);
    }
  });

  it('a missing file or a folder is a usage error naming it (exit 2); the whole export still imports', () => {
    const missing = stemforge(['cache', 'import', join(dir, 'no-such.tar'), '--cache-dir', target]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, new RegExp(`no such file: ${join(dir, 'no-such.tar')}`));
    const folder = stemforge(['cache', 'import', dir, '--cache-dir', target]);
    assert.equal(folder.code, 2);
    assert.match(folder.stderr, /is not a regular file/);
    assertUnchanged('a missing file');
    const ok = stemforge(['cache', 'import', exportFile, '--cache-dir', target]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /imported 2 entries/);
    const ls = JSON.parse(stemforge(['cache', 'ls', '--cache-dir', target, '--json']).stdout) as { key: string }[];
    assert.equal(ls.length, 3);
  });
});

describe('names from files reach the terminal escaped', () => {
  it('cache ls, info, pin and verify show a label with ESC sequences and BEL as text; --json keeps the value', async () => {
    const path = join(dir, 'hostile-cache');
    await cacheWith(path, hostile);
    for (const args of [['ls'], ['info', '111111'], ['pin', '111111']]) {
      const r = stemforge(['cache', ...args, '--cache-dir', path]);
      assert.equal(r.code, 0, r.stderr);
      assertNoControls(r.stdout, `cache ${args[0]}`);
      assert.ok(r.stdout.includes('evil \\x1b[2J\\x1b]0;owned\\x07 bell\\x07'), r.stdout);
    }
    const json = JSON.parse(stemforge(['cache', 'ls', '--cache-dir', path, '--json']).stdout) as { label: string }[];
    assert.equal(json[0]?.label, hostile);
    // an index file whose very name holds an escape sequence: verify drops it and names it, escaped
    writeFileSync(join(path, 'index', 'x\u001b[2J\u0007.json'), '{');
    const verify = stemforge(['cache', 'verify', '--cache-dir', path]);
    assert.equal(verify.code, 1);
    assertNoControls(verify.stdout, 'cache verify');
    assert.match(verify.stdout, /dropped x\\x1b\[2J\\x07/);
  });

  it('a cache folder named with an escape sequence (say, from the settings file) is named escaped in its fault', () => {
    const file = join(dir, 'cache\u001b[2J\u0007');
    writeFileSync(file, '');
    const r = stemforge(['cache', 'ls', '--cache-dir', file]);
    assert.equal(r.code, 1);
    assertNoControls(r.stderr, 'the fault');
    assert.ok(r.stderr.includes('cache\\x1b[2J\\x07 is a file, not a folder'), r.stderr);
  });

  it('inspect shows stemcell.MF fields and tar entry names with ESC sequences and BEL as text; --json keeps the values', () => {
    const file = join(dir, 'bosh-stemcell-hostile.tgz');
    writeFileSync(
      file,
      stemcellTarball({
        editManifest: (mf) => {
          mf.name = `bosh-${hostile}`;
          mf.operating_system = 'ubuntu\u001b[31m-jammy\u009b2J';
        },
        files: { 'extra\u001b[2J\u0007.txt': 'x' },
      }),
    );
    const r = stemforge(['inspect', file]);
    assert.equal(r.code, 1, r.stderr); // the extra file fails a check
    assertNoControls(r.stdout, 'inspect');
    assert.match(r.stdout, /^Name {12}bosh-evil \\x1b\[2J\\x1b\]0;owned\\x07 bell\\x07$/m);
    assert.match(r.stdout, /^OS {14}ubuntu\\x1b\[31m-jammy\\x9b2J$/m);
    assert.match(r.stdout, /extra: extra\\x1b\[2J\\x07\.txt/);
    const json = JSON.parse(stemforge(['inspect', file, '--json']).stdout) as { name: string; os: string };
    assert.equal(json.name, `bosh-${hostile}`);
    assert.equal(json.os, 'ubuntu\u001b[31m-jammy\u009b2J');
  });

  it("a tar entry's name in inspect's refusal is escaped too", () => {
    const file = join(dir, 'bosh-stemcell-twice.tgz');
    // two members of the same name: the refusal names it
    writeFileSync(file, stemcellTarball({ files: { 'a\u001b[2J': 'x', './a\u001b[2J': 'y' } }));
    const r = stemforge(['inspect', file]);
    assert.equal(r.code, 1);
    assertNoControls(r.stderr, 'the refusal');
    assert.match(r.stderr, /entry 'a\\x1b\[2J' appears twice/);
  });
});
