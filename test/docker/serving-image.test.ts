/**
 * The example's serving image (templates/churn) under mlship's serving contract, for real: the
 * example is trained with Debian's python3, its image built by `mlship build`, run with the
 * contract's environment and a published port, and asked over HTTP what mlship's smoke test and
 * rollouts will ask. Prints (informational, never asserted): image size, build time, time to
 * healthy, and the p50 latency of a one-row /predict.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { contextFiles } from '../../src/adapters/docker/build-context.js';
import { dockerClient, requireDockerEnvironment } from '../infra/docker-environment.js';
import { churnExample, debianPython, ensureDebianScikitLearn, type ChurnExample, type SmokeCase } from '../helpers/churn-example.js';
import { firstAnswer, request, startModelContainer, waitExited, waitHealthy, type ModelContainer } from '../helpers/model-container.js';

const environment = requireDockerEnvironment(inject('dockerEnvironment'));
const docker = dockerClient(environment.dockerHost);
const repository = `${environment.registry.address}/churn-serving-${process.pid}`;
/** What the scores may differ by from the offline ones (mlship's smoke test allows 1e-6). */
const SCORE_TOLERANCE = 1e-9;

let example: ChurnExample;
let image: { tags: string[]; id: string; modelVersion: string };
let served: ModelContainer;
const figures: string[] = [];
const others: ModelContainer[] = [];
const directories: string[] = [];

beforeAll(async () => {
  process.env.DOCKER_HOST = environment.dockerHost;
  ensureDebianScikitLearn();
  example = await churnExample(repository);
  const trained = await example.run('train');
  if (trained.error) throw trained.error;
  const started = performance.now();
  const built = await example.run('build');
  if (built.error) throw new Error(`mlship build failed: ${built.error.message}\n${built.reporter.text()}`);
  const outputs = built.result!.outputs as { tags: string[]; labels: Record<string, string> };
  const reference = `${repository}:${outputs.tags[0]}`;
  const inspected = await docker.getImage(reference).inspect();
  image = { tags: outputs.tags.map((tag) => `${repository}:${tag}`), id: inspected.Id, modelVersion: outputs.labels['mlship.model-version']! };
  const cache = /\d+ of \d+ steps from the layer cache/.exec(built.reporter.text())?.[0] ?? 'cache use not reported';
  figures.push(`image ${(inspected.Size / 1e6).toFixed(0)} MB, built in ${((performance.now() - started) / 1000).toFixed(1)} s (${cache})`);

  served = await startModelContainer(docker, reference, { env: contractEnvironment() });
  await waitHealthy(served);
  figures.push(`healthy ${((performance.now() - served.startedAt) / 1000).toFixed(1)} s after start`);
}, 30 * 60_000);

afterAll(async () => {
  for (const model of [served, ...others]) await model?.remove();
  // noprune: the dependency layers stay in the engine as the next build's cache.
  for (const tag of image?.tags ?? []) await docker.getImage(tag).remove({ noprune: true });
  example?.remove();
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
  if (figures.length > 0) process.stderr.write(`[serving image] ${figures.join('; ')}\n`);
});

/** What mlship passes to a model service. The image ID stands in for the registry digest of a pushed image. */
function contractEnvironment(): Record<string, string> {
  return {
    MLSHIP_MODEL_VERSION: image.modelVersion,
    MLSHIP_DATA_VERSION: 'sha256:data-version-of-the-test',
    MLSHIP_ENVIRONMENT: 'test',
    MLSHIP_IMAGE_DIGEST: image.id,
  };
}

function predictBody(rows: SmokeCase['input'][]): string {
  return JSON.stringify({ rows });
}

/** A directory the container's user (not root) can read, removed after the run. */
function sharedDirectory(): string {
  const directory = mkdtempSync(path.join(tmpdir(), 'mlship-serving-'));
  chmodSync(directory, 0o755);
  directories.push(directory);
  return directory;
}

/** The value of one sample of a Prometheus text exposition, by name and (a subset of) its labels. */
function sample(exposition: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of exposition.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}

describe('the churn example serving image (mlship serving contract)', () => {
  it('is built from the server and the model only, runs as a non-root user, exposes 8080 and checks its own health', async () => {
    expect(contextFiles(example.root, 'Dockerfile')).toEqual(['.dockerignore', 'Dockerfile', 'model/model.pkl', 'serve.py']);
    const config = (await docker.getImage(image.id).inspect()).Config as { User: string; ExposedPorts: Record<string, unknown>; Healthcheck?: { Test: string[] }; StopSignal?: string };
    expect(config.User).toBe('10001');
    expect(Object.keys(config.ExposedPorts)).toEqual(['8080/tcp']);
    expect(config.Healthcheck?.Test.join(' ')).toContain('/health');
    expect(config.StopSignal).toBe('SIGTERM');
  });

  it('train.py writes smoke.jsonl: the first 200 test rows, their labels and the offline scores of predictions.csv', () => {
    const table = (file: string): Record<string, string>[] => {
      const [header, ...lines] = readFileSync(path.join(example.root, file), 'utf8').trim().split('\n');
      return lines.map((line) => Object.fromEntries(line.split(',').map((value, i) => [header!.split(',')[i]!, value])));
    };
    const test = table('data/test.csv');
    const predictions = table('predictions.csv');
    const cases = example.smokeCases();
    expect(cases).toHaveLength(200);
    cases.forEach((smoke, i) => {
      const { customer_id: _id, churned, ...features } = test[i]!;
      expect(smoke.input).toEqual(Object.fromEntries(Object.entries(features).map(([k, v]) => [k, k === 'contract' ? v : Number(v)])));
      expect(smoke.label).toBe(Number(churned));
      expect(smoke.score).toBe(Number(predictions[i]!.score));
    });
  });

  it('GET /health: 200 once the model is loaded, which is what made the HEALTHCHECK pass', async () => {
    expect((await served.container.inspect()).State.Health?.Status).toBe('healthy');
    const health = await request(served, '/health');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok', model_version: image.modelVersion });
  });

  it('POST /predict scores every smoke case as the offline predictions did, with the version headers', async () => {
    const cases = example.smokeCases();
    expect(cases).toHaveLength(200);
    const latencies: number[] = [];
    let largest = 0;
    for (const smoke of cases) {
      const started = performance.now();
      const answer = await request(served, '/predict', { body: predictBody([smoke.input]) });
      latencies.push(performance.now() - started);
      expect(answer.status, answer.text).toBe(200);
      expect(answer.headers.get('x-model-version')).toBe(image.modelVersion);
      expect(answer.headers.get('x-image-digest')).toBe(image.id);
      const body = answer.body as { scores: number[]; model_version: string };
      expect(body.model_version).toBe(image.modelVersion);
      expect(body.scores).toHaveLength(1);
      expect(Math.abs(body.scores[0]! - smoke.score), `row ${JSON.stringify(smoke.input)}`).toBeLessThanOrEqual(SCORE_TOLERANCE);
      largest = Math.max(largest, Math.abs(body.scores[0]! - smoke.score));
    }
    // All rows in one request score the same as one at a time.
    const batch = await request(served, '/predict', { body: predictBody(cases.map((c) => c.input)) });
    const scores = (batch.body as { scores: number[] }).scores;
    expect(scores).toHaveLength(cases.length);
    scores.forEach((score, i) => expect(Math.abs(score - cases[i]!.score)).toBeLessThanOrEqual(SCORE_TOLERANCE));
    largest = Math.max(largest, ...scores.map((score, i) => Math.abs(score - cases[i]!.score)));
    latencies.sort((a, b) => a - b);
    figures.push(`one-row /predict p50 ${latencies[Math.floor(latencies.length / 2)]!.toFixed(2)} ms over ${latencies.length}; largest |live - offline| ${largest}`);
  });

  it('GET /metrics: Prometheus text with the model version and the requests and latency of each endpoint', async () => {
    const before = await request(served, '/metrics');
    expect(before.status).toBe(200);
    expect(before.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const predicted = (text: string): number => sample(text, 'mlship_http_requests_total', { endpoint: '/predict', method: 'POST', status: '200' }) ?? 0;
    const timed = (text: string): number => sample(text, 'mlship_http_request_duration_seconds_count', { endpoint: '/predict' }) ?? 0;
    const [smoke] = example.smokeCases();
    for (let i = 0; i < 3; i++) expect((await request(served, '/predict', { body: predictBody([smoke!.input]) })).status).toBe(200);
    await request(served, '/health');
    const after = (await request(served, '/metrics')).text;
    expect(predicted(after) - predicted(before.text)).toBe(3);
    expect(timed(after) - timed(before.text)).toBe(3);
    expect(sample(after, 'mlship_http_requests_total', { endpoint: '/health', method: 'GET', status: '200' })).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'mlship_model_info', { model_version: image.modelVersion, image_digest: image.id, environment: 'test' })).toBe(1);
    expect(sample(after, 'mlship_model_loaded')).toBe(1);
  });

  it.each([
    ['a missing feature', predictBody([{ tenure_months: 12, monthly_charges: 70.5, support_calls: 2, usage_gb: 30.1 }]), ['body', 'rows', 0, 'contract']],
    ['a number given as text', predictBody([{ tenure_months: '12', monthly_charges: 70.5, support_calls: 2, contract: 'monthly', usage_gb: 30.1 }]), ['body', 'rows', 0, 'tenure_months']],
    ['no rows', '{"rows": []}', ['body', 'rows']],
    ['rows that are not a list', '{"rows": {"tenure_months": 12}}', ['body', 'rows']],
    ['a body that is not JSON', '{"rows": [', ['body']],
  ])('bad input, %s: 422 with a JSON error naming what is wrong', async (_name, body, location) => {
    const answer = await request(served, '/predict', { body });
    expect(answer.status, answer.text).toBe(422);
    const detail = (answer.body as { detail: { loc: (string | number)[]; msg: string }[] }).detail;
    expect(detail.some((error) => location.every((part, i) => error.loc[i] === part)), answer.text).toBe(true);
    expect(answer.headers.get('x-model-version')).toBe(image.modelVersion);
  });

  it('answers 503 on /health and /predict until the model is loaded, and is not healthy before (on the PORT it is given)', async () => {
    // The model comes through a FIFO: loading waits, deterministically, until the test writes it.
    const directory = sharedDirectory();
    const fifo = path.join(directory, 'model.pkl');
    execFileSync('mkfifo', ['-m', '0644', fifo]);
    const { MLSHIP_IMAGE_DIGEST: _digest, ...withoutDigest } = contractEnvironment();
    const loading = await startModelContainer(docker, image.tags[0]!, {
      env: { ...withoutDigest, MODEL_PATH: '/srv/pending/model.pkl' },
      binds: [`${directory}:/srv/pending:ro`],
      port: 9090,
    });
    others.push(loading);
    const health = await firstAnswer(loading, '/health');
    expect(health.status, health.text).toBe(503);
    expect(health.body).toEqual({ status: 'loading', model_version: image.modelVersion });
    expect(health.headers.get('x-model-version')).toBe(image.modelVersion);
    expect(health.headers.get('x-image-digest')).toBeNull();
    const predict = await request(loading, '/predict', { body: predictBody([example.smokeCases()[0]!.input]) });
    expect(predict.status, predict.text).toBe(503);
    expect((await loading.container.inspect()).State.Health?.Status).not.toBe('healthy');

    await writeFile(fifo, readFileSync(path.join(example.root, 'model/model.pkl')));
    // The HEALTHCHECK asks $PORT (9090 here): healthy means it found the server there.
    await waitHealthy(loading);
    expect((await request(loading, '/health')).status).toBe(200);
  });

  it.each([
    [
      'pickled by another scikit-learn',
      'import pickle, sklearn.base\nmodel = pickle.load(open("model/model.pkl", "rb"))\nsklearn.base.__version__ = "0.24.2"\npickle.dump(model, open(OUT, "wb"))',
      /Trying to unpickle estimator \w+ from version 0\.24\.2/,
    ],
    [
      'trained on other features',
      'import pickle, pandas as pd\nfrom sklearn.linear_model import LogisticRegression\nframe = pd.DataFrame({"age": [1.0, 2.0, 3.0, 4.0]})\npickle.dump(LogisticRegression().fit(frame, [0, 1, 0, 1]), open(OUT, "wb"))',
      /the model was trained on \['age'\], but this server reads/,
    ],
  ])('a model %s cannot score as offline: the server exits 1 saying why, never healthy', async (_name, script, message) => {
    const directory = sharedDirectory();
    debianPython(`OUT = ${JSON.stringify(path.join(directory, 'model.pkl'))}\n${script}`, example.root);
    chmodSync(path.join(directory, 'model.pkl'), 0o644);
    const refused = await startModelContainer(docker, image.tags[0]!, { env: contractEnvironment(), binds: [`${directory}:/srv/model:ro`] });
    others.push(refused);
    expect(await waitExited(refused)).toBe(1);
    expect(await refused.logs()).toMatch(message);
    expect((await refused.container.inspect()).State.Health?.Status).not.toBe('healthy');
  });

  it('stops on SIGTERM by itself (exit 0, not killed after the grace period)', async () => {
    const started = performance.now();
    // SIGTERM (the image's STOPSIGNAL), then SIGKILL after 10 s: exit 137 would mean it ignored SIGTERM.
    await served.container.stop({ t: 10 });
    const stopped = performance.now() - started;
    const state = (await served.container.inspect()).State;
    expect(state.ExitCode, await served.logs()).toBe(0);
    expect(await served.logs()).toContain('Finished server process');
    figures.push(`stopped ${(stopped / 1000).toFixed(1)} s after SIGTERM`);
  });
});
