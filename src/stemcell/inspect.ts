// `stemforge inspect`: what `bosh inspect-local-stemcell` prints, the checks the Director makes on
// upload (facts §10), and checks neither makes (image digest, formats, file list, SBOMs).
// The tarball is read as a stream: `image` is hashed on the fly, the small files go to memory.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { isMap, parseDocument, type Document, type Node } from 'yaml';
import { infrastructures } from '../catalog/infrastructures.js';
import { HintedError, UsageError } from '../util/errors.js';
import { terminalText } from '../util/terminal-text.js';
import { HostileTarballError, readTar, type TarLimits, type TarMember } from './tar-reader.js';

/** The six files the reference packager puts in every stemcell, and nothing else (facts §6). */
const stemcellFiles = ['stemcell.MF', 'packages.txt', 'dev_tools_file_list.txt', 'image', 'sbom.spdx.json', 'sbom.cdx.json'] as const;

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

export interface StemcellLimits {
  maxEntries: number;
  /** the disk image; a 5 GiB raw disk compresses well, but softlayer's is 25 GiB */
  maxImageBytes: number;
  /** every other member: text, YAML, JSON */
  maxFileBytes: number;
  maxTotalBytes: number;
}

const defaultStemcellLimits: StemcellLimits = {
  maxEntries: 64,
  maxImageBytes: 64 * GiB,
  maxFileBytes: 64 * MiB,
  maxTotalBytes: 65 * GiB,
};

// parsed here, so kept in memory (each at most maxFileBytes)
const keptFiles = new Set(['stemcell.MF', 'sbom.spdx.json', 'sbom.cdx.json']);

export interface StemcellContents {
  path: string;
  members: TarMember[];
  /** stemcell.MF and the SBOMs, by name */
  files: Map<string, Buffer>;
  imageSha1?: string;
  imageSize?: number;
}

export interface ReadStemcellOptions {
  limits?: Partial<StemcellLimits>;
  /** also hands the `image` bytes to this consumer while they are hashed; it must read the stream to its end or fail */
  image?: (body: Readable) => Promise<void>;
  signal?: AbortSignal;
}

/** A file the user named: it must exist and be a regular file (else a usage error, exit 2). */
async function checkInputFile(path: string): Promise<void> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new UsageError(`no such file: ${path}`);
  }
  if (!info.isFile()) throw new UsageError(`${path} is not a regular file (give the stemcell tarball, e.g. bosh-stemcell-1.0-….tgz)`);
}

async function startsWithGzipMagic(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

async function collect(body: AsyncIterable<Buffer>, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) throw new Error(`member grew past ${max} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Hashes `image` and, when asked, feeds the same bytes to a consumer (one pass over the tarball). */
async function hashImage(body: AsyncIterable<Buffer>, consumer?: (body: Readable) => Promise<void>): Promise<{ sha1: string; size: number }> {
  const hash = createHash('sha1');
  let size = 0;
  if (!consumer) {
    for await (const chunk of body) {
      hash.update(chunk);
      size += chunk.length;
    }
    return { sha1: hash.digest('hex'), size };
  }
  const pass = new PassThrough({ highWaterMark: 4 * MiB });
  let consumerDone = false;
  let consumerError: unknown;
  const consumed = consumer(pass).then(
    () => void (consumerDone = true),
    (err: unknown) => {
      consumerDone = true;
      consumerError = err;
    },
  );
  for await (const chunk of body) {
    hash.update(chunk);
    size += chunk.length;
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows exactly what the consumer rejected with
    if (consumerError) throw consumerError;
    // a consumer that has what it needs stops reading; the hash still needs every byte
    if (!consumerDone && !pass.destroyed && !pass.write(chunk)) {
      await Promise.race([new Promise((resolve) => pass.once('drain', resolve)), consumed]);
    }
  }
  if (!pass.destroyed) pass.end();
  await consumed;
  // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows exactly what the consumer rejected with
  if (consumerError) throw consumerError;
  return { sha1: hash.digest('hex'), size };
}

/** Reads a stemcell tarball once, streaming; refuses hostile tarballs (HostileTarballError) and writes nothing. */
export async function readStemcell(path: string, options: ReadStemcellOptions = {}): Promise<StemcellContents> {
  await checkInputFile(path);
  const limits = { ...defaultStemcellLimits, ...options.limits };
  const what = `stemcell tarball ${path}`;
  if (!(await startsWithGzipMagic(path))) {
    throw new HintedError(`${path} is not gzip-compressed`, 'a stemcell is a gzip tar (the Director runs tar -xzf on it); give the .tgz file');
  }
  const files = new Map<string, Buffer>();
  const contents: StemcellContents = { path, members: [], files };
  const tarLimits: TarLimits = {
    maxEntries: limits.maxEntries,
    maxTotalBytes: limits.maxTotalBytes,
    maxMemberBytes: (name) => (name === 'image' ? limits.maxImageBytes : limits.maxFileBytes),
  };
  let readError: unknown;
  try {
    await pipeline(createReadStream(path), createGunzip(), async (source: AsyncIterable<Buffer>) => {
      try {
        contents.members = await readTar(source, {
          what,
          limits: tarLimits,
          signal: options.signal,
          onFile: (member, body) => {
            if (member.name === 'image') {
              return hashImage(body, options.image).then(({ sha1, size }) => {
                contents.imageSha1 = sha1;
                contents.imageSize = size;
              });
            }
            if (keptFiles.has(member.name)) return collect(body, limits.maxFileBytes).then((data) => void files.set(member.name, data));
            return undefined;
          },
        });
      } catch (err) {
        readError = err;
        throw err;
      }
    });
  } catch (err) {
    // the reader's own reason beats the stream's "aborted" that follows it
    const reason = readError ?? err;
    if (reason instanceof HostileTarballError || reason instanceof HintedError) throw reason;
    if (options.signal?.aborted) throw reason;
    const message = reason instanceof Error ? reason.message : String(reason);
    throw new HintedError(`cannot read ${what}: ${terminalText(message)}`, 'check the file is a complete gzip tar, e.g. download or build it again');
  }
  return contents;
}

// --- checks ---------------------------------------------------------------------------------

export type CheckStatus = 'ok' | 'fail' | 'skip';

export interface StemcellCheck {
  id: string;
  /** who makes this check on upload: the Director (and bosh CLI), or only stemforge */
  by: 'director' | 'stemforge';
  title: string;
  status: CheckStatus;
  detail?: string;
}

export interface StemcellInspection {
  file: string;
  /** as `bosh inspect-local-stemcell` prints them */
  name: string;
  os: string;
  version: string;
  infrastructure: string;
  hypervisor: string;
  diskFormat?: string;
  manifest?: unknown;
  members: TarMember[];
  imageSha1?: string;
  imageSize?: number;
  checks: StemcellCheck[];
  ok: boolean;
}

/** How Ruby's to_s prints a YAML scalar the Director coerces (1.620 → '1.62', 0000 → '0'). */
function rubyToS(value: unknown, source: string): string {
  if (typeof value === 'number' && Number.isInteger(value) && /[.eE]/.test(source) && !/^0x/i.test(source)) return `${value}.0`;
  return String(value);
}

function yamlType(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof Date) return 'timestamp';
  if (Array.isArray(value)) return 'sequence';
  if (typeof value === 'object') return 'map';
  return typeof value === 'string' ? 'string' : typeof value === 'number' ? 'number' : typeof value === 'boolean' ? 'boolean' : typeof value;
}

interface ParsedMf {
  doc: Document;
  text: string;
  value: Record<string, unknown>;
}

function field(mf: ParsedMf, key: string): { node?: Node; value: unknown; source: string } {
  const node = mf.doc.get(key, true) as Node | undefined;
  const value = mf.value[key];
  const range = node?.range;
  const source = range ? mf.text.slice(range[0], range[1]).trim() : String(value);
  return { node, value, source };
}

function parseStemcellMf(data: Buffer | undefined): { mf?: ParsedMf; error?: string } {
  if (!data) return {};
  const text = data.toString('utf8');
  // YAML 1.1 as the Director's Psych and the bosh CLI read it (0000 is a number, yes a boolean)
  const doc = parseDocument(text, { version: '1.1', uniqueKeys: true });
  if (doc.errors.length > 0) return { error: `not valid YAML: ${doc.errors[0]?.message.split('\n')[0] ?? ''}` };
  if (!isMap(doc.contents)) return { error: 'not a YAML map' };
  return { mf: { doc, text, value: doc.toJS() as Record<string, unknown> } };
}

function stringCheck(mf: ParsedMf, key: string, required: string): StemcellCheck {
  const { value, source } = field(mf, key);
  const check: StemcellCheck = { id: key, by: 'director', title: `${key} is a String`, status: 'ok' };
  if (value === undefined || value === null) return { ...check, status: 'fail', detail: `missing; ${required}` };
  if (typeof value === 'string') return { ...check, detail: value === '' ? 'empty' : undefined, status: value === '' ? 'fail' : 'ok' };
  if (key === 'version' && (typeof value === 'number' || typeof value === 'boolean')) {
    return {
      ...check,
      status: 'fail',
      detail: `a YAML ${yamlType(value)} (${source}), not a String: the Director would coerce it to '${rubyToS(value, source)}'; quote it: version: '${source}'`,
    };
  }
  return { ...check, status: 'fail', detail: `a YAML ${yamlType(value)} (${source}), not a String; the Director refuses it` };
}

function formatsCheck(value: unknown): StemcellCheck {
  const check: StemcellCheck = { id: 'stemcell_formats', by: 'director', title: 'stemcell_formats is an Array of Strings', status: 'ok' };
  if (value === undefined || value === null) return { ...check, status: 'fail', detail: 'missing; without it no CPI can tell it supports this stemcell' };
  if (!Array.isArray(value)) return { ...check, status: 'fail', detail: `a YAML ${yamlType(value)}, not a sequence` };
  const bad = value.filter((v) => typeof v !== 'string');
  if (bad.length > 0) return { ...check, status: 'fail', detail: `holds ${bad.map((v) => `${String(v)} (${yamlType(v)})`).join(', ')}` };
  if (value.length === 0) return { ...check, status: 'fail', detail: 'empty: no CPI would accept the stemcell' };
  return { ...check, detail: value.join(', ') };
}

function isPlainMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x)) && b.every((x) => a.includes(x));
}

function jsonCheck(
  id: string,
  title: string,
  data: Buffer | undefined,
  test: (doc: Record<string, unknown>) => string | undefined,
  ok: (doc: Record<string, unknown>) => string,
): StemcellCheck {
  const check: StemcellCheck = { id, by: 'stemforge', title, status: 'ok' };
  if (!data) return { ...check, status: 'fail', detail: 'file missing' };
  let doc: unknown;
  try {
    doc = JSON.parse(data.toString('utf8'));
  } catch (err) {
    return { ...check, status: 'fail', detail: `not valid JSON: ${(err as Error).message}` };
  }
  if (!isPlainMap(doc)) return { ...check, status: 'fail', detail: 'not a JSON object' };
  const problem = test(doc);
  return problem ? { ...check, status: 'fail', detail: problem } : { ...check, detail: ok(doc) };
}

/** Every check on what was read; pure, so each can be tested on its own. */
export function checkStemcell(contents: StemcellContents): StemcellInspection {
  const checks: StemcellCheck[] = [];
  const { files, members } = contents;
  const { mf, error } = parseStemcellMf(files.get('stemcell.MF'));
  const noMf = (id: string, by: StemcellCheck['by'], title: string): StemcellCheck => ({ id, by, title, status: 'skip', detail: 'no readable stemcell.MF' });

  const mfMember = members.find((m) => m.name === 'stemcell.MF');
  checks.push({
    id: 'manifest',
    by: 'director',
    title: 'stemcell.MF (or ./stemcell.MF) is present and readable',
    status: mf ? 'ok' : 'fail',
    detail: !mfMember ? "Missing 'stemcell.MF'" : error ? `stemcell.MF is ${error}` : mfMember.storedName,
  });

  const value = mf?.value ?? {};
  const cloud = isPlainMap(value.cloud_properties) ? value.cloud_properties : {};
  if (mf) {
    checks.push(stringCheck(mf, 'name', 'the Director requires it'));
    checks.push(stringCheck(mf, 'version', 'the Director requires it'));
    checks.push(stringCheck(mf, 'sha1', 'the Director requires it'));
    checks.push({
      ...stringCheck(mf, 'operating_system', 'the Director would fall back to the name, and deployments could not match it'),
      title: 'operating_system is a String',
    });
    checks.push(formatsCheck(value.stemcell_formats));
    const cp = value.cloud_properties;
    checks.push({
      id: 'cloud_properties',
      by: 'director',
      title: 'cloud_properties is a map',
      status: isPlainMap(cp) ? 'ok' : 'fail',
      detail:
        cp === undefined || cp === null ? 'missing; the CPI would get no disk format or infrastructure' : isPlainMap(cp) ? undefined : `a YAML ${yamlType(cp)}`,
    });
  } else {
    for (const id of ['name', 'version', 'sha1', 'operating_system']) checks.push(noMf(id, 'director', `${id} is a String`));
    checks.push(noMf('stemcell_formats', 'director', 'stemcell_formats is an Array of Strings'));
    checks.push(noMf('cloud_properties', 'director', 'cloud_properties is a map'));
  }

  const image = members.find((m) => m.name === 'image');
  checks.push({
    id: 'image',
    by: 'director',
    title: 'image is a regular file',
    status: image?.type === 'file' ? 'ok' : 'fail',
    detail: !image ? 'missing' : image.type !== 'file' ? `a ${image.type}` : image.size === 0 ? 'empty (a light stemcell)' : `${image.size} bytes`,
  });

  // --- what neither the bosh CLI nor the Director checks
  const declared = typeof value.sha1 === 'string' ? value.sha1 : undefined;
  if (!mf || declared === undefined || contents.imageSha1 === undefined) {
    checks.push({
      id: 'image-sha1',
      by: 'stemforge',
      title: "image's SHA-1 matches stemcell.MF",
      status: 'skip',
      detail: !mf ? 'no readable stemcell.MF' : declared === undefined ? 'no sha1 String in stemcell.MF' : 'no image',
    });
  } else {
    const match = declared.toLowerCase() === contents.imageSha1;
    checks.push({
      id: 'image-sha1',
      by: 'stemforge',
      title: "image's SHA-1 matches stemcell.MF",
      status: match ? 'ok' : 'fail',
      detail: match ? contents.imageSha1 : `stemcell.MF says ${declared}, image is ${contents.imageSha1}`,
    });
  }

  const infraName = typeof cloud.infrastructure === 'string' ? cloud.infrastructure : undefined;
  const infra = infrastructures.find((i) => i.name === infraName);
  const formatsTitle = 'stemcell_formats and disk_format fit the infrastructure';
  if (!mf) checks.push(noMf('formats', 'stemforge', formatsTitle));
  else if (!infra) {
    checks.push({
      id: 'formats',
      by: 'stemforge',
      title: formatsTitle,
      status: 'skip',
      detail: infraName ? `'${infraName}' is not an infrastructure stemforge knows` : 'no cloud_properties.infrastructure',
    });
  } else {
    const problems: string[] = [];
    const formats = Array.isArray(value.stemcell_formats) ? value.stemcell_formats.filter((f): f is string => typeof f === 'string') : [];
    if (!sameSet(formats, infra.stemcellFormats))
      problems.push(`stemcell_formats [${formats.join(', ')}], but ${infra.name} stemcells carry [${infra.stemcellFormats.join(', ')}]`);
    const diskFormat = cloud.disk_format;
    if (typeof diskFormat !== 'string') problems.push('no cloud_properties.disk_format');
    else if (!(infra.diskFormats as string[]).includes(diskFormat))
      problems.push(`disk_format ${diskFormat} is not one of ${infra.name}'s (${infra.diskFormats.join(', ')})`);
    checks.push({
      id: 'formats',
      by: 'stemforge',
      title: formatsTitle,
      status: problems.length ? 'fail' : 'ok',
      detail: problems.length ? problems.join('; ') : `${infra.name}: [${formats.join(', ')}], ${String(diskFormat)}`,
    });
  }

  const present = members.filter((m) => m.name !== '.').map((m) => (m.type === 'directory' ? `${m.name}/` : m.name));
  const missing = stemcellFiles.filter((f) => !members.some((m) => m.name === f && m.type === 'file'));
  const extras = present.filter((n) => !(stemcellFiles as readonly string[]).includes(n));
  const dotted = members.some((m) => m.storedName.startsWith('./'));
  checks.push({
    id: 'files',
    by: 'stemforge',
    title: `exactly the ${stemcellFiles.length} files: ${stemcellFiles.join(' ')}`,
    status: missing.length === 0 && extras.length === 0 ? 'ok' : 'fail',
    detail:
      [
        missing.length ? `missing: ${missing.join(', ')}` : '',
        extras.length ? `extra: ${extras.join(', ')}` : '',
        dotted ? "names start with './' (the reference packs plain names)" : '',
      ]
        .filter(Boolean)
        .join('; ') || undefined,
  });

  checks.push(
    jsonCheck(
      'sbom-spdx',
      'sbom.spdx.json is SPDX-2.3 with packages',
      files.get('sbom.spdx.json'),
      (doc) =>
        doc.spdxVersion !== 'SPDX-2.3'
          ? `spdxVersion is ${JSON.stringify(doc.spdxVersion)}, not "SPDX-2.3"`
          : !Array.isArray(doc.packages)
            ? 'no packages array'
            : undefined,
      (doc) => `${(doc.packages as unknown[]).length} packages`,
    ),
  );
  checks.push(
    jsonCheck(
      'sbom-cdx',
      'sbom.cdx.json is CycloneDX with components',
      files.get('sbom.cdx.json'),
      (doc) =>
        doc.bomFormat !== 'CycloneDX'
          ? `bomFormat is ${JSON.stringify(doc.bomFormat)}, not "CycloneDX"`
          : !Array.isArray(doc.components)
            ? 'no components array'
            : undefined,
      (doc) => `${(doc.components as unknown[]).length} components${typeof doc.specVersion === 'string' ? `, spec ${doc.specVersion}` : ''}`,
    ),
  );

  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- inspect prints a manifest value of any type as String() shows it; the checks judge it
  const show = (v: unknown): string => (v === undefined || v === null ? '' : String(v));
  return {
    file: contents.path,
    name: show(value.name),
    os: show(value.operating_system),
    // bosh's Go YAML reads a number into its string field as written (1.620, not 1.62)
    version: mf && typeof value.version === 'number' ? field(mf, 'version').source : show(value.version),
    infrastructure: infraName ?? 'unknown',
    hypervisor: typeof cloud.hypervisor === 'string' && cloud.hypervisor !== '' ? cloud.hypervisor : '-',
    diskFormat: typeof cloud.disk_format === 'string' ? cloud.disk_format : undefined,
    manifest: mf ? value : undefined,
    members,
    imageSha1: contents.imageSha1,
    imageSize: contents.imageSize,
    checks,
    ok: checks.every((c) => c.status !== 'fail'),
  };
}

export async function inspectStemcell(path: string, options: Omit<ReadStemcellOptions, 'image'> = {}): Promise<StemcellInspection> {
  return checkStemcell(await readStemcell(path, options));
}

/** The human report: bosh's table, then each check, then a summary line. */
export function formatInspection(result: StemcellInspection): string {
  const lines = [
    ['Name', result.name],
    ['OS', result.os],
    ['Version', result.version],
    ['Infrastructure', result.infrastructure],
    ['Hypervisor', result.hypervisor],
  ].map(([k, v]) => `${(k ?? '').padEnd(16)}${v ?? ''}`);
  const mark = { ok: 'ok  ', fail: 'FAIL', skip: 'skip' } as const;
  for (const [by, heading] of [
    ['director', 'Checks the Director makes on upload'],
    ['stemforge', 'Checks only stemforge makes'],
  ] as const) {
    lines.push('', heading);
    for (const c of result.checks.filter((x) => x.by === by)) lines.push(`  ${mark[c.status]}  ${c.title}${c.detail ? `: ${c.detail}` : ''}`);
  }
  const count = (s: CheckStatus): number => result.checks.filter((c) => c.status === s).length;
  const failed = count('fail');
  const skipped = count('skip');
  lines.push(
    '',
    `${failed === 0 ? 'ok' : 'FAIL'}: ${count('ok')} of ${result.checks.length} checks passed` +
      `${failed ? `, ${failed} failed` : ''}${skipped ? `, ${skipped} skipped` : ''}`,
  );
  // each line is one line of the report: a line feed or escape inside it came from the tarball
  return lines.map((line) => terminalText(line)).join('\n');
}
