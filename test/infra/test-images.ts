/**
 * The images the deployment tests run, built offline on `debian:bookworm-slim` (Debian packages
 * come from the apt mirror inside the build; Docker Hub is never asked), tagged by a hash of their
 * build context so a run reuses what an earlier run built, and in the run's open registry so that
 * Swarm services reference them by digest the way they reference model images.
 *
 * Pushing compresses every layer again for each new registry (tens of seconds on a busy two-core
 * machine), so the images are pushed once, to a registry whose storage is kept as a snapshot
 * ({@link ensureTestImageSnapshot}); each run's open registry starts from a copy of it. The digests
 * stay the same from run to run, and the engine finds the layers it already has when a service
 * pulls an image by digest.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Docker from 'dockerode';
import { copyStorage, startRegistry } from './registries.js';
import { timed, withTimeout, type Log } from './support.js';

const LIMITS = {
  /** apt-get update and install inside the build, on a shared two-core machine. */
  build: 10 * 60_000,
  push: 3 * 60_000,
} as const;

/** A test image: its local tag and where the run's open registry holds it. */
export interface TestImage {
  /** `mlship-test/NAME:HASH`, on the engine. */
  readonly tag: string;
  /** `127.0.0.1:PORT/mlship-test/NAME@sha256:…`, in the open registry of this run. */
  readonly registryReference: string;
  /** The manifest digest (`sha256:…`) of {@link registryReference}. */
  readonly digest: string;
}

/** A registry storage snapshot holding test images: its root, and each local tag's manifest digest. */
export interface TestImageSnapshot {
  readonly storage: string;
  readonly digests: Readonly<Record<string, string>>;
}

// ---------------------------------------------------------------------------------------------
// Build, push once, and find in a run's registry.

/** `mlship-test/NAME:HASH` from the build context directory, built unless the engine has it. */
export async function ensureTestImage(docker: Docker, name: string, contextDir: string, log: Log): Promise<string> {
  const files = (await readdir(contextDir, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(contextDir, path.join(entry.parentPath, entry.name)))
    .sort();
  const hash = createHash('sha256');
  for (const file of files) hash.update(`${file}\0`).update(await readFile(path.join(contextDir, file))).update('\0');
  const tag = `${name}:${hash.digest('hex').slice(0, 12)}`;
  if (await imageExists(docker, tag)) return tag;
  await timed(log, `built ${tag} from ${contextDir}`, async () => {
    const controller = new AbortController();
    const stream = await docker.buildImage(
      { context: contextDir, src: files },
      { t: tag, rm: true, forcerm: true, labels: { 'mlship.test-image': name }, abortSignal: controller.signal },
    );
    try {
      await withTimeout(followProgress(stream), LIMITS.build, `building ${tag}`, () => controller.abort());
    } catch (error) {
      const output = error instanceof ProgressError ? `\n--- last lines of the build ---\n${error.outputTail()}\n---` : '';
      throw new Error(`Test image: building ${tag} from ${contextDir} failed: ${error instanceof Error ? error.message : String(error)}${output}`);
    }
  });
  if (!(await imageExists(docker, tag))) throw new Error(`Test image: the build of ${tag} reported no error but the engine has no such image`);
  return tag;
}

/**
 * A registry storage snapshot with the local test images `tags`, under `stateDir`, keyed by their
 * image ids (a rebuilt image gets a new snapshot; older snapshots are removed). Call it holding the
 * setup lock.
 */
export async function ensureTestImageSnapshot(docker: Docker, stateDir: string, tags: readonly string[], log: Log): Promise<TestImageSnapshot> {
  const ids = await Promise.all(tags.map(async (tag) => (await docker.getImage(tag).inspect()).Id));
  const key = createHash('sha256')
    .update(tags.map((tag, index) => `${tag}=${ids[index]}\n`).join(''))
    .digest('hex')
    .slice(0, 16);
  const root = path.join(stateDir, 'test-image-registry');
  const snapshot = path.join(root, key);
  const storage = path.join(snapshot, 'storage');
  const recorded = await readFile(path.join(snapshot, 'digests.json'), 'utf8').then(
    (text) => JSON.parse(text) as Record<string, string>,
    () => undefined,
  );
  if (recorded && tags.every((tag) => recorded[tag]?.startsWith('sha256:'))) return { storage, digests: recorded };

  const registry = await startRegistry();
  try {
    const digests: Record<string, string> = {};
    // One after the other: the second push mounts the base layer the first one uploaded.
    for (const tag of tags) {
      digests[tag] = await timed(log, `pushed ${tag} to the registry snapshot ${snapshot}`, () => pushOnce(docker, tag, registry.endpoint.address));
    }
    // Snapshots of earlier builds (and leftovers of an interrupted one) go.
    for (const name of await readdir(root).catch(() => [] as string[])) await rm(path.join(root, name), { recursive: true, force: true });
    const temporary = `${snapshot}.${process.pid}.tmp`;
    await copyStorage(registry.storage, path.join(temporary, 'storage'));
    await writeFile(path.join(temporary, 'digests.json'), `${JSON.stringify(digests, null, 2)}\n`);
    await rename(temporary, snapshot);
    return { storage, digests };
  } finally {
    await registry.stop();
  }
}

/** The test image `tag` as the registry at `registryAddress` (started from `snapshot`) holds it. */
export function testImageIn(snapshot: TestImageSnapshot, tag: string, registryAddress: string): TestImage {
  const digest = snapshot.digests[tag];
  if (!digest) throw new Error(`Test image: ${tag} is not in the registry snapshot ${snapshot.storage}`);
  return { tag, digest, registryReference: `${registryAddress}/${tag.slice(0, tag.lastIndexOf(':'))}@${digest}` };
}

/** Drops the engine's reference to a test image in a registry that is going away (a pull by digest leaves one). */
export async function forgetRegistryReference(docker: Docker, image: TestImage): Promise<void> {
  await docker
    .getImage(image.registryReference)
    .remove({ noprune: true })
    .catch((error: { statusCode?: number }) => {
      if (error.statusCode !== 404) throw error;
    });
}

/** Pushes a local test image to a registry as `ADDRESS/NAME:HASH`, then drops that tag; returns the digest. */
async function pushOnce(docker: Docker, localTag: string, registryAddress: string): Promise<string> {
  const separator = localTag.lastIndexOf(':');
  const repository = `${registryAddress}/${localTag.slice(0, separator)}`;
  const tag = localTag.slice(separator + 1);
  await docker.getImage(localTag).tag({ repo: repository, tag });
  try {
    return (await withTimeout(pushImage(docker, repository, tag), LIMITS.push, `pushing ${repository}:${tag}`)).digest;
  } catch (error) {
    throw new Error(`Test image: pushing ${localTag} to ${registryAddress} failed: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await docker
      .getImage(`${repository}:${tag}`)
      .remove({ noprune: true })
      .catch(() => undefined);
  }
}

export async function imageExists(docker: Docker, reference: string): Promise<boolean> {
  try {
    await docker.getImage(reference).inspect();
    return true;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false;
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// The engine's progress streams (build, pull, push, import) and pushes.

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
  if (failure) throw new ProgressError(failure.errorDetail?.message ?? failure.error ?? 'the engine reported an error', events);
  return events;
}

/** An error event of a progress stream, with the events before it (a build's output explains it). */
export class ProgressError extends Error {
  constructor(
    message: string,
    readonly events: readonly ProgressEvent[],
  ) {
    super(message);
  }

  /** The last lines the build printed. */
  outputTail(lines = 25): string {
    return this.events
      .map((event) => event.stream ?? '')
      .join('')
      .trimEnd()
      .split('\n')
      .slice(-lines)
      .join('\n');
  }
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
