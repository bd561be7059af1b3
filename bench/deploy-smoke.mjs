// Benchmark for `mlship deploy` and `mlship smoke` (issue 9), on the test Swarm (test/infra):
//
// 1. Deploy time: `mlship deploy` of a new digest to a 2-replica service, from start to verified,
//    beside the time Swarm itself needs for the same update of a twin service (same spec, same
//    overlay network) driven straight through the Engine API and polled every 50 ms: until the update
//    completed, and until the replaced tasks stopped (mlship verifies that too: only the candidate
//    serves). Target: mlship's own time under 2 s above Swarm's. `--updates N` updates each, alternating
//    which goes first.
// 2. Smoke latency: `mlship smoke`'s p50/p95/p99 against the edge beside autocannon's on the same
//    endpoint, load and connections (4 keep-alive, POST /predict, one row per request), each tool a
//    fresh process per round, `--rounds N` rounds alternating which goes first. The figures are the
//    medians over rounds of each tool's percentiles, and the median of the rounds' ratios (paired).
//    Target: mlship within 10% of autocannon.
//
//   node bench/deploy-smoke.mjs [--requests 4000] [--rounds 11] [--updates 3]
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { cli, swarmBench } from './swarm.mjs';

const option = (name, fallback) => Number(process.argv[process.argv.indexOf(`--${name}`) + 1]) || fallback;
const requests = option('requests', 4000);
const rounds = option('rounds', 11);
const updates = option('updates', 3);
const cannonScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'autocannon-percentiles.mjs');

const { environment, docker, fixtures, work, env, teardown } = await swarmBench('deploy');
const { echoCases, echoVariant, freePort, removeProjectResources } = fixtures;
const name = `bench${process.pid}`;
const twin = `${name}-twin`;
const seconds = (since) => Number(process.hrtime.bigint() - since) / 1e9;
const run = (args, what) => {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { cwd: work, env, encoding: 'utf8', maxBuffer: 1 << 26 });
  const took = seconds(started);
  if (result.status !== 0) throw new Error(`${what} failed (${result.status}):\n${result.stderr.slice(-3000)}`);
  const last = result.stdout.trim().split('\n').at(-1);
  return { seconds: took, outputs: last.startsWith('{') ? JSON.parse(last) : last };
};
const mlship = (...args) => run([cli, '--json', ...args], `mlship ${args.join(' ')}`);
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

try {
  const version = (n) => `sha256:${String(n).repeat(64)}`;
  const images = [];
  for (const n of [1, 2, 3]) images.push(await echoVariant(docker, { base: environment.echoModelImage.tag, registry: environment.registry.address, name: `bench-echo-${n}-${process.pid}`, modelVersion: version(n) }));
  const port = await freePort();
  const cases = echoCases(64);
  writeFileSync(path.join(work, 'smoke.jsonl'), cases);
  writeFileSync(
    path.join(work, 'mlship.yml'),
    `version: 1\nname: ${name}\nenvironments:\n  staging:\n    target: swarm\n    service: ${name}-staging\n    replicas: 2\n    port: ${port}\n` +
      `    edge: { image: "${environment.edgeImage.registryReference}" }\n    rollout: { parallelism: 1, order: start-first, delay: 0s, monitor: 1s, timeout: 5m }\n` +
      `smoke:\n  cases: smoke.jsonl\n  requests: ${requests}\n  concurrency: 4\n  deadline: 10m\n`,
  );

  // --- deploy: mlship beside Swarm alone ---------------------------------------------------------
  mlship('deploy', '--env', 'staging', '--image', images[0]); // creates the network, the edge and the service
  const spec = (await docker.getService(`${name}-staging`).inspect()).Spec;
  const stripped = (labels) => Object.fromEntries(Object.entries(labels ?? {}).filter(([key]) => !key.startsWith('mlship.')));
  await docker.createService({
    ...spec,
    Name: twin,
    Labels: stripped(spec.Labels),
    TaskTemplate: {
      ...spec.TaskTemplate,
      ContainerSpec: { ...spec.TaskTemplate.ContainerSpec, Labels: stripped(spec.TaskTemplate.ContainerSpec.Labels) },
      Networks: spec.TaskTemplate.Networks.map(({ Target }) => ({ Target })),
    },
  });
  await swarmUpdate(twin, images[0], { already: true });

  const startUp = median([0, 1, 2].map(() => run([cli, '--version'], 'mlship --version').seconds));
  const deploys = [];
  for (let update = 0; update < updates; update += 1) {
    const image = images[1 + (update % 2)];
    const ours = () => mlship('deploy', '--env', 'staging', '--image', image).seconds;
    const swarms = () => swarmUpdate(twin, image);
    let mlshipSeconds;
    let swarm;
    if (update % 2 === 0) {
      mlshipSeconds = ours();
      swarm = await swarms();
    } else {
      swarm = await swarms();
      mlshipSeconds = ours();
    }
    deploys.push({ mlship: mlshipSeconds, ...swarm });
  }
  await docker.getService(twin).remove();
  await sleep(3000); // the twin's tasks stop: the smoke rounds share the cores with nothing else

  // --- smoke: mlship beside autocannon, one fresh process each per round, alternating ---------------
  const body = JSON.stringify({ rows: [JSON.parse(cases.split('\n')[0]).input] });
  const url = `http://127.0.0.1:${port}/predict`;
  const measured = { mlship: [], autocannon: [] };
  const tools = {
    mlship: () => mlship('smoke', '--env', 'staging').outputs,
    autocannon: () => run([cannonScript, url, body, '4', String(requests)], 'autocannon').outputs,
  };
  for (let round = 0; round < rounds; round += 1) {
    for (const tool of round % 2 === 0 ? ['mlship', 'autocannon'] : ['autocannon', 'mlship']) {
      measured[tool].push(tools[tool]());
      await sleep(500);
    }
  }

  const percentiles = ['p50-ms', 'p95-ms', 'p99-ms'];
  const summary = (tool) => Object.fromEntries(percentiles.map((p) => [p, median(measured[tool].map((r) => r[p]))]));
  const ours = summary('mlship');
  const theirs = summary('autocannon');
  const errors = (tool) => measured[tool].reduce((sum, r) => sum + r.errors, 0);
  console.log(`\nSmoke latency: ${rounds} rounds × ${requests} requests per tool, 4 keep-alive connections, medians over rounds`);
  console.table([
    { tool: 'mlship smoke', ...Object.fromEntries(percentiles.map((p) => [p, ours[p].toFixed(3)])), errors: errors('mlship') },
    { tool: 'autocannon', ...Object.fromEntries(percentiles.map((p) => [p, theirs[p].toFixed(3)])), errors: errors('autocannon') },
  ]);
  console.log('per round, mlship / autocannon:');
  console.table(measured.mlship.map((r, i) => Object.fromEntries(percentiles.map((p) => [p, (r[p] / measured.autocannon[i][p]).toFixed(2)]))));
  // Two views of one comparison: the ratio of the medians, and the median of each round's ratio
  // (paired: the two runs of a round are seconds apart, so they share the machine's state).
  const verdict = (ratio) => `${ratio.toFixed(2)} ${Math.abs(ratio - 1) <= 0.1 ? '(within 10%)' : '(NOT within 10%)'}`;
  for (const p of percentiles) {
    const paired = median(measured.mlship.map((r, i) => r[p] / measured.autocannon[i][p]));
    console.log(`${p.replace('-ms', '')}: mlship / autocannon = ${verdict(ours[p] / theirs[p])} as medians; ${verdict(paired)} round by round`);
  }

  console.log(`\nDeploy of a new digest to 2 replicas (start-first, monitor 1 s), ${updates} updates each`);
  console.table(deploys.map((d) => ({
    'mlship deploy → verified s': d.mlship.toFixed(2),
    'Swarm → update completed s': d.completed.toFixed(2),
    'Swarm → replaced tasks stopped s': d.stopped.toFixed(2),
    'mlship above Swarm s': (d.mlship - d.stopped).toFixed(2),
  })));
  const overhead = median(deploys.map((d) => d.mlship - d.stopped));
  console.log(`mlship's own time: median ${overhead.toFixed(2)} s above Swarm's (target < 2 s) ${overhead < 2 ? '(met)' : '(NOT met)'}; ` +
    `of it, Node start-up and loading the CLI (mlship --version): ${startUp.toFixed(2)} s`);
} finally {
  await docker.getService(twin).remove().catch(() => undefined);
  await removeProjectResources(docker, name);
  await teardown();
  rmSync(work, { recursive: true, force: true });
}

/**
 * Updates `service` to `image` through the Engine API (or, with `already`, waits for it to run it),
 * polling every 50 ms: seconds until Swarm says the update completed with every desired task running
 * the image, and until no task of the old image still runs.
 */
async function swarmUpdate(service, image, { already = false } = {}) {
  const digest = image.split('@')[1];
  const started = process.hrtime.bigint();
  if (!already) {
    const current = await docker.getService(service).inspect();
    const ContainerSpec = { ...current.Spec.TaskTemplate.ContainerSpec, Image: image };
    await docker.getService(service).update({ _query: { version: current.Version.Index }, _body: { ...current.Spec, TaskTemplate: { ...current.Spec.TaskTemplate, ContainerSpec } } });
  }
  let completed;
  for (;;) {
    const inspected = await docker.getService(service).inspect();
    const tasks = await docker.listTasks({ filters: JSON.stringify({ service: [service] }) });
    const desired = tasks.filter((t) => t.DesiredState === 'running');
    const ready = desired.filter((t) => t.Status.State === 'running' && t.Spec.ContainerSpec.Image.includes(digest));
    const state = inspected.UpdateStatus?.State;
    if (completed === undefined && ready.length === inspected.Spec.Mode.Replicated.Replicas && desired.length === ready.length && (state === undefined || state === 'completed')) {
      completed = seconds(started);
    }
    const oldRunning = tasks.filter((t) => t.Status.State === 'running' && !t.Spec.ContainerSpec.Image.includes(digest));
    if (completed !== undefined && oldRunning.length === 0) return { completed, stopped: seconds(started) };
    await sleep(50);
  }
}
