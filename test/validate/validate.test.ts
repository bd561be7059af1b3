import { cpSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { validate, scriptOf } from '../../src/commands/validate/validate.js';
import { runIn, temporaryDirectory, treeHashes, writeTree } from '../helpers/project.js';
import { TEMPLATE } from '../helpers/churn-example.js';

function churnCopy(): string {
  const root = temporaryDirectory('mlship-validate-');
  cpSync(TEMPLATE, root, { recursive: true });
  return root;
}

const MINIMAL = 'version: 1\nname: demo\n';

describe('mlship validate', () => {
  it('accepts the example and prints it with every default filled in, as the commands read it', async () => {
    const root = churnCopy();
    const { exitCode, error, result } = await runIn(root, ['validate']);
    expect(error).toBeUndefined();
    expect(exitCode).toBe(0);
    const config = result!.outputs.config as Record<string, any>;
    expect(result!.outputs.valid).toBe(true);
    const written = parseYaml(readFileSync(path.join(root, 'mlship.yml'), 'utf8'));
    expect(config.smoke).toMatchObject({ cases: 'smoke.jsonl', requests: written.smoke.requests, max_error_rate: 0, timeout: '5s', deadline: '2m' });
    expect(config.registry).toEqual({ store: 'git', branch: 'mlship-registry' });
    expect(config.image).toMatchObject({ context: '.', dockerfile: 'Dockerfile', push: false, tags: ['{model_version_short}', 'sha-{git_sha_short}'] });
    expect(config.environments.staging).toMatchObject({ replicas: 1, container_port: 8080, url: expect.stringMatching(/^http:\/\//), edge: { image: 'nginx:1.27-alpine' } });
    // Analysis thresholds default to the smoke section's, as the rollout applies them.
    expect(config.environments.staging.rollout).toMatchObject({
      parallelism: 1,
      delay: '0s',
      monitor: '5s',
      timeout: '5m',
      analysis: { interval: '2s', cases: 20, min_samples: 10, max_p95_ms: written.smoke.max_p95_ms, min_accuracy: written.smoke.min_accuracy },
    });
    expect(config.environments.production.rollout.analysis).toMatchObject({ ...written.environments.production.rollout.analysis, max_error_rate: 0 });
    expect(config.evaluate.gates[1]).toEqual({ metric: 'auc', baseline: 'production', max_drop: 0.01, relative: false });
    expect(config.train.log_tail).toBe(50);
    // The CLI prints it as YAML without --json: the same object.
    expect(parseYaml(validate.primaryText!(result!.outputs))).toEqual(config);
  });

  it('writes nothing and takes no lock', async () => {
    const root = churnCopy();
    const before = treeHashes(root);
    await runIn(root, ['validate']);
    expect(treeHashes(root)).toEqual(before);
    expect(existsSync(path.join(root, '.mlship'))).toBe(false);
  });

  it('lists every problem at once, each with its line and path, and exits 2', async () => {
    const root = temporaryDirectory('mlship-validate-');
    writeTree(root, {
      'mlship.yml': [
        MINIMAL.trimEnd(),
        'data:',
        '  paths: [data/train.csv, data/missing.csv]',
        'train:',
        '  command: python3 src/train.py --fast',
        '  params: params.yaml',
        '  outputs: { model: model, metrics: metrics.json }',
        'evaluate:',
        '  gates:',
        '    - { metric: auc }',
        '    - { metric: acuracy, min: 0.8 }',
        'image:',
        '  repository: ghcr.io/acme/demo',
        '  dockerfile: serve.Dockerfile',
        'environments:',
        '  staging: { target: swarm, service: demo-staging, port: 8080 }',
        '  production: { target: swarm, service: demo, port: 8080 }',
        'smoke:',
        '  cases: smoke.jsonl',
        '',
      ].join('\n'),
      'data/train.csv': 'a,label\n1,0\n',
      'metrics.json': '{"loss": 0.3}',
      'smoke.jsonl': '{"input": {"a": 1}, "label": 0}\n{"input": 5}\n',
    });
    const { exitCode, error } = await runIn(root, ['validate']);
    expect(exitCode).toBe(2);
    const message = error!.message;
    expect(message).toContain('mlship.yml: 8 problems');
    expect(message).toMatch(/mlship\.yml:4:\d+ data\.paths\[1\]: "data\/missing\.csv" does not exist and mlship\.lock does not pin it/);
    expect(message).toMatch(/mlship\.yml:6:\d+ train\.command: the script "src\/train\.py" does not exist/);
    expect(message).toMatch(/mlship\.yml:7:\d+ train\.params: the params file "params\.yaml" does not exist/);
    expect(message).toMatch(/mlship\.yml:11:\d+ evaluate\.gates\[0\]: a gate needs a rule/);
    expect(message).toMatch(/mlship\.yml:12:\d+ evaluate\.gates\[1\]\.metric: unknown metric "acuracy": expected one of auc, .*or a metric metrics\.json has \(loss\)/);
    expect(message).toMatch(/mlship\.yml:15:\d+ image\.dockerfile: no Dockerfile at .*serve\.Dockerfile/);
    expect(message).toMatch(/mlship\.yml:18:\d+ environments\.production\.port: port 8080 is also environments\.staging's/);
    expect(message).toMatch(/mlship\.yml:20:\d+ smoke\.cases: smoke\.jsonl:2: "input" must be an object/);
  });

  it('lists every schema error at once, an environment without a target among them', async () => {
    const root = temporaryDirectory('mlship-validate-');
    writeTree(root, { 'mlship.yml': 'version: 2\nname: Demo\nsmoke: { cases: s.jsonl, requests: two }\nenvironments:\n  staging: { service: demo, port: 8080 }\n' });
    const { exitCode, error } = await runIn(root, ['validate']);
    expect(exitCode).toBe(2);
    expect(error!.message).toMatch(/mlship\.yml:1:10 version: expected 1/);
    expect(error!.message).toMatch(/mlship\.yml:2:7 name: expected a name of lowercase letters/);
    expect(error!.message).toMatch(/smoke\.requests: expected a positive integer, got "two"/);
    expect(error!.message).toMatch(/mlship\.yml:5:\d+ environments\.staging\.target: required: expected one of swarm/);
  });

  it('accepts data that is absent but pinned by mlship.lock (a fresh checkout pulls it), and smoke cases that training writes', async () => {
    const source = temporaryDirectory('mlship-validate-');
    writeTree(source, { 'mlship.yml': `${MINIMAL}data:\n  paths: [data]\n`, 'data/a.csv': 'x\n' });
    expect((await runIn(source, ['data', 'snapshot'])).exitCode).toBe(0);
    const clone = temporaryDirectory('mlship-validate-');
    cpSync(path.join(source, 'mlship.lock'), path.join(clone, 'mlship.lock'));
    writeTree(clone, {
      'mlship.yml': `${MINIMAL}data:\n  paths: [data]\ntrain:\n  command: python3 train.py\n  outputs: { model: model, metrics: metrics.json, smoke: smoke.jsonl }\nsmoke: { cases: smoke.jsonl }\n`,
      'train.py': '',
    });
    const { exitCode, error } = await runIn(clone, ['validate']);
    expect(error).toBeUndefined();
    expect(exitCode).toBe(0);
    expect(readdirSync(clone).sort()).toEqual(['mlship.lock', 'mlship.yml', 'train.py']);
  });

  it('warns, without failing, about a gate on a metric only training can tell before metrics.json exists', async () => {
    const root = temporaryDirectory('mlship-validate-');
    writeTree(root, {
      'mlship.yml': `${MINIMAL}train:\n  command: ./train.sh\n  outputs: { model: model, metrics: metrics.json }\nevaluate:\n  gates: [{ metric: loss, max: 0.5 }]\n`,
      'train.sh': '',
    });
    const { exitCode, reporter } = await runIn(root, ['validate']);
    expect(exitCode).toBe(0);
    expect(reporter.lines.filter((l) => l.level === 'warning').map((l) => l.message).join('\n')).toMatch(/evaluate\.gates\[0\]\.metric: "loss" is not a metric mlship computes/);
  });

  it('fails on a missing config, naming it', async () => {
    const { exitCode, error } = await runIn(temporaryDirectory(), ['validate']);
    expect(exitCode).toBe(2);
    expect(error!.message).toMatch(/mlship\.yml: cannot read the config \(no such file\)/);
  });

  it.each([
    ['python3 train.py', 'train.py'],
    ['python -u src/train.py --epochs 3', 'src/train.py'],
    ['./train.sh', 'train.sh'],
    ['bash scripts/train.sh', 'scripts/train.sh'],
    ['python3 -m churn.train', undefined],
    ['make train', undefined],
    ['python3 train.py | tee log', undefined],
    ['python3 ../elsewhere/train.py', undefined],
    ['python3 /opt/train.py', undefined],
  ])('finds the script of `%s`: %s', (command, script) => {
    expect(scriptOf(command)).toBe(script);
  });
});

describe('the README example of mlship validate', () => {
  it('prints exactly what the README shows', async () => {
    const root = temporaryDirectory('mlship-validate-');
    writeTree(root, {
      'mlship.yml': 'version: 1\nname: demo\ntrain:\n  command: python3 src/train.py\n  outputs: { model: model, metrics: metrics.json }\nevaluate:\n  gates:\n    - { metric: auc, min: 0.8 }\n    - { metric: acuracy, min: 0.8 }\n',
      'metrics.json': '{"loss": 0.3}\n',
    });
    const { error } = await runIn(root, ['validate']);
    expect(error!.message).toBe(
      [
        'mlship.yml: 2 problems:',
        '  mlship.yml:4:12 train.command: the script "src/train.py" does not exist',
        '  mlship.yml:9:17 evaluate.gates[1].metric: unknown metric "acuracy": expected one of auc, average_precision, log_loss, brier, accuracy, precision, recall, f1, positives, negatives, count, or a metric metrics.json has (loss)',
      ].join('\n'),
    );
  });
});
