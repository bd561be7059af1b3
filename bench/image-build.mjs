// Benchmark for `mlship build` (issue 5): the churn example's real serving image (Python,
// scikit-learn and pandas from Debian's packages, plus the trained model), built cold, then again
// after only the model changed. Prints both times, the ratio, and how many Dockerfile steps the
// rebuild took from the layer cache. Target: every dependency layer reused, rebuild < 15% of cold.
//
//   node bench/image-build.mjs
//
// The engine and a local registry come from the test infrastructure (test/infra), so this runs
// on a fresh machine like the tests do. "Cold" means the dependency layers are not in the engine:
// the image and its build cache are removed first; the base image stays (it cannot be pulled here).
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist/cli.js');
const work = mkdtempSync(path.join(tmpdir(), 'mlship-bench-image-'));
// Inside the repository (bench/out/ is ignored), so the bundle's imports resolve in node_modules.
const bundle = path.join(root, 'bench/out/infra.mjs');
mkdirSync(path.dirname(bundle), { recursive: true });
await build({ absWorkingDir: root, entryPoints: ['test/infra/docker-environment.ts'], outfile: bundle, bundle: true, format: 'esm', platform: 'node', target: 'node24', packages: 'external', logLevel: 'warning' });
const { prepareDockerEnvironment, dockerClient } = await import(pathToFileURL(bundle).href);

const prepared = await prepareDockerEnvironment({ log: (line) => console.log(`setup: ${line}`) });
const { environment } = prepared;
const docker = dockerClient(environment.dockerHost);
const env = { ...process.env, DOCKER_HOST: environment.dockerHost, PYENV_VERSION: 'system' };
const repo = path.join(work, 'churn');
const git = (...args) => execFileSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@localhost', ...args], { cwd: repo, stdio: 'pipe' });
function mlship(...args) {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: repo, env, encoding: 'utf8', maxBuffer: 1 << 26 });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.status !== 0) throw new Error(`mlship ${args.join(' ')} failed (${result.status}):\n${result.stderr.slice(-3000)}`);
  return { seconds, stdout: result.stdout, stderr: result.stderr };
}
const cachedSteps = (stderr) => stderr.match(/built sha256:[0-9a-f]+: (\d+) of (\d+) steps from the layer cache/)?.slice(1, 3).map(Number);

try {
  cpSync(path.join(root, 'templates/churn'), repo, { recursive: true });
  const config = readFileSync(path.join(repo, 'mlship.yml'), 'utf8')
    .replace(/repository: \S+/, `repository: ${environment.registry.address}/churn-bench`)
    .replace('store: git', `store: file://${work}/registry`);
  writeFileSync(path.join(repo, 'mlship.yml'), config);
  git('init', '-q');
  mlship('data', 'snapshot');
  git('add', '-A');
  git('commit', '-qm', 'bench');
  mlship('train');

  // Cold: no image of this repository and no build cache in the engine.
  for (const image of await docker.listImages({ filters: JSON.stringify({ reference: [`${environment.registry.address}/churn-bench`] }) })) {
    await docker.getImage(image.Id).remove({ force: true }).catch(() => undefined);
  }
  await docker.pruneImages({ filters: JSON.stringify({ dangling: ['true'] }) }).catch(() => undefined);
  await docker.pruneBuilder?.().catch(() => undefined);
  const cold = mlship('build', '--push');
  const coldSteps = cachedSteps(cold.stderr);

  // Only the model changes: a new hyperparameter, a new model file, the same dependencies.
  writeFileSync(path.join(repo, 'params.yaml'), readFileSync(path.join(repo, 'params.yaml'), 'utf8').replace(/^C: .*/m, 'C: 0.7'));
  git('commit', '-qam', 'new C');
  mlship('train');
  const warm = mlship('build', '--push');
  const warmSteps = cachedSteps(warm.stderr);

  console.table([
    { build: 'cold (apt installs python3-sklearn, python3-pandas)', seconds: cold.seconds.toFixed(1), 'steps from cache': `${coldSteps?.[0]} of ${coldSteps?.[1]}` },
    { build: 'after only the model changed', seconds: warm.seconds.toFixed(1), 'steps from cache': `${warmSteps?.[0]} of ${warmSteps?.[1]}` },
  ]);
  console.log(`rebuild / cold = ${((warm.seconds / cold.seconds) * 100).toFixed(1)}% (target < 15%); both times include pushing to ${environment.registry.address}`);
} finally {
  await prepared.teardown();
  rmSync(work, { recursive: true, force: true });
}
