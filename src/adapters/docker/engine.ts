import { Readable } from 'node:stream';
import Docker from 'dockerode';
import tarFs from 'tar-fs';
import { CheckFailedError, InfrastructureError, describeError } from '../../errors.js';
import { contextFiles } from './build-context.js';

/** Where the engine is, for messages: DOCKER_HOST as given, or the default socket. */
export function engineAddress(dockerHost: string | undefined): string {
  return dockerHost && dockerHost !== '' ? dockerHost : 'unix:///var/run/docker.sock';
}

/** A dockerode client for DOCKER_HOST (unix://, tcp://, http(s)://, ssh://), or the default socket. */
export function connectEngine(dockerHost: string | undefined): Docker {
  const address = engineAddress(dockerHost);
  const url = new URL(address);
  if (url.protocol === 'unix:') return new Docker({ socketPath: url.pathname });
  if (url.protocol === 'ssh:') return new Docker({ protocol: 'ssh', host: url.hostname, port: Number(url.port || 22), ...(url.username ? { username: url.username } : {}) });
  const protocol = url.protocol === 'https:' ? 'https' : 'http';
  return new Docker({ protocol, host: url.hostname, port: Number(url.port || (protocol === 'https' ? 2376 : 2375)) });
}

/** Fails fast, naming the engine, when nothing answers: before a long build starts. */
export async function checkEngine(docker: Docker, address: string): Promise<string> {
  try {
    const version = await withTimeout(docker.version(), 10_000, `no answer in 10 s`);
    return version.Version;
  } catch (error) {
    throw new InfrastructureError(`the Docker Engine at ${address} does not answer: ${describeError(error)}`, { cause: error });
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
export async function buildImage(docker: Docker, request: BuildRequest, onLine: (line: string) => void): Promise<BuildResult> {
  const files = contextFiles(request.contextDir, request.dockerfile);
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
    });
  } catch (error) {
    throw new InfrastructureError(`the Docker Engine refused the build: ${describeError(error)}`, { cause: error });
  }
  const tail: string[] = [];
  let step: { number: number; instruction: string } | undefined;
  let totalSteps = 0;
  const cached = new Set<number>();
  let imageId: string | undefined;
  let failure: string | undefined;
  const events = await followProgress(docker, stream, (event: BuildEvent) => {
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
  if (events.error) throw new InfrastructureError(`the build stream from the Docker Engine broke: ${describeError(events.error)}`, { cause: events.error });
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
): Promise<{ digest: string; size: number | undefined }> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.getImage(repository).push({ tag, ...(auth ? { authconfig: auth } : {}) });
  } catch (error) {
    throw new InfrastructureError(`pushing ${repository}:${tag} was refused: ${redact(describeError(error), auth)}`, { cause: error });
  }
  let digest: string | undefined;
  let size: number | undefined;
  let failure: string | undefined;
  const events = await followProgress(docker, stream, (event: PushEvent) => {
    if (event.error) failure = event.errorDetail?.message ?? event.error;
    if (event.aux?.Digest) {
      digest = event.aux.Digest;
      size = event.aux.Size;
    }
    const detail = event.progressDetail;
    if (event.id && detail?.total) onProgress({ id: event.id, current: detail.current ?? 0, total: detail.total });
  });
  if (events.error) throw new InfrastructureError(`the push stream broke: ${redact(describeError(events.error), auth)}`, { cause: events.error });
  if (failure !== undefined) {
    const denied = /unauthori[sz]ed|authentication required|no basic auth credentials|denied/i.test(failure);
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
export async function pullImage(docker: Docker, reference: string, auth: RegistryAuth | undefined): Promise<void> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.pull(reference, auth ? { authconfig: auth } : {});
  } catch (error) {
    throw new InfrastructureError(`pulling ${reference} failed: ${redact(describeError(error), auth)}`, { cause: error });
  }
  let failure: string | undefined;
  const events = await followProgress(docker, stream, (event: PushEvent) => {
    if (event.error) failure = event.errorDetail?.message ?? event.error;
  });
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
  return auth && auth.password.length >= 3 ? text.split(auth.password).join('***') : text;
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
