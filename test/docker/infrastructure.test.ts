import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  dockerClient,
  followProgress,
  pushImage,
  registryRequest,
  requireDockerEnvironment,
  runContainer,
} from '../infra/docker-environment.js';

// The test environment itself: a real engine, the base image and two real registries.
const environment = requireDockerEnvironment(inject('dockerEnvironment'));
const docker = dockerClient(environment.dockerHost);
const repository = 'mlship-infra-test';
const tag = `run-${process.pid}-${Date.now()}`;
const openReference = `${environment.registry.address}/${repository}`;
const authReference = `${environment.authRegistry.address}/${repository}`;
const MANIFEST_TYPES = 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json';

let context: string;
let builtImageId: string | undefined;

beforeAll(async () => {
  context = await mkdtemp(path.join(tmpdir(), 'mlship-build-context-'));
  await writeFile(path.join(context, 'Dockerfile'), 'FROM debian:bookworm-slim\nRUN echo hi > /hi\n');
});

afterAll(async () => {
  for (const reference of [`${openReference}:${tag}`, `${authReference}:${tag}`]) {
    await docker.getImage(reference).remove({ force: true }).catch(() => undefined);
  }
  if (builtImageId) await docker.getImage(builtImageId).remove({ force: true }).catch(() => undefined);
  await rm(context, { recursive: true, force: true });
});

describe('the Docker test environment is real', () => {
  it('the engine answers and reports its version', async () => {
    expect((await docker.ping()).toString()).toBe('OK');
    const version = await docker.version();
    expect(version.Version).toMatch(/^\d+\.\d+/);
    expect(version.ApiVersion).toMatch(/^1\.\d+$/);
    expect(version.Version).toBe(environment.engineVersion);
  });

  it('debian:bookworm-slim exists, runs bash by default, and a container from it runs and is removed', async () => {
    const image = await docker.getImage(environment.baseImage).inspect();
    expect(image.RepoTags).toContain('debian:bookworm-slim');
    expect(image.Config.Cmd).toEqual(['bash']);

    const run = await runContainer(docker, 'debian:bookworm-slim', ['cat', '/etc/debian_version']);
    expect(run).toMatchObject({ exitCode: 0, stderr: '' });
    expect(run.stdout.trim()).toMatch(/^12\.\d+$/);
    await expect(docker.getContainer(run.id).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('an image built from a Dockerfile is pushed to the open registry, whose API shows its tag and digest', async () => {
    const events = await followProgress(await docker.buildImage({ context, src: ['Dockerfile'] }, { t: `${openReference}:${tag}`, rm: true, forcerm: true }));
    builtImageId = events.find((event) => event.aux?.ID)?.aux?.ID;
    expect(builtImageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    const hi = await runContainer(docker, `${openReference}:${tag}`, ['cat', '/hi']);
    expect(hi).toMatchObject({ exitCode: 0, stdout: 'hi\n' });

    const { digest } = await pushImage(docker, openReference, tag);
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);

    const tags = await registryRequest(environment.registry, `/v2/${repository}/tags/list`);
    expect(tags.status).toBe(200);
    expect(await tags.json()).toEqual({ name: repository, tags: [tag] });

    const manifest = await registryRequest(environment.registry, `/v2/${repository}/manifests/${tag}`, { accept: MANIFEST_TYPES });
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get('docker-content-digest')).toBe(digest);
    const body = Buffer.from(await manifest.arrayBuffer());
    expect(`sha256:${createHash('sha256').update(body).digest('hex')}`).toBe(digest);
    const layers = (JSON.parse(body.toString('utf8')) as { layers: unknown[] }).layers;
    expect(layers.length).toBeGreaterThanOrEqual(2); // the base image's layer and the RUN's
  });

  it('the registry with basic auth refuses a push without credentials and takes one with them', async () => {
    const { address, username, password } = environment.authRegistry;
    await docker.getImage(`${openReference}:${tag}`).tag({ repo: authReference, tag });

    await expect(pushImage(docker, authReference, tag)).rejects.toThrow(/no basic auth credentials|unauthorized|authentication required/i);
    await expect(pushImage(docker, authReference, tag, { username, password: 'wrong', serveraddress: address })).rejects.toThrow(/unauthorized|authentication required/i);
    const anonymous = await registryRequest({ url: environment.authRegistry.url, address }, `/v2/${repository}/tags/list`);
    expect(anonymous.status).toBe(401);

    const { digest } = await pushImage(docker, authReference, tag, { username, password, serveraddress: address });
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const tags = await registryRequest(environment.authRegistry, `/v2/${repository}/tags/list`);
    expect(tags.status).toBe(200);
    expect(await tags.json()).toEqual({ name: repository, tags: [tag] });
    const manifest = await registryRequest(environment.authRegistry, `/v2/${repository}/manifests/${tag}`, { accept: MANIFEST_TYPES });
    expect(manifest.headers.get('docker-content-digest')).toBe(digest);
  });
});
