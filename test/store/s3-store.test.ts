import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3BlobStore, parseS3Url } from '../../src/adapters/store/s3-store.js';
import { ConfigurationError, InfrastructureError } from '../../src/errors.js';
import { S3RVER_CREDENTIALS, startS3Server, type S3Server } from '../helpers/s3-server.js';
import { describeBlobStoreContract } from './contract.js';

let server: S3Server;
let prefixes = 0;
beforeAll(async () => {
  Object.assign(process.env, S3RVER_CREDENTIALS);
  server = await startS3Server();
});
afterAll(async () => server?.stop());

// Each test gets its own prefix in the one bucket, so they cannot see each other's objects.
describeBlobStoreContract(
  's3 store (s3rver on loopback)',
  async () => new S3BlobStore({ bucket: server.bucket, prefix: `t${(prefixes += 1)}/data`, endpoint: server.endpoint }),
  { largeBytes: 70 << 20, absentAfterFailedUpload: false }, // large: above the multipart threshold
);

describe('s3 store', () => {
  it('fails fast with an infrastructure error when nothing listens, naming the store but not the secret', async () => {
    process.env.AWS_SECRET_ACCESS_KEY = 'not-to-be-printed-secret';
    try {
      const store = new S3BlobStore({ bucket: 'b', prefix: 'p', endpoint: 'http://127.0.0.1:9', maxAttempts: 1 });
      const started = Date.now();
      const error = await store.missing(['ab'.repeat(32)]).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(error).toBeInstanceOf(InfrastructureError);
      expect((error as Error).message).toContain('store s3://b/p (endpoint http://127.0.0.1:9) is not reachable');
      expect((error as Error).message).toMatch(/ECONNREFUSED/);
      expect((error as Error).message).not.toContain('not-to-be-printed-secret');
    } finally {
      Object.assign(process.env, S3RVER_CREDENTIALS);
    }
  });

  it('reports a bucket that does not exist', async () => {
    const store = new S3BlobStore({ bucket: 'no-such-bucket', prefix: '', endpoint: server.endpoint });
    const error = await store.upload('cd'.repeat(32), 1, () => Readable.from([Buffer.from('x')])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InfrastructureError);
    expect((error as Error).message).toContain('the bucket does not exist');
  });

  it.each([
    ['s3://bucket', { bucket: 'bucket', prefix: '' }],
    ['s3://bucket/', { bucket: 'bucket', prefix: '' }],
    ['s3://my-bucket/a/b/', { bucket: 'my-bucket', prefix: 'a/b' }],
    ['s3://my.bucket//a//b', { bucket: 'my.bucket', prefix: 'a/b' }],
  ])('parses %s', (url, expected) => {
    expect(parseS3Url(url)).toEqual(expected);
  });

  it.each(['s3://', 's3:///prefix', 'gs://bucket/p', 's3://UPPER/p', 's3://a/p'])('rejects %s', (url) => {
    expect(() => parseS3Url(url)).toThrow(ConfigurationError);
  });
});
