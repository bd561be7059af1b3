import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/** Raised when bytes do not hash to the key they were stored or sent under. */
export class ContentMismatchError extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
    readonly bytes: number,
  ) {
    super(`content hashes to sha256:${actual} (${bytes} bytes), expected sha256:${expected}`);
    this.name = 'ContentMismatchError';
  }
}

/**
 * Passes bytes through while hashing them, and fails at the end if they do not hash to
 * `expected`. Wrapped around every upload and download, so no unverified byte is ever trusted.
 */
export function verifyingStream(expected: string, onBytes: (bytes: number) => void = () => {}): Transform {
  const hash = createHash('sha256');
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      hash.update(chunk);
      bytes += chunk.length;
      onBytes(chunk.length);
      callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      const actual = hash.digest('hex');
      callback(actual === expected ? null : new ContentMismatchError(expected, actual, bytes));
    },
  });
}
