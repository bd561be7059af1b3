/**
 * Projects that deploy to the test Swarm: an mlship.yml with a staging environment on a free port
 * and echo-model smoke cases (see swarm-fixtures.ts).
 */
import { randomBytes } from 'node:crypto';
import { makeProject, writeTree, type Project } from './project.js';
import { echoCases, freePort } from './swarm-fixtures.js';

export { echoCases, echoScore, echoVariant, freePort, removeProjectResources } from './swarm-fixtures.js';

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

