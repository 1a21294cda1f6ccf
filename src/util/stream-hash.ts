// Hashing bytes on their way through a stream pipeline, and hashing a whole file.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** A pipeline stage that passes every chunk on unchanged while it hashes and counts it. */
export class HashingStream extends Transform {
  private readonly hash: Hash;
  /** the bytes that went through so far */
  bytes = 0;

  constructor(algorithm = 'sha256') {
    super();
    this.hash = createHash(algorithm);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }

  /** The hex digest of everything that went through: once, after the pipeline finished. */
  digest(): string {
    return this.hash.digest('hex');
  }
}

/** The sha256 of a file's content, read as a stream. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}
