import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileRegistryBackend } from '../../src/adapters/registry/file-backend.js';
import { judgeSmoke, type CaseAnswer } from '../../src/domain/smoke/checks.js';
import { parseSmokeCases } from '../../src/domain/smoke/cases.js';
import { Registry } from '../../src/domain/registry/registry.js';
import type { DeploymentRecord } from '../../src/domain/registry/records.js';
import { ExitCode } from '../../src/errors.js';
import { makeProject, writeTree, type Project } from '../helpers/project.js';

const MODEL = `sha256:${'a'.repeat(64)}`;
const OTHER = `sha256:${'b'.repeat(64)}`;
const DIGEST = `sha256:${'d'.repeat(64)}`;

/** The offline model: a logistic of x − y. */
const score = (row: { x: number; y: number }): number => 1 / (1 + Math.exp(-(row.x - row.y)));
const CASES = Array.from({ length: 20 }, (_, i) => {
  const input = { x: i % 7, y: (i * 3) % 5 };
  return { input, label: score(input) >= 0.5 ? 1 : 0, score: score(input) };
});
const CASES_JSONL = CASES.map((c) => JSON.stringify(c)).join('\n') + '\n';

type Behaviour = 'good' | 'inverted' | 'error500' | 'badjson' | 'skewed';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

/** A model server on loopback speaking the serving contract, misbehaving on demand. */
async function modelServer(behaviour: Behaviour, version = MODEL): Promise<string> {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (c: Buffer) => (body += c.toString()));
    request.on('end', () => {
      if (behaviour === 'error500') {
        response.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"model not loaded"}');
        return;
      }
      const rows = (JSON.parse(body) as { rows: { x: number; y: number }[] }).rows;
      const scores = rows.map((r) => (behaviour === 'inverted' ? 1 - score(r) : behaviour === 'skewed' ? score(r) + 1e-3 : score(r)));
      response.writeHead(200, { 'content-type': 'application/json', 'x-model-version': version, 'x-image-digest': DIGEST });
      response.end(behaviour === 'badjson' ? '{"predictions": [1]}' : JSON.stringify({ scores, model_version: version }));
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function smokeProject(extra = 'smoke:\n  cases: smoke.jsonl\n  requests: 60\n  concurrency: 3\n  min_accuracy: 0.9\n  max_p95_ms: 2000\n'): Project {
  const project = makeProject({ 'data/a.csv': 'a', 'smoke.jsonl': CASES_JSONL });
  writeTree(project.root, { 'mlship.yml': `version: 1\nname: churn\nenvironments:\n  staging: { target: swarm, service: churn-staging, port: 18080 }\n${extra}` });
  return project;
}

async function deployedAt(project: Project, url: string, modelVersion = MODEL): Promise<void> {
  const registry = new Registry(new FileRegistryBackend(path.join(project.root, '.mlship/registry')));
  const record: DeploymentRecord = {
    schema: 1, id: '20261201T000000Z-abcdef', environment: 'staging', service: 'churn-staging', engine: 'unix:///x', image: `127.0.0.1:5000/churn@${DIGEST}`, digest: DIGEST,
    modelVersion, previousDigest: null, previousModelVersion: null, outcome: 'deployed', message: 'ok', unchanged: false, by: 'test',
    startedAt: '2026-12-01T00:00:00Z', finishedAt: '2026-12-01T00:00:10Z', durationSeconds: 10,
  };
  await registry.recordDeployment(record, url);
}

describe('mlship smoke against a live endpoint (loopback model servers)', () => {
  it('passes a model that answers right, the same as offline, as the version deployed; records the smoke test', async () => {
    const project = smokeProject();
    await deployedAt(project, await modelServer('good'));
    const run = await project.run('smoke', '--env', 'staging');
    expect(run.error, run.reporter.text()).toBeUndefined();
    expect(run.result!.outputs).toMatchObject({ passed: true, accuracy: 1, 'max-skew': 0, errors: 0 });
    expect(run.result!.outputs['p95-ms']).toBeGreaterThan(0);
    expect(run.result!.summary).toContain('| model version | = aaaaaaaaaaaa | aaaaaaaaaaaa in every answer | ✅ pass |');
    const registry = new Registry(new FileRegistryBackend(path.join(project.root, '.mlship/registry')));
    const [record] = await registry.smokeRecords('20261201T000000Z-abcdef');
    expect(record).toMatchObject({ passed: true, environment: 'staging', cases: { file: 'smoke.jsonl', count: 20 } });
    expect((await registry.ledger()).map((e) => e.kind)).toEqual(['deployment', 'smoke']);
  });

  it.each<[string, Behaviour, string | undefined, string]>([
    ['a wrong model (scores inverted): accuracy and skew fail', 'inverted', undefined, 'training/serving skew: max |live − offline| 9.87e-1'],
    ['a server that answers 500', 'error500', undefined, 'answers (HTTP 200, well-formed): 0 of 60'],
    ['wrong JSON', 'badjson', undefined, 'expected {"scores": [<one number>]}'],
    ['the wrong model version (a stale task still serving)', 'good', OTHER, 'model version: 60 answers from bbbbbbbbbbbb'],
    ['scores that drift from the offline ones', 'skewed', undefined, 'training/serving skew: max |live − offline| 1.00e-3'],
  ])('fails with exit 1 on %s', async (_name, behaviour, version, message) => {
    const project = smokeProject();
    await deployedAt(project, await modelServer(behaviour, version));
    const run = await project.run('smoke', '--env', 'staging');
    expect(run.exitCode).toBe(ExitCode.CheckFailed);
    expect(run.result!.failure).toContain(message);
    expect(run.result!.outputs.passed).toBe(false);
  });

  it('reports thresholds the config does not set, without gating on them', async () => {
    const project = smokeProject('smoke:\n  cases: smoke.jsonl\n  requests: 20\n');
    const run = await project.run('smoke', '--url', await modelServer('good'));
    expect(run.error).toBeUndefined();
    expect(run.result!.summary).toContain('| accuracy | — | 1.0000 on 20 labelled cases | ℹ️ reported |');
    expect(run.result!.summary).toContain('| latency p95 | — |');
  });

  it('an endpoint nobody answers on: exit 3 naming it, within the deadline', async () => {
    const project = smokeProject('smoke:\n  cases: smoke.jsonl\n  requests: 10\n  timeout: 1s\n');
    const run = await project.run('smoke', '--url', 'http://127.0.0.1:9/');
    expect(run.exitCode).toBe(ExitCode.Infrastructure);
    expect(run.error?.message).toContain('the endpoint http://127.0.0.1:9/ cannot be reached: no answer: connect ECONNREFUSED 127.0.0.1:9');
  });

  it.each([
    ['missing', undefined, 'the smoke cases file smoke.jsonl does not exist'],
    ['empty', '', 'smoke.jsonl: no cases (the file is empty)'],
    ['malformed', `${JSON.stringify(CASES[0])}\n{"input": {"x": 1}, "label": 2}\n`, 'smoke.jsonl:2: "label" must be 0 or 1, got 2'],
    ['not JSON', 'x\n', 'smoke.jsonl:1: not JSON'],
  ])('a cases file that is %s: exit 2, naming the line', async (_name, content, message) => {
    const project = smokeProject();
    const { rmSync } = await import('node:fs');
    if (content === undefined) rmSync(path.join(project.root, 'smoke.jsonl'));
    else writeTree(project.root, { 'smoke.jsonl': content });
    const run = await project.run('smoke', '--url', 'http://127.0.0.1:9/');
    expect(run.exitCode).toBe(ExitCode.Usage);
    expect(run.error?.message).toContain(message);
  });

  it('needs a deployment, an environment or a URL', async () => {
    const project = smokeProject();
    expect((await project.run('smoke')).error?.message).toContain('needs --env NAME');
    expect((await project.run('smoke', '--env', 'prod')).error?.message).toContain('mlship.yml has no environment "prod" (it has staging)');
    expect((await project.run('smoke', '--env', 'staging')).error?.message).toContain('nothing was deployed to staging by mlship');
  });
});

describe('judgeSmoke', () => {
  const cases = parseSmokeCases(CASES_JSONL, 'smoke.jsonl');
  const answer = (i: number, extra: Partial<CaseAnswer> = {}): CaseAnswer => ({ caseIndex: i, status: 200, score: CASES[i]!.score, modelVersion: MODEL, latencyMs: 10 + i, ...extra });

  it('takes the worst skew over every answer, and counts an unlabelled run as not measured', () => {
    const answers = [...CASES.map((_, i) => answer(i)), answer(3, { score: CASES[3]!.score + 5e-7 })];
    const judged = judgeSmoke(cases, answers, { maxSkew: 1e-6, maxErrorRate: 0, threshold: 0.5 }, { modelVersion: MODEL });
    expect(judged.passed).toBe(true);
    expect(judged.maxSkew).toBeCloseTo(5e-7, 12);
    expect(judged.worstSkew[0]!.line).toBe(4);
  });

  it('fails a gated check it cannot measure', () => {
    const unlabelled = parseSmokeCases('{"input": {"x": 1, "y": 0}}\n', 'u.jsonl');
    const judged = judgeSmoke(unlabelled, [{ caseIndex: 0, status: 200, score: 0.7, latencyMs: 5 }], { minAccuracy: 0.9, maxSkew: 1e-6, maxErrorRate: 0, threshold: 0.5 }, {});
    expect(judged.checks.find((c) => c.check === 'accuracy')).toMatchObject({ verdict: 'fail', observed: 'no labelled cases' });
    expect(judged.checks.find((c) => c.check === 'training/serving skew')).toMatchObject({ verdict: 'fail', observed: 'no offline scores in the cases' });
  });

  it('allows errors up to the rate set', () => {
    const answers = CASES.map((_, i) => (i === 0 ? { caseIndex: 0, status: 0, problem: 'no answer: ECONNRESET', latencyMs: 3 } : answer(i)));
    expect(judgeSmoke(cases, answers, { maxSkew: 1e-6, maxErrorRate: 0, threshold: 0.5 }, {}).passed).toBe(false);
    expect(judgeSmoke(cases, answers, { maxSkew: 1e-6, maxErrorRate: 0.05, threshold: 0.5 }, {}).passed).toBe(true);
  });
});
