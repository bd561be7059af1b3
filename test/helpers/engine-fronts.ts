/**
 * Fronts for the test engine's unix socket, so that tests reach the real engine the way users'
 * engines are reached or see what mlship sends it: over TCP with mutual TLS (as `dockerd
 * --tlsverify` listens on 2376), and through a recording HTTP proxy.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createServer as createTlsServer } from 'node:tls';

interface Front {
  /** `tcp://127.0.0.1:PORT` */
  readonly dockerHost: string;
  close(): Promise<void>;
}

async function listen(server: { listen(port: number, host: string, done: () => void): unknown; address(): unknown }): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A request the recording proxy passed on: its path, the service spec it named, its X-Registry-Auth. */
export interface EngineRequest {
  readonly path: string;
  readonly service?: string;
  readonly registryAuth?: unknown;
}

/** An HTTP front that passes every request through unchanged and records it. */
export async function recordingEngineProxy(socketPath: string): Promise<Front & { readonly requests: EngineRequest[] }> {
  const requests: EngineRequest[] = [];
  const server = createHttpServer(async (incoming, answer) => {
    const chunks: Buffer[] = [];
    for await (const chunk of incoming) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const requestPath = incoming.url ?? '';
    const header = incoming.headers['x-registry-auth'];
    const service = /\/services\/(create|[^/]+\/update)/.test(requestPath) ? (JSON.parse(body.toString('utf8')) as { Name?: string }).Name : undefined;
    const registryAuth = typeof header === 'string' ? JSON.parse(Buffer.from(header, 'base64').toString('utf8')) : undefined;
    requests.push({ path: requestPath, ...(service ? { service } : {}), ...(registryAuth ? { registryAuth } : {}) });
    const forwarded = httpRequest({ socketPath, path: requestPath, method: incoming.method, headers: incoming.headers }, (engine) => {
      answer.writeHead(engine.statusCode ?? 502, engine.headers);
      engine.pipe(answer);
    });
    forwarded.on('error', () => answer.destroy());
    forwarded.end(body);
  });
  const port = await listen(server);
  return {
    dockerHost: `tcp://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Certificates as `docker --tlsverify` reads them from DOCKER_CERT_PATH. */
export interface TlsEngineFront extends Front {
  /** ca.pem (the engine's CA), cert.pem and key.pem (a client certificate that CA signed). */
  readonly certPath: string;
  /** The same files, but the client certificate is signed by a CA the engine does not trust. */
  readonly strangerCertPath: string;
}

/**
 * A TCP front with mutual TLS: it presents a server certificate for 127.0.0.1 signed by a CA of
 * its own, accepts only client certificates that CA signed, and pipes the bytes to the engine.
 */
export async function tlsEngineFront(socketPath: string): Promise<TlsEngineFront> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mlship-engine-tls-'));
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const authority = (name: string): void => openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.pem`);
  const signed = (name: string, ca: string, extensions: string): void => {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
    writeFileSync(path.join(dir, `${name}.ext`), `${extensions}\n`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '1', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
  };
  authority('engine-ca');
  authority('stranger-ca');
  signed('engine', 'engine-ca', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth');
  signed('client', 'engine-ca', 'extendedKeyUsage=clientAuth');
  signed('stranger', 'stranger-ca', 'extendedKeyUsage=clientAuth');
  const read = (file: string): Buffer => readFileSync(path.join(dir, file));
  const certDir = (name: string, client: string): string => {
    const target = path.join(dir, name);
    mkdirSync(target);
    writeFileSync(path.join(target, 'ca.pem'), read('engine-ca.pem'));
    writeFileSync(path.join(target, 'cert.pem'), read(`${client}.pem`));
    writeFileSync(path.join(target, 'key.pem'), read(`${client}.key`));
    return target;
  };

  const open = new Set<Socket>();
  const server = createTlsServer({ key: read('engine.key'), cert: read('engine.pem'), ca: read('engine-ca.pem'), requestCert: true, rejectUnauthorized: true }, (client) => {
    const engine = connect(socketPath);
    open.add(client).add(engine);
    client.on('close', () => open.delete(client));
    engine.on('close', () => open.delete(engine));
    client.pipe(engine).pipe(client);
    client.on('error', () => engine.destroy());
    engine.on('error', () => client.destroy());
  });
  server.on('tlsClientError', () => undefined);
  const port = await listen(server);
  return {
    dockerHost: `tcp://127.0.0.1:${port}`,
    certPath: certDir('client-certs', 'client'),
    strangerCertPath: certDir('stranger-certs', 'stranger'),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}
