// A streaming tar reader for tarballs we did not make: it writes nothing to disk itself and refuses,
// before any body byte reaches a consumer, every entry a stemcell never holds (links, devices,
// absolute or `..` paths, duplicates) and anything over the caller's limits.
import { Parser, type ReadEntry } from 'tar';
import { HintedError } from '../util/errors.js';
import { terminalText } from '../util/terminal-text.js';

/** A tarball we will not read further: the message says which entry and why. */
export class HostileTarballError extends HintedError {
  override name = 'HostileTarballError';
  constructor(what: string, reason: string) {
    // the reason names entries of the tarball: their names reach the terminal escaped
    super(`${what} refused: ${terminalText(reason)}`, 'a stemcell holds only plain files; do not extract or upload this tarball, and rebuild it');
  }
}

export interface TarLimits {
  /** headers of any kind, including pax and GNU long-name headers */
  maxEntries: number;
  /** bytes of tar stream (after decompression) */
  maxTotalBytes: number;
  /** the largest body allowed for a member of this (normalised) name */
  maxMemberBytes: (name: string) => number;
}

export interface TarMember {
  /** the name without a leading './' (what `tar -x` would create) */
  name: string;
  /** the name as stored */
  storedName: string;
  type: 'file' | 'directory';
  size: number;
}

/** Called for each regular file; return a promise that consumes `body` to the end, or undefined to skip it. */
export type FileHandler = (member: TarMember, body: AsyncIterable<Buffer>) => Promise<void> | undefined;

export interface ReadTarOptions {
  /** names the tarball in messages, e.g. "stemcell tarball x.tgz" */
  what: string;
  limits: TarLimits;
  onFile?: FileHandler;
  signal?: AbortSignal;
}

// GNU tar pads an archive to its record size (10 KiB by default) after the end marker; allow far more, but not a bomb.
const maxTrailingBytes = 16 * 1024 * 1024;

/** './a' → 'a', './' → '.', 'dir/' → 'dir'. */
function normaliseName(stored: string): string {
  let name = stored;
  while (name.startsWith('./')) name = name.slice(2);
  name = name.replace(/\/+$/, '');
  return name === '' || name === '.' ? '.' : name;
}

function describeSize(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} bytes` : `${Number(value.toFixed(1))} ${units[unit]}`;
}

/** Reads a tar stream (already decompressed) to its end; resolves to the members in order. */
export async function readTar(source: AsyncIterable<Buffer>, options: ReadTarOptions): Promise<TarMember[]> {
  const { what, limits } = options;
  const members: TarMember[] = [];
  const seen = new Set<string>();
  const pending: Promise<void>[] = [];
  let headers = 0;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  let eof = false;
  let ended = false;

  // bodies a consumer is reading; on failure they are ended so that no consumer waits forever
  const active = new Set<ReadEntry>();
  const fail = (err: unknown): void => {
    failure ??= err instanceof Error ? err : new Error(String(err));
    // later, not inside the parser's own call that reported the failure (it may still write to the entry)
    const ending = [...active];
    active.clear();
    setImmediate(() => {
      for (const entry of ending) if (entry.writable) entry.end();
    });
    wake?.();
  };
  const refuse = (reason: string): void => fail(new HostileTarballError(what, reason));
  const countHeader = (): void => {
    headers += 1;
    if (headers > limits.maxEntries) refuse(`more than ${limits.maxEntries} entries`);
  };

  // strict: a bad checksum, a truncated body or a non-tar stream is an error, not a warning to skip past
  const parser = new Parser({ strict: true, maxMetaEntrySize: 64 * 1024 });
  parser.on('error', (err: Error) =>
    fail(new HintedError(`${what} is not a valid tar: ${terminalText(err.message)}`, 'check the file is complete, e.g. download it again')),
  );
  parser.on('meta', countHeader);
  parser.on('eof', () => (eof = true));
  parser.on('end', () => {
    ended = true;
    wake?.();
  });
  // unknown types and oversized pax headers; node-tar would skip them, and a skipped pax header changes the next name
  parser.on('ignoredEntry', (entry: ReadEntry) => {
    countHeader();
    refuse(`entry '${entry.path}' is of a type a stemcell never holds (${entry.type}${entry.meta ? `, ${describeSize(entry.size)}` : ''})`);
  });
  parser.on('entry', (entry: ReadEntry) => {
    countHeader();
    if (failure) {
      entry.resume();
      return;
    }
    const member = admit(entry);
    if (!member) {
      entry.resume();
      return;
    }
    members.push(member);
    const consume = member.type === 'file' ? options.onFile?.(member, entry) : undefined;
    if (consume) {
      active.add(entry);
      entry.on('end', () => active.delete(entry));
      pending.push(consume.catch(fail));
    } else entry.resume();
  });

  /** The checks on a header, before its body is read; undefined when refused. */
  function admit(entry: ReadEntry): TarMember | undefined {
    const stored = entry.path;
    const parts = stored.split('/');
    if (stored.startsWith('/')) return void refuse(`entry '${stored}' has an absolute path`);
    if (parts.includes('..')) return void refuse(`entry '${stored}' has a '..' component`);
    if (stored.includes('\0')) return void refuse('an entry name holds a NUL byte');
    let type: TarMember['type'];
    switch (entry.type) {
      case 'File':
      case 'OldFile':
      case 'ContiguousFile':
        type = 'file';
        break;
      case 'Directory':
        type = 'directory';
        break;
      case 'SymbolicLink':
        return void refuse(`entry '${stored}' is a symbolic link (to '${entry.linkpath ?? ''}')`);
      case 'Link':
        return void refuse(`entry '${stored}' is a hard link (to '${entry.linkpath ?? ''}')`);
      case 'CharacterDevice':
      case 'BlockDevice':
      case 'FIFO':
        return void refuse(`entry '${stored}' is a device or FIFO (${entry.type})`);
      default:
        return void refuse(`entry '${stored}' is of a type a stemcell never holds (${entry.type})`);
    }
    const name = normaliseName(stored);
    if (seen.has(name)) return void refuse(`entry '${name}' appears twice (the second would silently replace the first on extraction)`);
    seen.add(name);
    const max = type === 'file' ? limits.maxMemberBytes(name) : 0;
    if (entry.size > max) {
      return void refuse(`entry '${name}' is ${describeSize(entry.size)}, over the limit of ${describeSize(max)} for it`);
    }
    return { name, storedName: stored, type, size: entry.size };
  }

  /** Resolves on the event, or as soon as something failed. */
  const until = (event: string, done: () => boolean = () => false): Promise<void> =>
    new Promise<void>((resolve) => {
      if (failure || done()) return resolve();
      const finish = (): void => {
        parser.off(event, finish);
        wake = undefined;
        resolve();
      };
      wake = finish;
      parser.on(event, finish);
    });

  const onAbort = (): void => fail(options.signal?.reason ?? new Error('aborted'));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  try {
    let total = 0;
    let trailing = 0;
    for await (const chunk of source) {
      if (failure) break;
      total += chunk.length;
      if (total > limits.maxTotalBytes) {
        refuse(`more than ${describeSize(limits.maxTotalBytes)} of data`);
        break;
      }
      if (eof) {
        // past the end marker: read on (a stream stopped early reports an error) but parse nothing
        trailing += chunk.length;
        if (trailing > maxTrailingBytes) {
          refuse(`more than ${describeSize(maxTrailingBytes)} after the end-of-archive marker`);
          break;
        }
        continue;
      }
      let more: boolean;
      try {
        more = parser.write(chunk);
      } catch (err) {
        fail(err);
        break;
      }
      if (!more) await until('drain');
    }
    if (!failure) {
      try {
        parser.end();
      } catch (err) {
        fail(err);
      }
      await until('end', () => ended);
    }
    // a consumer may still be writing what it was given
    await Promise.all(pending);
    if (failure) throw failure;
    return members;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    if (failure) parser.abort(failure);
  }
}

export { describeSize };
