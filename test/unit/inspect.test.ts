// `stemforge inspect`: bosh's fields, each Director check and each stemforge check failing on its
// own, and hostile tarballs refused without a byte written anywhere (TMPDIR and cwd are watched).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { checkStemcell, formatInspection, inspectStemcell, readStemcell, type StemcellInspection } from '../../src/stemcell/inspect.js';
import { HostileTarballError } from '../../src/stemcell/tar-reader.js';
import { HintedError, UsageError } from '../../src/util/errors.js';
import { stemforgeSync } from '../helpers/stemcell-cli.js';
import { goodCdx, goodSpdx, paxEntry, rawTar, sha1, stemcellTarball, type RawEntry, type StemcellSpec } from '../helpers/stemcell-tarball.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

let sandbox: string;
let scratch: string;
let work: string;
let savedTmp: string | undefined;
let savedCwd: string;
let n = 0;

/** Everything below a directory, as relative paths. */
function listTree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: false }).map(String).sort();
}

function write(data: Buffer): string {
  const path = join(sandbox, 'in', `stemcell-${(n += 1)}.tgz`);
  writeFileSync(path, data);
  return path;
}

async function inspect(spec: StemcellSpec = {}): Promise<StemcellInspection> {
  return inspectStemcell(write(stemcellTarball(spec)));
}

function check(result: StemcellInspection, id: string) {
  const c = result.checks.find((x) => x.id === id);
  assert.ok(c, `no check ${id}`);
  return c;
}

/** Asserts exactly these checks fail, and names them in the failure message. */
function assertFailed(result: StemcellInspection, ids: string[]): void {
  assert.deepEqual(
    result.checks
      .filter((c) => c.status === 'fail')
      .map((c) => c.id)
      .sort(),
    [...ids].sort(),
    formatInspection(result),
  );
  assert.equal(result.ok, ids.length === 0);
}

before(() => {
  sandbox = mkdtempSync(join(tmpdir(), 'sf-inspect-test-'));
  scratch = join(sandbox, 'tmp');
  work = join(sandbox, 'cwd');
  for (const d of [scratch, work, join(sandbox, 'in')]) mkdirSync(d);
  // the code under test must not write: point its temp dir and cwd at empty folders we list afterwards
  savedTmp = process.env.TMPDIR;
  process.env.TMPDIR = scratch;
  savedCwd = process.cwd();
  process.chdir(work);
});

after(() => {
  process.chdir(savedCwd);
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  rmSync(sandbox, { recursive: true, force: true });
});

describe('inspect: a good stemcell', () => {
  it("passes every check and reports bosh's fields", async () => {
    const result = await inspect();
    assertFailed(result, []);
    assert.equal(result.name, 'bosh-openstack-kvm-ubuntu-jammy-go_agent-raw');
    assert.equal(result.os, 'ubuntu-jammy');
    assert.equal(result.version, '1.620');
    assert.equal(result.infrastructure, 'openstack');
    assert.equal(result.hypervisor, 'kvm');
    assert.equal(result.diskFormat, 'raw');
    assert.equal(result.checks.filter((c) => c.status === 'skip').length, 0);
    assert.deepEqual(
      result.members.map((m) => m.name),
      ['stemcell.MF', 'packages.txt', 'dev_tools_file_list.txt', 'image', 'sbom.spdx.json', 'sbom.cdx.json'],
    );
    const text = formatInspection(result);
    assert.match(text, /^Name {12}bosh-openstack-kvm-ubuntu-jammy-go_agent-raw$/m);
    assert.match(text, /^Version {9}1\.620$/m);
    assert.match(text, /^ok: 13 of 13 checks passed$/m);
  });

  it('of every infrastructure with an image format we build passes', async () => {
    for (const [iaas, diskFormat] of [
      ['aws', 'raw'],
      ['google', 'rawdisk'],
      ['openstack', 'qcow2'],
      ['vsphere', 'ovf'],
      ['warden', 'files'],
    ] as const) {
      assertFailed(await inspect({ iaas, diskFormat }), []);
    }
  });

  it('accepts ./-prefixed names and a ./ directory entry, as bosh does, and says so', async () => {
    const image = Buffer.from('img');
    const mf = stemcellTarball({ image });
    const result = await inspectStemcell(write(mf));
    assert.equal(result.ok, true);
    const dotted = await inspectStemcell(write(stemcellTarball({ image, prefix: './' })));
    assertFailed(dotted, []);
    assert.match(check(dotted, 'files').detail ?? '', /'\.\/'/);
    assert.equal(check(dotted, 'manifest').detail, './stemcell.MF');
  });

  it('a light stemcell (empty image) passes when the MF has the empty SHA-1', async () => {
    const result = await inspect({ image: Buffer.alloc(0) });
    assertFailed(result, []);
    assert.equal(result.imageSha1, 'da39a3ee5e6b4b0d3255bfef95601890afd80709');
  });
});

describe('inspect: each Director check fails on its own', () => {
  it('no stemcell.MF: "Missing \'stemcell.MF\'", the MF field checks skipped', async () => {
    const result = await inspect({ files: { 'stemcell.MF': undefined } });
    assertFailed(result, ['manifest', 'files']);
    assert.equal(check(result, 'manifest').detail, "Missing 'stemcell.MF'");
    for (const id of ['name', 'version', 'sha1', 'stemcell_formats', 'image-sha1', 'formats']) assert.equal(check(result, id).status, 'skip');
    assert.equal(result.infrastructure, 'unknown');
    assert.equal(result.hypervisor, '-');
  });

  it('stemcell.MF that is not YAML, or not a map', async () => {
    assertFailed(await inspect({ manifestText: 'name: [unclosed\n' }), ['manifest']);
    assertFailed(await inspect({ manifestText: '- a\n- b\n' }), ['manifest']);
  });

  it('an unquoted version is a number the Director would coerce: 1.620 → 1.62, 0000 → 0', async () => {
    const mfWith = (version: string) => (mf: Record<string, unknown>) => stringify(mf).replace(/^version: .*$/m, `version: ${version}`);
    for (const [literal, coerced] of [
      ['1.620', '1.62'],
      ['0000', '0'],
      ['1.0', '1.0'],
      ['621', '621'],
    ] as const) {
      const image = Buffer.from('img');
      const text = mfWith(literal)({
        name: 'bosh-x',
        version: 'v',
        sha1: sha1(image),
        operating_system: 'ubuntu-jammy',
        stemcell_formats: ['openstack-raw', 'openstack-qcow2'],
        cloud_properties: { infrastructure: 'openstack', disk_format: 'raw' },
      });
      const result = await inspect({ manifestText: text, image });
      assertFailed(result, ['version']);
      assert.match(check(result, 'version').detail ?? '', new RegExp(`coerce it to '${coerced.replace('.', '\\.')}'`));
      assert.match(check(result, 'version').detail ?? '', new RegExp(`version: '${literal.replace('.', '\\.')}'`));
      assert.equal(result.version, literal, 'printed as bosh prints it');
    }
  });

  it('name, sha1 and operating_system must be Strings and name and sha1 must be there', async () => {
    assertFailed(await inspect({ editManifest: (mf) => void ((mf as unknown as Record<string, unknown>).name = 42) }), ['name']);
    assertFailed(await inspect({ editManifest: (mf) => void delete (mf as Partial<typeof mf>).name }), ['name']);
    const noSha = await inspect({ editManifest: (mf) => void delete (mf as Partial<typeof mf>).sha1 });
    assertFailed(noSha, ['sha1']);
    assert.equal(check(noSha, 'image-sha1').status, 'skip');
    assertFailed(await inspect({ editManifest: (mf) => void ((mf as unknown as Record<string, unknown>).operating_system = ['ubuntu']) }), [
      'operating_system',
    ]);
    assertFailed(await inspect({ editManifest: (mf) => void delete (mf as Partial<typeof mf>).version }), ['version']);
  });

  it('stemcell_formats must be an array of strings', async () => {
    const asString = await inspect({ editManifest: (mf) => void ((mf as unknown as Record<string, unknown>).stemcell_formats = 'openstack-raw') });
    assertFailed(asString, ['stemcell_formats', 'formats']);
    assertFailed(await inspect({ editManifest: (mf) => void ((mf as unknown as Record<string, unknown>).stemcell_formats = ['openstack-raw', 7]) }), [
      'stemcell_formats',
      'formats',
    ]);
    assertFailed(await inspect({ editManifest: (mf) => void delete (mf as Partial<typeof mf>).stemcell_formats }), ['stemcell_formats', 'formats']);
  });

  it('cloud_properties must be a map', async () => {
    const result = await inspect({ editManifest: (mf) => void ((mf as unknown as Record<string, unknown>).cloud_properties = ['a']) });
    assertFailed(result, ['cloud_properties']);
    assert.equal(result.infrastructure, 'unknown');
    assert.equal(check(result, 'formats').status, 'skip');
  });

  it('image must be a regular file', async () => {
    const missing = await inspect({ files: { image: undefined } });
    assertFailed(missing, ['image', 'files']);
    assert.equal(check(missing, 'image-sha1').status, 'skip');
    assert.match(check(missing, 'files').detail ?? '', /missing: image/);
    const path = write(
      gzipSync(
        rawTar([
          {
            name: 'stemcell.MF',
            body: stringify({ name: 'n', version: '1', sha1: 'a'.repeat(40), operating_system: 'o', stemcell_formats: ['x'], cloud_properties: {} }),
          },
          { name: 'image/', type: '5' },
        ]),
      ),
    );
    const dir = await inspectStemcell(path);
    assert.equal(check(dir, 'image').status, 'fail');
    assert.match(check(dir, 'image').detail ?? '', /directory/);
  });
});

describe('inspect: each stemforge check fails on its own', () => {
  it('image SHA-1 differs from stemcell.MF', async () => {
    const result = await inspect({ editManifest: (mf) => void (mf.sha1 = 'b'.repeat(40)) });
    assertFailed(result, ['image-sha1']);
    assert.match(check(result, 'image-sha1').detail ?? '', /stemcell\.MF says b{40}, image is [0-9a-f]{40}/);
  });

  it('stemcell_formats or disk_format that do not fit the infrastructure; an unknown one is skipped', async () => {
    const wrong = await inspect({ iaas: 'aws', editManifest: (mf) => void (mf.stemcell_formats = ['openstack-raw']) });
    assertFailed(wrong, ['formats']);
    assert.match(check(wrong, 'formats').detail ?? '', /aws stemcells carry \[aws-raw\]/);
    const disk = await inspect({ iaas: 'aws', editManifest: (mf) => void (mf.cloud_properties.disk_format = 'qcow2') });
    assertFailed(disk, ['formats']);
    const unknown = await inspect({ editManifest: (mf) => void (mf.cloud_properties.infrastructure = 'mainframe') });
    assertFailed(unknown, []);
    assert.equal(check(unknown, 'formats').status, 'skip');
    assert.equal(unknown.infrastructure, 'mainframe');
  });

  it('not exactly the six files: names the extras and the missing', async () => {
    const result = await inspect({ files: { 'packages.txt': undefined, 'sbom.cdx.json': undefined, 'notes.txt': 'hi', '.DS_Store': 'x' } });
    assertFailed(result, ['files', 'sbom-cdx']);
    assert.equal(check(result, 'files').detail, 'missing: packages.txt, sbom.cdx.json; extra: notes.txt, .DS_Store');
  });

  it('SPDX SBOM: not JSON, wrong version, no packages', async () => {
    for (const bad of ['{not json', JSON.stringify({ spdxVersion: 'SPDX-2.2', packages: [] }), JSON.stringify({ spdxVersion: 'SPDX-2.3' }), '[]']) {
      assertFailed(await inspect({ files: { 'sbom.spdx.json': bad } }), ['sbom-spdx']);
    }
    assert.match(check(await inspect({ files: { 'sbom.spdx.json': goodSpdx } }), 'sbom-spdx').detail ?? '', /2 packages/);
  });

  it('CycloneDX SBOM: not JSON, wrong bomFormat, no components', async () => {
    for (const bad of ['', JSON.stringify({ bomFormat: 'SPDX', components: [] }), JSON.stringify({ bomFormat: 'CycloneDX', components: {} })]) {
      assertFailed(await inspect({ files: { 'sbom.cdx.json': bad } }), ['sbom-cdx']);
    }
    assert.match(check(await inspect({ files: { 'sbom.cdx.json': goodCdx } }), 'sbom-cdx').detail ?? '', /1 components, spec 1\.5/);
  });
});

describe('inspect: hostile tarballs are refused, nothing is written', () => {
  const mf = { name: 'stemcell.MF', body: 'name: x\n' };
  const hostile: [string, RawEntry[], RegExp, { end?: boolean; limits?: Record<string, number> }?][] = [
    ['a .. path', [mf, { name: '../escaped', body: 'x' }], /'\.\.\/escaped' has a '\.\.' component/],
    ['a .. path deeper down', [{ name: 'a/../../escaped', body: 'x' }], /'\.\.' component/],
    ['an absolute path', [{ name: '/tmp/sf-escaped', body: 'x' }], /absolute path/],
    ['image as a symlink to /etc/shadow', [mf, { name: 'image', type: '2', linkname: '/etc/shadow' }], /'image' is a symbolic link \(to '\/etc\/shadow'\)/],
    ['a symlink pointing inside', [{ name: 'packages.txt', type: '2', linkname: 'stemcell.MF' }], /symbolic link/],
    ['a hard link', [mf, { name: 'image', type: '1', linkname: 'stemcell.MF' }], /'image' is a hard link/],
    ['a character device', [{ name: 'image', type: '3' }], /device or FIFO \(CharacterDevice\)/],
    ['a block device', [{ name: 'image', type: '4' }], /device or FIFO \(BlockDevice\)/],
    ['a FIFO', [{ name: 'image', type: '6' }], /device or FIFO \(FIFO\)/],
    ['an unknown entry type', [{ name: 'image', type: 'V', body: 'x' }], /type a stemcell never holds/],
    [
      'a pax header renaming the next entry to ..',
      [paxEntry({ path: '../../pax-escaped' }), { name: 'image', body: 'x' }],
      /'\.\.\/\.\.\/pax-escaped' has a '\.\.' component/,
    ],
    [
      'a pax header making the next entry a symlink target',
      [paxEntry({ linkpath: '/etc/passwd' }), { name: 'image', type: '2', linkname: 'x' }],
      /symbolic link \(to '\/etc\/passwd'\)/,
    ],
    [
      'a GNU long name that is absolute',
      [
        { name: '././@LongLink', type: 'L', body: `/${'x'.repeat(150)}\0` },
        { name: 'image', body: 'x' },
      ],
      /absolute path/,
    ],
    [
      'a pax header too large to keep',
      [
        { name: 'PaxHeader', type: 'x', body: Buffer.alloc(100 * 1024, 'a') },
        { name: 'image', body: 'x' },
      ],
      /type a stemcell never holds \(ExtendedHeader/,
    ],
    ['the same name twice', [mf, { name: 'image', body: 'a' }, { name: './image', body: 'b' }], /'image' appears twice/],
    ['more than 64 entries', Array.from({ length: 70 }, (_, i) => ({ name: `f${i}`, body: '' })), /more than 64 entries/],
    ['an image declared larger than 64 GiB', [mf, { name: 'image', size: 100 * GiB }], /'image' is 100 GiB, over the limit of 64 GiB/, { end: false }],
    [
      'a text file declared larger than 64 MiB',
      [{ name: 'packages.txt', size: 65 * MiB }],
      /'packages\.txt' is 65 MiB, over the limit of 64 MiB/,
      { end: false },
    ],
    ['an extra file declared larger than 64 MiB', [{ name: 'extra.bin', size: 2 * GiB }], /'extra\.bin' is 2 GiB/, { end: false }],
    [
      'more data than the total limit',
      [mf, { name: 'image', body: Buffer.alloc(64 * 1024, 1) }],
      /more than 32 KiB of data/,
      { limits: { maxTotalBytes: 32 * 1024 } },
    ],
    [
      'an image over a (lowered) limit',
      [mf, { name: 'image', body: Buffer.alloc(8192, 1) }],
      /'image' is 8 KiB, over the limit of 4 KiB/,
      { limits: { maxImageBytes: 4096 } },
    ],
  ];

  for (const [what, entries, reason, options] of hostile) {
    it(`refuses ${what}`, async () => {
      const path = write(gzipSync(rawTar(entries, { end: options?.end })));
      const before = listTree(sandbox);
      await assert.rejects(readStemcell(path, { limits: options?.limits }), (err: unknown) => {
        assert.ok(err instanceof HostileTarballError, String(err));
        assert.match(err.message, reason);
        return true;
      });
      assert.deepEqual(listTree(sandbox), before, 'nothing written in the sandbox');
      assert.deepEqual(readdirSync(scratch), [], 'nothing in TMPDIR');
      assert.deepEqual(readdirSync(work), [], 'nothing in the working directory');
    });
  }

  it('refuses a gzip bomb of zeros after the end of the archive, without reading it all', async () => {
    const tar = Buffer.concat([rawTar([mf]), Buffer.alloc(40 * MiB)]);
    await assert.rejects(readStemcell(write(gzipSync(tar))), /after the end-of-archive marker/);
  });

  it('reads the normal padding after the end of the archive', async () => {
    const tar = Buffer.concat([gzipSync(Buffer.concat([rawTar([mf]), Buffer.alloc(9 * 1024)]))]);
    const contents = await readStemcell(write(tar));
    assert.deepEqual(
      contents.members.map((m) => m.name),
      ['stemcell.MF'],
    );
  });

  it('a truncated tarball, a corrupt header and a non-gzip file are errors, not hostile', async () => {
    const good = rawTar([mf, { name: 'image', body: Buffer.alloc(4096, 7) }]);
    await assert.rejects(
      readStemcell(write(gzipSync(good.subarray(0, 1024 + 512 + 100)))),
      (err: unknown) => err instanceof HintedError && !(err instanceof HostileTarballError) && /not a valid tar|Truncated/i.test(err.message),
    );
    const corrupt = Buffer.from(good);
    corrupt[0] = 0x41; // the checksum no longer matches
    await assert.rejects(readStemcell(write(gzipSync(corrupt))), /not a valid tar/);
    await assert.rejects(readStemcell(write(good)), /not gzip-compressed/);
    await assert.rejects(readStemcell(write(gzipSync(Buffer.from('just text, no tar at all'.repeat(40))))), /not a valid tar/);
  });

  it('a missing file or a directory is a usage error', async () => {
    await assert.rejects(readStemcell(join(sandbox, 'nope.tgz')), UsageError);
    await assert.rejects(readStemcell(sandbox), UsageError);
  });

  it('checks what was read without touching the disk (pure)', () => {
    const result = checkStemcell({ path: 'x', members: [], files: new Map() });
    assert.equal(result.ok, false);
    assert.equal(check(result, 'image').status, 'fail');
  });
});

describe('stemforge inspect (CLI)', () => {
  it('exit 0 and the report for a good stemcell; --json is one document', () => {
    const path = write(stemcellTarball());
    const text = stemforgeSync(['inspect', path]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^Infrastructure {2}openstack$/m);
    assert.match(text.stdout, /ok: 13 of 13 checks passed/);
    const json = stemforgeSync(['inspect', path, '--json']);
    assert.equal(json.code, 0);
    const doc = JSON.parse(json.stdout) as StemcellInspection;
    assert.equal(doc.ok, true);
    assert.equal(doc.version, '1.620');
    assert.equal(doc.checks.length, 13);
  });

  it('exit 1 when a check fails, with FAIL on the line', () => {
    const r = stemforgeSync(['inspect', write(stemcellTarball({ editManifest: (mf) => void (mf.sha1 = 'c'.repeat(40)) }))]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^ {2}FAIL {2}image's SHA-1 matches stemcell\.MF/m);
    assert.match(r.stdout, /^FAIL: 12 of 13 checks passed, 1 failed$/m);
  });

  it('exit 1 and a clear refusal for a hostile tarball; --json too', () => {
    const path = write(gzipSync(rawTar([{ name: 'image', type: '2', linkname: '/etc/shadow' }])));
    const r = stemforgeSync(['inspect', path]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /refused: entry 'image' is a symbolic link/);
    const json = stemforgeSync(['inspect', path, '--json']);
    assert.equal(json.code, 1);
    assert.equal((JSON.parse(json.stdout) as { ok: boolean }).ok, false);
  });

  it('exit 2 for a missing file or no argument', () => {
    const missing = stemforgeSync(['inspect', join(sandbox, 'missing.tgz')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no such file/);
    assert.equal(stemforgeSync(['inspect']).code, 2);
  });
});
