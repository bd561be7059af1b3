import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { S3RVER_CREDENTIALS, startS3Server, type S3Server } from '../helpers/s3-server.js';
import { cloneWithoutData, makeProject, treeHashes } from '../helpers/project.js';

let server: S3Server;
beforeAll(async () => {
  Object.assign(process.env, S3RVER_CREDENTIALS);
  server = await startS3Server('team-data');
});
afterAll(async () => server?.stop());

const storeConfig = (prefix: string, endpoint = server.endpoint): string =>
  `{ url: "s3://${server.bucket}/${prefix}", endpoint: "${endpoint}", region: eu-west-1 }`;

describe('mlship data against an S3 server', () => {
  it('pushes, skips what is there, pulls into a clone and verifies', async () => {
    const project = makeProject(
      { 'data/train.csv': 'a,b\n1,2\n', 'data/images/x.bin': Buffer.alloc(200_000, 3), 'data/images/y.bin': 'y' },
      { storeUrl: storeConfig('churn') },
    );
    await project.run('data', 'snapshot');
    const push = await project.run('data', 'push');
    expect(push.error).toBeUndefined();
    expect(push.result!.outputs['uploaded-objects']).toBe(4); // 3 files + the manifest of data/
    expect(push.result!.summary).toContain(`s3://${server.bucket}/churn`);
    const again = await project.run('data', 'push');
    expect(again.result!.outputs).toMatchObject({ 'uploaded-objects': 0, 'uploaded-bytes': 0 });

    const clone = cloneWithoutData(project);
    const pull = await clone.run('data', 'pull');
    expect(pull.error).toBeUndefined();
    expect(treeHashes(clone.root, 'data')).toEqual(treeHashes(project.root, 'data'));
    const verify = await clone.run('data', 'verify');
    expect(verify.result!.outputs).toMatchObject({ 'verified-objects': 4, missing: [], corrupt: [] });
  });

  it('fails with exit 3 and names the store when the endpoint does not answer', async () => {
    const project = makeProject({ 'data/a.csv': 'a' }, { storeUrl: storeConfig('x', 'http://127.0.0.1:9') });
    await project.run('data', 'snapshot');
    const push = await project.run('data', 'push');
    expect(push.exitCode).toBe(ExitCode.Infrastructure);
    expect(push.error?.message).toContain(`store s3://${server.bucket}/x (endpoint http://127.0.0.1:9) is not reachable`);
  });

  describe('against a store that stalls (MLSHIP_NETWORK_TIMEOUT bounds the silence)', () => {
    let stalling: { endpoint: string; close(): Promise<void> };
    beforeAll(async () => {
      process.env.MLSHIP_NETWORK_TIMEOUT = '0.5';
      // HEAD answers "absent", so a push goes on to upload; PUT takes the body and never answers;
      // GET starts an object and stops sending half-way.
      const sockets = new Set<import('node:net').Socket>();
      const httpServer = http.createServer((request, response) => {
        if (request.method === 'HEAD') return void response.writeHead(404).end();
        request.resume();
        if (request.method === 'GET') {
          response.writeHead(200, { 'content-length': '1000', 'content-type': 'application/octet-stream' });
          response.write(Buffer.alloc(10));
        }
      });
      httpServer.on('connection', (socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
      });
      httpServer.listen(0, '127.0.0.1');
      await once(httpServer, 'listening');
      stalling = {
        endpoint: `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`,
        close: async () => {
          for (const socket of sockets) socket.destroy();
          await new Promise((resolve) => httpServer.close(resolve));
        },
      };
    });
    afterAll(async () => {
      delete process.env.MLSHIP_NETWORK_TIMEOUT;
      await stalling?.close();
    });

    it.each([
      ['push', ['data'], 'push', /is not reachable: the request socket timed out after 500 ms of inactivity/],
      ['pull of a directory (its listing stalls)', ['data'], 'pull', /is not reachable: reading sha256:[0-9a-f]{64} was cut short: .*timed out after 500 ms of inactivity/],
      ['pull of a file (its object stalls)', ['data/a.csv'], 'pull', /is not reachable: reading sha256:[0-9a-f]{64} was cut short: .*timed out after 500 ms of inactivity/],
    ])('%s ends in exit 3 naming the store', async (_name, paths, command, message) => {
      const project = makeProject({ 'data/a.csv': 'a' }, { paths, storeUrl: storeConfig('stalled', stalling.endpoint) });
      await project.run('data', 'snapshot');
      const target = command === 'pull' ? cloneWithoutData(project) : project;
      const run = await target.run('data', command);
      expect(run.exitCode).toBe(ExitCode.Infrastructure);
      expect(run.error?.message).toContain(`store s3://${server.bucket}/stalled (endpoint ${stalling.endpoint})`);
      expect(run.error?.message).toMatch(message);
    }, 30_000);
  });

  it('rejects a malformed S3 location as a config error naming the field', async () => {
    const project = makeProject({ 'data/a.csv': 'a' }, { storeUrl: 's3://' });
    await project.run('data', 'snapshot');
    const push = await project.run('data', 'push');
    expect(push.exitCode).toBe(ExitCode.Usage);
    expect(push.error?.message).toMatch(/mlship.yml:5:\d+ data.store: "s3:\/\/" is not an S3 location/);
  });
});
