import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { InfrastructureError } from '../../errors.js';
import { parseDirectoryManifest, type FileEntry, type Hex, type TrackedPath } from '../../domain/data/manifest.js';
import { BlobNotFoundError, type BlobStore } from '../../adapters/store/blob-store.js';
import { ContentMismatchError, verifyingStream } from '../../adapters/store/verifying-stream.js';
import type { ManifestCache } from '../../adapters/fs/workspace.js';

/**
 * Downloads one object to `target`, hashing every byte on the way. A missing object, or bytes
 * that do not match the key, become an InfrastructureError naming the object and the data path.
 */
export async function downloadVerified(
  store: BlobStore,
  hash: Hex,
  expectedSize: number | undefined,
  display: string,
  target: Writable | string,
  onBytes?: (bytes: number) => void,
): Promise<void> {
  try {
    const source = await store.download(hash);
    await pipeline(source, verifyingStream(hash, onBytes), typeof target === 'string' ? createWriteStream(target) : target);
  } catch (error) {
    throw explainObjectFailure(error, store, hash, expectedSize, display);
  }
}

/** A store object that cannot be used: absent, or its bytes do not match its key. Exit 3. */
export class BadObjectError extends InfrastructureError {
  constructor(
    readonly problem: 'missing' | 'corrupt' | 'truncated',
    message: string,
  ) {
    super(message);
  }
}

export function explainObjectFailure(error: unknown, store: BlobStore, hash: Hex, expectedSize: number | undefined, display: string): unknown {
  if (error instanceof BlobNotFoundError) {
    return new BadObjectError('missing', `object sha256:${hash} for "${display}" is missing from the store ${store.location}; push it from a machine that has the data`);
  }
  if (error instanceof ContentMismatchError) {
    const truncated = expectedSize !== undefined && error.bytes < expectedSize;
    return new BadObjectError(
      truncated ? 'truncated' : 'corrupt',
      `object sha256:${hash} for "${display}" in the store ${store.location} is ${truncated ? 'truncated' : 'corrupt'}: ` +
        `got ${error.bytes} bytes hashing to sha256:${error.actual}` +
        (expectedSize !== undefined ? `, expected ${expectedSize} bytes` : ''),
    );
  }
  return error;
}

/** Collects a small object (a manifest) in memory, verified. */
export async function downloadText(store: BlobStore, hash: Hex, display: string): Promise<string> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  await downloadVerified(store, hash, undefined, display, sink);
  return Buffer.concat(chunks).toString('utf8');
}

/** The files of a tracked directory: from the local manifest cache, or from the store (then cached). */
export async function directoryEntries(tracked: TrackedPath, cache: ManifestCache, store: BlobStore): Promise<FileEntry[]> {
  const cached = cache.get(tracked.hash);
  if (cached) return cached;
  const text = await downloadText(store, tracked.hash, `manifest of ${tracked.path}`);
  cache.put(tracked.hash, text);
  return parseDirectoryManifest(text);
}
