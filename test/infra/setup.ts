/**
 * globalSetup of the vitest project "docker": prepares a real Docker Engine in Swarm mode, the base
 * image, two registries, the test images and an ssh:// Docker host
 * (test/infra/docker-environment.ts), hands them to the test files as `inject('dockerEnvironment')`,
 * and tears down what it started when the run ends.
 *
 * It never throws: when the environment cannot be set up, the unit tests still run and every
 * Docker test fails with the setup's error (which names the step and shows its log's tail).
 */
import type { TestProject } from 'vitest/node';
import { prepareDockerEnvironment, STATE_DIR } from './docker-environment.js';

const say = (line: string): void => {
  process.stderr.write(`[docker setup] ${line}\n`);
};

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const started = Date.now();
  try {
    const { environment, teardown } = await prepareDockerEnvironment({ log: say });
    project.provide('dockerEnvironment', { ok: true, environment });
    say(
      `ready in ${((Date.now() - started) / 1000).toFixed(1)} s: DOCKER_HOST=${environment.dockerHost}, ` +
        `registries ${environment.registry.address} (open) and ${environment.authRegistry.address} (basic auth), ` +
        `Swarm node ${environment.swarm.nodeId} (${environment.swarm.managerAddress}), ${environment.ssh.dockerHost}`,
    );
    return async () => {
      try {
        await teardown();
      } catch (error) {
        say(error instanceof Error ? error.message : String(error));
        throw error;
      }
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    say(`FAILED after ${((Date.now() - started) / 1000).toFixed(1)} s (state and logs in ${STATE_DIR}): ${message}`);
    project.provide('dockerEnvironment', { ok: false, error: message });
    return undefined;
  }
}
