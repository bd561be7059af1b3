// `npm run example [-- --keep]`: the main job. Sets up what the pipeline needs on this machine (the
// same managed Docker Engine in Swarm mode, local registry, offline base image and edge image as the
// tests: test/infra), a loopback stand-in for GitHub's REST API (test/helpers/fake-github.ts), then
// runs .ci/example (every stage, through the bundled CLI) and prints its closing table. It leaves
// nothing running unless --keep; a second run reuses the engine's data (images, build cache).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const keep = process.argv.includes('--keep');
const started = Date.now();
const say = (line) => process.stderr.write(`[example] ${line}\n`);
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

// The test infrastructure is TypeScript: bundled next to node_modules so its packages resolve.
const cache = path.join(root, 'node_modules', '.cache', 'mlship-example');
mkdirSync(cache, { recursive: true });
await build({
  entryPoints: {
    infra: path.join(root, 'test/infra/docker-environment.ts'),
    swarm: path.join(root, 'test/helpers/swarm-fixtures.ts'),
    github: path.join(root, 'test/helpers/fake-github.ts'),
  },
  bundle: true,
  platform: 'node',
  format: 'esm',
  packages: 'external',
  outdir: cache,
  outExtension: { '.js': '.mjs' },
  logLevel: 'warning',
});
const infra = await import(pathToFileURL(path.join(cache, 'infra.mjs')).href);
const swarm = await import(pathToFileURL(path.join(cache, 'swarm.mjs')).href);
const fakeGitHub = await import(pathToFileURL(path.join(cache, 'github.mjs')).href);

if (keep) process.env.MLSHIP_DOCKER_KEEP = '1';
say('setting up the Docker Engine (Swarm), the registry and the base images: the first time takes a few minutes');
const { environment, teardown } = await infra.prepareDockerEnvironment({ log: (line) => say(`  ${line}`) });
say(`ready in ${seconds(Date.now() - started)}: DOCKER_HOST=${environment.dockerHost}, registry ${environment.registry.address}`);
// What an earlier run kept (--keep) would be updated in place: the example starts from nothing.
await swarm.removeProjectResources(infra.dockerClient(environment.dockerHost), 'churn');
const github = await fakeGitHub.startFakeGitHub({ repositories: ['acme/churn'] });

const work = mkdtempSync(path.join(tmpdir(), 'mlship-example-'));
const table = path.join(work, 'stages.tsv');
const env = {
  ...process.env,
  DOCKER_HOST: environment.dockerHost,
  MLSHIP_EXAMPLE_WORK: work,
  MLSHIP_EXAMPLE_TABLE: table,
  MLSHIP_EXAMPLE_REGISTRY: environment.registry.address,
  MLSHIP_EXAMPLE_EDGE_IMAGE: environment.edgeImage.registryReference,
  MLSHIP_EXAMPLE_STAGING_PORT: String(await swarm.freePort()),
  MLSHIP_EXAMPLE_PRODUCTION_PORT: String(await swarm.freePort()),
  MLSHIP_EXAMPLE_KEEP: keep ? '1' : '',
  GITHUB_API_URL: github.url,
  GITHUB_REPOSITORY: 'acme/churn',
  GITHUB_TOKEN: fakeGitHub.WRITE_TOKEN,
};

const code = await new Promise((resolve) => {
  const child = spawn('bash', [path.join(root, '.ci/example')], { env, stdio: 'inherit' });
  const forward = (signal) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 130 : 1)));
});

if (!keep) {
  say('removing what the example deployed, and stopping what it started (--keep keeps them)');
  await swarm.removeProjectResources(infra.dockerClient(environment.dockerHost), 'churn');
}
await github.stop();
await teardown().catch((error) => say(`teardown: ${error.message}`));

if (existsSync(table)) {
  const rows = readFileSync(table, 'utf8').trim().split('\n').filter(Boolean).map((line) => line.split('\t'));
  const header = ['stage', 'outcome', 'key figure', 'time'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells) => `| ${cells.map((c, i) => (c ?? '').padEnd(widths[i])).join(' | ')} |`;
  console.log(`\n${line(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
}
console.log(`\nThe example ${code === 0 ? 'ran every stage' : `stopped with exit code ${code}`} in ${seconds(Date.now() - started)} (scratch: ${work}).`);
process.exit(code);
