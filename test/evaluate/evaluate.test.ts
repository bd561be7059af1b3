import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { git, makeTrainingProject, TRAIN_CONFIG } from '../helpers/git-project.js';
import { makeProject, writeTree } from '../helpers/project.js';

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
    expect(run.result!.failure).toMatch(/^1 of 1 gates failed: auc ≥ 0\.99 \(0\.\d+ is below 0\.99\)$/);
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
    ['an unknown metric', '    - { metric: acu, min: 0.8 }\n', /evaluate.gates\[0\].metric: unknown metric "acu" \(known: .*auc/],
    ['a gate without a rule', '    - { metric: auc }\n', 'a gate needs a rule'],
    ['a custom metric against a baseline without a direction', '    - { metric: latency_ms, baseline: production }\n', 'Set direction'],
  ])('refuses %s with exit 2', async (_name, gates, message) => {
    const project = makeProject({ 'preds.csv': predictionsCsv() });
    writeTree(project.root, { 'mlship.yml': config(gates) });
    const run = await project.run('evaluate', '--predictions', 'preds.csv');
    expect(run.exitCode).toBe(ExitCode.Usage);
    expect(run.error?.message).toMatch(message);
  });

  it('refuses a --baseline alias that does not exist', async () => {
    const project = makeProject({ 'preds.csv': predictionsCsv() });
    writeTree(project.root, { 'mlship.yml': config('    - { metric: auc, min: 0.5 }\n') });
    const run = await project.run('evaluate', '--predictions', 'preds.csv', '--baseline', 'champion');
    expect(run.exitCode).toBe(ExitCode.Usage);
    expect(run.error?.message).toContain('has no alias "champion"');
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
