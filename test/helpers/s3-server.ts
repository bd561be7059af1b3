import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import S3rver from 's3rver';

export interface S3Server {
  readonly endpoint: string;
  readonly bucket: string;
  /** Where s3rver keeps its files, to look behind the API (for example for leftover uploads). */
  readonly directory: string;
  stop(): Promise<void>;
}

/** s3rver's fixed credentials; tests put them in the environment, as a user's CI would. */
export const S3RVER_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' } as const;

/** The parts of s3rver's (untyped) filesystem store that makeAtomic replaces or uses. */
interface S3rverObject {
  bucket: string;
  key: string;
  content: Readable | Buffer;
  metadata: Record<string, string>;
}
interface S3rverStore {
  getResourcePath(bucket: string, key: string, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
  putObject(object: S3rverObject): Promise<{ size: number; md5: string }>;
}

/** A real S3 HTTP server on loopback with one bucket, its objects in a temp directory. */
export async function startS3Server(bucket = 'mlship-test'): Promise<S3Server> {
  const directory = mkdtempSync(path.join(tmpdir(), 'mlship-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
  const inFlight = makeAtomic((server as unknown as { store: S3rverStore }).store);
  const address = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket,
    directory,
    stop: async () => {
      // A client that gave up on a PUT returns before the server has noticed; let the server finish
      // (and log, which s3rver cannot do once closed) before closing.
      await Promise.allSettled(inFlight);
      await new Promise((resolve) => setTimeout(resolve, 20)); // its response (and log line) follow a tick later
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/**
 * s3rver 3.7 streams a PUT straight into the object's file, so a PUT cut short leaves a truncated
 * object that HEAD and GET serve (and its handler then hangs, as it ignores the request's error).
 * Real S3 (and MinIO) discard a PUT that did not deliver its whole body. This gives s3rver that
 * behaviour: write beside the object, rename into place only when the body arrived in full.
 * Completed multipart uploads go through putObject too.
 */
function makeAtomic(store: S3rverStore): Set<Promise<unknown>> {
  const inFlight = new Set<Promise<unknown>>();
  const putObject = async (object: S3rverObject): Promise<{ size: number; md5: string }> => {
    const target = store.getResourcePath(object.bucket, object.key, 'object');
    // Not `._S3rver_object`-suffixed, so listings and lookups never see it.
    const partial = `${target}.${randomBytes(6).toString('hex')}.partial`;
    await mkdir(path.dirname(target), { recursive: true });
    const md5 = createHash('md5');
    let size = 0;
    const count = new Transform({
      transform(chunk: Buffer, _encoding, callback: TransformCallback) {
        md5.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    const content = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
    try {
      await pipeline(content, count, createWriteStream(partial));
      await rename(partial, target);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
    const digest = md5.digest('hex');
    await store.putMetadata(object.bucket, object.key, object.metadata, digest);
    return { size, md5: digest };
  };
  store.putObject = (object) => {
    const put = putObject(object);
    const settled = put.catch(() => undefined).finally(() => inFlight.delete(settled));
    inFlight.add(settled);
    return put;
  };
  return inFlight;
}
