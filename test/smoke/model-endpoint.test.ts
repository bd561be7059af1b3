import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { ModelEndpoint } from '../../src/adapters/http/model-endpoint.js';

/**
 * The load client smoke and rollouts measure with, against real servers on loopback: node:http
 * (keep-alive, chunked, close), raw sockets (HTTP/1.0, not HTTP) and TLS.
 */

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;

async function listen(server: Server | net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise<void>((resolve) => {
    (server as Server).closeAllConnections?.();
    server.close(() => resolve());
  }));
  return (server.address() as AddressInfo).port;
}

/** A node:http server; counts the TCP connections it accepted. */
async function httpServer(handler: Handler, tune?: (server: Server) => void): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => handler(request, body, response));
  });
  server.on('connection', () => connections++);
  tune?.(server);
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, connections: () => connections };
}

/** A raw TCP server that answers each connection's first request with `answer` bytes. */
async function rawServer(answer: string, then: 'close' | 'stay' = 'close'): Promise<string> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('data', () => {
      socket.write(answer);
      if (then === 'close') socket.end();
    });
    socket.on('close', () => sockets.delete(socket));
  });
  const port = await listen(server);
  closers.push(() => sockets.forEach((socket) => socket.destroy()));
  return `http://127.0.0.1:${port}`;
}

function endpoint(url: string, options: Partial<ConstructorParameters<typeof ModelEndpoint>[1]> = {}): ModelEndpoint {
  const client = new ModelEndpoint(url, { timeoutMs: 5_000, connections: 2, ...options });
  closers.push(() => client.close());
  return client;
}

const echoScores: Handler = (request, body, response) => {
  const rows = (JSON.parse(body) as { rows: unknown[] }).rows;
  response.writeHead(200, { 'content-type': 'application/json', 'x-model-version': 'v1', 'x-image-digest': 'sha256:abc' });
  response.end(JSON.stringify({ scores: rows.map(() => 0.5), model_version: 'v1', path: request.url, host: request.headers.host }));
};

describe('ModelEndpoint', () => {
  it('posts the rows to <url>/predict with the Host header and reads status, headers and JSON', async () => {
    const server = await httpServer(echoScores);
    const answer = await endpoint(`${server.url}/models/churn/`).predict([{ x: 1 }, { x: 2 }]);
    expect(answer).toMatchObject({ status: 200, modelVersion: 'v1', digest: 'sha256:abc' });
    expect(answer.error).toBeUndefined();
    expect(answer.body).toEqual({ scores: [0.5, 0.5], model_version: 'v1', path: '/models/churn/predict', host: server.url.slice('http://'.length) });
    expect(answer.latencyMs).toBeGreaterThan(0);
  });

  it('counts the body in bytes, so rows with non-ASCII text arrive whole', async () => {
    const server = await httpServer((_request, body, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(body));
    const rows = [{ city: 'Zürich', note: '東京 ✓' }];
    expect(await endpoint(server.url).predict(rows)).toMatchObject({ status: 200, body: { rows } });
  });

  it('keeps connections alive: 200 requests from 4 callers use at most `connections` connections', async () => {
    const server = await httpServer(echoScores);
    const client = endpoint(server.url, { connections: 3 });
    const answers = (await Promise.all(Array.from({ length: 4 }, async () => {
      const mine = [];
      for (let i = 0; i < 50; i++) mine.push(await client.predict([{ i }]));
      return mine;
    }))).flat();
    expect(answers.filter((a) => a.status === 200)).toHaveLength(200);
    expect(server.connections()).toBeLessThanOrEqual(3);
    expect(server.connections()).toBeGreaterThan(0);
  });

  it('reads a chunked answer, and one that closes the connection after it', async () => {
    const chunked = await httpServer((_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'x-model-version': 'v2' });
      response.write('{"scores": [0.');
      setTimeout(() => response.end('25]}'), 5);
    });
    expect(await endpoint(chunked.url).predict([{}])).toMatchObject({ status: 200, modelVersion: 'v2', body: { scores: [0.25] } });

    const closing = await httpServer((_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json', connection: 'close' }).end('{"scores":[1]}');
    });
    const client = endpoint(closing.url, { connections: 1 });
    for (let i = 0; i < 3; i++) expect(await client.predict([{}])).toMatchObject({ status: 200, body: { scores: [1] } });
    expect(closing.connections()).toBe(3);
  });

  it('reads an HTTP/1.0 answer whose body ends with the connection', async () => {
    const url = await rawServer('HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nX-Model-Version: old\r\n\r\n{"scores":[0.75]}');
    expect(await endpoint(url).predict([{}])).toMatchObject({ status: 200, modelVersion: 'old', body: { scores: [0.75] } });
  });

  it.each([
    {
      name: 'a server error keeps its status and JSON body',
      handler: ((_q, _b, response) => response.writeHead(500, { 'content-type': 'application/json' }).end('{"detail":"model not loaded"}')) as Handler,
      status: 500,
      body: { detail: 'model not loaded' },
      error: undefined,
    },
    {
      name: 'an answer that is not JSON says so and quotes it',
      handler: ((_q, _b, response) => response.writeHead(200).end('<html>gateway</html>')) as Handler,
      status: 200,
      body: undefined,
      error: 'the answer is not JSON: "<html>gateway</html>"',
    },
    {
      name: 'an answer larger than 4 MiB is not kept',
      handler: ((_q, _b, response) => response.writeHead(200).end(Buffer.alloc(4 * 1024 * 1024 + 10, 0x20))) as Handler,
      status: 200,
      body: undefined,
      error: 'the answer is larger than 4 MiB',
    },
  ])('$name', async ({ handler, status, body, error }) => {
    const server = await httpServer(handler);
    const answer = await endpoint(server.url).predict([{}]);
    expect(answer.status).toBe(status);
    expect(answer.body).toEqual(body);
    expect(answer.error).toBe(error);
  });

  it('gives up on a request at its deadline, and the next request is not answered with the late answer', async () => {
    let calls = 0;
    const server = await httpServer((_request, _body, response) => {
      const call = ++calls;
      setTimeout(() => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ scores: [call] })), call === 1 ? 400 : 0);
    });
    const client = endpoint(server.url, { timeoutMs: 150, connections: 1 });
    const slow = await client.predict([{}]);
    expect(slow).toMatchObject({ status: 0, error: 'no answer in time (150 ms)' });
    expect(slow.latencyMs).toBeGreaterThanOrEqual(140);
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(await client.predict([{}])).toMatchObject({ status: 200, body: { scores: [2] } });
  });

  it('a request waiting for a busy connection gets it once the one before times out', async () => {
    let calls = 0;
    const server = await httpServer((_request, _body, response) => {
      if (++calls === 1) return; // never answers
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"scores":[0]}');
    });
    const client = endpoint(server.url, { timeoutMs: 300, connections: 1 });
    const [first, second] = await Promise.all([client.predict([{}]), new Promise((r) => setTimeout(r, 20)).then(() => client.predict([{}]))]);
    expect(first).toMatchObject({ status: 0, error: 'no answer in time (300 ms)' });
    expect(second).toMatchObject({ status: 200 });
  });

  it('names a refused connection in the system\'s words', async () => {
    const free = net.createServer();
    const port = await new Promise<number>((resolve) => free.listen(0, '127.0.0.1', () => resolve((free.address() as AddressInfo).port)));
    await new Promise<void>((resolve) => free.close(() => resolve()));
    const answer = await endpoint(`http://127.0.0.1:${port}`).predict([{}]);
    expect(answer.status).toBe(0);
    expect(answer.error).toBe(`connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  it('drops an idle connection the server closed, and retries once a request the server dropped unanswered', async () => {
    const idleClosing = await httpServer(echoScores, (server) => {
      server.keepAliveTimeout = 50;
      server.keepAliveTimeoutBuffer = 0;
    });
    const client = endpoint(idleClosing.url, { connections: 1 });
    expect(await client.predict([{}])).toMatchObject({ status: 200 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await client.predict([{}])).toMatchObject({ status: 200 });
    expect(idleClosing.connections()).toBe(2);

    // A keep-alive connection the server drops right as the next request arrives.
    let requests = 0;
    const sockets = new Set<net.Socket>();
    const dropping = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('data', () => {
        if (++requests === 2) socket.destroy();
        else socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n{"scores":[1]}');
      });
    });
    const port = await listen(dropping);
    closers.push(() => sockets.forEach((socket) => socket.destroy()));
    const retrying = endpoint(`http://127.0.0.1:${port}`, { connections: 1 });
    expect(await retrying.predict([{}])).toMatchObject({ status: 200 });
    expect(await retrying.predict([{}])).toMatchObject({ status: 200, body: { scores: [1] } });
    expect(requests).toBe(3);
  });

  it('fails, without retrying, a request whose connection closed halfway through the answer', async () => {
    const url = await rawServer('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"scores"');
    expect(await endpoint(url).predict([{}])).toMatchObject({ status: 0, error: 'the connection closed before the answer was complete' });
  });

  it('says when the answer is not HTTP', async () => {
    const url = await rawServer('SSH-2.0-OpenSSH_9.2\r\n', 'stay');
    const answer = await endpoint(url).predict([{}]);
    expect(answer.status).toBe(0);
    expect(answer.error).toMatch(/^the answer is not HTTP \(/);
  });

  it('answers `interrupted` for every pending request when the signal aborts, and for later ones', async () => {
    const server = await httpServer(() => undefined);
    const controller = new AbortController();
    const client = endpoint(server.url, { signal: controller.signal, connections: 1 });
    const pending = [client.predict([{}]), client.predict([{}])];
    setTimeout(() => controller.abort(), 50);
    expect(await Promise.all(pending)).toMatchObject([{ status: 0, error: 'interrupted' }, { status: 0, error: 'interrupted' }]);
    expect(await client.predict([{}])).toMatchObject({ status: 0, error: 'interrupted' });
  });

  it('speaks HTTPS, refusing a certificate it cannot trust', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mlship-tls-'));
    closers.push(() => rmSync(dir, { recursive: true, force: true }));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
    const cert = readFileSync(path.join(dir, 'cert.pem'), 'utf8');
    const server = createHttpsServer({ key: readFileSync(path.join(dir, 'key.pem')), cert }, (request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => echoScores(request, body, response));
    });
    const port = await listen(server);
    const url = `https://127.0.0.1:${port}`;

    const untrusted = await endpoint(url).predict([{}]);
    expect(untrusted.status).toBe(0);
    expect(untrusted.error).toMatch(/self[- ]signed certificate/);

    const defaults = tls.getCACertificates('default');
    tls.setDefaultCACertificates([...defaults, cert]);
    closers.push(() => tls.setDefaultCACertificates(defaults));
    expect(await endpoint(url).predict([{ x: 1 }])).toMatchObject({ status: 200, modelVersion: 'v1', body: { scores: [0.5] } });
  });
});
