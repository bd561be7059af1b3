// Benchmark for `mlship promote` (issue 10), on the test Swarm (test/infra), with a steady load of
// about 1,000 requests a second through the production edge from a second process (autocannon):
//
// 1. a good promotion of 3 replicas: failed requests (target 0), and the promotion's duration beside
//    the sum of the rollout's configured delays and monitors (mlship's overhead);
// 2. promotions that are rolled back, one with a failing health check (Swarm rolls back) and one with
//    a wrong model (mlship's analysis rolls back): failed requests (target 0), and the time from the
//    breach, as mlship observed it, to the verified rollback (target < 30 s).
//
//   node bench/promote.mjs [--rate 1000]
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cli, root, swarmBench } from './swarm.mjs';

const rate = Number(process.argv[process.argv.indexOf('--rate') + 1]) || 1000;
const { environment, docker, fixtures, work, env, teardown } = await swarmBench('promote');
const { echoCases, echoVariant, freePort, removeProjectResources } = fixtures;
const name = `benchp${process.pid}`;
const mlship = (...args) => {
  const result = spawnSync(process.execPath, [cli, '--json', ...args], { cwd: work, env, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (result.status !== 0 && result.status !== 1) throw new Error(`mlship ${args.join(' ')} failed (${result.status}):\n${result.stderr.slice(-3000)}`);
  return { status: result.status, outputs: JSON.parse(result.stdout) };
};
const rollout = { parallelism: 1, delay: '1s', monitor: '3s' };

/** A second process sending `rate` requests a second through the edge until told to stop. */
function startLoad(port) {
  const script = `
    const autocannon = require(${JSON.stringify(path.join(root, 'node_modules/autocannon'))});
    const instance = autocannon({ url: 'http://127.0.0.1:${port}/predict', method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rows: [{ tenure: 1, calls: 2 }] }), connections: 16, overallRate: ${rate}, duration: 3600, timeout: 10 },
      (error, result) => { process.stdout.write(JSON.stringify(error ? { error: String(error) } : { total: result.requests.total, sent: result.requests.sent, errors: result.errors, timeouts: result.timeouts, non2xx: result.non2xx, seconds: result.duration })); process.exit(0); });
    process.on('SIGTERM', () => instance.stop());`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  return {
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve(JSON.parse(output)));
        child.kill('SIGTERM');
      }),
  };
}

const timelineOf = (id) => JSON.parse(readFileSync(path.join(work, '.mlship/registry/deployments', `${id}.json`), 'utf8'));
const at = (record, pattern) => record.timeline.find((t) => pattern.test(t.event))?.atMs;
const rows = [];

try {
  const images = {};
  for (const [key, digit, extra] of [['good1', 1, {}], ['good2', 2, {}], ['sick', 3, { env: { FAIL_HEALTH: '1' } }], ['wrong', 4, { env: { INVERT: '1' } }]]) {
    images[key] = await echoVariant(docker, { base: environment.echoModelImage.tag, registry: environment.registry.address, name: `benchp-${key}-${process.pid}`, modelVersion: `sha256:${String(digit).repeat(64)}`, ...extra });
  }
  const [stagingPort, productionPort] = [await freePort(), await freePort()];
  writeFileSync(path.join(work, 'smoke.jsonl'), echoCases(64));
  const edge = `edge: { image: "${environment.edgeImage.registryReference}" }`;
  writeFileSync(
    path.join(work, 'mlship.yml'),
    [
      'version: 1',
      `name: ${name}`,
      'environments:',
      `  staging: { target: swarm, service: ${name}-staging, replicas: 1, port: ${stagingPort}, ${edge} }`,
      `  production:`,
      `    target: swarm`,
      `    service: ${name}-production`,
      `    replicas: 3`,
      `    port: ${productionPort}`,
      `    ${edge}`,
      `    rollout: { parallelism: ${rollout.parallelism}, order: start-first, delay: ${rollout.delay}, monitor: ${rollout.monitor}, timeout: 5m, analysis: { interval: 1s, cases: 10, max_p95_ms: 1000 } }`,
      'smoke: { cases: smoke.jsonl, requests: 200, concurrency: 4, min_accuracy: 0.9, max_p95_ms: 1000 }',
      '',
    ].join('\n'),
  );
  const stage = (image) => {
    mlship('deploy', '--env', 'staging', '--image', image);
    if (!mlship('smoke', '--env', 'staging').outputs.passed) throw new Error('staging smoke failed');
  };
  stage(images.good1);
  mlship('promote', '--from', 'staging', '--to', 'production');

  const configuredMs = 3 * (1000 + 3000);
  stage(images.good2);
  let load = startLoad(productionPort);
  const good = mlship('promote', '--from', 'staging', '--to', 'production');
  let traffic = await load.stop();
  rows.push({ promotion: 'good candidate, 3 replicas', outcome: good.outputs.outcome, 'duration s': good.outputs['duration-s'], 'configured delays + monitors s': configuredMs / 1000, requests: traffic.total, 'req/s': Math.round(traffic.total / traffic.seconds), failed: traffic.errors + traffic.timeouts + traffic.non2xx, 'breach → verified rollback s': '' });

  for (const [label, image] of [['failing health check (Swarm rolls back)', images.sick], ['wrong model (analysis rolls back)', images.wrong]]) {
    load = startLoad(productionPort);
    const bad = mlship('promote', '--to', 'production', '--image', image);
    traffic = await load.stop();
    const record = timelineOf(lastPromotion());
    const breachAt = at(record, /^(analysis breach|rolled back|timed out|failed|paused)|rollback started by mlship|Swarm rolls back/);
    const verifiedAt = at(record, /^rollback verified/);
    rows.push({ promotion: label, outcome: bad.outputs.outcome, 'duration s': bad.outputs['duration-s'], 'configured delays + monitors s': '', requests: traffic.total, 'req/s': Math.round(traffic.total / traffic.seconds), failed: traffic.errors + traffic.timeouts + traffic.non2xx, 'breach → verified rollback s': breachAt !== undefined && verifiedAt !== undefined ? ((verifiedAt - breachAt) / 1000).toFixed(1) : 'n/a' });
  }
  console.table(rows);
  console.log(`targets: 0 failed requests in every row; breach → verified rollback < 30 s; a good promotion's duration beside ${configuredMs / 1000} s of configured delays and monitors (3 tasks × (1 s delay + 3 s monitor)) is mlship's and Swarm's overhead`);
} finally {
  await removeProjectResources(docker, name);
  await teardown();
  rmSync(work, { recursive: true, force: true });
}

/** The newest promotion in the ledger. */
function lastPromotion() {
  const ledger = readFileSync(path.join(work, '.mlship/registry/history/ledger.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
  return [...ledger].reverse().find((entry) => entry.kind === 'promotion').id;
}
