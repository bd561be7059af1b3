// What the Swarm benchmarks share: the test infrastructure (engine, Swarm, registries, the echo model
// and edge images) bundled from test/ and started as the tests start it, and a scratch project.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const cli = path.join(root, 'dist/cli.js');

/** The engine with Swarm, the test images, the fixtures, a scratch directory; `teardown` when done. */
export async function swarmBench(prefix) {
  // Inside the repository (bench/out/ is ignored), so the bundles' imports resolve in node_modules.
  const out = path.join(root, 'bench/out');
  mkdirSync(out, { recursive: true });
  for (const [entry, file] of [['test/infra/docker-environment.ts', 'infra.mjs'], ['test/helpers/swarm-fixtures.ts', 'swarm-fixtures.mjs']]) {
    await build({ absWorkingDir: root, entryPoints: [entry], outfile: path.join(out, file), bundle: true, format: 'esm', platform: 'node', target: 'node24', packages: 'external', logLevel: 'warning' });
  }
  const { prepareDockerEnvironment, dockerClient } = await import(pathToFileURL(path.join(out, 'infra.mjs')).href);
  const fixtures = await import(pathToFileURL(path.join(out, 'swarm-fixtures.mjs')).href);
  const prepared = await prepareDockerEnvironment({ log: (line) => console.log(`setup: ${line}`) });
  const { environment } = prepared;
  return {
    environment,
    docker: dockerClient(environment.dockerHost),
    fixtures,
    work: mkdtempSync(path.join(tmpdir(), `mlship-bench-${prefix}-`)),
    env: { ...process.env, DOCKER_HOST: environment.dockerHost },
    teardown: () => prepared.teardown(),
  };
}
