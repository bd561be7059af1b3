import { describe, expect, it } from 'vitest';
import { pairedBootstrapDifference, bootstrapInterval, rocAuc, Xoshiro128 } from '../../src/domain/metrics/index.js';
import { bootstrapIntervals, parsePredictionsText, predictionMetrics, scorePredictions, scoringSettings } from '../../src/services/scoring.js';
import { makeProject, writeTree } from '../helpers/project.js';
import { RecordingReporter } from '../helpers/recording-reporter.js';

function csv(n: number, seed: number, noise: number): string {
  const rng = new Xoshiro128(seed);
  const uniform = (): number => rng.nextUint32() / 2 ** 32;
  const rows = ['label,score'];
  for (let i = 0; i < n; i += 1) {
    const score = uniform();
    rows.push(`${uniform() < score ? 1 : 0},${Math.min(1, Math.max(0, score + noise * (uniform() - 0.5))).toFixed(4)}`);
  }
  return `${rows.join('\n')}\n`;
}

describe('predictionMetrics (for other stages: build labels images with them)', () => {
  it('gives the numbers mlship evaluate reports for the same predictions and settings', async () => {
    const text = csv(500, 3, 0);
    const evaluate = { threshold: 0.4, scores: 'probability' as const };
    const project = makeProject({ 'preds.csv': text });
    writeTree(project.root, { 'mlship.yml': 'version: 1\nname: churn\nevaluate:\n  threshold: 0.4\n  scores: probability\n' });
    const run = await project.run('evaluate', '--predictions', 'preds.csv');
    const { metrics, undefinedMetrics } = predictionMetrics(text, 'preds.csv', evaluate);
    expect(metrics).toEqual(run.result!.outputs.metrics);
    expect(metrics.accuracy).toBeGreaterThan(0);
    expect(undefinedMetrics).toEqual({});
  });

  it('says which metrics are undefined, and why, as evaluate does', () => {
    const { metrics, undefinedMetrics } = predictionMetrics('label,score\n1,2.5\n0,-1\n', 'preds.csv', undefined);
    expect(metrics.auc).toBe(1);
    expect(undefinedMetrics.accuracy).toMatch(/scores range from -1 to 2\.5/);
  });
});

describe('bootstrapIntervals', () => {
  const settings = { ...scoringSettings({ bootstrap: 200, seed: 5 }) };
  const candidate = scorePredictions(parsePredictionsText(csv(2000, 1, 0), 'c.csv', {}), settings);
  const baseline = scorePredictions(parsePredictionsText(csv(2000, 1, 0.6), 'b.csv', {}), settings);

  it('on worker threads, shows its progress in resamples and gives the intervals of the functions it stands for', async () => {
    const reporter = new RecordingReporter();
    const intervals = await bootstrapIntervals(candidate, [baseline], settings, { reporter, threads: 2 });
    expect(reporter.progressed).toEqual([{ title: 'bootstrap', total: 200, unit: 'resamples', advanced: 200, done: true }]);
    const options = { resamples: 200, seed: 5, confidence: 0.95 };
    const single = bootstrapInterval(candidate.set, rocAuc, options);
    const paired = pairedBootstrapDifference(candidate.set.labels, candidate.set.scores, baseline.set.scores, rocAuc, options);
    expect(intervals.interval('auc', 0.95)).toEqual({ low: single.low, high: single.high });
    expect(intervals.difference(baseline, 'auc', 0.95)).toEqual({ low: paired.low, high: paired.high });
    const inThread = await bootstrapIntervals(candidate, [baseline], settings, { threads: 1 });
    expect(inThread.interval('f1', 0.9)).toEqual(intervals.interval('f1', 0.9));
  });

  it('compares with the baselines only the metrics asked for, with the values it gives when it compares all', async () => {
    const everything = await bootstrapIntervals(candidate, [baseline], settings, { threads: 1 });
    const onlyAuc = await bootstrapIntervals(candidate, [baseline], settings, { threads: 1, pairedMetrics: ['auc', 'train.auc'] });
    expect(onlyAuc.difference(baseline, 'auc', 0.9)).toEqual(everything.difference(baseline, 'auc', 0.9));
    for (const metric of ['auc', 'average_precision', 'log_loss', 'brier', 'f1']) {
      expect(onlyAuc.interval(metric, 0.9), metric).toEqual(everything.interval(metric, 0.9));
    }
    expect(() => onlyAuc.difference(baseline, 'log_loss', 0.9)).toThrow(/not asked for log_loss/);
    const none = await bootstrapIntervals(candidate, [baseline], settings, { threads: 1, pairedMetrics: [] });
    expect(none.interval('brier', 0.9)).toEqual(everything.interval('brier', 0.9));
  });

  it('has no interval for a metric it does not compute, or against a baseline on other rows', async () => {
    const other = scorePredictions(parsePredictionsText(csv(1999, 1, 0.6), 'o.csv', {}), settings);
    const intervals = await bootstrapIntervals(candidate, [other], settings);
    expect(intervals.interval('train.auc', 0.95)).toBeUndefined();
    expect(intervals.difference(other, 'auc', 0.95)).toBeUndefined();
    expect(intervals.interval('auc', 0.95)).toBeDefined();
  });
});
