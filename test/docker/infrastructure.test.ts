import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  demultiplex,
  dockerClient,
  followProgress,
  pushImage,
  registryRequest,
  requireDockerEnvironment,
  runContainer,
  sshDockerClient,
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

// ---------------------------------------------------------------------------------------------
// Swarm mode, the deployment topology with the test images, and the engine as an ssh:// host.

const suffix = `${process.pid}-${Date.now().toString(36)}`;
const created = { services: [] as string[], configs: [] as string[], networks: [] as string[], containers: [] as string[] };
const logistic = (z: number): number => 1 / (1 + Math.exp(-z));

afterAll(async () => {
  for (const id of created.containers) await docker.getContainer(id).remove({ force: true }).catch(() => undefined);
  for (const name of created.services) await docker.getService(name).remove().catch(() => undefined);
  // A network or config in use by a task that is still stopping cannot be removed yet.
  await eventually('the test services are gone', 60_000, async () => {
    for (const name of created.services) {
      const left = await docker.listContainers({ all: true, filters: { label: [`com.docker.swarm.service.name=${name}`] } });
      if (left.length > 0) throw new Error(`${left.length} task containers of ${name} left`);
    }
  }).catch(() => undefined);
  for (const id of created.configs) await docker.getConfig(id).remove().catch(() => undefined);
  for (const id of created.networks) {
    await eventually(`network ${id} is removed`, 30_000, () => docker.getNetwork(id).remove()).catch(() => undefined);
  }
});

/** Calls `attempt` until it resolves or `timeoutMs` passed, then throws its last error. */
async function eventually<T>(what: string, timeoutMs: number, attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what}: still failing after ${timeoutMs / 1000} s: ${error instanceof Error ? error.message : String(error)}`);
    }
    await sleep(250);
  }
}

async function post(url: string, body: unknown): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(5_000) });
  const text = await response.text();
  try {
    return { status: response.status, headers: response.headers, json: JSON.parse(text) as Record<string, unknown> };
  } catch {
    throw new Error(`HTTP ${response.status} from POST ${url}, not JSON: ${text.slice(0, 300)}`);
  }
}

/** The states of a service's tasks, for a failure message. */
async function taskStates(service: string): Promise<string> {
  const tasks = (await docker.listTasks({ filters: { service: [service] } })) as Array<{ DesiredState: string; Status: { State: string; Err?: string } }>;
  return tasks.map((task) => `${task.Status.State}${task.Status.Err ? ` (${task.Status.Err})` : ''} → ${task.DesiredState}`).join(', ') || 'no tasks';
}

/** Runs the echo model as a plain container with its port on 127.0.0.1; returns its base URL. */
async function startEchoModel(env: string[]): Promise<{ url: string; container: Docker.Container }> {
  const container = await docker.createContainer({
    Image: environment.echoModelImage.tag,
    Env: env,
    ExposedPorts: { '8080/tcp': {} },
    HostConfig: { PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
    Labels: { 'mlship.test': 'infrastructure' },
  });
  created.containers.push(container.id);
  await container.start();
  const ports = (await container.inspect()).NetworkSettings.Ports['8080/tcp'];
  return { url: `http://127.0.0.1:${ports?.[0]?.HostPort}`, container };
}

async function healthStatus(container: Docker.Container): Promise<string | undefined> {
  return ((await container.inspect()).State as { Health?: { Status?: string } }).Health?.Status;
}

describe('Swarm mode, the test images and the engine over ssh', () => {
  it('the engine is the manager of a swarm on loopback, and this node is ready', async () => {
    const { Swarm: swarm } = (await docker.info()) as { Swarm: { LocalNodeState: string; ControlAvailable: boolean; NodeID: string } };
    expect(swarm).toMatchObject({ LocalNodeState: 'active', ControlAvailable: true, NodeID: environment.swarm.nodeId });
    expect(environment.swarm.managerAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    const node = (await docker.getNode(environment.swarm.nodeId).inspect()) as { Status: { State: string }; ManagerStatus: { Reachability: string; Addr: string } };
    expect(node.Status.State).toBe('ready');
    expect(node.ManagerStatus).toMatchObject({ Reachability: 'reachable', Addr: environment.swarm.managerAddress });
  });

  it('the edge and echo model images are on the engine and, by digest, in the open registry', async () => {
    for (const image of [environment.edgeImage, environment.echoModelImage]) {
      expect(image.tag).toMatch(/^mlship-test\/(nginx|echo-model):[0-9a-f]{12}$/);
      expect(image.registryReference).toBe(`${environment.registry.address}/${image.tag.split(':')[0]}@${image.digest}`);
      const local = await docker.getImage(image.tag).inspect();
      const manifest = await registryRequest(environment.registry, `/v2/${image.tag.split(':')[0]}/manifests/${image.digest}`, { accept: MANIFEST_TYPES });
      expect(manifest.status).toBe(200);
      const body = Buffer.from(await manifest.arrayBuffer());
      expect(`sha256:${createHash('sha256').update(body).digest('hex')}`).toBe(image.digest);
      // The registry holds the very image the engine has (its config digest is the image id).
      expect((JSON.parse(body.toString('utf8')) as { config: { digest: string } }).config.digest).toBe(local.Id);
    }
    const edge = await runContainer(docker, environment.edgeImage.tag, ['nginx', '-v']);
    expect(edge).toMatchObject({ exitCode: 0 });
    expect(edge.stderr).toMatch(/^nginx version: nginx\/1\.\d+/);
    expect((await docker.getImage(environment.edgeImage.tag).inspect()).Config.Cmd).toEqual(['nginx', '-g', 'daemon off;']);
  });

  it('the echo model serves the contract: scores from the rows, its version and digest, 400 on a bad body, a failing /health when asked', async () => {
    const [healthy, failing] = await Promise.all([
      startEchoModel(['MLSHIP_MODEL_VERSION=v-echo', 'MLSHIP_IMAGE_DIGEST=sha256:feed']),
      startEchoModel(['MLSHIP_MODEL_VERSION=v-inverted', 'FAIL_HEALTH=1', 'INVERT=1']),
    ]);
    const rows = [{ tenure: 1, charges: 2, plan: 'basic', active: true }, { tenure: -4 }, {}];

    const answer = await eventually('the echo model answers', 30_000, () => post(`${healthy.url}/predict`, { rows }));
    expect(answer.status).toBe(200);
    expect(answer.json.model_version).toBe('v-echo');
    expect(answer.headers.get('x-model-version')).toBe('v-echo');
    expect(answer.headers.get('x-image-digest')).toBe('sha256:feed');
    const scores = answer.json.scores as number[];
    expect(scores).toHaveLength(3);
    [logistic(1.5), logistic(-2), 0.5].forEach((expected, index) => expect(scores[index]).toBeCloseTo(expected, 12));
    expect((await post(`${healthy.url}/predict`, { rows: 3 })).status).toBe(400);
    expect((await post(`${healthy.url}/predict`, { records: rows })).status).toBe(400);
    expect((await fetch(`${healthy.url}/health`)).status).toBe(200);

    const inverted = await eventually('the inverted echo model answers', 30_000, () => post(`${failing.url}/predict`, { rows }));
    expect(inverted.headers.get('x-model-version')).toBe('v-inverted');
    expect(inverted.headers.get('x-image-digest')).toBeNull();
    (inverted.json.scores as number[]).forEach((score, index) => expect(score).toBeCloseTo(1 - scores[index]!, 12));
    expect((await fetch(`${failing.url}/health`)).status).toBe(500);

    // The image's HEALTHCHECK follows /health.
    await eventually('the healthy echo model is healthy', 60_000, async () => expect(await healthStatus(healthy.container)).toBe('healthy'));
    await eventually('the failing echo model is unhealthy', 60_000, async () => expect(await healthStatus(failing.container)).toBe('unhealthy'));

    // SIGTERM stops it promptly (PID 1 with a handler), with exit code 0.
    await healthy.container.stop({ t: 20 });
    expect((await healthy.container.inspect()).State.ExitCode).toBe(0);
  });

  it('a dnsrr model service on an attachable overlay network answers /predict through a global nginx edge on a host-mode port', async () => {
    const modelName = `mlship-infra-model-${suffix}`;
    const edgeName = `mlship-infra-edge-${suffix}`;
    const network = await docker.createNetwork({ Name: `mlship-infra-${suffix}`, Driver: 'overlay', Attachable: true, Labels: { 'mlship.test': 'infrastructure' } });
    created.networks.push(network.id);
    const nginxConf = [
      'worker_processes 1;',
      'error_log /dev/stderr warn;',
      'events { worker_connections 256; }',
      'http {',
      '  access_log off;',
      // Swarm's DNS; a short validity so that new tasks are found within a second.
      '  resolver 127.0.0.11 valid=1s ipv6=off;',
      '  server {',
      '    listen 80;',
      '    location / {',
      // A variable makes nginx resolve the name per request instead of once at start.
      `      set $model http://${modelName}:8080;`,
      '      proxy_pass $model;',
      '      proxy_next_upstream error timeout http_502 non_idempotent;',
      '      proxy_connect_timeout 2s;',
      '    }',
      '  }',
      '}',
      '',
    ].join('\n');
    const config = (await docker.createConfig({ Name: `mlship-infra-edge-${suffix}`, Data: Buffer.from(nginxConf).toString('base64'), Labels: { 'mlship.test': 'infrastructure' } })) as { id: string };
    created.configs.push(config.id);

    created.services.push(modelName);
    await docker.createService({
      Name: modelName,
      Labels: { 'mlship.test': 'infrastructure' },
      TaskTemplate: {
        ContainerSpec: {
          Image: environment.echoModelImage.registryReference,
          Env: ['MLSHIP_MODEL_VERSION=v-swarm', `MLSHIP_IMAGE_DIGEST=${environment.echoModelImage.digest}`],
        },
        Networks: [{ Target: network.id }],
        RestartPolicy: { Condition: 'on-failure' },
      },
      Mode: { Replicated: { Replicas: 2 } },
      EndpointSpec: { Mode: 'dnsrr' },
    });
    created.services.push(edgeName);
    await docker.createService({
      Name: edgeName,
      Labels: { 'mlship.test': 'infrastructure' },
      TaskTemplate: {
        ContainerSpec: {
          Image: environment.edgeImage.registryReference,
          Configs: [{ ConfigID: config.id, ConfigName: `mlship-infra-edge-${suffix}`, File: { Name: '/etc/nginx/nginx.conf', UID: '0', GID: '0', Mode: 0o444 } }],
        },
        Networks: [{ Target: network.id }],
        RestartPolicy: { Condition: 'on-failure' },
      },
      Mode: { Global: {} },
      // No routing mesh here: the port is bound by the edge task itself (host mode), the engine picks it.
      EndpointSpec: { Mode: 'dnsrr', Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishMode: 'host' }] },
    });

    const port = await eventually('the edge task publishes its port', 120_000, async () => {
      const tasks = (await docker.listTasks({ filters: { service: [edgeName], 'desired-state': ['running'] } })) as Array<{ Status: { State: string; Err?: string; PortStatus?: { Ports?: Array<{ PublishedPort?: number }> } } }>;
      const published = tasks.find((task) => task.Status.State === 'running')?.Status.PortStatus?.Ports?.[0]?.PublishedPort;
      if (!published) throw new Error(`edge tasks: ${JSON.stringify(tasks.map((task) => task.Status))}`);
      return published;
    });
    const rows = [{ tenure: 3, charges: 1.5 }];
    const answer = await eventually('the edge answers /predict with the model', 120_000, async () => {
      const reply = await post(`http://127.0.0.1:${port}/predict`, { rows }).catch(async (error: Error) => {
        const edgeLog = await docker
          .getService(edgeName)
          .logs({ stdout: true, stderr: true, tail: 10 })
          .then((logs) => demultiplex(logs as unknown as Buffer).stderr.trim(), (logError: Error) => `(no logs: ${logError.message})`);
        throw new Error(`${error.message}; model tasks: ${await taskStates(modelName)}; edge tasks: ${await taskStates(edgeName)}; edge log: ${edgeLog}`);
      });
      if (reply.status !== 200) throw new Error(`HTTP ${reply.status}: ${JSON.stringify(reply.json)}`);
      return reply;
    });
    expect(answer.json.model_version).toBe('v-swarm');
    expect(answer.headers.get('x-model-version')).toBe('v-swarm');
    expect(answer.headers.get('x-image-digest')).toBe(environment.echoModelImage.digest);
    expect((answer.json.scores as number[])[0]).toBeCloseTo(logistic(2.25), 12);

    // Both replicas run the image by its digest.
    const modelTasks = (await docker.listTasks({ filters: { service: [modelName], 'desired-state': ['running'] } })) as Array<{ Spec: { ContainerSpec: { Image: string } } }>;
    expect(modelTasks).toHaveLength(2);
    for (const task of modelTasks) expect(task.Spec.ContainerSpec.Image).toBe(environment.echoModelImage.registryReference);
  });

  it('dockerode reaches the same engine through the ssh:// Docker host, whose key is in the run\'s known_hosts', async () => {
    const { ssh } = environment;
    expect(new URL(ssh.dockerHost).protocol).toBe('ssh:');
    const viaSsh = sshDockerClient(ssh, ssh.privateKeyPath);
    const version = await viaSsh.version();
    expect(version.Version).toBe(environment.engineVersion);
    const info = (await viaSsh.info()) as { Swarm: { NodeID: string } };
    expect(info.Swarm.NodeID).toBe(environment.swarm.nodeId);
    expect(readFileSync(ssh.knownHostsPath, 'utf8')).toMatch(new RegExp(`^\\[127\\.0\\.0\\.1\\]:${ssh.port} ssh-ed25519 \\S+\\n$`));
  });

  it('the ssh Docker host refuses a key it has not authorized', async () => {
    await expect(sshDockerClient(environment.ssh, environment.ssh.unauthorizedKeyPath).version()).rejects.toThrow(/All configured authentication methods failed/);
  });
});
