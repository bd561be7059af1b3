import { PassThrough, Readable, Transform, type TransformCallback } from 'node:stream';
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { NODE_REGION_CONFIG_FILE_OPTIONS, loadConfig } from '@smithy/core/config';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import pLimit from 'p-limit';
import { ConfigurationError, InfrastructureError, describeError, errnoCode } from '../../errors.js';
import { BlobNotFoundError, objectKey, type BlobStore } from './blob-store.js';
import { SecretMasker, credentialValues } from '../../domain/secrets.js';

export interface S3StoreOptions {
  readonly bucket: string;
  /** Key prefix inside the bucket; slashes at either end and doubled slashes are ignored. */
  readonly prefix: string;
  /** An S3-compatible endpoint (MinIO, Ceph); implies path-style addressing unless told otherwise. */
  readonly endpoint?: string;
  readonly region?: string;
  readonly pathStyle?: boolean;
  readonly maxAttempts?: number;
  /** How long to wait for a TCP connection, and for any byte on an open one (tests shorten these). */
  readonly timeouts?: { readonly connectMs?: number; readonly idleMs?: number };
}

/** Used when no region is configured anywhere (option, AWS_REGION, AWS_DEFAULT_REGION, profile). */
const DEFAULT_REGION = 'us-east-1';
/** Objects up to this are read into memory first: the PUT can then be retried, and is sent only once the source is known good. */
const BUFFERED_LIMIT = 8 << 20;
/** Objects above this go up in parts: a single PUT is limited to 5 GiB, and parts retry alone. */
const MULTIPART_THRESHOLD = 64 << 20;
const MIN_PART_SIZE = 16 << 20;
const MAX_PARTS = 10_000;
const PART_QUEUE = 4;
const HEAD_CONCURRENCY = 16;
const CONNECT_TIMEOUT_MS = 5_000;
/** A connection silent this long is dead; it bounds stalls without capping the length of a large transfer. */
const IDLE_TIMEOUT_MS = 60_000;

/** The SDK warns on the console (for example on every failed streaming PUT); our errors say it better. */
const quietLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** `s3://bucket/some/prefix` → `{ bucket, prefix: 'some/prefix' }`; anything else is a ConfigurationError naming the value. */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const invalid = (why: string): ConfigurationError =>
    new ConfigurationError(`${JSON.stringify(url)} is not an S3 location (expected s3://bucket/prefix): ${why}`);
  const match = /^s3:\/\/([^/]*)(?:\/(.*))?$/i.exec(url);
  if (!match) throw invalid('it does not start with s3://');
  const bucket = match[1] ?? '';
  if (bucket === '') throw invalid('it names no bucket');
  if (!BUCKET_NAME.test(bucket) || bucket.includes('..')) {
    throw invalid(`${JSON.stringify(bucket)} is not a valid bucket name (3 to 63 lowercase letters, digits, dots and hyphens)`);
  }
  const segments = (match[2] ?? '').split('/').filter(Boolean);
  // Some S3-compatible servers and proxies normalise `.` and `..` in paths, which would move the objects.
  if (segments.some((s) => s === '.' || s === '..')) throw invalid('the prefix must not contain "." or ".." segments');
  return { bucket, prefix: segments.join('/') };
}

/**
 * Blobs as objects in an S3 bucket: `<prefix>/sha256/ab/cdef…`. Credentials, region and endpoint come
 * from the AWS SDK's usual chain (environment, shared config files, instance role), never from
 * mlship.yml; explicit options override it.
 *
 * Atomicity: S3 makes an object visible only when a PUT has delivered its whole declared
 * Content-Length, or when a multipart upload is completed. Uploads never let that happen for a source
 * that fails: small objects are read in full before the PUT starts, streamed PUTs hold back the last
 * chunk until the source has ended cleanly (a verifying stream fails only at its end, after every byte
 * went through), and multipart uploads are completed only after the source ended and are aborted
 * otherwise. If that abort cannot be sent, parts linger invisibly; a bucket lifecycle rule
 * (AbortIncompleteMultipartUpload) removes them.
 */
export class S3BlobStore implements BlobStore {
  readonly location: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(options: S3StoreOptions) {
    this.bucket = options.bucket;
    this.prefix = options.prefix.split('/').filter(Boolean).join('/');
    // The SDK reads these itself; they are read here only to say where the store is and to pick path-style.
    const endpoint = options.endpoint ?? (process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL || undefined);
    this.location = `s3://${this.bucket}${this.prefix ? `/${this.prefix}` : ''}${endpoint ? ` (endpoint ${withoutUserInfo(endpoint)})` : ''}`;
    const config: S3ClientConfig = {
      region: options.region ?? regionFromEnvironmentOrProfile(),
      forcePathStyle: options.pathStyle ?? endpoint !== undefined,
      maxAttempts: options.maxAttempts ?? 3,
      // S3-compatible servers (MinIO, Ceph, s3rver) do not all speak the newer default checksums.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // requestTimeout would cap (or, by default, only warn about) the whole transfer; an idle
      // timeout catches a dead connection however large the object.
      requestHandler: new NodeHttpHandler({
        connectionTimeout: options.timeouts?.connectMs ?? CONNECT_TIMEOUT_MS,
        socketTimeout: options.timeouts?.idleMs ?? IDLE_TIMEOUT_MS,
        logger: quietLogger,
      }),
      logger: quietLogger,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    };
    this.client = new S3Client(config);
  }

  private key(hash: string): string {
    return this.prefix ? `${this.prefix}/${objectKey(hash)}` : objectKey(hash);
  }

  async missing(hashes: readonly string[], signal?: AbortSignal): Promise<string[]> {
    const unique = [...new Set(hashes)];
    const limit = pLimit(HEAD_CONCURRENCY);
    const present = await Promise.all(
      unique.map((hash) =>
        limit(async () => {
          try {
            await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(hash) }), { abortSignal: signal });
            return true;
          } catch (error) {
            if (isNotFound(error)) return false;
            limit.clearQueue();
            if (signal?.aborted) throw signal.reason;
            throw this.failure(error);
          }
        }),
      ),
    );
    return unique.filter((_, i) => !present[i]);
  }

  async upload(hash: string, size: number, open: () => Readable, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    // The source's own failure (content changed, file unreadable) is what the caller must see,
    // unchanged, and it must stop the transfer before the server has a complete object. An
    // interruption takes the same path, so it can never complete an object either.
    let failed: { error: unknown } | undefined;
    const abort = new AbortController();
    const source = open();
    const body = holdBackLastChunk(hash, size);
    const fail = (error: unknown): void => {
      if (failed) return;
      failed = { error };
      body.destroy(error instanceof Error ? error : new Error(describeError(error)));
      abort.abort();
    };
    source.on('error', fail);
    const interrupt = (): void => fail(signal?.reason);
    signal?.addEventListener('abort', interrupt, { once: true });
    // A wrong length is the source's failure too. Other body errors come from fail() itself; the
    // listener also keeps an unhandled stream error from crashing the process.
    body.on('error', (error) => {
      if (error instanceof ContentSizeError) fail(error);
    });
    body.once('close', () => source.destroy()); // the request ended early: release the source's file
    source.pipe(body);

    const params = { Bucket: this.bucket, Key: this.key(hash) };
    try {
      if (size <= BUFFERED_LIMIT) {
        const content = await readAll(body);
        if (failed) throw failed.error;
        await this.client.send(new PutObjectCommand({ ...params, Body: content, ContentLength: content.length }), { abortSignal: abort.signal });
      } else if (size <= MULTIPART_THRESHOLD) {
        await this.client.send(new PutObjectCommand({ ...params, Body: body, ContentLength: size }), { abortSignal: abort.signal });
      } else {
        // Not upload.abort() on a source failure or an interruption: that rejects done() before the
        // multipart upload is aborted. The failed source ends the part feed instead, and lib-storage
        // then waits for the parts in flight and aborts the upload (leavePartsOnError: false) before
        // done() rejects, so no invisible parts are left to pay for.
        const partSize = Math.max(MIN_PART_SIZE, Math.ceil(size / MAX_PARTS));
        const upload = new Upload({ client: this.client, params: { ...params, Body: body }, partSize, queueSize: PART_QUEUE, leavePartsOnError: false });
        await upload.done();
      }
    } catch (error) {
      if (failed) throw failed.error;
      throw this.failure(error);
    } finally {
      signal?.removeEventListener('abort', interrupt);
      body.destroy(); // on early server errors nobody reads the body; this also closes the source
    }
  }

  async download(hash: string, signal?: AbortSignal): Promise<Readable> {
    let body: unknown;
    try {
      body = (await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(hash) }), { abortSignal: signal })).Body;
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (isNotFound(error)) throw new BlobNotFoundError(hash, this.location);
      throw this.failure(error);
    }
    if (!(body instanceof Readable)) throw this.failure(new Error('the response has no readable body'));
    // A connection that drops mid-object surfaces as an error on the body; say which store it was.
    const out = new PassThrough();
    body.once('error', (error) => out.destroy(this.failure(error, `reading sha256:${hash} was cut short`)));
    out.once('close', () => {
      if (!body.readableEnded) body.destroy(); // the reader gave up: free the connection
    });
    body.pipe(out);
    return out;
  }

  private failure(error: unknown, doing?: string): InfrastructureError {
    const status = httpStatus(error);
    const name = error instanceof Error ? error.name : '';
    const code = errnoCode(error);
    let reason: string;
    if (status === 403 || ['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken'].includes(name)) {
      // Without s3:ListBucket, S3 answers 403 rather than 404 for an object that is not there.
      reason = `access denied (${name || `HTTP ${status}`}): check the AWS credentials and that they may read, write and list the bucket`;
    } else if (name === 'NoSuchBucket') {
      reason = `the bucket ${this.bucket} does not exist`;
    } else if (status === 301 || name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed') {
      const actual = bucketRegion(error);
      reason = `the bucket is in another region${actual ? ` (${actual})` : ''}: set the store's region or AWS_REGION`;
    } else if (name === 'TimeoutError') {
      reason = plainMessage(error).replace(/^@smithy\/node-http-handler - /, '');
    } else if (status !== undefined && status >= 500) {
      reason = `the server answered HTTP ${status} (${[name, plainMessage(error)].filter(Boolean).join(': ')})`;
    } else {
      reason = plainMessage(error) || code || name || (status ? `HTTP ${status}` : 'unknown error');
    }
    const networkLevel = status === undefined;
    const message = `store ${this.location} ${networkLevel ? 'is not reachable' : 'failed'}: ${doing ? `${doing}: ` : ''}${reason}`;
    return new InfrastructureError(withoutSecrets(message), { cause: error });
  }
}

/** The source gave more or fewer bytes than the size it was uploaded with. */
class ContentSizeError extends Error {
  constructor(hash: string, size: number, what: 'longer' | 'shorter') {
    super(`the content for sha256:${hash} is ${what} than the ${size} bytes announced`);
    this.name = 'ContentSizeError';
  }
}

/**
 * Passes the source through, but keeps its most recent chunk until the source has ended cleanly and
 * delivered exactly `size` bytes. Until then the server is always short of the declared length, so a
 * source that fails, even at its very end, can never complete an object. Excess bytes are dropped
 * and the length is judged only at the end, so that a verifying source reports its own verdict
 * (a hash mismatch) first.
 */
function holdBackLastChunk(hash: string, size: number): Transform {
  let held: Buffer | undefined;
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      // An empty held chunk would let everything before it reach the server.
      if (chunk.length === 0) return callback();
      bytes += chunk.length;
      if (bytes > size) return callback(); // the held chunk is never released now
      const release = held;
      held = chunk;
      callback(null, release);
    },
    flush(callback: TransformCallback) {
      if (bytes !== size) return callback(new ContentSizeError(hash, size, bytes > size ? 'longer' : 'shorter'));
      callback(null, held);
    },
  });
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The SDK's region chain without its last resort (asking EC2 instance metadata, slow off EC2), then us-east-1. */
function regionFromEnvironmentOrProfile(): () => Promise<string> {
  return loadConfig<string>(
    {
      environmentVariableSelector: (env) => env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined,
      configFileSelector: (profile) => profile.region || undefined,
      default: () => DEFAULT_REGION,
    },
    NODE_REGION_CONFIG_FILE_OPTIONS,
  );
}

function withoutUserInfo(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    if (!url.username && !url.password) return endpoint;
    url.username = '';
    url.password = '';
    return url.toString();
  } catch {
    return endpoint;
  }
}

/** SDK and server messages do not carry secrets, but a proxy or a custom endpoint might echo one. */
function withoutSecrets(message: string): string {
  return new SecretMasker().addAll(credentialValues(process.env)).mask(message);
}

/** An error's message; Node's happy-eyeballs connect failures are AggregateErrors with an empty one. */
function plainMessage(error: unknown): string {
  if (error instanceof AggregateError && !error.message) {
    return [...new Set(error.errors.map((e: unknown) => describeError(e)))].join('; ');
  }
  return describeError(error);
}

function httpStatus(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && '$metadata' in error) {
    return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  }
  return undefined;
}

function bucketRegion(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && '$response' in error) {
    const headers = (error as { $response?: { headers?: Record<string, string | undefined> } }).$response?.headers;
    return headers?.['x-amz-bucket-region'];
  }
  return undefined;
}

function isNotFound(error: unknown): boolean {
  const name = error instanceof Error ? error.name : '';
  return name === 'NotFound' || name === 'NoSuchKey' || (httpStatus(error) === 404 && name !== 'NoSuchBucket');
}
