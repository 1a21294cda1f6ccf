// Facts about a local OS image tarball: which OS line it holds (from its own
// etc/os-release), so `stemforge stemcell` needs no --os.
import { list, type ReadEntry } from 'tar';
import { operatingSystems, type OperatingSystem } from '../catalog/operating-systems.js';
import { HintedError } from '../util/errors.js';

/** The text of ./etc/os-release in the tarball (the first 64 KiB), or undefined. */
async function readOsRelease(path: string): Promise<string | undefined> {
  let text: string | undefined;
  await list({
    file: path,
    filter: (p) => /^(\.\/)?etc\/os-release$/.test(p) || /^(\.\/)?usr\/lib\/os-release$/.test(p),
    onReadEntry: (entry: ReadEntry) => {
      if (entry.type !== 'File') {
        entry.resume();
        return;
      }
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => {
        text ??= Buffer.concat(chunks).subarray(0, 65536).toString('utf8');
      });
    },
  });
  return text;
}

/** The OS line of an OS image tarball, by its os-release ID and VERSION_CODENAME. */
export async function detectOsLine(path: string): Promise<OperatingSystem> {
  const text = await readOsRelease(path);
  if (text === undefined) {
    throw new HintedError(`${path} has no etc/os-release: is it an OS image made by stemforge os-image?`, 'pass --os NAME to say which line it is');
  }
  const field = (name: string): string | undefined => text.match(new RegExp(`^${name}=["']?([^"'\\n]*)`, 'm'))?.[1];
  const distro = field('ID');
  const suite = field('VERSION_CODENAME');
  const os = operatingSystems.find((o) => o.distro === distro && o.suite === suite);
  if (!os) {
    throw new HintedError(
      `${path} holds ${distro ?? '?'} ${suite ?? '?'}, which is not an OS line stemforge builds`,
      `valid choices: ${operatingSystems.map((o) => o.name).join(', ')}`,
    );
  }
  return os;
}
