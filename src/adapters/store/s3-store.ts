import { Readable } from 'node:stream';
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import pLimit from 'p-limit';
import { ConfigurationError, InfrastructureError, describeError } from '../../errors.js';
import { BlobNotFoundError, objectKey, type BlobStore } from './blob-store.js';

export interface S3StoreOptions {
  readonly bucket: string;
  readonly prefix: string;
  /** An S3-compatible endpoint (MinIO, Ceph); implies path-style addressing unless told otherwise. */
  readonly endpoint?: string;
  readonly region?: string;
  readonly pathStyle?: boolean;
  readonly maxAttempts?: number;
}

/** Objects above this go up in parts: one PUT is limited to 5 GiB, and parts retry alone. */
const MULTIPART_THRESHOLD = 64 << 20;
const PART_SIZE = 16 << 20;
const HEAD_CONCURRENCY = 16;

export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/i.exec(url);
  if (!match || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(match[1]!)) {
    throw new ConfigurationError(`${JSON.stringify(url)} is not an S3 location (expected s3://bucket/prefix, with a valid bucket name)`);
  }
  const prefix = (match[2] ?? '').split('/').filter(Boolean).join('/');
  return { bucket: match[1]!, prefix };
}

/**
 * Blobs as objects in an S3 bucket: `<prefix>/sha256/ab/cdef…`. A PUT (or a completed multipart
 * upload) is atomic, so a reader never sees a partial object. Credentials and region come from the
 * AWS SDK's usual chain (environment, profile, instance role), never from mlship.yml.
 */
export class S3BlobStore implements BlobStore {
  readonly location: string;
  private readonly client: S3Client;

  constructor(private readonly options: S3StoreOptions) {
    const endpoint = options.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
    this.location = `s3://${options.bucket}${options.prefix ? `/${options.prefix}` : ''}${endpoint ? ` (endpoint ${endpoint})` : ''}`;
    const config: S3ClientConfig = {
      region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      forcePathStyle: options.pathStyle ?? endpoint !== undefined,
      maxAttempts: options.maxAttempts ?? 3,
      // S3-compatible servers do not all speak the newer default checksums (aws-chunked trailers).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 120_000 }),
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    };
    this.client = new S3Client(config);
  }

  private key(hash: string): string {
    return this.options.prefix ? `${this.options.prefix}/${objectKey(hash)}` : objectKey(hash);
  }

  async missing(hashes: readonly string[]): Promise<string[]> {
    const unique = [...new Set(hashes)];
    const limit = pLimit(HEAD_CONCURRENCY);
    const present = await Promise.all(
      unique.map((hash) =>
        limit(async () => {
          try {
            await this.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: this.key(hash) }));
            return true;
          } catch (error) {
            if (isNotFound(error)) return false;
            limit.clearQueue();
            throw this.failure(error);
          }
        }),
      ),
    );
    return unique.filter((_, i) => !present[i]);
  }

  async upload(hash: string, size: number, open: () => Readable): Promise<void> {
    const body = open();
    // The source's own failure (content changed, file unreadable) is what the caller must see,
    // and it must cut the request short: a PUT whose body stops early never becomes an object.
    let sourceError: unknown;
    const abort = new AbortController();
    body.once('error', (error) => {
      sourceError ??= error;
      abort.abort(error);
    });
    const params = { Bucket: this.options.bucket, Key: this.key(hash), Body: body, ContentLength: size };
    try {
      if (size <= MULTIPART_THRESHOLD) {
        await this.client.send(new PutObjectCommand(params), { abortSignal: abort.signal });
      } else {
        // lib-storage aborts the multipart upload on failure, so no object and no parts remain.
        const { ContentLength: _, ...multipart } = params;
        const upload = new Upload({ client: this.client, params: multipart, partSize: PART_SIZE, queueSize: 4, leavePartsOnError: false });
        abort.signal.addEventListener('abort', () => void upload.abort().catch(() => undefined));
        await upload.done();
      }
    } catch (error) {
      if (sourceError !== undefined) throw sourceError;
      throw this.failure(error);
    }
    if (sourceError !== undefined) throw sourceError;
  }

  async download(hash: string): Promise<Readable> {
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: this.key(hash) }));
      if (!(response.Body instanceof Readable)) throw new Error('the response has no readable body');
      return response.Body;
    } catch (error) {
      if (isNotFound(error)) throw new BlobNotFoundError(hash, this.location);
      throw this.failure(error);
    }
  }

  private failure(error: unknown): InfrastructureError {
    const status = httpStatus(error);
    const name = error instanceof Error ? error.name : '';
    const reason =
      status === 403 || name === 'AccessDenied' || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch'
        ? `access denied (${name || status}): check the AWS credentials and the bucket policy`
        : name === 'NoSuchBucket'
          ? 'the bucket does not exist'
          : describeError(error) || name;
    return new InfrastructureError(`store ${this.location} is not reachable: ${reason}`, { cause: error });
  }
}

function httpStatus(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && '$metadata' in error) {
    return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  }
  return undefined;
}

function isNotFound(error: unknown): boolean {
  const name = error instanceof Error ? error.name : '';
  return name === 'NotFound' || name === 'NoSuchKey' || (httpStatus(error) === 404 && name !== 'NoSuchBucket');
}
