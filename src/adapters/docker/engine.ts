import { readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import Docker from 'dockerode';
import tarFs from 'tar-fs';
import { CheckFailedError, ConfigurationError, InfrastructureError, InterruptedError, describeError, errnoCode } from '../../errors.js';
import { SecretMasker } from '../../domain/secrets.js';
import { contextFiles } from './build-context.js';
import { knownHostKeys } from './known-hosts.js';
import { SshDialAgent } from './ssh-dial.js';
import { networkTimeoutSeconds } from '../deadlines.js';

/**
 * How long an engine stream may go without an event before it is abandoned. Pushes and pulls
 * report progress every few hundred kilobytes; a build step can be silent for minutes (compiling,
 * a quiet apt-get), so builds get more.
 */
export interface Deadlines {
  readonly transferStallMs: number;
  readonly buildStallMs: number;
}

/** MLSHIP_NETWORK_TIMEOUT (seconds) sets the transfer deadline; builds get 30 times as long (15 minutes by default). */
export function engineDeadlines(env: Readonly<Record<string, string | undefined>>): Deadlines {
  const transfer = networkTimeoutSeconds(env) * 1000;
  return { transferStallMs: transfer, buildStallMs: transfer * 30 };
}

/** Ends a stream that stops moving (or the whole run, when interrupted): each event pushes the deadline back. */
class StallWatch {
  readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  stalled = false;

  constructor(
    private readonly stallMs: number,
    private readonly interrupt: AbortSignal | undefined,
  ) {
    this.touch();
    interrupt?.addEventListener('abort', this.onInterrupt, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  touch(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.stalled = true;
      this.controller.abort(new Error(`no progress for ${this.stallMs / 1000} s`));
    }, this.stallMs);
  }

  /** The error that explains an aborted stream: interrupted, stalled, or the original failure. */
  explain(error: unknown, what: string, redact: (text: string) => string): Error {
    if (this.interrupt?.aborted) return new InterruptedError(`${what} was interrupted`);
    if (this.stalled) return new InfrastructureError(`${what} made no progress for ${this.stallMs / 1000} s: the engine or the registry stopped answering (MLSHIP_NETWORK_TIMEOUT sets the deadline)`);
    return new InfrastructureError(`${what} failed: ${redact(describeError(error))}`, { cause: error });
  }

  done(): void {
    clearTimeout(this.timer);
    this.interrupt?.removeEventListener('abort', this.onInterrupt);
  }

  private readonly onInterrupt = (): void => {
    this.controller.abort(new Error('interrupted'));
  };
}

/** Where the engine is, for messages: DOCKER_HOST as given, or the default socket. */
export function engineAddress(dockerHost: string | undefined): string {
  return dockerHost && dockerHost !== '' ? dockerHost : 'unix:///var/run/docker.sock';
}

/**
 * A dockerode client for DOCKER_HOST (unix://, tcp://, http(s)://, ssh://), or the default socket.
 * For tcp://, TLS follows Docker's own rules: DOCKER_TLS_VERIFY=1 (or port 2376) means https, with
 * ca.pem, cert.pem and key.pem from DOCKER_CERT_PATH (default ~/.docker).
 */
export function connectEngine(dockerHost: string | undefined, env: Readonly<Record<string, string | undefined>> = {}): Docker {
  const address = engineAddress(dockerHost);
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new ConfigurationError(`Docker host ${JSON.stringify(address)} is not a URL (expected unix:///path, tcp://host:port or ssh://user@host)`);
  }
  if (url.protocol === 'unix:') return new Docker({ socketPath: url.pathname });
  if (url.protocol === 'ssh:') return sshEngine(url, address, env);
  if (!['tcp:', 'http:', 'https:'].includes(url.protocol)) {
    throw new ConfigurationError(`Docker host ${JSON.stringify(address)}: unsupported scheme ${url.protocol} (expected unix://, tcp:// or ssh://)`);
  }
  const tls = url.protocol === 'https:' || env.DOCKER_TLS_VERIFY === '1' || (url.protocol === 'tcp:' && url.port === '2376');
  const port = Number(url.port || (tls ? 2376 : 2375));
  if (!tls) return new Docker({ protocol: 'http', host: url.hostname, port });
  const certPath = env.DOCKER_CERT_PATH || path.join(homedir(), '.docker');
  const read = (name: string): Buffer => {
    try {
      return readFileSync(path.join(certPath, name));
    } catch (error) {
      throw new ConfigurationError(
        `the Docker Engine at ${address} uses TLS, but ${path.join(certPath, name)} cannot be read (${errnoCode(error) ?? describeError(error)}); set DOCKER_CERT_PATH to the directory with ca.pem, cert.pem and key.pem`,
      );
    }
  };
  return new Docker({ protocol: 'https', host: url.hostname, port, ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') });
}

/**
 * An engine over ssh, as `docker -H ssh://…` reaches it (`docker system dial-stdio` on the remote
 * host). Keys: the ssh agent (SSH_AUTH_SOCK) and the key file MLSHIP_SSH_KEY names, else the
 * usual ~/.ssh/id_ed25519, id_ecdsa or id_rsa. The host must be in known_hosts
 * (MLSHIP_SSH_KNOWN_HOSTS, else ~/.ssh/known_hosts): a deploy never trusts a host on first sight.
 */
function sshEngine(url: URL, address: string, env: Readonly<Record<string, string | undefined>>): Docker {
  const port = Number(url.port || 22);
  const home = env.HOME || homedir();
  const keyFiles = env.MLSHIP_SSH_KEY ? [env.MLSHIP_SSH_KEY] : ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((name) => path.join(home, '.ssh', name));
  const privateKey = keyFiles.map((file) => readOptional(file)).find((key) => key !== undefined);
  if (env.MLSHIP_SSH_KEY && privateKey === undefined) throw new ConfigurationError(`MLSHIP_SSH_KEY names ${env.MLSHIP_SSH_KEY}, which cannot be read`);
  if (privateKey === undefined && !env.SSH_AUTH_SOCK) {
    throw new ConfigurationError(`no ssh key for ${address}: start an ssh agent (SSH_AUTH_SOCK), or set MLSHIP_SSH_KEY to a private key file`);
  }
  const knownHostsFile = env.MLSHIP_SSH_KNOWN_HOSTS || path.join(home, '.ssh', 'known_hosts');
  const trusted = knownHostKeys(readOptional(knownHostsFile)?.toString('utf8') ?? '', url.hostname, port);
  if (trusted.length === 0) {
    throw new ConfigurationError(
      `the host key of ${url.hostname}:${port} is not in ${knownHostsFile}: check it and add it (ssh-keyscan -p ${port} ${url.hostname} >> ${knownHostsFile}), or set MLSHIP_SSH_KNOWN_HOSTS`,
    );
  }
  const agent = new SshDialAgent(url.hostname, port, {
    // As ssh does: the local user when the URL names none.
    username: url.username ? decodeURIComponent(url.username) : userInfo().username,
    ...(env.SSH_AUTH_SOCK ? { agent: env.SSH_AUTH_SOCK } : {}),
    ...(privateKey ? { privateKey } : {}),
    readyTimeout: networkTimeoutSeconds(env) * 1000,
    hostVerifier: (key: Buffer) => trusted.includes(key.toString('base64')),
  });
  // Plain HTTP to the engine, carried by the agent's ssh channels.
  // docker-modem takes `agent` (its types do not say so).
  return new Docker({ protocol: 'http', host: url.hostname, port, agent } as Docker.DockerOptions);
}

function readOptional(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/** Fails fast, naming the engine, when nothing answers: before a long build starts. */
export async function checkEngine(docker: Docker, address: string): Promise<string> {
  try {
    const version = await withTimeout(docker.version(), 10_000, `no answer in 10 s`);
    return version.Version;
  } catch (error) {
    // An engine with --tlsverify closes the connection on a client certificate its CA did not sign,
    // which the client sees only as a hang-up.
    const hungUp = (docker.modem as { protocol?: string }).protocol === 'https' && /socket hang up|ECONNRESET/i.test(describeError(error));
    const hint = hungUp ? ' (over TLS this is how an engine refuses a client certificate its CA did not sign: check cert.pem and key.pem in DOCKER_CERT_PATH)' : '';
    throw new InfrastructureError(`the Docker Engine at ${address} does not answer: ${describeError(error)}${hint}`, { cause: error });
  }
}

export interface BuildRequest {
  readonly contextDir: string;
  readonly dockerfile: string;
  readonly target?: string | undefined;
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  /** Full references (`repository:tag`) to tag the result with. */
  readonly tags: readonly string[];
  /** Images whose layers may be reused (the previous image of the repository). */
  readonly cacheFrom: readonly string[];
}

export interface BuildResult {
  readonly imageId: string;
  /** Steps answered from the layer cache, of all steps run. */
  readonly cachedSteps: number;
  readonly steps: number;
}

/** The build ran and a step failed: the user's Dockerfile or code, exit 1, with the step and its log. */
export class BuildFailedError extends CheckFailedError {
  constructor(
    readonly step: string | undefined,
    readonly reason: string,
    readonly logTail: readonly string[],
  ) {
    super(`the image build failed${step ? ` at ${step}` : ''}: ${reason}\n${logTail.join('\n')}`);
  }
}

interface BuildEvent {
  stream?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string };
}

/**
 * Builds through the Engine API (no docker CLI): the context is tarred here, honouring
 * .dockerignore, and the build's output is handed to `onLine` as it comes.
 */
export async function buildImage(
  docker: Docker,
  request: BuildRequest,
  onLine: (line: string) => void,
  limits: { readonly stallMs: number; readonly signal?: AbortSignal | undefined } = { stallMs: engineDeadlines({}).buildStallMs },
): Promise<BuildResult> {
  const files = contextFiles(request.contextDir, request.dockerfile);
  const watch = new StallWatch(limits.stallMs, limits.signal);
  // tar-fs 3 packs with streamx streams; the Engine client wants a Node stream.
  const context = Readable.from(tarFs.pack(request.contextDir, { entries: files }) as unknown as AsyncIterable<Buffer>);
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.buildImage(context, {
      dockerfile: request.dockerfile,
      t: request.tags[0],
      ...(request.target ? { target: request.target } : {}),
      buildargs: { ...request.buildArgs },
      labels: { ...request.labels },
      cachefrom: JSON.stringify(request.cacheFrom),
      rm: true,
      forcerm: true,
      abortSignal: watch.signal,
    });
  } catch (error) {
    watch.done();
    if (watch.signal.aborted) throw watch.explain(error, 'the build', (t) => t);
    throw new InfrastructureError(`the Docker Engine refused the build: ${describeError(error)}`, { cause: error });
  }
  const tail: string[] = [];
  let step: { number: number; instruction: string } | undefined;
  let totalSteps = 0;
  const cached = new Set<number>();
  let imageId: string | undefined;
  let failure: string | undefined;
  const events = await followProgress(docker, stream, (event: BuildEvent) => {
    watch.touch();
    if (event.aux?.ID) imageId = event.aux.ID;
    if (event.error) failure = event.errorDetail?.message ?? event.error;
    for (const line of (event.stream ?? '').split('\n')) {
      if (line.trim() === '') continue;
      onLine(line);
      tail.push(line);
      if (tail.length > 50) tail.shift();
      const match = /^Step (\d+)\/(\d+) : (.*)$/.exec(line);
      if (match) {
        step = { number: Number(match[1]), instruction: match[3]! };
        totalSteps = Number(match[2]);
      }
      if (/^ ---> Using cache$/.test(line) && step) cached.add(step.number);
    }
  });
  // The classic builder appends one LABEL step per label given with the build: they are ours,
  // not the Dockerfile's, so step numbers and cache reuse are counted over the Dockerfile's steps.
  const dockerfileSteps = Math.max(0, totalSteps - Object.keys(request.labels).length);
  watch.done();
  if (events.error) throw watch.signal.aborted ? watch.explain(events.error, 'the build', (t) => t) : new InfrastructureError(`the build stream from the Docker Engine broke: ${describeError(events.error)}`, { cause: events.error });
  if (failure !== undefined) {
    const where = step ? `step ${step.number} of ${step.number <= dockerfileSteps ? dockerfileSteps : totalSteps} (${step.instruction})` : undefined;
    throw new BuildFailedError(where, failure, tail);
  }
  if (!imageId) throw new InfrastructureError('the Docker Engine finished the build without naming the image it made');
  const cachedSteps = [...cached].filter((n) => n <= dockerfileSteps).length;
  for (const reference of request.tags.slice(1)) {
    const [repo, tag] = splitReference(reference);
    await docker.getImage(imageId).tag({ repo, tag });
  }
  return { imageId, cachedSteps, steps: dockerfileSteps };
}

/** How a registry's refusal of missing or wrong credentials reads, as the engine reports it. */
export const REGISTRY_REFUSED_CREDENTIALS = /unauthori[sz]ed|authentication required|no basic auth credentials|denied/i;

export interface RegistryAuth {
  readonly username: string;
  readonly password: string;
  readonly serveraddress: string;
}

interface PushEvent {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string };
  aux?: { Tag?: string; Digest?: string; Size?: number };
}

/** Pushes one tag and returns the digest the registry reported for it. */
export async function pushImage(
  docker: Docker,
  repository: string,
  tag: string,
  auth: RegistryAuth | undefined,
  onProgress: (event: { id: string; current: number; total: number }) => void,
  limits: { readonly stallMs: number; readonly signal?: AbortSignal | undefined } = { stallMs: engineDeadlines({}).transferStallMs },
): Promise<{ digest: string; size: number | undefined }> {
  const watch = new StallWatch(limits.stallMs, limits.signal);
  const what = `pushing ${repository}:${tag}`;
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.getImage(repository).push({ tag, ...(auth ? { authconfig: auth } : {}), abortSignal: watch.signal });
  } catch (error) {
    watch.done();
    if (watch.signal.aborted) throw watch.explain(error, what, (t) => redact(t, auth));
    throw new InfrastructureError(`pushing ${repository}:${tag} was refused: ${redact(describeError(error), auth)}`, { cause: error });
  }
  let digest: string | undefined;
  let size: number | undefined;
  let failure: string | undefined;
  const events = await followProgress(docker, stream, (event: PushEvent) => {
    watch.touch();
    if (event.error) failure = event.errorDetail?.message ?? event.error;
    if (event.aux?.Digest) {
      digest = event.aux.Digest;
      size = event.aux.Size;
    }
    const detail = event.progressDetail;
    if (event.id && detail?.total) onProgress({ id: event.id, current: detail.current ?? 0, total: detail.total });
  });
  watch.done();
  if (events.error) throw watch.signal.aborted ? watch.explain(events.error, what, (t) => redact(t, auth)) : new InfrastructureError(`the push stream broke: ${redact(describeError(events.error), auth)}`, { cause: events.error });
  if (failure !== undefined) {
    const denied = REGISTRY_REFUSED_CREDENTIALS.test(failure);
    throw new InfrastructureError(
      denied
        ? `the registry refused the credentials${auth ? ` of user ${auth.username}` : ' (none were given)'} for ${repository}:${tag}: ${redact(failure, auth)}`
        : `pushing ${repository}:${tag} failed: ${redact(failure, auth)}`,
    );
  }
  if (!digest) throw new InfrastructureError(`the registry did not report a digest for ${repository}:${tag}`);
  return { digest, size };
}

/** Pulls `repository@digest` (or `:tag`), with credentials when given; fails as an InfrastructureError. */
export async function pullImage(
  docker: Docker,
  reference: string,
  auth: RegistryAuth | undefined,
  limits: { readonly stallMs: number; readonly signal?: AbortSignal | undefined } = { stallMs: engineDeadlines({}).transferStallMs },
): Promise<void> {
  const watch = new StallWatch(limits.stallMs, limits.signal);
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.pull(reference, { ...(auth ? { authconfig: auth } : {}), abortSignal: watch.signal });
  } catch (error) {
    watch.done();
    if (watch.signal.aborted) throw watch.explain(error, `pulling ${reference}`, (t) => redact(t, auth));
    throw new InfrastructureError(`pulling ${reference} failed: ${redact(describeError(error), auth)}`, { cause: error });
  }
  let failure: string | undefined;
  const events = await followProgress(docker, stream, (event: PushEvent) => {
    watch.touch();
    if (event.error) failure = event.errorDetail?.message ?? event.error;
  });
  watch.done();
  if (events.error && watch.signal.aborted) throw watch.explain(events.error, `pulling ${reference}`, (t) => redact(t, auth));
  if (events.error || failure !== undefined) {
    throw new InfrastructureError(`pulling ${reference} failed: ${redact(failure ?? describeError(events.error), auth)}`);
  }
}

export function splitReference(reference: string): [string, string] {
  const at = reference.lastIndexOf(':');
  const slash = reference.lastIndexOf('/');
  return at > slash ? [reference.slice(0, at), reference.slice(at + 1)] : [reference, 'latest'];
}

/** A password must never reach a message, even when a registry echoes it back. */
function redact(text: string, auth: RegistryAuth | undefined): string {
  return auth ? new SecretMasker().addAll([auth.password]).mask(text) : text;
}

/** The local image carrying `label=value`, if any (the newest when several do). */
export async function findImageByLabel(docker: Docker, label: string, value: string): Promise<string | undefined> {
  const images = await docker.listImages({ filters: JSON.stringify({ label: [`${label}=${value}`] }) });
  return [...images].sort((a, b) => b.Created - a.Created)[0]?.Id;
}

/** Tags a local image with full references (`repository:tag`). */
export async function tagImage(docker: Docker, imageId: string, references: readonly string[]): Promise<void> {
  for (const reference of references) {
    const [repo, tag] = splitReference(reference);
    await docker.getImage(imageId).tag({ repo, tag });
  }
}

function followProgress<E>(docker: Docker, stream: NodeJS.ReadableStream, onEvent: (event: E) => void): Promise<{ error?: Error }> {
  return new Promise((resolve) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null) => resolve(error ? { error } : {}),
      (event: E) => onEvent(event),
    );
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]);
}
