/**
 * The bundled example, all the way to a live endpoint: trained with scikit-learn, its FastAPI image
 * built and pushed by mlship, deployed to staging on the test Swarm behind the edge, and smoke
 * tested with the held-out rows train.py wrote (smoke.jsonl): right answers, the offline scores to
 * 1e-6, the version deployed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dockerClient, requireDockerEnvironment } from '../infra/docker-environment.js';
import { churnExample, ensureDebianScikitLearn, type ChurnExample } from '../helpers/churn-example.js';
import { freePort, removeProjectResources } from '../helpers/swarm-project.js';

const environment = requireDockerEnvironment(inject('dockerEnvironment'));
const docker = dockerClient(environment.dockerHost);
const name = `churn${process.pid}`;
let example: ChurnExample;

beforeAll(async () => {
  process.env.DOCKER_HOST = environment.dockerHost;
  ensureDebianScikitLearn();
  example = await churnExample(`${environment.registry.address}/churn-deploy-${process.pid}`);
  const file = path.join(example.root, 'mlship.yml');
  const config = parseDocument(readFileSync(file, 'utf8'));
  config.setIn(['name'], name);
  config.setIn(['environments', 'staging', 'service'], `${name}-staging`);
  config.setIn(['environments', 'staging', 'port'], await freePort());
  config.setIn(['environments', 'staging', 'edge'], { image: environment.edgeImage.registryReference });
  // A loaded two-core machine is slower than a server: the latency gate is for production, not for this test.
  config.setIn(['smoke', 'max_p95_ms'], 5000);
  writeFileSync(file, config.toString());
}, 300_000);

afterAll(async () => {
  await removeProjectResources(docker, name);
  example?.remove();
});

describe('the churn example on a live endpoint', () => {
  it('trains, builds, deploys to staging behind the edge, and passes its smoke test', async () => {
    for (const step of [['train'], ['build', '--push']]) {
      const run = await example.run(...step);
      expect(run.error, `${step.join(' ')}: ${run.reporter.text()}`).toBeUndefined();
    }
    const deployed = await example.run('deploy', '--env', 'staging');
    expect(deployed.error, deployed.reporter.text()).toBeUndefined();
    expect(deployed.result!.outputs.outcome).toBe('deployed');
    const smoked = await example.run('smoke', '--env', 'staging');
    expect(smoked.error, smoked.reporter.text()).toBeUndefined();
    const outputs = smoked.result!.outputs;
    expect(outputs.passed).toBe(true);
    expect(outputs.errors).toBe(0);
    expect(outputs.accuracy).toBeGreaterThan(0.8);
    expect(outputs['max-skew']).toBeLessThanOrEqual(1e-6);
    expect(smoked.result!.summary).toContain('200 cases from `smoke.jsonl`');
  });
});
