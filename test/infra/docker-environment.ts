/**
 * A real Docker Engine and two real image registries for the tests in test/docker/, set up by the
 * tests themselves on any Debian machine where they run as root (or with passwordless sudo):
 *
 * - **Engine.** `DOCKER_HOST` if set (it must answer), else `/var/run/docker.sock`, else the engine
 *   this module manages: Debian's `docker.io` (installed with apt when `dockerd` is missing),
 *   started in the background with its socket, data root, exec root, pidfile and log under
 *   {@link STATE_DIR}. The data root stays there between runs, so images survive a stopped engine.
 * - **Base image.** `debian:bookworm-slim`, the base of the project's Dockerfiles: from the engine,
 *   else imported from the rootfs tarball cached in {@link STATE_DIR}, else pulled, else built with
 *   `debootstrap --variant=minbase` (the tarball is cached for the next engine).
 * - **Registries.** Two of Debian's `docker-registry` (distribution v2) on 127.0.0.1 with ephemeral
 *   ports and storage in a temp directory, one open and one with htpasswd basic auth. The engine
 *   allows plain HTTP to 127.0.0.0/8 registries by default.
 *
 * Teardown stops the registries of the run. A managed engine is stopped by the last test run that
 * uses it (runs on one machine share it through lease files), unless `MLSHIP_DOCKER_KEEP=1` asked
 * to keep it running; an engine that mlship did not start is never stopped. Every step is bounded in
 * time and fails with an error that names the step and shows the tail of its log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, createReadStream, openSync, readFileSync } from 'node:fs';
import { access, constants, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';

/** Where the managed engine and the cached base rootfs live; stable, so a second run reuses them. */
export const STATE_DIR = process.env.MLSHIP_DOCKER_DIR || '/var/tmp/mlship-docker';
/** The base image of the project's Dockerfiles. */
export const BASE_IMAGE = 'debian:bookworm-slim';
/** The user of the registry with basic auth. */
export const REGISTRY_USER = 'mlship';

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

export interface DockerEnvironment {
  /** What the tests (and the CLI they spawn) use as `DOCKER_HOST`: `unix:///…` or `tcp://…`. */
  readonly dockerHost: string;
  /** `existing`: an engine that was already there; `managed`: the engine under STATE_DIR. */
  readonly engineOrigin: 'existing' | 'managed';
  /** Whether this run started the engine (only ever a managed one). */
  readonly engineStartedByThisRun: boolean;
  readonly engineVersion: string;
  readonly engineApiVersion: string;
  readonly baseImage: string;
  /** A registry without authentication. */
  readonly registry: RegistryEndpoint;
  /** A registry with htpasswd basic auth ({@link REGISTRY_USER} and a password generated per run). */
  readonly authRegistry: AuthRegistryEndpoint;
}

/** What the global setup hands the test files: JSON-serialisable, and an error rather than a throw. */
export type ProvidedDockerEnvironment = { readonly ok: true; readonly environment: DockerEnvironment } | { readonly ok: false; readonly error: string };

declare module 'vitest' {
  export interface ProvidedContext {
    dockerEnvironment: ProvidedDockerEnvironment;
  }
}

/** The environment, or the setup's error thrown in the test that needs it. */
export function requireDockerEnvironment(provided: ProvidedDockerEnvironment | undefined): DockerEnvironment {
  if (provided === undefined) throw new Error('no Docker environment was provided: run this file in the vitest project "docker" (test/infra/setup.ts is its globalSetup)');
  if (!provided.ok) throw new Error(`the Docker test environment could not be set up:\n${provided.error}`);
  return provided.environment;
}

export interface PreparedDockerEnvironment {
  readonly environment: DockerEnvironment;
  /** Stops what this run started (see the module comment); safe to call twice. */
  teardown(): Promise<void>;
}

export interface PrepareOptions {
  /** Progress lines (each step with its duration). */
  readonly log?: (line: string) => void;
  readonly stateDir?: string;
}

// ---------------------------------------------------------------------------------------------
// Time limits. Generous for the first run on a fresh machine; a run that reuses everything takes
// seconds.

const LIMITS = {
  ping: 3_000,
  aptUpdate: 5 * 60_000,
  aptInstall: 10 * 60_000,
  engineStart: 90_000,
  engineStop: 30_000,
  baseImagePull: 90_000,
  debootstrap: 15 * 60_000,
  imageImport: 5 * 60_000,
  registryStart: 20_000,
  lockWait: 30 * 60_000,
} as const;

// ---------------------------------------------------------------------------------------------
// Set up and tear down.

export async function prepareDockerEnvironment(options: PrepareOptions = {}): Promise<PreparedDockerEnvironment> {
  const log = options.log ?? (() => undefined);
  const dir = options.stateDir ?? STATE_DIR;
  await mkdir(dir, { recursive: true });
  const cleanups: Array<() => Promise<void>> = [];
  let tornDown = false;
  const teardown = async (): Promise<void> => {
    if (tornDown) return;
    tornDown = true;
    const errors: string[] = [];
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        errors.push(messageOf(error));
      }
    }
    if (errors.length > 0) throw new Error(`Docker test environment teardown: ${errors.join('\n')}`);
  };

  try {
    const engine = await withLock(dir, async () => {
      let found = await timed(log, 'looked for a running engine', () => findRunningEngine(dir));
      await ensureBinaries(
        { ...(found ? {} : { dockerd: 'docker.io' }), 'docker-registry': 'docker-registry', htpasswd: 'apache2-utils' },
        dir,
        log,
      );
      let startedHere = false;
      if (!found) {
        found = await timed(log, 'started dockerd', () => startDockerd(dir));
        startedHere = true;
      }
      if (found.managed) {
        cleanups.push(() => releaseManagedEngine(dir, log));
        await takeLease(dir);
        // The keep mark lasts as long as the engine: a run that starts one forgets an earlier mark.
        if (keepSetting() === true) await writeFile(path.join(dir, 'keep'), `${process.pid}\n`);
        else if (startedHere || keepSetting() === false) await rm(path.join(dir, 'keep'), { force: true });
      }
      const docker = dockerClient(found.dockerHost);
      const version = await docker.version();
      log(`engine ${found.dockerHost} (${found.managed ? (startedHere ? 'managed, started by this run' : 'managed, already running') : 'existing'}): Docker ${version.Version}, API ${version.ApiVersion}`);
      await ensureBaseImage(docker, dir, log);
      return { ...found, startedHere, version: version.Version, apiVersion: version.ApiVersion };
    });

    const registry = await timed(log, 'started the open registry', () => startRegistry());
    cleanups.push(() => registry.stop());
    const password = randomBytes(16).toString('hex');
    const authRegistry = await timed(log, 'started the registry with basic auth', () => startRegistry({ username: REGISTRY_USER, password }));
    cleanups.push(() => authRegistry.stop());

    const environment: DockerEnvironment = {
      dockerHost: engine.dockerHost,
      engineOrigin: engine.managed ? 'managed' : 'existing',
      engineStartedByThisRun: engine.startedHere,
      engineVersion: engine.version,
      engineApiVersion: engine.apiVersion,
      baseImage: BASE_IMAGE,
      registry: registry.endpoint,
      authRegistry: { ...authRegistry.endpoint, username: REGISTRY_USER, password },
    };
    return { environment, teardown };
  } catch (error) {
    await teardown().catch(() => undefined);
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Engine.

interface FoundEngine {
  readonly dockerHost: string;
  /** The engine under STATE_DIR (started by an mlship test run), which a last user may stop. */
  readonly managed: boolean;
}

function managedHost(dir: string): string {
  return `unix://${path.join(dir, 'docker.sock')}`;
}

/** A client for `unix:///path`, `tcp://host:port` or (when it is the environment's) any DOCKER_HOST. */
export function dockerClient(dockerHost: string, options: { timeoutMs?: number } = {}): Docker {
  if (dockerHost.startsWith('unix://')) {
    // host/port/protocol explicitly unset: docker-modem would otherwise take them from a tcp DOCKER_HOST.
    return new Docker({ socketPath: dockerHost.slice('unix://'.length), host: undefined, port: undefined, protocol: 'http', timeout: options.timeoutMs });
  }
  // docker-modem reads DOCKER_HOST with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH itself.
  if (dockerHost === process.env.DOCKER_HOST) return new Docker({ timeout: options.timeoutMs });
  const url = new URL(dockerHost.replace(/^tcp:/, 'http:'));
  return new Docker({ host: url.hostname, port: url.port || '2375', protocol: 'http', timeout: options.timeoutMs });
}

async function answers(dockerHost: string): Promise<boolean> {
  try {
    await withTimeout(dockerClient(dockerHost, { timeoutMs: LIMITS.ping }).ping(), LIMITS.ping, 'ping');
    return true;
  } catch {
    return false;
  }
}

async function findRunningEngine(dir: string): Promise<FoundEngine | undefined> {
  const managed = managedHost(dir);
  const fromEnvironment = process.env.DOCKER_HOST;
  if (fromEnvironment) {
    if (await answers(fromEnvironment)) return { dockerHost: fromEnvironment, managed: fromEnvironment === managed };
    if (fromEnvironment !== managed) {
      throw new Error(`Docker Engine: DOCKER_HOST=${fromEnvironment} does not answer a ping within ${LIMITS.ping} ms. Start that engine, or unset DOCKER_HOST to let the tests use /var/run/docker.sock or start their own engine under ${dir}.`);
    }
  } else if (await answers('unix:///var/run/docker.sock')) {
    return { dockerHost: 'unix:///var/run/docker.sock', managed: false };
  }
  // An engine of an earlier run that was kept, or of a test run going on beside this one.
  if (await answers(managed)) return { dockerHost: managed, managed: true };
  return undefined;
}

/** The pid of the managed dockerd when it runs (checked against its command line, not just the pidfile). */
function managedDockerdPid(dir: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(path.join(dir, 'dockerd.pid'), 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  try {
    const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (path.basename(commandLine[0] ?? '') !== 'dockerd' || !commandLine.includes(managedHost(dir))) return undefined;
  } catch {
    return undefined;
  }
  return pid;
}

async function startDockerd(dir: string): Promise<FoundEngine> {
  const host = managedHost(dir);
  const logFile = path.join(dir, 'dockerd.log');
  const stale = managedDockerdPid(dir);
  if (stale !== undefined) {
    throw new Error(
      `Docker Engine: the dockerd of an earlier test run (pid ${stale}) holds ${dir} but does not answer on ${host}. ` +
        `Stop it (kill ${stale}) and run the tests again.${await logTail(logFile)}`,
    );
  }
  if (process.getuid?.() !== 0) {
    throw new Error(`Docker Engine: no engine answers (DOCKER_HOST unset, /var/run/docker.sock, ${host}), and starting dockerd needs root.`);
  }
  const dockerd = await findBinary('dockerd');
  if (!dockerd) throw new Error('Docker Engine: dockerd is not installed (the docker.io package did not provide it)');
  // Bridge networking and iptables as dockerd sets them up by default work here (containers reach
  // Debian's mirror through NAT); overlay2 works on the ext4 of /var/tmp.
  const args = [
    '--host', host,
    '--data-root', path.join(dir, 'data'),
    '--exec-root', path.join(dir, 'exec'),
    '--pidfile', path.join(dir, 'dockerd.pid'),
  ];
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: systemPath() };
  delete env.DOCKER_HOST;
  // Its own session, no pipes to this process: it outlives the test run when a run keeps it.
  const daemon = spawnLogged(dockerd, args, logFile, { detached: true, env });

  const deadline = Date.now() + LIMITS.engineStart;
  for (;;) {
    if (await answers(host)) return { dockerHost: host, managed: true };
    if (daemon.exited) throw new Error(`Docker Engine: dockerd ${daemon.exited} before answering on ${host}.${await logTail(logFile)}`);
    if (Date.now() > deadline) {
      if (daemon.child.pid) stopProcess(daemon.child.pid);
      throw new Error(`Docker Engine: dockerd did not answer on ${host} within ${LIMITS.engineStart / 1000} s; stopped it.${await logTail(logFile)}`);
    }
    await sleep(250);
  }
}

/** MLSHIP_DOCKER_KEEP: 1 keeps the managed engine running after the run, 0 lets this run stop one that was kept. */
function keepSetting(): boolean | undefined {
  const value = (process.env.MLSHIP_DOCKER_KEEP ?? '').toLowerCase();
  if (['1', 'true', 'yes'].includes(value)) return true;
  if (['0', 'false', 'no'].includes(value)) return false;
  return undefined;
}

async function takeLease(dir: string): Promise<void> {
  await mkdir(path.join(dir, 'leases'), { recursive: true });
  await writeFile(path.join(dir, 'leases', String(process.pid)), `${new Date().toISOString()}\n`);
}

/** Drops this run's lease; the last run out stops the managed engine, unless it is to be kept. */
async function releaseManagedEngine(dir: string, log: (line: string) => void): Promise<void> {
  await withLock(dir, async () => {
    const leases = path.join(dir, 'leases');
    await rm(path.join(leases, String(process.pid)), { force: true });
    const others: number[] = [];
    for (const name of await readdir(leases).catch(() => [] as string[])) {
      const pid = Number(name);
      if (Number.isInteger(pid) && isAlive(pid)) others.push(pid);
      else await rm(path.join(leases, name), { force: true });
    }
    const pid = managedDockerdPid(dir);
    if (pid === undefined) return;
    if (others.length > 0) {
      log(`left the managed dockerd (pid ${pid}) running: test runs ${others.join(', ')} still use it`);
      return;
    }
    if (await exists(path.join(dir, 'keep'))) {
      log(`left the managed dockerd (pid ${pid}) running (MLSHIP_DOCKER_KEEP=1; a run with MLSHIP_DOCKER_KEEP=0 stops it); DOCKER_HOST=${managedHost(dir)}`);
      return;
    }
    await stopDockerd(dir, pid);
  });
}

async function stopDockerd(dir: string, pid: number): Promise<void> {
  process.kill(pid, 'SIGTERM');
  if (await waitForExit(pid, LIMITS.engineStop)) return;
  process.kill(pid, 'SIGKILL');
  if (await waitForExit(pid, 5_000)) {
    throw new Error(`Docker Engine: dockerd (pid ${pid}) did not stop within ${LIMITS.engineStop / 1000} s of SIGTERM and was killed.${await logTail(path.join(dir, 'dockerd.log'))}`);
  }
  throw new Error(`Docker Engine: dockerd (pid ${pid}) survives SIGKILL.`);
}

// ---------------------------------------------------------------------------------------------
// Base image.

async function ensureBaseImage(docker: Docker, dir: string, log: (line: string) => void): Promise<void> {
  if (await imageExists(docker, BASE_IMAGE)) return;
  const tarball = path.join(dir, 'debian-bookworm-slim.rootfs.tar');
  if (!(await exists(tarball))) {
    try {
      await timed(log, `pulled ${BASE_IMAGE}`, async () => {
        const controller = new AbortController();
        const stream = await docker.pull(BASE_IMAGE, { abortSignal: controller.signal });
        await withTimeout(followProgress(stream), LIMITS.baseImagePull, `pulling ${BASE_IMAGE}`, () => controller.abort());
      });
      if (await imageExists(docker, BASE_IMAGE)) return;
    } catch (error) {
      log(`cannot pull ${BASE_IMAGE} (${firstLine(messageOf(error))}); building it with debootstrap`);
    }
    await ensureBinaries({ debootstrap: 'debootstrap' }, dir, log);
    await timed(log, `built the ${BASE_IMAGE} rootfs with debootstrap (${tarball})`, () => buildRootfsTarball(dir, tarball));
  }
  await timed(log, `imported ${BASE_IMAGE} from ${tarball}`, async () => {
    const stream = await docker.importImage(createReadStream(tarball), { repo: 'debian', tag: 'bookworm-slim', changes: ['CMD ["bash"]'] });
    await withTimeout(followProgress(stream), LIMITS.imageImport, `importing ${tarball}`);
  });
  const image = await docker.getImage(BASE_IMAGE).inspect();
  if (JSON.stringify(image.Config.Cmd) !== JSON.stringify(['bash'])) {
    throw new Error(`Base image: ${BASE_IMAGE} was imported with CMD ${JSON.stringify(image.Config.Cmd)}, expected ["bash"]`);
  }
}

async function imageExists(docker: Docker, reference: string): Promise<boolean> {
  try {
    await docker.getImage(reference).inspect();
    return true;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false;
    throw error;
  }
}

/** debootstrap minbase, trimmed like Debian's slim images (no apt lists or caches, docs, manuals, translations), tarred into place. */
async function buildRootfsTarball(dir: string, tarball: string): Promise<void> {
  const { mirror, security } = await debianMirrors();
  const rootfs = path.join(dir, 'rootfs.build');
  const script = `
set -euo pipefail
rootfs="$1" tarball="$2" mirror="$3" security="$4"
rm -rf "$rootfs" "$tarball.tmp"
debootstrap --variant=minbase bookworm "$rootfs" "$mirror"
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
# Slim like Debian's official slim images: no documentation, manuals or translations, now or later.
cat > "$rootfs"/etc/dpkg/dpkg.cfg.d/docker <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
DPKG
find "$rootfs"/usr/share/doc -mindepth 1 -not -type d -not -name copyright -delete
find "$rootfs"/usr/share/doc -mindepth 1 -type d -empty -delete
rm -rf "$rootfs"/usr/share/groff/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/linda/* "$rootfs"/usr/share/lintian/overrides/* "$rootfs"/usr/share/locale/* "$rootfs"/usr/share/man/*
# The engine provides these per container.
rm -f "$rootfs"/etc/hostname "$rootfs"/etc/resolv.conf "$rootfs"/etc/apt/sources.list
cat > "$rootfs"/etc/apt/sources.list.d/debian.sources <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
tar --numeric-owner -C "$rootfs" --exclude='./dev/*' -cf "$tarball.tmp" .
mv "$tarball.tmp" "$tarball"
rm -rf "$rootfs"
`;
  await runLogged('building the base image rootfs (debootstrap --variant=minbase bookworm)', ['bash', '-c', script, 'build-rootfs', rootfs, tarball, mirror, security], {
    logFile: path.join(dir, 'debootstrap.log'),
    timeoutMs: LIMITS.debootstrap,
    asRoot: true,
  });
}

/** The Debian mirror (and security mirror) that apt uses on this machine, for debootstrap and the image. */
async function debianMirrors(): Promise<{ mirror: string; security: string }> {
  const entries: Array<{ uri: string; suites: string[] }> = [];
  const files = ['/etc/apt/sources.list'];
  for (const name of await readdir('/etc/apt/sources.list.d').catch(() => [] as string[])) {
    if (name.endsWith('.list') || name.endsWith('.sources')) files.push(path.join('/etc/apt/sources.list.d', name));
  }
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (file.endsWith('.sources')) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const fields = new Map<string, string>();
        for (const line of stanza.split('\n')) {
          const match = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
          if (match) fields.set(match[1]!.toLowerCase(), match[2]!.trim());
        }
        if (!(fields.get('types') ?? '').split(/\s+/).includes('deb') || fields.get('enabled') === 'no') continue;
        for (const uri of (fields.get('uris') ?? '').split(/\s+/).filter(Boolean)) entries.push({ uri, suites: (fields.get('suites') ?? '').split(/\s+/) });
      }
    } else {
      for (const line of text.split('\n')) {
        const match = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line.trim());
        if (match) entries.push({ uri: match[1]!, suites: [match[2]!] });
      }
    }
  }
  const http = entries.filter((entry) => /^https?:\/\//.test(entry.uri));
  const strip = (uri: string): string => uri.replace(/\/+$/, '');
  const mirror = http.find((entry) => entry.suites.includes('bookworm'))?.uri;
  const security = http.find((entry) => entry.suites.includes('bookworm-security'))?.uri;
  return { mirror: strip(mirror ?? 'http://deb.debian.org/debian'), security: strip(security ?? 'http://deb.debian.org/debian-security') };
}

// ---------------------------------------------------------------------------------------------
// Registries.

interface RunningRegistry {
  readonly endpoint: RegistryEndpoint;
  stop(): Promise<void>;
}

async function startRegistry(auth?: { username: string; password: string }): Promise<RunningRegistry> {
  const what = auth ? 'registry with basic auth' : 'open registry';
  const binary = await findBinary('docker-registry');
  if (!binary) throw new Error(`Registry: docker-registry is not installed (the docker-registry package did not provide it)`);
  const dir = await mkdtemp(path.join(tmpdir(), 'mlship-docker-registry-'));
  const logFile = path.join(dir, 'registry.log');
  const config: Record<string, unknown> = {
    version: '0.1',
    log: { level: 'info', formatter: 'text', accesslog: { disabled: true } },
    storage: {
      filesystem: { rootdirectory: path.join(dir, 'data') },
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
    return { endpoint: { address, url }, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers for the tests: the engine's progress streams, containers, pushes, the registry API.

export interface ProgressEvent {
  status?: string;
  stream?: string;
  id?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string; Tag?: string; Digest?: string; Size?: number };
}

/** Reads an engine progress stream (build, pull, push, import) to its end; an error event throws. */
export async function followProgress(stream: NodeJS.ReadableStream): Promise<ProgressEvent[]> {
  const events: ProgressEvent[] = [];
  let buffered = '';
  const take = (line: string): void => {
    if (line.trim() === '') return;
    try {
      events.push(JSON.parse(line) as ProgressEvent);
    } catch {
      events.push({ stream: line });
    }
  };
  for await (const chunk of stream) {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    lines.forEach(take);
  }
  take(buffered);
  const failure = events.find((event) => event.error !== undefined || event.errorDetail !== undefined);
  if (failure) throw new Error(failure.errorDetail?.message ?? failure.error ?? 'the engine reported an error');
  return events;
}

/** Pushes `repository:tag`; returns the manifest digest the engine reports. */
export async function pushImage(
  docker: Docker,
  repository: string,
  tag: string,
  auth?: { username: string; password: string; serveraddress: string },
): Promise<{ digest: string; events: ProgressEvent[] }> {
  const stream = await docker.getImage(repository).push(auth ? { tag, authconfig: auth } : { tag });
  const events = await followProgress(stream);
  const digest = events.find((event) => event.aux?.Digest)?.aux?.Digest;
  if (!digest) throw new Error(`pushing ${repository}:${tag}: the engine reported no digest`);
  return { digest, events };
}

export interface ContainerRun {
  /** The container's id (it is removed by the time this is returned). */
  readonly id: string;
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Creates, starts and waits for a container, reads its logs, and removes it whatever happened. */
export async function runContainer(docker: Docker, image: string, command: string[]): Promise<ContainerRun> {
  const container = await docker.createContainer({ Image: image, Cmd: command, Tty: false });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const logs = (await container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
    return { id: container.id, exitCode: StatusCode, ...demultiplex(logs) };
  } finally {
    await container.remove({ force: true });
  }
}

/** Splits the engine's multiplexed log format (8-byte frame headers: stream, 0, 0, 0, size). */
export function demultiplex(buffer: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const kind = buffer[offset];
    const size = buffer.readUInt32BE(offset + 4);
    const payload = buffer.subarray(offset + 8, offset + 8 + size);
    (kind === 2 ? err : out).push(payload);
    offset += 8 + size;
  }
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
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

// ---------------------------------------------------------------------------------------------
// Packages, processes, files.

let aptUpdated = false;

/** Installs, with apt, the packages of the binaries that are missing (one transaction). */
async function ensureBinaries(binaries: Record<string, string>, dir: string, log: (line: string) => void): Promise<void> {
  const missing: string[] = [];
  for (const [binary, pkg] of Object.entries(binaries)) if (!(await findBinary(binary))) missing.push(pkg);
  if (missing.length === 0) return;
  const packages = [...new Set(missing)];
  const logFile = path.join(dir, 'apt.log');
  if (!(await findBinary('apt-get'))) throw new Error(`Packages: ${packages.join(', ')} are needed and apt-get is not available; install them by hand.`);
  const apt = ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get'];
  if (!aptUpdated) {
    try {
      await timed(log, 'apt-get update', () => runLogged('apt-get update', [...apt, 'update', '-qq'], { logFile, timeoutMs: LIMITS.aptUpdate, asRoot: true }));
    } catch (error) {
      // A third-party source that cannot be reached fails the update; Debian's lists may still be fine.
      log(`apt-get update failed, trying the install anyway: ${firstLine(messageOf(error))}`);
    }
    aptUpdated = true;
  }
  await timed(log, `installed ${packages.join(', ')}`, () =>
    runLogged(
      `installing ${packages.join(', ')} with apt`,
      [...apt, 'install', '-y', '-qq', '--no-install-recommends', '-o', 'DPkg::Lock::Timeout=300', ...packages],
      { logFile, timeoutMs: LIMITS.aptInstall, asRoot: true },
    ),
  );
  for (const binary of Object.keys(binaries)) {
    if (!(await findBinary(binary))) throw new Error(`Packages: ${binaries[binary]} was installed but ${binary} is still not found.${await logTail(logFile)}`);
  }
}

/** PATH plus the sbin directories (dockerd, runc, debootstrap live there; a user's PATH may lack them). */
function systemPath(): string {
  const entries = (process.env.PATH ?? '').split(':').filter(Boolean);
  for (const extra of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) if (!entries.includes(extra)) entries.push(extra);
  return entries.join(':');
}

async function findBinary(name: string): Promise<string | undefined> {
  for (const directory of systemPath().split(':')) {
    const candidate = path.join(directory, name);
    try {
      await access(candidate, constants.X_OK);
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Runs a command with its output appended to a log file; fails naming it, with the log's tail. */
async function runLogged(what: string, argv: string[], options: { logFile: string; timeoutMs: number; asRoot?: boolean }): Promise<void> {
  const command = options.asRoot ? await rootCommand(what, argv) : argv;
  await writeFile(options.logFile, `\n$ ${command.join(' ')}\n`, { flag: 'a' });
  const logFd = openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', logFd, logFd], env: { ...process.env, PATH: systemPath() } });
  } finally {
    closeSync(logFd);
  }
  const outcome = await new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => {
      if (child.pid) stopProcess(child.pid);
      resolve(`did not finish within ${Math.round(options.timeoutMs / 1000)} s and was stopped`);
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve(`could not be started: ${error.message}`);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code === 0 ? undefined : signal ? `was killed by ${signal}` : `exited with code ${code}`);
    });
  });
  if (outcome) throw new Error(`${what}: \`${command.join(' ').slice(0, 200)}\` ${outcome}.${await logTail(options.logFile)}`);
}

async function runCaptured(what: string, argv: string[]): Promise<string> {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await withTimeout(
    new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    }),
    30_000,
    what,
    () => child.kill('SIGKILL'),
  );
  if (code !== 0) throw new Error(`${what}: ${argv[0]} exited with code ${code}: ${stderr.trim()}`);
  return stdout;
}

async function rootCommand(what: string, argv: string[]): Promise<string[]> {
  if (process.getuid?.() === 0) return argv;
  if (await findBinary('sudo')) return ['sudo', '-n', ...argv];
  throw new Error(`${what}: needs root, and this is neither root nor has sudo`);
}

/** SIGTERM, then SIGKILL two seconds later if it is still there (not awaited). */
function stopProcess(pid: number): void {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  setTimeout(() => {
    try {
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }, 2_000).unref();
}

/**
 * Starts a long-running process with its output in `logFile`, unref'd so it never holds this
 * process open; `exited` says, once it happened, how it ended (for errors that quote its log).
 */
function spawnLogged(
  binary: string,
  args: readonly string[],
  logFile: string,
  options: { detached?: boolean; env?: NodeJS.ProcessEnv } = {},
): { readonly child: ChildProcess; readonly exited: string | undefined } {
  const logFd = openSync(logFile, 'w');
  let child: ChildProcess;
  try {
    child = spawn(binary, [...args], { stdio: ['ignore', logFd, logFd], ...options });
  } finally {
    closeSync(logFd);
  }
  const state: { child: ChildProcess; exited: string | undefined } = { child, exited: undefined };
  child.on('exit', (code, signal) => (state.exited = signal ? `was killed by ${signal}` : `exited with code ${code}`));
  child.on('error', (error) => (state.exited = `could not be started: ${error.message}`));
  child.unref();
  return state;
}

/** Whether a process exists and is not a zombie (a zombie has exited; its parent just did not reap it). */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

/**
 * Runs `fn` holding `setup.lock` in the state directory, so two test runs on one machine do not
 * install, start or stop the engine at the same time. A lock whose holder died is taken over.
 */
async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const lock = path.join(dir, 'setup.lock');
  const deadline = Date.now() + LIMITS.lockWait;
  for (;;) {
    try {
      await writeFile(lock, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
    const age = await stat(lock).then((info) => Date.now() - info.mtimeMs, () => 0);
    if ((holder > 0 && !isAlive(holder)) || (!holder && age > 5_000)) {
      await rm(lock, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`Docker test environment: ${lock} is held by test run ${holder} for more than ${LIMITS.lockWait / 60_000} minutes`);
    await sleep(500);
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { force: true });
  }
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** The last lines of a log, formatted to end an error message. */
async function logTail(file: string, lines = 40): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return ` (no log at ${file})`;
  }
  const last = text.slice(-16_000).trimEnd().split('\n').slice(-lines).join('\n');
  return `\n--- last lines of ${file} ---\n${last}\n---`;
}

async function timed<T>(log: (line: string) => void, done: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await fn();
  log(`${done} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return result;
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string, onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new Error(`${what}: no answer within ${ms / 1000} s`));
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
