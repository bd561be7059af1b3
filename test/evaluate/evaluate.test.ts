import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { startFakeGitHub, WRITE_TOKEN } from '../helpers/fake-github.js';
import { git, makeTrainingProject, TRAIN_CONFIG } from '../helpers/git-project.js';
import { makeProject, runIn, temporaryDirectory, writeTree } from '../helpers/project.js';

const config = (gates: string, extra = ''): string => `version: 1\nname: churn\nevaluate:\n${extra}  gates:\n${gates}`;

/** 200 rows: scores that rank positives mostly above negatives (AUC about 0.9), two slices. */
function predictionsCsv(shift = 0): string {
  const rows = ['label,score,segment'];
  for (let i = 0; i < 200; i += 1) {
    const label = i % 4 === 0 ? 1 : 0;
    const noise = ((i * 7919) % 100) / 100;
    const score = Math.min(1, Math.max(0, (label ? 0.55 : 0.25) + 0.4 * (noise - 0.5) + shift));
    rows.push(`${label},${score.toFixed(4)},${i % 2 ? 'monthly' : 'yearly'}`);
  }
  return `${rows.join('\n')}\n`;
}

describe('mlship evaluate --predictions', () => {
  it('passes when every gate passes, writes report.md, roc.svg and metrics.json', async () => {
    const project = makeProject({ 'preds.csv': predictionsCsv() });
    writeTree(project.root, { 'mlship.yml': config('    - { metric: auc, min: 0.8 }\n    - { metric: log_loss, max: 0.7 }\n', '  columns: { group: segment }\n') });
    const run = await project.run('evaluate', '--predictions', 'preds.csv');
    expect(run.error).toBeUndefined();
    expect(run.exitCode).toBe(ExitCode.Ok);
    const outputs = run.result!.outputs;
    expect(outputs.passed).toBe(true);
    expect(outputs['comment-url']).toBe('');
    expect((outputs.metrics as Record<string, number>).auc).toBeGreaterThan(0.8);
    const report = readFileSync(outputs.report as string, 'utf8');
    expect(report).toContain('### ✅ mlship evaluate: churn');
    expect(report).toMatch(/\| auc \| — \| 0\.\d+ \| — \| ✅ ≥ 0\.8 \|/);
    expect(report).toContain('| monthly |');
    expect(existsSync(path.join(path.dirname(outputs.report as string), 'roc.svg'))).toBe(true);
    expect(run.result!.summary).toBe(report);
  });

  it('fails with exit 1 and names the failing gate', async () => {
    const project = makeProject({ 'preds.csv': predictionsCsv() });
    writeTree(project.root, { 'mlship.yml': config('    - { metric: auc, min: 0.99 }\n') });
    const run = await project.run('evaluate', '--predictions', 'preds.csv');
    expect(run.exitCode).toBe(ExitCode.CheckFailed);
    expect(run.result!.outputs.passed).toBe(false);
    expect(run.result!.failure).toMatch(/^1 gate failed: auc ≥ 0\.99 \(0\.\d+ is below 0\.99\)$/);
  });

  it('judges a confidence gate by the bound of a seeded bootstrap interval, the same every run', async () => {
    const project = makeProject({ 'preds.csv': predictionsCsv() });
    writeTree(project.root, { 'mlship.yml': config('    - { metric: auc, min: 0.8, confidence: 0.95 }\n', '  bootstrap: 300\n  seed: 7\n') });
    const first = await project.run('evaluate', '--predictions', 'preds.csv');
    const second = await project.run('evaluate', '--predictions', 'preds.csv');
    expect(first.result!.summary).toMatch(/95% CI 0\.\d+–0\.\d+/);
    expect(second.result!.summary).toBe(first.result!.summary);
  });

  it('compares with a baseline scored on the same rows, with a paired interval', async () => {
    const project = makeProject({ 'preds.csv': predictionsCsv(), 'old.csv': predictionsCsv(0.1) });
    writeTree(project.root, { 'mlship.yml': config('    - { metric: auc, baseline: production, max_drop: 0.01, confidence: 0.9 }\n') });
    const run = await project.run('evaluate', '--predictions', 'preds.csv', '--baseline-file', 'old.csv');
    expect(run.error).toBeUndefined();
    expect(run.result!.summary).toContain('Baseline (file old.csv)');
    expect(run.result!.summary).toContain('interval of the change');
  });

  it.each([
    ['a missing file', null, 'nope.csv', '--predictions', 'no such file'],
    ['an empty file', '', 'preds.csv', 'predictions preds.csv:', ''],
    ['a non-numeric score', 'label,score\n1,high\n0,0.2\n', 'preds.csv', 'line 2', 'high'],
    ['a label outside {0,1}', 'label,score\n2,0.9\n0,0.2\n', 'preds.csv', 'line 2', 'label'],
    ['a NaN score', 'label,score\n1,NaN\n0,0.2\n', 'preds.csv', 'line 2', ''],
  ])('refuses %s with exit 2, naming it', async (_name, content, file, expected1, expected2) => {
    const project = makeProject(content === null ? {} : { [file]: content });
    writeTree(project.root, { 'mlship.yml': config('    - { metric: auc, min: 0.8 }\n') });
    const run = await project.run('evaluate', '--predictions', file);
    expect(run.exitCode).toBe(ExitCode.Usage);
    expect(run.error?.message).toContain(expected1);
    expect(run.error?.message).toContain(expected2);
  });

  it('fails an AUC gate, saying why, when the labels hold one class', async () => {
    const project = makeProject({ 'preds.csv': 'label,score\n1,0.9\n1,0.2\n' });
    writeTree(project.root, { 'mlship.yml': config('    - { metric: auc, min: 0.8 }\n') });
    const run = await project.run('evaluate', '--predictions', 'preds.csv');
    expect(run.exitCode).toBe(ExitCode.CheckFailed);
    expect(run.result!.failure).toContain('ROC AUC is undefined');
  });

  it.each([
    ['a gate without a rule', '    - { metric: auc }\n', 'a gate needs a rule'],
    ['a custom metric against a baseline without a direction', '    - { metric: latency_ms, baseline: production }\n', 'Set direction'],
  ])('refuses %s with exit 2', async (_name, gates, message) => {
    const project = makeProject({ 'preds.csv': predictionsCsv() });
    writeTree(project.root, { 'mlship.yml': config(gates) });
    const run = await project.run('evaluate', '--predictions', 'preds.csv');
    expect(run.exitCode).toBe(ExitCode.Usage);
    expect(run.error?.message).toMatch(message);
  });

  it('fails a gate on a metric a predictions file does not give (a training metric) as not produced, with exit 1', async () => {
    const project = makeProject({ 'preds.csv': predictionsCsv() });
    writeTree(project.root, { 'mlship.yml': config('    - { metric: train.auc, min: 0.5 }\n    - { metric: auc, min: 0.5 }\n') });
    const run = await project.run('evaluate', '--predictions', 'preds.csv');
    expect(run.error).toBeUndefined();
    expect(run.exitCode).toBe(ExitCode.CheckFailed);
    expect(run.result!.failure).toMatch(/^1 of 2 gates failed: train\.auc ≥ 0\.5 \(metric "train\.auc" was not produced: --predictions scores a predictions file, .*metrics\.json of an `mlship train` run/);
    expect(run.result!.summary).toContain('❌ ≥ 0.5');
  });

  it('refuses a --baseline alias that does not exist', async () => {
    const project = makeProject({ 'preds.csv': predictionsCsv() });
    writeTree(project.root, { 'mlship.yml': config('    - { metric: auc, min: 0.5 }\n') });
    const run = await project.run('evaluate', '--predictions', 'preds.csv', '--baseline', 'champion');
    expect(run.exitCode).toBe(ExitCode.Usage);
    expect(run.error?.message).toContain('has no alias "champion"');
  });
});

/** The same 200 rows as log-odds (ln p/(1 − p)): a model's margins, from about −3 to 3. */
function marginsCsv(): string {
  return predictionsCsv()
    .split('\n')
    .map((line, i) => {
      if (i === 0 || line === '') return line;
      const [label, score, segment] = line.split(',');
      const p = Math.min(0.95, Math.max(0.05, Number(score)));
      return `${label},${Math.log(p / (1 - p)).toFixed(4)},${segment}`;
    })
    .join('\n');
}

describe('mlship evaluate: what the scores are (evaluate.scores)', () => {
  const gates = '    - { metric: auc, min: 0.8 }\n    - { metric: accuracy, min: 0.5 }\n    - { metric: log_loss, max: 0.7 }\n';

  it('as probabilities (the default), fails the probability and threshold gates of scores outside [0, 1], naming their range and the fix', async () => {
    const project = makeProject({ 'margins.csv': marginsCsv() });
    writeTree(project.root, { 'mlship.yml': config(gates) });
    const run = await project.run('evaluate', '--predictions', 'margins.csv');
    expect(run.exitCode).toBe(ExitCode.CheckFailed);
    expect(run.result!.failure).toMatch(/^2 of 3 gates failed: accuracy ≥ 0\.5 \(accuracy is undefined: the scores range from -2\.863 to 1\.015, outside \[0, 1\]/);
    expect(run.result!.failure).toContain('set evaluate.scores: logits');
    expect(run.result!.failure).toContain('log_loss ≤ 0.7 (log loss is undefined: the scores range');
    const summary = run.result!.summary;
    expect(summary).toMatch(/\| auc \| — \| 0\.\d+ \| — \| ✅ ≥ 0\.8 \|/); // ranking metrics always work
    expect(summary).not.toContain('Confusion matrix');
  });

  it('as logits, maps them with the sigmoid: every gate has its metric', async () => {
    const project = makeProject({ 'margins.csv': marginsCsv() });
    writeTree(project.root, { 'mlship.yml': config(gates, '  scores: logits\n') });
    const run = await project.run('evaluate', '--predictions', 'margins.csv');
    expect(run.error).toBeUndefined();
    expect(run.exitCode).toBe(ExitCode.Ok);
    const metrics = run.result!.outputs.metrics as Record<string, number>;
    expect(metrics.log_loss).toBeGreaterThan(0);
    expect(run.result!.summary).toContain('Confusion matrix at threshold 0.5');
  });

  it('as raw scores, keeps the threshold metrics at any threshold and fails the probability gates', async () => {
    const project = makeProject({ 'margins.csv': marginsCsv() });
    writeTree(project.root, { 'mlship.yml': config(gates, '  scores: raw\n  threshold: -0.5\n') });
    const run = await project.run('evaluate', '--predictions', 'margins.csv');
    expect(run.exitCode).toBe(ExitCode.CheckFailed);
    expect(run.result!.failure).toBe('1 of 3 gates failed: log_loss ≤ 0.7 (log loss is undefined: the scores are raw, not probabilities (evaluate.scores: raw))');
    expect(run.result!.summary).toContain('Confusion matrix at threshold -0.5');
  });

  it.each([
    ['2', '', /evaluate\.threshold: expected a number between 0 and 1, as the scores are probabilities \(for raw scores, compared as they are, set evaluate\.scores: raw\), got 2/],
    ['-1', '  scores: logits\n', /evaluate\.threshold: expected a number between 0 and 1, as the scores are probabilities once the sigmoid maps the logits/],
  ])('refuses threshold %s for scores that are not raw, with exit 2', async (threshold, extra, message) => {
    const project = makeProject({ 'margins.csv': marginsCsv() });
    writeTree(project.root, { 'mlship.yml': config(gates, `${extra}  threshold: ${threshold}\n`) });
    const run = await project.run('evaluate', '--predictions', 'margins.csv');
    expect(run.exitCode).toBe(ExitCode.Usage);
    expect(run.error?.message).toMatch(message);
  });
});

describe('mlship evaluate after mlship train', () => {
  const gated = (store: string): string =>
    TRAIN_CONFIG(store, 'evaluate:\n  gates:\n    - { metric: train.auc, min: 0.5 }\n    - { metric: accuracy, baseline: production }\n');

  it("scores this commit's run, passes visibly with no baseline yet, then compares with production", async () => {
    const project = await makeTrainingProject();
    writeFileSync(path.join(project.root, 'mlship.yml'), gated(`file://${project.store}`));
    git(project.root, 'commit', '-qam', 'gates');
    const trained = await project.run('train');
    const first = await project.run('evaluate');
    expect(first.error).toBeUndefined();
    expect(first.result!.outputs.passed).toBe(true);
    expect(first.result!.summary).toContain('⚪ no worse than production');
    expect(first.result!.summary).toContain(`| Run | \`${trained.result!.outputs['run-id']}\` |`);
    await project.run('registry', 'alias', 'set', 'production', trained.result!.outputs['model-version'] as string);
    const second = await project.run('evaluate');
    expect(second.result!.summary).toContain('✅ no worse than production');
    expect(second.result!.summary).toMatch(/Baseline \(production \([0-9a-f]{12}\)\)/);
  });

  it('says to train first when this commit has no run', async () => {
    const project = await makeTrainingProject();
    const run = await project.run('evaluate');
    expect(run.exitCode).toBe(ExitCode.Usage);
    expect(run.error?.message).toContain('no successful `mlship train` run for this commit');
  });
});

describe('mlship evaluate: a baseline that cannot be read', () => {
  const baselineGate = 'evaluate:\n  gates:\n    - { metric: accuracy, baseline: production }\n';

  it('fails its gate with the reason (exit 1), whether the predictions object is missing or corrupt, the run record gone or the store unreachable', async () => {
    const project = await makeTrainingProject();
    const mlshipYml = path.join(project.root, 'mlship.yml');
    writeFileSync(mlshipYml, TRAIN_CONFIG(`file://${project.store}`, baselineGate));
    git(project.root, 'commit', '-qam', 'gates');
    const trained = await project.run('train');
    await project.run('registry', 'alias', 'set', 'production', trained.result!.outputs['model-version'] as string);
    const runId = trained.result!.outputs['run-id'] as string;
    const runRecord = path.join(project.root, '.mlship', 'registry', 'runs', `${runId}.json`);
    const hash = (JSON.parse(readFileSync(runRecord, 'utf8')) as { outputs: { predictions: { hash: string } } }).outputs.predictions.hash.replace(/^sha256:/, '');
    const object = path.join(project.store, 'sha256', hash.slice(0, 2), hash.slice(2));
    const expectGateFails = async (reason: RegExp, ...argv: string[]): Promise<void> => {
      const run = await project.run('evaluate', ...argv);
      expect(run.error).toBeUndefined();
      expect(run.exitCode).toBe(ExitCode.CheckFailed);
      expect(run.result!.failure).toMatch(/^1 gate failed: accuracy no worse than production \(the baseline production \([0-9a-f]{12}\) cannot be read, so nothing shows the candidate is no worse: /);
      expect(run.result!.failure).toMatch(reason);
      expect(run.result!.summary).toContain('❌ no worse than production');
      expect(run.reporter.warnings().join('\n')).toMatch(reason);
    };

    const passing = await project.run('evaluate');
    expect(passing.result!.outputs.passed).toBe(true); // readable: compared, and no worse than itself

    renameSync(object, `${object}.away`);
    await expectGateFails(/object sha256:[0-9a-f]{64} for "predictions\.csv of production \([0-9a-f]{12}\)" is missing from the store/);
    renameSync(`${object}.away`, object);

    const original = readFileSync(object);
    writeFileSync(object, 'label,score\n1,0.5\n');
    await expectGateFails(/in the store file:\/\/.* is corrupt/);
    writeFileSync(object, original);

    // The run itself is the candidate too: score its predictions file directly from here on.
    renameSync(runRecord, `${runRecord}.away`);
    await expectGateFails(/has no record of run [0-9TZ]+-[0-9a-f]+, which trained it/, '--predictions', 'predictions.csv');
    renameSync(`${runRecord}.away`, runRecord);

    const notADirectory = path.join(temporaryDirectory(), 'store-file');
    writeFileSync(notADirectory, 'not a store');
    writeFileSync(mlshipYml, TRAIN_CONFIG(`file://${notADirectory}`, baselineGate));
    await expectGateFails(/store file:\/\/.*store-file is not usable/, '--predictions', 'predictions.csv');
  });

  it('without --predictions, still refuses a gate on a metric nobody produced (a typo) with exit 2', async () => {
    const project = await makeTrainingProject();
    writeFileSync(path.join(project.root, 'mlship.yml'), TRAIN_CONFIG(`file://${project.store}`, 'evaluate:\n  gates:\n    - { metric: acu, min: 0.8 }\n'));
    git(project.root, 'commit', '-qam', 'gates');
    await project.run('train');
    const run = await project.run('evaluate');
    expect(run.exitCode).toBe(ExitCode.Usage);
    expect(run.error?.message).toMatch(/evaluate.gates\[0\].metric: unknown metric "acu" \(known: .*auc.*train\.auc/);
  });
});

describe('mlship evaluate: secrets', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('masks them in report.md, metrics.json, the summary, the failure and the pull-request comment', async () => {
    const secret = 'hunter2-deploy-credential';
    vi.stubEnv('MLSHIP_TEST_DEPLOY_TOKEN', secret);
    const github = await startFakeGitHub();
    try {
      const eventPath = path.join(temporaryDirectory('mlship-event-'), 'event.json');
      writeFileSync(eventPath, JSON.stringify({ pull_request: { number: 7, head: { sha: 'a'.repeat(40) } }, repository: { name: 'widgets', owner: { login: 'octo' } } }));
      for (const [name, value] of Object.entries({ GITHUB_EVENT_NAME: 'pull_request', GITHUB_EVENT_PATH: eventPath, GITHUB_REPOSITORY: 'octo/widgets', GITHUB_API_URL: github.url, GITHUB_WORKFLOW: 'ci' })) {
        vi.stubEnv(name, value);
      }
      // A secret can reach a report through data: here a slice name and a gate's metric name.
      const project = makeProject({ 'preds.csv': predictionsCsv().replace(/yearly/g, secret) });
      writeTree(project.root, { 'mlship.yml': config(`    - { metric: auc, min: 0.5 }\n    - { metric: ${secret}, min: 1 }\n`, '  columns: { group: segment }\n') });
      const run = await runIn(project.root, ['evaluate', '--predictions', 'preds.csv'], { githubToken: WRITE_TOKEN });
      expect(run.exitCode).toBe(ExitCode.CheckFailed);
      const report = run.result!.outputs.report as string;
      const written = {
        'report.md': readFileSync(report, 'utf8'),
        'metrics.json': readFileSync(path.join(path.dirname(report), 'metrics.json'), 'utf8'),
        summary: run.result!.summary,
        failure: run.result!.failure!,
        comment: github.commentsOn({ owner: 'octo', repo: 'widgets', number: 7 })[0]!.body,
      };
      for (const [what, text] of Object.entries(written)) {
        expect(text, what).not.toContain(secret);
        expect(text, what).toContain('***');
      }
    } finally {
      await github.stop();
    }
  });
});
