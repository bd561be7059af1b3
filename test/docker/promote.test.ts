/**
 * mlship promote, rollback and status on a real single-node Swarm, with load running through the
 * production edge while it rolls: a healthy candidate, production created from nothing, candidates
 * that fail their health check after start, answer wrong, answer slowly or crash, a promotion killed
 * half-way and run again, two promotions at once, and rollbacks.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { ModelEndpoint } from '../../src/adapters/http/model-endpoint.js';
import { FileRegistryBackend } from '../../src/adapters/registry/file-backend.js';
import { Registry } from '../../src/domain/registry/registry.js';
import { ExitCode } from '../../src/errors.js';
import { dockerClient, requireDockerEnvironment, restartManagedEngine } from '../infra/docker-environment.js';
import { CLI, nodeBinary } from '../helpers/bundle.js';
import { writeTree } from '../helpers/project.js';
import { deployProject, echoVariant, freePort, removeProjectResources, type DeployProject } from '../helpers/swarm-project.js';

const environment = requireDockerEnvironment(inject('dockerEnvironment'));
const docker = dockerClient(environment.dockerHost);
const version = (digit: number): string => `sha256:${String(digit).repeat(64)}`;
const images: Record<string, string> = {};
const projects: string[] = [];

beforeAll(async () => {
  process.env.DOCKER_HOST = environment.dockerHost;
  const make = (name: string, digit: number, extra: { env?: Record<string, string>; cmd?: string[] } = {}): Promise<string> =>
    echoVariant(docker, { base: environment.echoModelImage.tag, registry: environment.registry.address, name: `promote-${name}-${process.pid}`, modelVersion: version(digit), ...extra });
  images.good1 = await make('good1', 5);
  images.good2 = await make('good2', 6);
  images.wrong = await make('wrong', 7, { env: { INVERT: '1' } });
  images.slow = await make('slow', 8, { env: { DELAY_MS: '2500' } });
  images.crash = await make('crash', 9, { cmd: ['sh', '-c', 'echo "model file is corrupt" >&2; exit 3'] });
  images.sick = await make('sick', 4, { env: { FAIL_HEALTH: '1' } });
}, 900_000);

// Each test's services go when it ends: dozens of idle replicas, each health-checked, would slow
// every later test on two cores (and an engine restart would restart them all).
afterEach(async () => {
  for (const name of projects.splice(0)) await removeProjectResources(docker, name);
});

/** A project with staging and production (3 replicas by default), production's analysis on every second. */
async function promotable(production: { replicas?: number; monitor?: string; timeout?: string } = {}): Promise<DeployProject & { productionPort: number }> {
  const productionPort = await freePort();
  const project = await deployProject({
    edgeImage: environment.edgeImage.registryReference,
    environment: [
      '  production:',
      '    target: swarm',
      `    service: PRODUCTION_SERVICE`,
      `    replicas: ${production.replicas ?? 3}`,
      `    port: ${productionPort}`,
      `    edge: { image: "${environment.edgeImage.registryReference}" }`,
      `    rollout: { parallelism: 1, order: start-first, delay: 0s, monitor: ${production.monitor ?? '2s'}, timeout: ${production.timeout ?? '120s'}, analysis: { interval: 1s, cases: 8, min_samples: 4, max_p95_ms: 2000 } }`,
    ].join('\n'),
  });
  const file = path.join(project.root, 'mlship.yml');
  writeTree(project.root, { 'mlship.yml': readFileSync(file, 'utf8').replace('PRODUCTION_SERVICE', `${project.name}-production`).replace('  requests: 100', '  requests: 60') });
  projects.push(project.name);
  return { ...project, productionPort };
}

/** Deploys an image to staging and smoke tests it, as a release pipeline would before promoting. */
async function stage(project: DeployProject, image: string, expectSmoke = true): Promise<void> {
  const deployed = await project.run('deploy', '--env', 'staging', '--image', image);
  expect(deployed.error, deployed.reporter.text()).toBeUndefined();
  const smoked = await project.run('smoke', '--env', 'staging');
  if (expectSmoke) expect(smoked.exitCode, `${smoked.result?.failure ?? ''} ${smoked.error?.message ?? ''}`).toBe(0);
}

/** Steady load through an edge while something happens: every request's status counted. */
function load(port: number): { stop(): Promise<{ sent: number; failed: number; statuses: Record<string, number> }> } {
  const endpoint = new ModelEndpoint(`http://127.0.0.1:${port}`, { timeoutMs: 10_000, connections: 2 });
  let running = true;
  const statuses: Record<string, number> = {};
  const worker = async (): Promise<void> => {
    while (running) {
      const answer = await endpoint.predict([{ tenure: 1, calls: 1 }]);
      const key = answer.status === 0 ? `error: ${answer.error}` : String(answer.status);
      statuses[key] = (statuses[key] ?? 0) + 1;
    }
  };
  const workers = [worker(), worker()];
  return {
    async stop() {
      running = false;
      await Promise.all(workers);
      endpoint.close();
      const sent = Object.values(statuses).reduce((a, b) => a + b, 0);
      return { sent, failed: sent - (statuses['200'] ?? 0), statuses };
    },
  };
}

function registryOf(project: DeployProject): Registry {
  return new Registry(new FileRegistryBackend(path.join(project.root, '.mlship/registry')));
}

describe('mlship promote (real Swarm, load through the edge)', () => {
  it('creates production from nothing, then promotes a healthy candidate under load with no failed request; status and rollback agree', async () => {
    const project = await promotable();
    await stage(project, images.good1!);
    const first = await project.run('promote', '--from', 'staging', '--to', 'production');
    expect(first.error, first.reporter.text()).toBeUndefined();
    expect(first.result!.outputs).toMatchObject({ outcome: 'promoted', 'previous-digest': '', 'model-version': version(5) });

    await stage(project, images.good2!);
    const traffic = load(project.productionPort);
    const second = await project.run('promote', '--from', 'staging', '--to', 'production');
    const counted = await traffic.stop();
    expect(second.error, second.reporter.text()).toBeUndefined();
    expect(second.result!.outputs).toMatchObject({ outcome: 'promoted', 'model-version': version(6), breach: '' });
    expect(second.result!.outputs['previous-digest']).toBe(images.good1!.split('@')[1]);
    expect(counted.sent).toBeGreaterThan(50);
    expect(counted.failed, JSON.stringify(counted.statuses)).toBe(0);
    expect(second.result!.summary).toContain('final smoke passed');
    const registry = registryOf(project);
    expect((await registry.alias('production'))?.version).toBe(version(6));
    expect((await registry.ledger()).filter((e) => e.kind === 'promotion')).toHaveLength(2);

    const status = await project.run('status');
    expect(status.error).toBeUndefined();
    const environments = status.result!.outputs.environments as { environment: string; digest: string; known: string; previousDigest: string; replicas: { running: number; desired: number } }[];
    const production = environments.find((e) => e.environment === 'production')!;
    expect(production).toMatchObject({ digest: images.good2!.split('@')[1], known: 'recorded', previousDigest: images.good1!.split('@')[1], replicas: { running: 3, desired: 3 } });

    const rolledBack = await project.run('rollback', '--env', 'production');
    expect(rolledBack.error, rolledBack.reporter.text()).toBeUndefined();
    expect(rolledBack.result!.outputs).toMatchObject({ outcome: 'rolled_back', 'model-version': version(5) });
    expect((await registry.alias('production'))?.version).toBe(version(5));
  });

  it.each([
    ['answers wrong (scores inverted): the analysis catches its scores at once, and mlship rolls back', 'wrong', /the new version breached (accuracy|training\/serving skew)/],
    ['answers slowly: the analysis catches its p95, and mlship rolls back', 'slow', /the new version breached latency p95 \(≤ 2000 ms\)/],
    ['crashes at start: it never serves, and production is rolled back', 'crash', /non-zero exit \(3\)|rolled the update back|not converged/],
  ])('a candidate that %s', async (_name, image, breach) => {
    const project = await promotable({ replicas: 2 });
    await stage(project, images.good1!);
    expect((await project.run('promote', '--from', 'staging', '--to', 'production')).error).toBeUndefined();
    const bad = await project.run('promote', '--to', 'production', '--image', images[image]!);
    expect(bad.exitCode, bad.reporter.text()).toBe(ExitCode.CheckFailed);
    expect(bad.result!.outputs).toMatchObject({ outcome: 'rolled_back', 'model-version': version(5) });
    expect(bad.result!.outputs.breach).toMatch(breach);
    expect(bad.result!.summary).toContain('rollback verified');
    expect((await registryOf(project).alias('production'))?.version).toBe(version(5));
  });

  it('a candidate whose health check fails once it has started: Swarm rolls back, mlship verifies the previous version serves, exit 1', async () => {
    const project = await promotable({ replicas: 2, monitor: '15s' });
    await stage(project, images.good1!);
    expect((await project.run('promote', '--from', 'staging', '--to', 'production')).error).toBeUndefined();
    const sick = await project.run('promote', '--to', 'production', '--image', images.sick!);
    expect(sick.exitCode, sick.reporter.text()).toBe(ExitCode.CheckFailed);
    expect(sick.result!.outputs).toMatchObject({ outcome: 'rolled_back', 'model-version': version(5) });
    expect(sick.result!.summary).toContain('rollback verified');
  });

  it('refuses a candidate without a passing smoke test (exit 1) unless --skip-smoke-check, which is recorded', async () => {
    const project = await promotable({ replicas: 1 });
    const deployed = await project.run('deploy', '--env', 'staging', '--image', images.good1!);
    expect(deployed.error).toBeUndefined();
    const refused = await project.run('promote', '--from', 'staging', '--to', 'production');
    expect(refused.exitCode).toBe(ExitCode.CheckFailed);
    expect(refused.error?.message).toContain('has no passing smoke test: run mlship smoke --env staging');
    const skipped = await project.run('promote', '--from', 'staging', '--to', 'production', '--skip-smoke-check');
    expect(skipped.error, skipped.reporter.text()).toBeUndefined();
    const registry = registryOf(project);
    const promotion = await registry.deployment((await registry.environment('production'))!.deploymentId);
    expect(promotion).toMatchObject({ kind: 'promotion', fromEnvironment: 'staging', smoke: { skipped: true } });
  });

  it('rollback with no earlier version: exit 1, saying so', async () => {
    const project = await promotable({ replicas: 1 });
    const nothing = await project.run('rollback', '--env', 'production');
    expect(nothing.exitCode).toBe(ExitCode.CheckFailed);
    expect(nothing.error?.message).toContain('production has no earlier successful version to roll back to (nothing was ever deployed there by mlship)');
  });

  it('two promotions at once: the second waits for the first, or gives up naming it', async () => {
    const project = await promotable({ replicas: 2 });
    await stage(project, images.good1!);
    const registry = registryOf(project);
    const held = await registry.lock({ name: 'production', token: 'other', holder: 'ana', command: 'mlship promote to production', acquiredAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 60_000).toISOString() }, new Date());
    expect(held.acquired).toBe(true);
    const loser = await project.run('promote', '--from', 'staging', '--to', 'production', '--wait', '2s');
    expect(loser.exitCode).toBe(ExitCode.Infrastructure);
    expect(loser.error?.message).toContain('production is being changed by ana (mlship promote to production');
    await registry.unlock('production', 'other');
    const winner = await project.run('promote', '--from', 'staging', '--to', 'production', '--wait', '10s');
    expect(winner.error, winner.reporter.text()).toBeUndefined();
  });

  it('killed half-way through a rollout and run again: attaches to the update under way and ends truthfully', { timeout: 480_000 }, async () => {
    const project = await promotable({ replicas: 2, monitor: '4s' });
    await stage(project, images.good1!);
    expect((await project.run('promote', '--from', 'staging', '--to', 'production')).error).toBeUndefined();
    await stage(project, images.good2!);
    const child = spawn(nodeBinary(), [CLI, 'promote', '--from', 'staging', '--to', 'production'], { cwd: project.root, env: { ...process.env, DOCKER_HOST: environment.dockerHost }, stdio: 'ignore' });
    // Kill it as soon as Swarm is updating the service: mlship is gone, the update goes on.
    const service = `${project.name}-production`;
    for (let i = 0; i < 240; i += 1) {
      const inspected = (await docker.getService(service).inspect()) as { UpdateStatus?: { State?: string } };
      if (inspected.UpdateStatus?.State === 'updating') break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const registry = registryOf(project);
    await registry.unlock('production', JSON.parse(readFileSync(path.join(project.root, '.mlship/registry/locks/production.json'), 'utf8')).token);
    const again = await project.run('promote', '--from', 'staging', '--to', 'production');
    expect(again.error, again.reporter.text()).toBeUndefined();
    expect(again.result!.outputs).toMatchObject({ outcome: 'promoted', 'model-version': version(6), 'previous-digest': images.good1!.split('@')[1] });
    expect(again.reporter.text()).toMatch(/attaching to that update|already runs/);
  });
  // Last in this file: every container of the engine restarts with it.
  it('the engine restarts in the middle of a rollout: mlship waits for it, then ends truthfully', { timeout: 480_000 }, async (context) => {
    const project = await promotable({ replicas: 2, monitor: '4s' });
    await stage(project, images.good1!);
    expect((await project.run('promote', '--from', 'staging', '--to', 'production')).error).toBeUndefined();
    await stage(project, images.good2!);
    const promotion = project.run('promote', '--from', 'staging', '--to', 'production');
    const service = `${project.name}-production`;
    let updating = false;
    for (let i = 0; i < 240 && !updating; i += 1) {
      const inspected = (await docker.getService(service).inspect()) as { UpdateStatus?: { State?: string } };
      updating = inspected.UpdateStatus?.State === 'updating';
      if (!updating) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(updating).toBe(true);
    if (!(await restartManagedEngine(environment.dockerHost))) {
      await promotion;
      context.skip('the tests use an engine they did not start (DOCKER_HOST or /var/run/docker.sock): not theirs to restart');
    }
    const ended = await promotion;
    const log = ended.reporter.text();
    expect(log).toMatch(/the engine does not answer .*waiting for it/);
    expect(log).toMatch(/answers again/);
    // Whatever Swarm made of the update, the outcome, the exit code, the ledger and the edge agree.
    const serving = await new ModelEndpoint(`http://127.0.0.1:${project.productionPort}`, { timeoutMs: 10_000, connections: 1 }).predict([{ tenure: 1, calls: 1 }]);
    const alias = await registryOf(project).alias('production');
    if (ended.exitCode === 0) {
      expect(ended.result!.outputs).toMatchObject({ outcome: 'promoted', 'model-version': version(6) });
      expect(serving.modelVersion).toBe(version(6));
      expect(alias?.version).toBe(version(6));
    } else {
      expect(ended.exitCode, log).toBe(ExitCode.CheckFailed);
      expect(ended.result!.outputs).toMatchObject({ outcome: 'rolled_back', 'model-version': version(5) });
      expect(serving.modelVersion).toBe(version(5));
      expect(alias?.version).toBe(version(5));
    }
  });
});
