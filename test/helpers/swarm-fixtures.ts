/**
 * Fixtures for tests and benchmarks on the test Swarm, free of vitest: free ports, smoke cases
 * scored the way the echo model scores (test/fixtures/echo-model/server.py), images derived from
 * the echo model (inverted, failing health, crashing…), and a cleanup that removes every service,
 * config and network a project made.
 */
import { createServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { buildImage, pushImage } from '../../src/adapters/docker/engine.js';

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
