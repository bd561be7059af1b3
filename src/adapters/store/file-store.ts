import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { InfrastructureError, errnoCode, describeError } from '../../errors.js';
import { BlobNotFoundError, objectKey, type BlobStore } from './blob-store.js';

const ABANDONED_AFTER_MS = 24 * 3600 * 1000;

/**
 * Blobs as files under a directory: `<root>/sha256/ab/cdef…`. Uploads are written to
 * `<root>/tmp/` and renamed into place, so a reader (or a killed writer) never sees a partial object.
 */
export class FileBlobStore implements BlobStore {
  readonly location: string;

  constructor(private readonly root: string) {
    this.location = `file://${root}`;
  }

  private objectPath(hash: string): string {
    return path.join(this.root, ...objectKey(hash).split('/'));
  }

  async missing(hashes: readonly string[], signal?: AbortSignal): Promise<string[]> {
    signal?.throwIfAborted();
    await this.ensureReachable();
    await this.removeAbandonedUploads();
    const unique = [...new Set(hashes)];
    const present = await Promise.all(
      unique.map(async (hash) => {
        try {
          await stat(this.objectPath(hash));
          return true;
        } catch (error) {
          if (errnoCode(error) === 'ENOENT') return false;
          throw this.unreachable(error);
        }
      }),
    );
    return unique.filter((_, i) => !present[i]);
  }

  async upload(hash: string, _size: number, openSource: () => Readable, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const target = this.objectPath(hash);
    const tmpDir = path.join(this.root, 'tmp');
    const tmp = path.join(tmpDir, `${hash}.${process.pid}.${randomBytes(6).toString('hex')}`);
    try {
      await mkdir(tmpDir, { recursive: true });
      await mkdir(path.dirname(target), { recursive: true });
    } catch (error) {
      throw this.unreachable(error);
    }
    const source = openSource();
    // The source's own failure (unreadable file, content that fails its hash) is the caller's to
    // see unchanged; only failures of the store's directory are the store's.
    let sourceError: unknown;
    source.once('error', (error) => {
      sourceError ??= error;
    });
    try {
      // flush: fsync before close, so a rename never publishes bytes that are not on disk.
      // Over an existing (damaged) object, rename replaces it in one step.
      await pipeline(source, createWriteStream(tmp, { flush: true }), { signal });
      await rename(tmp, target);
    } catch (error) {
      await rm(tmp, { force: true });
      if (signal?.aborted) throw signal.reason;
      throw sourceError ?? this.unreachable(error);
    }
  }

  async download(hash: string, signal?: AbortSignal): Promise<Readable> {
    signal?.throwIfAborted();
    try {
      const handle = await open(this.objectPath(hash), 'r');
      return handle.createReadStream();
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') {
        await this.ensureReachable();
        throw new BlobNotFoundError(hash, this.location);
      }
      throw this.unreachable(error);
    }
  }

  /**
   * A writer killed mid-upload leaves its temp file behind. Files untouched for a day are
   * abandoned (no upload stalls that long), so removing them cannot hurt a live writer.
   */
  private async removeAbandonedUploads(): Promise<void> {
    const tmpDir = path.join(this.root, 'tmp');
    const names = await readdir(tmpDir).catch(() => [] as string[]);
    const cutoff = Date.now() - ABANDONED_AFTER_MS;
    await Promise.all(
      names.map(async (name) => {
        const file = path.join(tmpDir, name);
        const info = await stat(file).catch(() => undefined);
        if (info && info.mtimeMs < cutoff) await rm(file, { force: true });
      }),
    );
  }

  /** The root must be a directory we can use; create it on first use. */
  private async ensureReachable(): Promise<void> {
    try {
      await mkdir(this.root, { recursive: true });
      const info = await stat(this.root);
      if (!info.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    } catch (error) {
      throw this.unreachable(error);
    }
  }

  private unreachable(error: unknown): InfrastructureError {
    return new InfrastructureError(`store ${this.location} is not usable: ${describeError(error)}`, { cause: error });
  }
}
