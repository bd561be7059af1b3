import type { Readable } from 'node:stream';

/**
 * A content-addressed blob store. Keys are lowercase hex sha256 digests of the content.
 *
 * Guarantees every implementation must give:
 * - `upload` is atomic: the object becomes visible under its key only once it is complete. If the
 *   source stream errors (for example because the content did not match its hash), nothing is
 *   left visible under the key.
 * - `upload` over an existing key replaces the object as atomically (readers see the old bytes or
 *   the new, never a mix): that is how a damaged object is repaired.
 * - `download` returns the stored bytes; it never verifies them (the caller hashes what it writes).
 * - An aborted `signal` stops the call: an upload leaves nothing visible and no temporary file
 *   behind, and the call rejects with the signal's reason.
 * - Failures to reach or use the store are thrown as `InfrastructureError` naming the store
 *   (never its credentials); a missing object on download is thrown as `BlobNotFoundError`.
 */
export interface BlobStore {
  /** Where the store is, safe to print (no credentials). */
  readonly location: string;
  /** Which of these keys the store lacks, in input order, without duplicates. */
  missing(hashes: readonly string[], signal?: AbortSignal): Promise<string[]>;
  /** Stores `size` bytes read from `open()` under `hash`. */
  upload(hash: string, size: number, open: () => Readable, signal?: AbortSignal): Promise<void>;
  /** Streams the object stored under `hash`. */
  download(hash: string, signal?: AbortSignal): Promise<Readable>;
}

export class BlobNotFoundError extends Error {
  constructor(
    readonly hash: string,
    readonly location: string,
  ) {
    super(`object sha256:${hash} is not in the store ${location}`);
    this.name = 'BlobNotFoundError';
  }
}

/** Relative key of an object inside a store: `sha256/ab/cdef…` (two-level fan-out keeps directories small). */
export function objectKey(hash: string): string {
  return `sha256/${hash.slice(0, 2)}/${hash.slice(2)}`;
}
