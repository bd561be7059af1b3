// Benchmark for `mlship deploy` and `mlship smoke` (issue 9), on the test Swarm (test/infra):
//
// 1. Smoke latency: mlship smoke's p50/p95/p99 against the edge, beside autocannon's on the same
//    endpoint, load and request (one case, POST /predict, the same keep-alive connections), run
//    side by side in this process. Target: mlship within 10% of autocannon.
// 2. Deploy time: `mlship deploy` of a new digest to a 2-replica service, from start to verified,
//    beside the time Swarm itself needs for the same update of a twin service driven straight
//    through the Engine API and polled every 50 ms. Target: mlship's overhead under 2 s.
//
//   node bench/deploy-smoke.mjs [--requests N]
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import * as hdr from 'hdr-histogram-js';
import { cli, swarmBench } from './swarm.mjs';

const requests = Number(process.argv[process.argv.indexOf('--requests') + 1]) || 4000;
const { environment, docker, fixtures, work, env, teardown } = await swarmBench('deploy');
const { echoCases, echoVariant, freePort, removeProjectResources } = fixtures;
const name = `bench${process.pid}`;
const mlship = (...args) => {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: work, env, encoding: 'utf8', maxBuffer: 1 << 26 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`mlship ${args.join(' ')} failed (${result.status}):\n${result.stderr.slice(-3000)}`);
  return { seconds, outputs: JSON.parse(result.stdout) };
};
const percentile = (histogram, p) => histogram.getValueAtPercentile(p) / 1000;

try {
  const version = (n) => `sha256:${String(n).repeat(64)}`;
  const images = [];
  for (const n of [1, 2, 3]) images.push(await echoVariant(docker, { base: environment.echoModelImage.tag, registry: environment.registry.address, name: `bench-echo-${n}-${process.pid}`, modelVersion: version(n) }));
  const port = await freePort();
  const cases = echoCases(64);
  writeFileSync(path.join(work, 'smoke.jsonl'), cases);
  const rollout = '{ parallelism: 1, order: start-first, delay: 0s, monitor: 1s, timeout: 5m }';
  writeFileSync(
    path.join(work, 'mlship.yml'),
    `version: 1\nname: ${name}\nenvironments:\n  staging:\n    target: swarm\n    service: ${name}-staging\n    replicas: 2\n    port: ${port}\n    edge: { image: "${environment.edgeImage.registryReference}" }\n    rollout: ${rollout}\nsmoke:\n  cases: smoke.jsonl\n  requests: ${requests}\n  concurrency: 4\n  deadline: 10m\n`,
  );

  // --- deploy: mlship beside Swarm alone ---------------------------------------------------------
  mlship('--json', 'deploy', '--env', 'staging', '--image', images[0]); // creates the edge and the service
  const mlshipUpdate = mlship('--json', 'deploy', '--env', 'staging', '--image', images[1]);
  const twin = `${name}-twin`;
  const spec = (await docker.getService(`${name}-staging`).inspect()).Spec;
  spec.Name = twin;
  spec.TaskTemplate.ContainerSpec.Image = images[1];
  spec.TaskTemplate.Networks = [];
  await docker.createService(spec);
  await converged(twin, images[1].split('@')[1]);
  const service = await docker.getService(twin).inspect();
  const started = process.hrtime.bigint();
  await docker.getService(twin).update({ _query: { version: service.Version.Index }, _body: { ...service.Spec, TaskTemplate: { ...service.Spec.TaskTemplate, ContainerSpec: { ...service.Spec.TaskTemplate.ContainerSpec, Image: images[2] } } } });
  await converged(twin, images[2].split('@')[1]);
  const swarmSeconds = Number(process.hrtime.bigint() - started) / 1e9;

  // --- smoke: mlship beside autocannon, alternating (two rounds each), so neither gets the warm or the cold end ---
  const body = JSON.stringify({ rows: [JSON.parse(cases.split('\n')[0]).input] });
  const reference = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
  const ours = { 'p50-ms': [], 'p95-ms': [], 'p99-ms': [], errors: 0 };
  let cannonRequests = 0;
  let cannonErrors = 0;
  for (let round = 0; round < 2; round += 1) {
    const cannon = await new Promise((resolve, reject) => {
      const instance = autocannon({ url: `http://127.0.0.1:${port}/predict`, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections: 4, amount: requests }, (error, result) => (error ? reject(error) : resolve(result)));
      instance.on('response', (_client, _status, _bytes, responseTime) => reference.recordValue(Math.max(1, Math.round(responseTime * 1000))));
    });
    cannonRequests += cannon.requests.total;
    cannonErrors += cannon.errors + cannon.non2xx;
    const run = mlship('--json', 'smoke', '--env', 'staging').outputs;
    for (const key of ['p50-ms', 'p95-ms', 'p99-ms']) ours[key].push(run[key]);
    ours.errors += run.errors;
  }
  const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;
  const smoke = { outputs: { 'p50-ms': mean(ours['p50-ms']), 'p95-ms': mean(ours['p95-ms']), 'p99-ms': mean(ours['p99-ms']), errors: ours.errors } };
  const cannon = { requests: { total: cannonRequests }, errors: cannonErrors, non2xx: 0 };

  console.table([
    { tool: `mlship smoke (2 × ${requests} requests, 4 connections)`, 'p50 ms': smoke.outputs['p50-ms'].toFixed(2), 'p95 ms': smoke.outputs['p95-ms'].toFixed(2), 'p99 ms': smoke.outputs['p99-ms'].toFixed(2), errors: smoke.outputs.errors },
    { tool: `autocannon (${cannon.requests.total} requests in 2 runs, 4 connections)`, 'p50 ms': percentile(reference, 50).toFixed(2), 'p95 ms': percentile(reference, 95).toFixed(2), 'p99 ms': percentile(reference, 99).toFixed(2), errors: cannon.errors + cannon.non2xx },
  ]);
  for (const p of [50, 95, 99]) {
    const ratio = smoke.outputs[`p${p}-ms`] / percentile(reference, p);
    console.log(`p${p}: mlship / autocannon = ${ratio.toFixed(2)} (target within 10%: 0.90–1.10)`);
  }
  console.table([
    { update: 'mlship deploy, 2 replicas, new digest (start → verified through the edge)', seconds: mlshipUpdate.seconds.toFixed(2) },
    { update: 'Swarm alone: the same update of a twin service, polled every 50 ms', seconds: swarmSeconds.toFixed(2) },
  ]);
  console.log(`mlship's own time: ${(mlshipUpdate.seconds - swarmSeconds).toFixed(2)} s above Swarm's (target < 2 s; includes node start-up, the registry lookup and the edge check)`);
  reference.destroy();
} finally {
  await docker.getService(`${name}-twin`).remove().catch(() => undefined);
  await removeProjectResources(docker, name);
  await teardown();
  rmSync(work, { recursive: true, force: true });
}

/** Until every running task of the service runs `digest` and the update (if any) completed. */
async function converged(service, digest) {
  for (;;) {
    const inspected = await docker.getService(service).inspect();
    const tasks = await docker.listTasks({ filters: JSON.stringify({ service: [service], 'desired-state': ['running'] }) });
    const running = tasks.filter((t) => t.Status.State === 'running' && t.Spec.ContainerSpec.Image.includes(digest));
    const state = inspected.UpdateStatus?.State;
    if (running.length === inspected.Spec.Mode.Replicated.Replicas && tasks.length === running.length && (state === undefined || state === 'completed')) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
