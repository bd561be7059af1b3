/**
 * Debian's `docker-registry` (distribution v2) on 127.0.0.1 with an ephemeral port and storage in a
 * temp directory, open or with htpasswd basic auth, optionally started from a storage snapshot (so
 * that images pushed once are in every run's registry without pushing them again).
 */
import { randomBytes } from 'node:crypto';
import { copyFile, link, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findBinary, logTail, runCaptured, spawnLogged, waitForExit } from './support.js';

const LIMITS = {
  registryStart: 20_000,
} as const;

export interface RegistryEndpoint {
  /** `127.0.0.1:PORT`, the host part of image references: `127.0.0.1:PORT/name:tag`. */
  readonly address: string;
  /** `http://127.0.0.1:PORT`, for the registry's HTTP API. */
  readonly url: string;
}

export interface AuthRegistryEndpoint extends RegistryEndpoint {
  readonly username: string;
  readonly password: string;
}

export interface RunningRegistry {
  readonly endpoint: RegistryEndpoint;
  /** The registry's storage root directory (its filesystem driver's `rootdirectory`). */
  readonly storage: string;
  stop(): Promise<void>;
}

export interface RegistryOptions {
  readonly auth?: { readonly username: string; readonly password: string };
  /** A storage root to start from (a copy: blobs hard-linked, the rest copied), see {@link copyStorage}. */
  readonly seed?: string;
}

export async function startRegistry(options: RegistryOptions = {}): Promise<RunningRegistry> {
  const { auth, seed } = options;
  const what = auth ? 'registry with basic auth' : 'open registry';
  const binary = await findBinary('docker-registry');
  if (!binary) throw new Error(`Registry: docker-registry is not installed (the docker-registry package did not provide it)`);
  const dir = await mkdtemp(path.join(tmpdir(), 'mlship-docker-registry-'));
  const logFile = path.join(dir, 'registry.log');
  const storage = path.join(dir, 'data');
  if (seed) await copyStorage(seed, storage);
  const config: Record<string, unknown> = {
    version: '0.1',
    log: { level: 'info', formatter: 'text', accesslog: { disabled: true } },
    storage: {
      filesystem: { rootdirectory: storage },
      delete: { enabled: true },
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: { addr: '127.0.0.1:0', secret: randomBytes(16).toString('hex') },
  };
  if (auth) {
    const htpasswd = await findBinary('htpasswd');
    if (!htpasswd) throw new Error('Registry: htpasswd is not installed (the apache2-utils package did not provide it)');
    const entry = await runCaptured(`making the htpasswd entry for ${auth.username}`, [htpasswd, '-nbB', auth.username, auth.password]);
    await writeFile(path.join(dir, 'htpasswd'), `${entry.trim()}\n`, { mode: 0o600 });
    config.auth = { htpasswd: { realm: 'mlship-test-registry', path: path.join(dir, 'htpasswd') } };
  }
  // JSON is YAML: the registry reads this as its YAML config.
  await writeFile(path.join(dir, 'config.yml'), JSON.stringify(config, null, 2));

  const daemon = spawnLogged(binary, ['serve', path.join(dir, 'config.yml')], logFile);
  const child = daemon.child;

  const stop = async (): Promise<void> => {
    if (!daemon.exited && child.pid) {
      child.kill('SIGTERM');
      if (!(await waitForExit(child.pid, 5_000))) child.kill('SIGKILL');
      await waitForExit(child.pid, 5_000);
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const deadline = Date.now() + LIMITS.registryStart;
    let address: string | undefined;
    while (!address) {
      address = /listening on (127\.0\.0\.1:\d+)/.exec(await readFile(logFile, 'utf8').catch(() => ''))?.[1];
      if (address) break;
      if (daemon.exited) throw new Error(`Registry: the ${what} ${daemon.exited} before listening.${await logTail(logFile)}`);
      if (Date.now() > deadline) throw new Error(`Registry: the ${what} did not listen within ${LIMITS.registryStart / 1000} s.${await logTail(logFile)}`);
      await sleep(50);
    }
    const url = `http://${address}`;
    // The API root answers 200, or 401 when authentication is on.
    for (;;) {
      const status = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(2_000) }).then((response) => response.status, () => 0);
      if (status === (auth ? 401 : 200)) break;
      if (daemon.exited || Date.now() > deadline) {
        throw new Error(`Registry: the ${what} at ${url} answered GET /v2/ with ${status || 'no response'}, expected ${auth ? 401 : 200}.${await logTail(logFile)}`);
      }
      await sleep(100);
    }
    return { endpoint: { address, url }, storage, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}


/** A request to a registry's HTTP API, with basic auth when the endpoint has credentials. */
export async function registryRequest(
  registry: RegistryEndpoint & { username?: string; password?: string },
  pathname: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  const authorization = registry.username !== undefined ? { authorization: `Basic ${Buffer.from(`${registry.username}:${registry.password ?? ''}`).toString('base64')}` } : {};
  return fetch(`${registry.url}${pathname}`, { headers: { ...headers, ...authorization }, signal: AbortSignal.timeout(10_000) });
}

/**
 * Copies a registry storage root: blob data hard-linked (the registry never rewrites a blob in
 * place: uploads are renamed into place, deletes unlink), everything else copied, since the
 * registry rewrites tag links in place.
 */
export async function copyStorage(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) await copyStorage(source, target);
    else if (entry.name === 'data' && source.includes(`${path.sep}blobs${path.sep}`)) await link(source, target).catch(() => copyFile(source, target));
    else await copyFile(source, target);
  }
}
