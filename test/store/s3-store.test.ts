import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { S3BlobStore, parseS3Url } from '../../src/adapters/store/s3-store.js';
import { ConfigurationError, ExitCode, InfrastructureError } from '../../src/errors.js';
import { temporaryDirectory } from '../helpers/project.js';
import { S3RVER_CREDENTIALS, startS3Server, type S3Server } from '../helpers/s3-server.js';
import { describeBlobStoreContract, readAll, sha256, source } from './contract.js';

const MiB = 1 << 20;
/** Above S3BlobStore's multipart threshold (64 MiB), with a part boundary in the middle. */
const MULTIPART_BYTES = 70 * MiB;

let server: S3Server;
let prefixes = 0;
beforeAll(async () => {
  Object.assign(process.env, S3RVER_CREDENTIALS);
  server = await startS3Server();
});
afterAll(async () => server?.stop());

const freshStore = (): S3BlobStore => new S3BlobStore({ bucket: server.bucket, prefix: `t${(prefixes += 1)}/data`, endpoint: server.endpoint });

// Each test gets its own prefix in the one bucket, so they cannot see each other's objects.
describeBlobStoreContract('s3 store (s3rver on loopback)', async () => freshStore(), { largeBytes: MULTIPART_BYTES });

/** An HTTP server on loopback that answers as told, for failures s3rver cannot produce. */
async function scriptedServer(handle: (request: http.IncomingMessage, response: http.ServerResponse) => void): Promise<{ endpoint: string; close(): Promise<void> }> {
  const httpServer = http.createServer(handle);
  httpServer.listen(0, '127.0.0.1');
  await once(httpServer, 'listening');
  return {
    endpoint: `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`,
    close: async () => {
      httpServer.closeAllConnections();
      await new Promise((resolve) => httpServer.close(resolve));
    },
  };
}

describe('s3 store', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    Object.assign(process.env, S3RVER_CREDENTIALS);
  });

  it('fails fast with exit 3 when nothing listens, naming the store but not the secret', async () => {
    process.env.AWS_SECRET_ACCESS_KEY = 'not-to-be-printed-secret';
    const store = new S3BlobStore({ bucket: 'bucket', prefix: 'p', endpoint: 'http://127.0.0.1:9' }); // default retries
    const started = Date.now();
    const error = await store.missing(['ab'.repeat(32)]).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(error).toBeInstanceOf(InfrastructureError);
    expect((error as InfrastructureError).exitCode).toBe(ExitCode.Infrastructure);
    expect((error as Error).message).toBe('store s3://bucket/p (endpoint http://127.0.0.1:9) is not reachable: connect ECONNREFUSED 127.0.0.1:9');
    expect((error as Error).message).not.toContain('not-to-be-printed-secret');
    const upload = await store.upload('cd'.repeat(32), 1, source(Buffer.from('x'))).catch((e: unknown) => e);
    expect(upload).toBeInstanceOf(InfrastructureError);
  });

  it('gives up on a server that accepts connections but never answers', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => void sockets.push(socket));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    try {
      const endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      const store = new S3BlobStore({ bucket: 'bucket', prefix: '', endpoint, maxAttempts: 1, timeouts: { idleMs: 300 } });
      const started = Date.now();
      const error = await store.missing(['ab'.repeat(32)]).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(error).toBeInstanceOf(InfrastructureError);
      expect((error as Error).message).toBe(
        `store s3://bucket (endpoint ${endpoint}) is not reachable: the request socket timed out after 300 ms of inactivity (configured by client requestHandler).`,
      );
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  it('fails a download whose connection drops mid-object with an infrastructure error naming the store', async () => {
    const fake = await scriptedServer((_request, response) => {
      response.writeHead(200, { 'content-length': '1000', 'content-type': 'application/octet-stream' });
      response.write(Buffer.alloc(10));
      setTimeout(() => response.socket?.destroy(), 50);
    });
    try {
      const hash = 'ef'.repeat(32);
      const store = new S3BlobStore({ bucket: 'bucket', prefix: 'p', endpoint: fake.endpoint, maxAttempts: 1 });
      const error = await readAll(await store.download(hash)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InfrastructureError);
      expect((error as Error).message).toMatch(
        new RegExp(`^store s3://bucket/p \\(endpoint ${fake.endpoint}\\) is not reachable: reading sha256:${hash} was cut short: \\w`),
      );
    } finally {
      await fake.close();
    }
  });

  it('reports a bucket that does not exist', async () => {
    const store = new S3BlobStore({ bucket: 'no-such-bucket', prefix: '', endpoint: server.endpoint });
    const error = await store.upload('cd'.repeat(32), 1, source(Buffer.from('x'))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InfrastructureError);
    expect((error as Error).message).toBe(`store s3://no-such-bucket (endpoint ${server.endpoint}) failed: the bucket no-such-bucket does not exist`);
  });

  it('aborts the multipart upload, and never completes it, when the source fails', async () => {
    const send = vi.spyOn(S3Client.prototype, 'send');
    const store = freshStore();
    const data = Buffer.alloc(MULTIPART_BYTES, 7);
    const failure = new Error('content changed under us');
    await expect(store.upload(sha256(data), data.length, source(data, 40 * MiB, failure))).rejects.toBe(failure);
    const sent = send.mock.calls.map(([command]) => (command as object).constructor.name);
    expect(sent).toContain('UploadPartCommand');
    // s3rver does not implement AbortMultipartUpload (it answers 405), so its parts stay on its
    // disk; real S3 and MinIO delete them. What matters here is that the store asked.
    expect(sent).toContain(AbortMultipartUploadCommand.name);
    expect(sent).not.toContain(CompleteMultipartUploadCommand.name);
    expect(sent.indexOf(AbortMultipartUploadCommand.name)).toBe(sent.length - 1); // after every part
  });

  it.each([
    ['', 'sha256/'],
    ['team/data', 'team/data/sha256/'],
    ['/team//data/', 'team/data/sha256/'],
  ])('keeps objects under the prefix %j without stray slashes', async (prefix, keyStart) => {
    // Each case in a bucket of its own, so listing it shows exactly what the store wrote.
    const own = await startS3Server('layout');
    try {
      const store = new S3BlobStore({ bucket: own.bucket, prefix, endpoint: own.endpoint });
      const data = Buffer.from('layout');
      const hash = sha256(data);
      await store.upload(hash, data.length, source(data));
      const client = new S3Client({ endpoint: own.endpoint, forcePathStyle: true, region: 'us-east-1' });
      const listed = await client.send(new ListObjectsV2Command({ Bucket: own.bucket }));
      expect(listed.Contents?.map((o) => o.Key)).toEqual([`${keyStart}${hash.slice(0, 2)}/${hash.slice(2)}`]);
    } finally {
      await own.stop();
    }
  });

  it.each([
    ['longer', 'x'.repeat(11), 10],
    ['shorter', 'x'.repeat(9), 10],
    ['longer (streamed)', 'x'.repeat(9 * MiB + 1), 9 * MiB],
    ['shorter (streamed)', 'x'.repeat(9 * MiB - 1), 9 * MiB],
  ])('refuses content %s than announced, and stores nothing', async (_label, text, size) => {
    const store = freshStore();
    const hash = 'aa'.repeat(32);
    const error = await store.upload(hash, size, source(Buffer.from(text))).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(new RegExp(`^the content for sha256:${hash} is (longer|shorter) than the ${size} bytes announced$`));
    expect(await store.missing([hash])).toEqual([hash]);
  });

  describe('region', () => {
    const saved = { ...process.env };
    afterEach(() => {
      for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_PROFILE']) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
    });

    /** The region the store signed a request for, read from the Authorization header. */
    async function signedRegion(options: { region?: string }): Promise<string | undefined> {
      let authorization = '';
      const fake = await scriptedServer((request, response) => {
        authorization = request.headers.authorization ?? '';
        response.writeHead(404).end();
      });
      try {
        const store = new S3BlobStore({ bucket: 'bucket', prefix: '', endpoint: fake.endpoint, ...options });
        expect(await store.missing(['ab'.repeat(32)])).toHaveLength(1);
        return /Credential=[^/]+\/\d{8}\/([^/]+)\/s3\//.exec(authorization)?.[1];
      } finally {
        await fake.close();
      }
    }

    function isolate(profileRegion?: string): void {
      const directory = temporaryDirectory();
      writeFileSync(path.join(directory, 'config'), profileRegion ? `[default]\nregion = ${profileRegion}\n` : '');
      writeFileSync(path.join(directory, 'credentials'), '');
      process.env.AWS_CONFIG_FILE = path.join(directory, 'config');
      process.env.AWS_SHARED_CREDENTIALS_FILE = path.join(directory, 'credentials');
      delete process.env.AWS_PROFILE;
      delete process.env.AWS_REGION;
      delete process.env.AWS_DEFAULT_REGION;
    }

    it('is us-east-1 when none is configured anywhere', async () => {
      isolate();
      expect(await signedRegion({})).toBe('us-east-1');
    });

    it('comes from the profile, then AWS_DEFAULT_REGION, then AWS_REGION, then the option', async () => {
      isolate('ap-south-1');
      expect(await signedRegion({})).toBe('ap-south-1');
      process.env.AWS_DEFAULT_REGION = 'eu-central-1';
      expect(await signedRegion({})).toBe('eu-central-1');
      process.env.AWS_REGION = 'eu-west-3';
      expect(await signedRegion({})).toBe('eu-west-3');
      expect(await signedRegion({ region: 'sa-east-1' })).toBe('sa-east-1');
    });
  });

  it('finds an S3-compatible server through AWS_ENDPOINT_URL_S3, path-style', async () => {
    process.env.AWS_ENDPOINT_URL_S3 = server.endpoint;
    try {
      const store = new S3BlobStore({ bucket: server.bucket, prefix: 'from-env' });
      expect(store.location).toBe(`s3://${server.bucket}/from-env (endpoint ${server.endpoint})`);
      const data = Buffer.from('found through the environment');
      await store.upload(sha256(data), data.length, source(data));
      expect((await readAll(await store.download(sha256(data)))).equals(data)).toBe(true);
    } finally {
      delete process.env.AWS_ENDPOINT_URL_S3;
    }
  });

  it('says where it is, without credentials', () => {
    delete process.env.AWS_ENDPOINT_URL;
    delete process.env.AWS_ENDPOINT_URL_S3;
    expect(new S3BlobStore({ bucket: 'b-1', prefix: '' }).location).toBe('s3://b-1');
    expect(new S3BlobStore({ bucket: 'b-1', prefix: '/a//b/' }).location).toBe('s3://b-1/a/b');
    expect(new S3BlobStore({ bucket: 'b-1', prefix: 'a', endpoint: 'http://user:pass@127.0.0.1:9000' }).location).toBe(
      's3://b-1/a (endpoint http://127.0.0.1:9000/)',
    );
  });

  it.each([
    ['s3://bucket', { bucket: 'bucket', prefix: '' }],
    ['s3://bucket/', { bucket: 'bucket', prefix: '' }],
    ['S3://bucket/x', { bucket: 'bucket', prefix: 'x' }],
    ['s3://my-bucket/a/b/', { bucket: 'my-bucket', prefix: 'a/b' }],
    ['s3://my.bucket//a//b', { bucket: 'my.bucket', prefix: 'a/b' }],
    ['s3://abc/with space/ü', { bucket: 'abc', prefix: 'with space/ü' }],
  ])('parses %s', (url, expected) => {
    expect(parseS3Url(url)).toEqual(expected);
  });

  it.each([
    ['', 'it does not start with s3://'],
    ['bucket/prefix', 'it does not start with s3://'],
    ['gs://bucket/p', 'it does not start with s3://'],
    ['s3:/bucket', 'it does not start with s3://'],
    ['s3://', 'it names no bucket'],
    ['s3:///prefix', 'it names no bucket'],
    ['s3://UPPER/p', '"UPPER" is not a valid bucket name'],
    ['s3://ab/p', '"ab" is not a valid bucket name'],
    ['s3://-bucket', '"-bucket" is not a valid bucket name'],
    ['s3://a..b', '"a..b" is not a valid bucket name'],
    ['s3://bucket:9000/p', '"bucket:9000" is not a valid bucket name'],
    ['s3://bucket/a/../b', 'the prefix must not contain'],
  ])('rejects %j: %s', (url, why) => {
    let error: unknown;
    try {
      parseS3Url(url);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain(`${JSON.stringify(url)} is not an S3 location (expected s3://bucket/prefix): ${why}`);
  });
});
