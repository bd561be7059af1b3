/**
 * A real Docker Engine in Swarm mode, two real image registries, the images the deployment tests
 * run and an ssh:// way to the engine, for the tests in test/docker/, set up by the tests
 * themselves on any Debian machine where they run as root (or with passwordless sudo):
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
 * - **Swarm.** The engine is made a one-node Swarm manager on loopback when it is in no swarm
 *   (swarm.ts); a managed engine stays one, an existing engine is left as it was found.
 * - **Test images.** `mlship-test/nginx` (the edge) and `mlship-test/echo-model` (a stand-in model
 *   server), built from test/fixtures/ with Debian packages, reused by the hash of their build
 *   context, and in the open registry of every run, which starts from a snapshot of a registry they
 *   were pushed to once (test-images.ts).
 * - **ssh.** Debian's sshd on 127.0.0.1, per run, with generated keys, whose sessions reach the
 *   engine: the engine as an `ssh://` Docker host (sshd.ts).
 *
 * Teardown stops the registries and sshd of the run and drops the engine's references to images in
 * the run's registry. A managed engine is stopped by the last test run that uses it (runs on one
 * machine share it through lease files), unless `MLSHIP_DOCKER_KEEP=1` asked to keep it running; an
 * engine that mlship did not start is never stopped. Every step is bounded in time and fails with an
 * error that names the step and shows the tail of its log.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';
import { startSshDockerHost, type SshDockerHost } from './sshd.js';
import {
  ensureBinaries,
  exists,
  findBinary,
  firstLine,
  isAlive,
  logTail,
  messageOf,
  runLogged,
  spawnLogged,
  stopProcess,
  systemPath,
  timed,
  waitForExit,
  withLock,
  withTimeout,
} from './support.js';
import { ensureSwarmManager, type SwarmManager } from './swarm.js';
import { startRegistry, type AuthRegistryEndpoint, type RegistryEndpoint } from './registries.js';
import { ensureTestImage, ensureTestImageSnapshot, followProgress, forgetRegistryReference, imageExists, testImageIn, type TestImage } from './test-images.js';

export { followProgress, ProgressError, pushImage, type ProgressEvent, type TestImage } from './test-images.js';
export { registryRequest, type AuthRegistryEndpoint, type RegistryEndpoint } from './registries.js';
export { sshDockerClient, type SshDockerHost } from './sshd.js';
export type { SwarmManager } from './swarm.js';

/** Where the managed engine and the cached base rootfs live; stable, so a second run reuses them. */
export const STATE_DIR = process.env.MLSHIP_DOCKER_DIR || '/var/tmp/mlship-docker';
/** The base image of the project's Dockerfiles. */
export const BASE_IMAGE = 'debian:bookworm-slim';
/** The build contexts of the test images (test/fixtures/edge-nginx, test/fixtures/echo-model). */
// Found from the repository's root, so the module works bundled (bench/out/) as well as in place.
const FIXTURES = path.join(repositoryRoot(path.dirname(fileURLToPath(import.meta.url))), 'test', 'fixtures');

function repositoryRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'test', 'fixtures'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no repository with test/fixtures above ${start}`);
  }
}
/** The user of the registry with basic auth. */
export const REGISTRY_USER = 'mlship';

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
  /** The engine is a Swarm manager (see swarm.ts). */
  readonly swarm: SwarmManager;
  /**
   * `mlship-test/nginx`: Debian's nginx-light in the foreground, serving the complete
   * /etc/nginx/nginx.conf that is mounted (test/fixtures/edge-nginx), also in the open registry.
   */
  readonly edgeImage: TestImage;
  /**
   * `mlship-test/echo-model`: a stand-in model server with the serving contract
   * (test/fixtures/echo-model/server.py), also in the open registry.
   */
  readonly echoModelImage: TestImage;
  /** The same engine as an `ssh://` Docker host: an sshd of this run on 127.0.0.1 (see sshd.ts). */
  readonly ssh: SshDockerHost;
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
  engineStart: 90_000,
  engineStop: 45_000,
  baseImagePull: 90_000,
  debootstrap: 15 * 60_000,
  imageImport: 5 * 60_000,
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
        {
          ...(found ? {} : { dockerd: 'docker.io' }),
          'docker-registry': 'docker-registry',
          htpasswd: 'apache2-utils',
          // The remote side of an ssh Docker host runs `docker system dial-stdio`.
          docker: 'docker.io',
          sshd: 'openssh-server',
          'ssh-keygen': 'openssh-client',
        },
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
      const swarm = await ensureSwarmManager(docker, { dir, dockerHost: found.dockerHost, managedEngine: found.managed, log });
      cleanups.push(() => swarm.release());
      // Built under the lock: two runs never build the same image at once.
      const edgeTag = await ensureTestImage(docker, 'mlship-test/nginx', path.join(FIXTURES, 'edge-nginx'), log);
      const echoModelTag = await ensureTestImage(docker, 'mlship-test/echo-model', path.join(FIXTURES, 'echo-model'), log);
      const testImages = await ensureTestImageSnapshot(docker, dir, [edgeTag, echoModelTag], log);
      return { ...found, startedHere, version: version.Version, apiVersion: version.ApiVersion, swarm: swarm.manager, edgeTag, echoModelTag, testImages };
    });
    const docker = dockerClient(engine.dockerHost);

    // Side by side, and each one's cleanup registered as it starts: when one step fails, the others
    // still finish before the teardown stops what they started.
    const password = randomBytes(16).toString('hex');
    const [registry, authRegistry, ssh] = await allSettled([
      timed(log, 'started the open registry with the test images', () => startRegistry({ seed: engine.testImages.storage })).then(cleanupOn(cleanups, (started) => started.stop())),
      timed(log, 'started the registry with basic auth', () => startRegistry({ auth: { username: REGISTRY_USER, password } })).then(cleanupOn(cleanups, (started) => started.stop())),
      timed(log, 'started sshd on 127.0.0.1', () => startSshDockerHost(engine.dockerHost))
        .then(cleanupOn(cleanups, (sshd) => sshd.stop()))
        .then((sshd) => sshd.endpoint),
    ]);
    const edgeImage = testImageIn(engine.testImages, engine.edgeTag, registry.endpoint.address);
    const echoModelImage = testImageIn(engine.testImages, engine.echoModelTag, registry.endpoint.address);
    for (const image of [edgeImage, echoModelImage]) cleanups.push(() => forgetRegistryReference(docker, image));

    const environment: DockerEnvironment = {
      dockerHost: engine.dockerHost,
      engineOrigin: engine.managed ? 'managed' : 'existing',
      engineStartedByThisRun: engine.startedHere,
      engineVersion: engine.version,
      engineApiVersion: engine.apiVersion,
      baseImage: BASE_IMAGE,
      registry: registry.endpoint,
      authRegistry: { ...authRegistry.endpoint, username: REGISTRY_USER, password },
      swarm: engine.swarm,
      edgeImage,
      echoModelImage,
      ssh,
    };
    return { environment, teardown };
  } catch (error) {
    await teardown().catch(() => undefined);
    throw error;
  }
}

/** Registers the cleanup of a started thing, and passes the thing on. */
function cleanupOn<T>(cleanups: Array<() => Promise<void>>, cleanup: (started: T) => Promise<void>): (started: T) => T {
  return (started) => {
    cleanups.push(() => cleanup(started));
    return started;
  };
}

/** Promise.all that waits for every promise before throwing the first failure. */
async function allSettled<T extends readonly unknown[]>(promises: { readonly [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const outcomes = await Promise.allSettled(promises);
  const failure = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failure) throw failure.reason;
  return outcomes.map((outcome) => (outcome as PromiseFulfilledResult<unknown>).value) as unknown as T;
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

/**
 * A second engine, in no Swarm, for tests of what mlship says to an engine that is not a manager:
 * its own socket, data and exec roots in a temp directory, and a network namespace of its own with
 * no bridge or iptables rules (it runs no containers). The namespace matters: a dockerd without a
 * bridge deletes docker0 where it runs, which would cut the test engine's containers off. Its
 * socket is a file, reached from here all the same. Needs dockerd, unshare and root, as the
 * managed engine does; `stop` ends it and removes the directory.
 */
export async function startStandaloneEngine(): Promise<{ readonly dockerHost: string; stop(): Promise<void> }> {
  const [dockerd, unshare] = await Promise.all([findBinary('dockerd'), findBinary('unshare')]);
  if (!dockerd || !unshare || process.getuid?.() !== 0) throw new Error('a standalone Docker Engine needs dockerd, unshare and root');
  const dir = await mkdtemp(path.join(tmpdir(), 'mlship-engine-'));
  const host = `unix://${path.join(dir, 'docker.sock')}`;
  const logFile = path.join(dir, 'dockerd.log');
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: systemPath() };
  delete env.DOCKER_HOST;
  const args = ['--net', '--', dockerd, '--host', host, '--data-root', path.join(dir, 'data'), '--exec-root', path.join(dir, 'exec'), '--pidfile', path.join(dir, 'dockerd.pid'), '--bridge=none', '--iptables=false', '--ip-masq=false'];
  const daemon = spawnLogged(unshare, args, logFile, { env });
  const stop = async (): Promise<void> => {
    const pid = daemon.child.pid;
    if (pid !== undefined && isAlive(pid)) {
      process.kill(pid, 'SIGTERM');
      if (!(await waitForExit(pid, LIMITS.engineStop))) process.kill(pid, 'SIGKILL');
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + LIMITS.engineStart;
  while (!(await answers(host))) {
    if (daemon.exited || Date.now() > deadline) {
      const log = await logTail(logFile);
      await stop();
      throw new Error(`a standalone dockerd did not answer on ${host}${daemon.exited ? ` (it ${daemon.exited})` : ''}.${log}`);
    }
    await sleep(100);
  }
  return { dockerHost: host, stop };
}

/**
 * Restarts the engine the tests manage, as a daemon upgrade or crash would: SIGTERM, then the same
 * dockerd again on the same data. Returns false (and does nothing) when the tests use an engine
 * they did not start, which is not theirs to restart.
 */
export async function restartManagedEngine(dockerHost: string, dir = STATE_DIR): Promise<boolean> {
  const pid = managedDockerdPid(dir);
  if (dockerHost !== managedHost(dir) || pid === undefined) return false;
  process.kill(pid, 'SIGTERM');
  if (!(await waitForExit(pid, LIMITS.engineStop))) {
    process.kill(pid, 'SIGKILL');
    await waitForExit(pid, 5_000);
  }
  await startDockerd(dir);
  return true;
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
    await stopDockerd(dir, pid, log);
  });
}

async function stopDockerd(dir: string, pid: number, log: (line: string) => void): Promise<void> {
  // Services left by the tests would each hold dockerd's shutdown for their stop grace period.
  await removeServices(managedHost(dir)).catch((error: unknown) => log(`could not remove the Swarm services before stopping dockerd: ${messageOf(error)}`));
  process.kill(pid, 'SIGTERM');
  if (await waitForExit(pid, LIMITS.engineStop)) return;
  process.kill(pid, 'SIGKILL');
  if (!(await waitForExit(pid, 5_000))) throw new Error(`Docker Engine: dockerd (pid ${pid}) survives SIGKILL.`);
  // The tests are over and the next start recovers from a killed engine: worth a line, not a failure.
  log(`dockerd (pid ${pid}) did not stop within ${LIMITS.engineStop / 1000} s of SIGTERM and was killed (its log: ${path.join(dir, 'dockerd.log')})`);
}

async function removeServices(dockerHost: string): Promise<void> {
  const docker = dockerClient(dockerHost, { timeoutMs: 20_000 });
  const services = await docker.listServices();
  await Promise.all(services.map((service) => docker.getService(service.ID).remove()));
  // Their tasks stop in the background; give them their grace period before the engine goes.
  const deadline = Date.now() + 20_000;
  while (services.length > 0 && Date.now() < deadline && (await docker.listContainers({ filters: { label: ['com.docker.swarm.service.id'] } })).length > 0) {
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
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
// Helpers for the tests: the engine's progress streams, containers, pushes, the registry API.


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


