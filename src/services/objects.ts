import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable, type Readable } from 'node:stream';
import pLimit from 'p-limit';
import { ConfigurationError, InfrastructureError, InterruptedError, errnoCode } from '../errors.js';
import { temporarySibling } from '../adapters/fs/atomic.js';
import { formatBytes, type Reporter } from '../adapters/runtime/reporter.js';
import { ManifestError, parseDirectoryManifest, type FileEntry, type Hex, type TrackedPath } from '../domain/data/manifest.js';
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
  signal?: AbortSignal,
): Promise<void> {
  try {
    const source = await store.download(hash, signal);
    await pipeline(source, verifyingStream(hash, onBytes), typeof target === 'string' ? createWriteStream(target) : target, { signal });
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw explainObjectFailure(error, store, hash, expectedSize, display);
  }
}

/** Whether a local file still holds exactly the content `hash` names (read in full). */
export async function fileMatches(file: string, hash: Hex, signal?: AbortSignal): Promise<boolean> {
  try {
    await pipeline(createReadStream(file), verifyingStream(hash), discard(), { signal });
    return true;
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (error instanceof ContentMismatchError || errnoCode(error) === 'ENOENT') return false;
    throw error;
  }
}

/** Discards bytes: when only their hash matters, computed on the way. */
export const discard = (): Writable => new Writable({ write: (_chunk, _encoding, callback) => callback() });

/** How to repair a damaged object; said wherever one is found. */
export const REPAIR_HINT = 'run `mlship data verify --repair` on a machine that has the data';

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
        (expectedSize !== undefined ? `, expected ${expectedSize} bytes` : '') +
        `; ${REPAIR_HINT}`,
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
  let entries: FileEntry[];
  try {
    entries = parseDirectoryManifest(text);
  } catch (error) {
    if (!(error instanceof ManifestError)) throw error;
    throw new ConfigurationError(`the manifest of "${tracked.path}" (sha256:${tracked.hash}, named by mlship.lock) cannot be used: ${error.message}`, { cause: error });
  }
  cache.put(tracked.hash, text);
  return entries;
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
 * Runs `work` on every item, `concurrency` at a time, until all are done, one fails, or `signal`
 * fires. Then no further item starts, the ones in flight are aborted through the signal they were
 * given (so they remove their temporary files), and once all have settled the first failure is
 * thrown. An interruption is returned, not thrown: the caller says what was done before it.
 */
export async function forEachConcurrently<T>(
  items: readonly T[],
  concurrency: number,
  signal: AbortSignal | undefined,
  work: (item: T, signal: AbortSignal) => Promise<void>,
): Promise<{ interrupted: boolean }> {
  const stop = new AbortController();
  const interrupt = (): void => stop.abort(signal?.reason);
  if (signal?.aborted) interrupt();
  signal?.addEventListener('abort', interrupt, { once: true });
  let failure: { error: unknown } | undefined;
  const limit = pLimit(concurrency);
  try {
    await Promise.all(
      items.map((item) =>
        limit(async () => {
          if (stop.signal.aborted) return;
          try {
            await work(item, stop.signal);
          } catch (error) {
            if (stop.signal.aborted) return; // a consequence of stopping, not a failure of its own
            failure = { error };
            stop.abort(error);
          }
        }),
      ),
    );
  } finally {
    signal?.removeEventListener('abort', interrupt);
  }
  if (failure) throw failure.error;
  return { interrupted: signal?.aborted ?? false };
}

/** The error of an interrupted transfer: why it stopped, what it did, and that running again resumes. */
export function interruptedTransfer(signal: AbortSignal | undefined, done: string): InterruptedError {
  const reason = signal?.reason instanceof Error ? signal.reason.message : 'interrupted';
  return new InterruptedError(`${reason}: ${done}; run again to resume`);
}

/**
 * Uploads objects with bounded concurrency and progress, hashing every byte on the way: content
 * that no longer matches its key (a file changed since it was hashed) is refused, never stored.
 * Interrupted through `signal`, it stops, removes its temporary files and throws an
 * InterruptedError saying how much was uploaded; the store keeps those objects, so a re-run
 * uploads only the rest.
 */
export async function uploadAll(store: BlobStore, uploads: readonly Upload[], reporter: Reporter, options: { signal?: AbortSignal } = {}): Promise<void> {
  if (uploads.length === 0) return;
  const totalBytes = uploads.reduce((n, u) => n + u.size, 0);
  let uploaded = 0;
  let uploadedBytes = 0;
  const { interrupted } = await reporter.group(`Uploading to ${store.location}`, async () => {
    const progress = reporter.progress('uploading', totalBytes, 'bytes');
    try {
      return await forEachConcurrently(uploads, UPLOAD_CONCURRENCY, options.signal, async (u, signal) => {
        try {
          await store.upload(u.hash, u.size, () => verifiedSource(u, (n) => progress.advance(n)), signal);
        } catch (error) {
          if (error instanceof ContentMismatchError) {
            throw new ConfigurationError(`"${u.display}" changed while it was being uploaded; hash it again and retry`);
          }
          throw error;
        }
        uploaded += 1;
        uploadedBytes += u.size;
      });
    } finally {
      progress.done();
    }
  });
  if (interrupted) {
    throw interruptedTransfer(options.signal, `uploaded ${uploaded} of ${uploads.length} objects (${formatBytes(uploadedBytes)} of ${formatBytes(totalBytes)})`);
  }
}

/**
 * The upload's bytes, hashed on the way. `.pipe` does not pass a source's error on, so it is
 * forwarded by hand: an unreadable file must fail the upload, not stall it.
 */
function verifiedSource(upload: Upload, onBytes: (bytes: number) => void): Readable {
  const source = upload.open();
  const verified = verifyingStream(upload.hash, onBytes);
  source.once('error', (error) => verified.destroy(error));
  verified.once('close', () => source.destroy()); // an upload stopped early must not keep the file open
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
