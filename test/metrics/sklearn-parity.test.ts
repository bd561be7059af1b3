import { describe, expect, it } from 'vitest';
import {
  averagePrecision,
  brierScore,
  calibrationBins,
  confusion,
  evaluateBinary,
  evaluateByGroup,
  logLoss,
  MetricUndefinedError,
  precisionRecallCurve,
  rocAuc,
  rocCurve,
  scoreRange,
  thresholdMetricsOf,
  type BinaryEvaluation,
} from '../../src/domain/metrics/index.js';
import { columns, expectAllClose, expectClose, loadFixtures, type ScalarExpectations } from './helpers.js';

// Every case in test/fixtures/metrics, made by make_fixtures.py with Debian's scikit-learn 1.2.1.
const fixtures = loadFixtures();

describe.each(fixtures.map((f) => [f.name, f] as const))('scikit-learn parity: %s', (_name, fixture) => {
  const { labels, scores } = columns(fixture);
  const { expected } = fixture;

  it('ROC AUC', () => {
    if (expected.roc_auc === null) expect(() => rocAuc(labels, scores)).toThrow(MetricUndefinedError);
    else expectClose(rocAuc(labels, scores), expected.roc_auc, 'auc');
  });

  it('ROC curve (drop_intermediate, first threshold = max + 1 as in 1.2.1)', () => {
    const curve = rocCurve(labels, scores);
    expectAllClose(curve.fpr, expected.roc_curve.fpr, 'fpr');
    expectAllClose(curve.tpr, expected.roc_curve.tpr, 'tpr');
    expectAllClose(curve.thresholds, expected.roc_curve.thresholds, 'thresholds');
  });

  it('average precision and the precision-recall curve', () => {
    expectClose(averagePrecision(labels, scores), expected.average_precision as number, 'average precision');
    const curve = precisionRecallCurve(labels, scores);
    expectAllClose(curve.precision, expected.precision_recall_curve.precision, 'precision');
    expectAllClose(curve.recall, expected.precision_recall_curve.recall, 'recall');
    expectAllClose(curve.thresholds, expected.precision_recall_curve.thresholds, 'thresholds');
  });

  it('log loss and Brier score (or refusal of scores outside [0, 1])', () => {
    if (expected.log_loss === null) {
      expect(() => logLoss(labels, scores)).toThrow(/log loss needs probabilities in \[0, 1\]; row \d+ has score/);
      expect(() => brierScore(labels, scores)).toThrow(MetricUndefinedError);
    } else {
      expectClose(logLoss(labels, scores), expected.log_loss, 'log loss');
      expectClose(brierScore(labels, scores), expected.brier as number, 'brier');
    }
  });

  it('confusion, accuracy, precision, recall and F1 at 0.5', () => {
    const c = confusion(labels, scores, fixture.threshold);
    expect([c.tn, c.fp, c.fn, c.tp]).toEqual(expected.confusion);
    const m = thresholdMetricsOf(c);
    expectClose(m.accuracy, expected.accuracy, 'accuracy');
    expectClose(m.precision, expected.precision, 'precision');
    expectClose(m.recall, expected.recall, 'recall');
    expectClose(m.f1, expected.f1, 'f1');
  });

  it('calibration bins', () => {
    if (expected.calibration === null) {
      expect(() => calibrationBins(labels, scores)).toThrow(MetricUndefinedError);
      return;
    }
    const bins = calibrationBins(labels, scores, 10);
    expect(bins.map((b) => Math.round(b.low * 10))).toEqual(expected.calibration.bins);
    expect(bins.map((b) => b.count)).toEqual(expected.calibration.count);
    expectAllClose(
      bins.map((b) => b.fractionPositive),
      expected.calibration.fraction_positive,
      'fraction positive',
    );
    expectAllClose(
      bins.map((b) => b.meanScore),
      expected.calibration.mean_score,
      'mean score',
    );
  });

  it('evaluateBinary agrees with the single metrics', () => {
    // Margins are raw scores: said so, the threshold metrics stand and the probability ones do not.
    const { low, high } = scoreRange(scores);
    const kind = low >= 0 && high <= 1 ? 'probability' : 'raw';
    const evaluation = evaluateBinary({ labels, scores }, { threshold: fixture.threshold, scores: kind });
    expectScalars(evaluation, expected);
    expect(evaluation.metrics.count).toBe(labels.length);
    expect((evaluation.metrics.positives ?? 0) + (evaluation.metrics.negatives ?? 0)).toBe(labels.length);
    expect(evaluation.rocCurve?.fpr.length).toBe(expected.roc_curve.fpr.length);
    expect(evaluation.calibration === undefined).toBe(expected.calibration === null);
  });
});

describe('per-group evaluation', () => {
  const grouped = fixtures.filter((f) => f.groups !== undefined);

  it('has a grouped fixture', () => expect(grouped.length).toBeGreaterThan(0));

  it.each(grouped.map((f) => [f.name, f] as const))('matches scikit-learn on each slice of %s', (_name, fixture) => {
    const results = evaluateByGroup({ ...columns(fixture), groups: fixture.groups as string[] });
    const expectedGroups = fixture.expected_by_group as Record<string, ScalarExpectations>;
    expect(results.map((r) => r.group)).toEqual(Object.keys(expectedGroups).sort());
    for (const { group, evaluation } of results) {
      expectScalars(evaluation, expectedGroups[group] as ScalarExpectations);
      expect(evaluation.rocCurve).toBeUndefined(); // slices leave the curves out
    }
  });
});

function expectScalars(evaluation: BinaryEvaluation, expected: ScalarExpectations): void {
  const { metrics, undefinedMetrics } = evaluation;
  const pairs = [
    ['auc', expected.roc_auc],
    ['average_precision', expected.average_precision],
    ['log_loss', expected.log_loss],
    ['brier', expected.brier],
    ['accuracy', expected.accuracy],
    ['precision', expected.precision],
    ['recall', expected.recall],
    ['f1', expected.f1],
  ] as const;
  for (const [name, value] of pairs) {
    if (value === null) {
      expect(metrics[name], name).toBeUndefined();
      expect(undefinedMetrics[name], name).toMatch(/undefined|needs probabilities/);
    } else {
      expectClose(metrics[name] as number, value, name);
    }
  }
  const [tn, fp, fn, tp] = expected.confusion;
  expect(evaluation.confusion).toEqual({ tn, fp, fn, tp });
}
