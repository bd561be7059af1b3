/**
 * Projects that deploy to the test Swarm: an mlship.yml with a staging environment on a free port,
 * smoke cases scored the way the echo model scores (see test/fixtures/echo-model/server.py), images
 * derived from the echo model (inverted, failing health, crashing…), and a cleanup that removes
 * every service, config and network a project made.
 */
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { buildImage, pushImage } from '../../src/adapters/docker/engine.js';
import { makeProject, writeTree, type Project } from './project.js';

/** A TCP port nothing listens on now (the kernel's choice). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The echo model's score: logistic(0.5 × the sum of the row's numeric fields). */
export function echoScore(row: Readonly<Record<string, number>>): number {
  const z = 0.5 * Object.values(row).reduce((a, b) => a + b, 0);
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** Cases whose labels the echo model gets right, with its offline scores. */
export function echoCases(count = 24): string {
  return Array.from({ length: count }, (_, i) => {
    const input = { tenure: (i % 6) - 3, calls: ((i * 5) % 7) - 2 };
    const score = echoScore(input);
    return JSON.stringify({ input, label: score >= 0.5 ? 1 : 0, score });
  }).join('\n');
}

export interface DeployProject extends Project {
  readonly name: string;
  readonly service: string;
  readonly port: number;
}

export interface DeployOptions {
  readonly edgeImage: string;
  readonly replicas?: number;
  readonly dockerHost?: string;
  /** Extra lines under the staging environment (indented by the caller). */
  readonly environment?: string;
  readonly timeout?: string;
  /** Extra top-level sections (image:, …). */
  readonly extra?: string;
}

/** A project with a staging environment on a free port and echo-model smoke cases. */
export async function deployProject(options: DeployOptions, files: Record<string, string> = {}): Promise<DeployProject> {
  const name = `d${randomBytes(4).toString('hex')}`;
  const service = `${name}-staging`;
  const port = await freePort();
  const project = makeProject({ 'data/a.csv': 'a', 'smoke.jsonl': echoCases(), ...files });
  writeTree(project.root, {
    'mlship.yml': [
      'version: 1',
      `name: ${name}`,
      'data:',
      '  paths: [data]',
      `  store: file://${project.store}`,
      'environments:',
      '  staging:',
      '    target: swarm',
      ...(options.dockerHost ? [`    docker_host: ${options.dockerHost}`] : []),
      `    service: ${service}`,
      `    replicas: ${options.replicas ?? 1}`,
      `    port: ${port}`,
      `    edge: { image: "${options.edgeImage}" }`,
      `    rollout: { parallelism: 1, order: start-first, delay: 0s, monitor: 2s, timeout: ${options.timeout ?? '90s'} }`,
      ...(options.environment ? [options.environment] : []),
      'smoke:',
      '  cases: smoke.jsonl',
      '  requests: 100',
      '  concurrency: 4',
      '  min_accuracy: 0.95',
      '  max_p95_ms: 2000',
      options.extra ?? '',
      '',
    ].join('\n'),
  });
  return { ...project, name, service, port };
}

/**
 * An image derived from the echo model: environment, command and labels changed, pushed to the
 * registry; returns `repository@digest`. `modelVersion` becomes its mlship.model-version label, as
 * mlship build would set it.
 */
export async function echoVariant(
  docker: Docker,
  options: { base: string; registry: string; name: string; modelVersion: string; env?: Record<string, string>; cmd?: string[] },
): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mlship-variant-'));
  try {
    const lines = [
      `FROM ${options.base}`,
      ...Object.entries(options.env ?? {}).map(([k, v]) => `ENV ${k}=${v}`),
      ...(options.cmd ? [`CMD ${JSON.stringify(options.cmd)}`] : []),
    ];
    writeFileSync(path.join(dir, 'Dockerfile'), `${lines.join('\n')}\n`);
    const repository = `${options.registry}/${options.name}`;
    await buildImage(docker, { contextDir: dir, dockerfile: 'Dockerfile', buildArgs: {}, labels: { 'mlship.model-version': options.modelVersion }, tags: [`${repository}:v`], cacheFrom: [] }, () => undefined);
    const pushed = await pushImage(docker, repository, 'v', undefined, () => undefined);
    return `${repository}@${pushed.digest}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Removes every service, config and network labelled with this project (mlship labels all it creates). */
export async function removeProjectResources(docker: Docker, project: string): Promise<void> {
  const filters = JSON.stringify({ label: [`mlship.project=${project}`] });
  for (const service of await docker.listServices({ filters })) await docker.getService(service.ID).remove().catch(() => undefined);
  // Tasks take a moment to go; configs and networks in use cannot be removed before.
  for (let attempt = 0; attempt < 30; attempt += 1) {
    const configs = await docker.listConfigs({ filters });
    const networks = await docker.listNetworks({ filters });
    if (configs.length === 0 && networks.length === 0) return;
    for (const config of configs) await docker.getConfig(config.ID).remove().catch(() => undefined);
    for (const network of networks) await docker.getNetwork(network.Id).remove().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
