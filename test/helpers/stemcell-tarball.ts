// Stemcell tarballs for tests, good and hostile: tar headers written byte by byte, so a test can
// make any entry a real tar tool would refuse to make (links out, devices, '..', huge declared sizes).
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { findInfrastructure, findOperatingSystem } from '../../src/catalog/planner.js';
import type { DiskFormat } from '../../src/catalog/infrastructures.js';
import { stemcellManifest, renderManifest, type StemcellManifest } from '../../src/stemcell/manifest.js';

export interface RawEntry {
  name: string;
  /** typeflag: '0' file, '1' hard link, '2' symlink, '3' char dev, '4' block dev, '5' dir, '6' FIFO, 'x' pax, 'L' GNU long name… */
  type?: string;
  body?: Buffer | string;
  /** the size written in the header; defaults to the body's length (a larger one makes a header promise what never comes) */
  size?: number;
  linkname?: string;
  mode?: number;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** One 512-byte ustar header; sizes of 8 GiB and more in GNU base-256. */
export function tarHeader(entry: RawEntry): Buffer {
  const h = Buffer.alloc(512);
  const type = entry.type ?? '0';
  const size = entry.size ?? (entry.body ? Buffer.byteLength(entry.body) : 0);
  h.write(entry.name, 0, 100, 'utf8');
  h.write(octal(entry.mode ?? (type === '5' ? 0o755 : 0o644), 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  if (size < 8 * 1024 ** 3) h.write(octal(size, 12), 124, 'ascii');
  else {
    h[124] = 0x80;
    let rest = BigInt(size);
    for (let i = 135; i > 124; i--) {
      h[i] = Number(rest & 0xffn);
      rest >>= 8n;
    }
  }
  h.write(octal(1_700_000_000, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write(type, 156, 'ascii');
  if (entry.linkname) h.write(entry.linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write('root', 265, 'ascii');
  h.write('root', 297, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

/** A pax extended header entry carrying these records (e.g. { path: '../x' }). */
export function paxEntry(records: Record<string, string>): RawEntry {
  const body = Object.entries(records)
    .map(([k, v]) => {
      const rest = ` ${k}=${v}\n`;
      let len = rest.length + 1;
      while (`${len}${rest}`.length !== len) len += 1;
      return `${len}${rest}`;
    })
    .join('');
  return { name: 'PaxHeader', type: 'x', body };
}

/** Headers and bodies (padded to 512) and, unless `end` is false, the two zero blocks that end an archive. */
export function rawTar(entries: RawEntry[], options: { end?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(tarHeader(e));
    if (e.body !== undefined) {
      const body = Buffer.from(e.body);
      parts.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
  }
  if (options.end !== false) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export function sha1(data: Buffer): string {
  return createHash('sha1').update(data).digest('hex');
}

export const goodSpdx = JSON.stringify({ spdxVersion: 'SPDX-2.3', SPDXID: 'SPDXRef-DOCUMENT', packages: [{ name: 'bash' }, { name: 'openssh-server' }] });
export const goodCdx = JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.5', components: [{ name: 'bash' }] });

/** The image of a raw stemcell: a gzip tar holding root.img (facts §5c). */
export function rawImage(disk: Buffer, member = 'root.img'): Buffer {
  return gzipSync(rawTar([{ name: member, body: disk }]));
}

export interface StemcellSpec {
  iaas?: string;
  diskFormat?: DiskFormat;
  version?: string;
  image?: Buffer;
  /** replaces the rendered stemcell.MF */
  manifestText?: string;
  /** edits the manifest before it is rendered */
  editManifest?: (mf: StemcellManifest) => void;
  /** replaces or adds files by name; undefined removes one */
  files?: Record<string, Buffer | string | undefined>;
  /** prefix every name, e.g. './' */
  prefix?: string;
}

/** A stemcell tarball made with the project's own manifest code: all six files, in the reference's order. */
export function stemcellTarball(spec: StemcellSpec = {}): Buffer {
  const infrastructure = findInfrastructure(spec.iaas ?? 'openstack');
  const diskFormat = spec.diskFormat ?? 'raw';
  const image = spec.image ?? rawImage(Buffer.concat([Buffer.from('not really a disk'), Buffer.alloc(4096)]));
  const manifest = stemcellManifest({ os: findOperatingSystem('ubuntu-jammy'), infrastructure, diskFormat }, spec.version ?? '1.620', sha1(image));
  spec.editManifest?.(manifest);
  const files: Record<string, Buffer | string | undefined> = {
    'stemcell.MF': spec.manifestText ?? renderManifest(manifest),
    'packages.txt': 'ii  bash  5.1-6ubuntu1  amd64  GNU Bourne Again SHell\n',
    'dev_tools_file_list.txt': '/usr/bin/gcc\n',
    image,
    'sbom.spdx.json': goodSpdx,
    'sbom.cdx.json': goodCdx,
    ...spec.files,
  };
  const entries = Object.entries(files)
    .filter((e): e is [string, Buffer | string] => e[1] !== undefined)
    .map(([name, body]) => ({ name: `${spec.prefix ?? ''}${name}`, body }));
  return gzipSync(rawTar(entries));
}

/** A disk SeaBIOS boots and that never gets anywhere: a boot sector of `jmp $`, signed 0x55AA. */
export function hangingDisk(bytes = 1024 * 1024): Buffer {
  const disk = Buffer.alloc(bytes);
  disk[0] = 0xeb;
  disk[1] = 0xfe;
  disk[510] = 0x55;
  disk[511] = 0xaa;
  return disk;
}
