import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable, type Readable } from 'node:stream';
import pLimit from 'p-limit';
import { ConfigurationError, InfrastructureError } from '../errors.js';
import { temporarySibling } from '../adapters/fs/atomic.js';
import type { Reporter } from '../adapters/runtime/reporter.js';
import { parseDirectoryManifest, type FileEntry, type Hex, type TrackedPath } from '../domain/data/manifest.js';
import { BlobNotFoundError, type BlobStore } from '../adapters/store/blob-store.js';
import { ContentMismatchError, verifyingStream } from '../adapters/store/verifying-stream.js';
import type { ManifestCache } from '../adapters/fs/workspace.js';

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

/** An object to upload: its key, size, how to read it, and how to name it to people. */
export interface Upload {
  readonly hash: Hex;
  readonly size: number;
  readonly display: string;
  readonly open: () => Readable;
}

/** Uploads in flight at once: enough to hide latency, few enough not to thrash a laptop's disk. */
const UPLOAD_CONCURRENCY = 8;

/**
 * Uploads objects with bounded concurrency and progress, hashing every byte on the way: content
 * that no longer matches its key (a file changed since it was hashed) is refused, never stored.
 */
export async function uploadAll(store: BlobStore, uploads: readonly Upload[], reporter: Reporter): Promise<void> {
  if (uploads.length === 0) return;
  const totalBytes = uploads.reduce((n, u) => n + u.size, 0);
  await reporter.group(`Uploading to ${store.location}`, async () => {
    const progress = reporter.progress('uploading', totalBytes, 'bytes');
    const limit = pLimit(UPLOAD_CONCURRENCY);
    try {
      await Promise.all(
        uploads.map((u) =>
          limit(() =>
            store.upload(u.hash, u.size, () => verifiedSource(u, (n) => progress.advance(n))).catch((error: unknown) => {
              limit.clearQueue();
              if (error instanceof ContentMismatchError) {
                throw new ConfigurationError(`"${u.display}" changed while it was being uploaded; hash it again and retry`);
              }
              throw error;
            }),
          ),
        ),
      );
    } finally {
      progress.done();
    }
  });
}

/**
 * The upload's bytes, hashed on the way. `.pipe` does not pass a source's error on, so it is
 * forwarded by hand: an unreadable file must fail the upload, not stall it.
 */
function verifiedSource(upload: Upload, onBytes: (bytes: number) => void): Readable {
  const source = upload.open();
  const verified = verifyingStream(upload.hash, onBytes);
  source.once('error', (error) => verified.destroy(error));
  return source.pipe(verified);
}

/** Writes one verified object to `target` atomically (temp file beside it, then rename). */
export async function restoreFile(store: BlobStore, hash: Hex, size: number, display: string, target: string): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true });
  const temporary = temporarySibling(target);
  try {
    await downloadVerified(store, hash, size, display, temporary);
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
