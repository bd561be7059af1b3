import { describe, expect, it } from 'vitest';
import {
  averagePrecision,
  brierScore,
  calibrationBins,
  confusion,
  evaluateBinary,
  evaluateByGroup,
  f1,
  logLoss,
  METRIC_DIRECTION,
  MetricUndefinedError,
  precision,
  precisionRecallCurve,
  parsePredictions,
  PredictionsError,
  rank,
  recall,
  rocAuc,
  rocCurve,
  sigmoid,
} from '../../src/domain/metrics/index.js';
import { descendingOrder, radixSort } from '../../src/domain/metrics/sort.js';
import { expectClose } from './helpers.js';

const u8 = (values: number[]): Uint8Array => Uint8Array.from(values);
const f64 = (values: number[]): Float64Array => Float64Array.from(values);

describe('one class only', () => {
  it.each([
    ['all 0', [0, 0, 0]],
    ['all 1', [1, 1, 1]],
  ])('ROC AUC says the labels hold only one class (%s)', (name, labels) => {
    expect(() => rocAuc(u8(labels), f64([0.1, 0.5, 0.9]))).toThrow(MetricUndefinedError);
    expect(() => rocAuc(u8(labels), f64([0.1, 0.5, 0.9]))).toThrow(`ROC AUC is undefined: the labels hold only one class (${name})`);
    expect(() => rocCurve(u8(labels), f64([0.1, 0.5, 0.9]))).toThrow(`the ROC curve is undefined: the labels hold only one class (${name})`);
  });

  it('average precision needs a positive; with no negatives it is 1', () => {
    expect(() => averagePrecision(u8([0, 0]), f64([0.2, 0.4]))).toThrow('average precision is undefined: the labels hold no positives (all 0)');
    expect(() => precisionRecallCurve(u8([0, 0]), f64([0.2, 0.4]))).toThrow(MetricUndefinedError);
    expect(averagePrecision(u8([1, 1]), f64([0.2, 0.4]))).toBe(1);
  });

  it('log loss and Brier score stay defined (scikit-learn needs labels=[0, 1] for log loss)', () => {
    expectClose(logLoss(u8([0, 0]), f64([0.2, 0.4])), -(Math.log(0.8) + Math.log(0.6)) / 2);
    expectClose(brierScore(u8([1, 1]), f64([0.5, 1])), 0.125);
  });

  it('evaluateBinary reports which metrics are undefined and why, and keeps the rest', () => {
    const evaluation = evaluateBinary({ labels: u8([0, 0, 0]), scores: f64([0.1, 0.6, 0.3]) });
    expect(evaluation.metrics).toEqual({
      log_loss: expect.any(Number),
      brier: expect.any(Number),
      accuracy: 2 / 3,
      precision: 0,
      recall: 0,
      f1: 0,
      positives: 0,
      negatives: 3,
      count: 3,
    });
    expect(evaluation.undefinedMetrics.auc).toBe('ROC AUC is undefined: the labels hold only one class (all 0)');
    expect(evaluation.undefinedMetrics.average_precision).toMatch(/no positives/);
    expect(evaluation.warnings).toEqual([
      'recall is ill-defined at threshold 0.5 (no row is labelled positive) and set to 0, as scikit-learn does',
    ]);
    expect(evaluation.rocCurve).toBeUndefined();
  });
});

describe('invalid input', () => {
  it.each([
    ['different lengths', u8([0, 1]), f64([0.5]), 'labels and scores differ in length: 2 labels, 1 scores'],
    ['a label of 2', u8([0, 2]), f64([0.5, 0.5]), 'row 2: label is 2; expected 0 or 1'],
    ['a NaN score', u8([0, 1]), f64([0.5, NaN]), 'row 2: score is NaN; scores must be finite numbers'],
    ['an infinite score', u8([0, 1]), f64([-Infinity, 0.5]), 'row 1: score is -Infinity; scores must be finite numbers'],
  ])('refuses %s', (_name, labels, scores, message) => {
    for (const metric of [rocAuc, averagePrecision, logLoss, brierScore, precision]) {
      expect(() => metric(labels, scores)).toThrow(PredictionsError);
      expect(() => metric(labels, scores)).toThrow(message);
    }
  });

  it('an empty set has no metrics but its counts', () => {
    const evaluation = evaluateBinary({ labels: u8([]), scores: f64([]) });
    expect(evaluation.metrics).toEqual({ positives: 0, negatives: 0, count: 0 });
    expect(evaluation.undefinedMetrics.auc).toBe('ROC AUC is undefined: there are no predictions');
  });
});

describe('threshold metrics', () => {
  const labels = u8([1, 1, 0, 0, 1]);
  const scores = f64([0.5, 0.2, 0.5, 0.1, 0.9]);

  it('count score >= threshold as positive', () => {
    expect(confusion(labels, scores)).toEqual({ tp: 2, fp: 1, tn: 1, fn: 1 });
    expect(confusion(labels, scores, 0.51)).toEqual({ tp: 1, fp: 0, tn: 2, fn: 2 });
    expect(precision(labels, scores)).toBe(2 / 3);
    expect(recall(labels, scores)).toBe(2 / 3);
    expect(f1(labels, scores)).toBe(2 / 3);
  });

  it('return 0 where the denominator is 0, as scikit-learn does by default', () => {
    expect(precision(labels, scores, 2)).toBe(0);
    expect(f1(u8([0, 0]), f64([0.1, 0.2]))).toBe(0);
    const evaluation = evaluateBinary({ labels, scores }, { threshold: 2 });
    expect(evaluation.warnings).toEqual(['precision is ill-defined at threshold 2 (no row is predicted positive) and set to 0, as scikit-learn does']);
  });
});

describe('evaluateBinary', () => {
  it('leaves the curves out on request and takes the number of calibration bins', () => {
    const set = { labels: u8([0, 1, 0, 1]), scores: f64([0.1, 0.9, 0.45, 0.55]) };
    const evaluation = evaluateBinary(set, { curves: false, bins: 2 });
    expect(evaluation.rocCurve).toBeUndefined();
    expect(evaluation.precisionRecallCurve).toBeUndefined();
    expect(evaluation.calibration?.map((b) => [b.low, b.high, b.count])).toEqual([
      [0, 0.5, 2],
      [0.5, 1, 2],
    ]);
    expect(evaluation.metrics.auc).toBe(1);
  });

  it('evaluates what parsePredictions reads, per group too', () => {
    const text = 'label,score,segment\n1,0.9,web\n0,0.2,web\n1,0.4,app\n0,0.6,app\n';
    const set = parsePredictions(text, 'csv', { groupColumn: 'segment' });
    expect(evaluateBinary(set).metrics.auc).toBe(0.75); // 3 of the 4 (positive, negative) pairs are ordered right
    expect(evaluateByGroup(set).map((g) => [g.group, g.evaluation.metrics.auc, g.evaluation.metrics.count])).toEqual([
      ['app', 0, 2],
      ['web', 1, 2],
    ]);
  });
});

describe('what the scores are (evaluate.scores)', () => {
  // Margins of a decision function: they rank well, and they are no probabilities.
  const labels = u8([0, 0, 1, 0, 1, 1]);
  const margins = f64([-2.5, -1, 0.3, 0.8, 1.7, 3.1]);

  it('as probabilities (the default), refuses the probability and threshold metrics of scores outside [0, 1], naming their range and the fix', () => {
    const evaluation = evaluateBinary({ labels, scores: margins });
    expect(evaluation.metrics.auc).toBe(rocAuc(labels, margins));
    expect(evaluation.metrics.average_precision).toBe(averagePrecision(labels, margins));
    for (const name of ['log_loss', 'brier', 'accuracy', 'precision', 'recall', 'f1'] as const) {
      expect(evaluation.metrics[name], name).toBeUndefined();
      expect(evaluation.undefinedMetrics[name], name).toMatch(/the scores range from -2\.5 to 3\.1, outside \[0, 1\].*evaluate\.scores: logits.*evaluate\.scores: raw/);
    }
    expect(evaluation.confusion).toBeUndefined();
    expect(evaluation.calibration).toBeUndefined();
  });

  it('as logits, maps them with the sigmoid, and every metric has its value', () => {
    const probabilities = Float64Array.from(margins, sigmoid);
    const evaluation = evaluateBinary({ labels, scores: margins }, { scores: 'logits', threshold: 0.5 });
    expect(evaluation.metrics.auc).toBe(rocAuc(labels, margins));
    expect(evaluation.metrics.log_loss).toBe(logLoss(labels, probabilities));
    expect(evaluation.metrics.brier).toBe(brierScore(labels, probabilities));
    expect(evaluation.metrics.precision).toBe(precision(labels, probabilities, 0.5));
    expect(evaluation.confusion).toEqual(confusion(labels, margins, 0)); // p ≥ 0.5 exactly where the logit ≥ 0
    expect(evaluation.calibration).toEqual(calibrationBins(labels, probabilities));
    expect(evaluation.undefinedMetrics).toEqual({});
  });

  it('as raw scores, keeps ranking and threshold metrics at any threshold, and has no probability metrics', () => {
    const evaluation = evaluateBinary({ labels, scores: margins }, { scores: 'raw', threshold: 0.5 });
    expect(evaluation.metrics.auc).toBe(rocAuc(labels, margins));
    expect(evaluation.confusion).toEqual(confusion(labels, margins, 0.5));
    expect(evaluation.metrics.recall).toBe(recall(labels, margins, 0.5));
    expect(evaluation.undefinedMetrics.log_loss).toBe('log loss is undefined: the scores are raw, not probabilities (evaluate.scores: raw)');
    expect(evaluation.undefinedMetrics.brier).toMatch(/raw, not probabilities/);
    expect(evaluation.calibration).toBeUndefined();
  });

  it('the sigmoid stays within [0, 1] and defined at the extremes', () => {
    expect([sigmoid(-1000), sigmoid(0), sigmoid(1000)]).toEqual([0, 0.5, 1]);
  });
});

describe('metric directions', () => {
  it('say which way is better for each scalar metric', () => {
    expect(METRIC_DIRECTION).toEqual({
      auc: 'higher',
      average_precision: 'higher',
      accuracy: 'higher',
      precision: 'higher',
      recall: 'higher',
      f1: 'higher',
      log_loss: 'lower',
      brier: 'lower',
    });
  });
});

describe('calibration bins', () => {
  it('omit empty bins and put a score on an inner edge in the lower bin (np.searchsorted, side="left")', () => {
    const bins = calibrationBins(u8([0, 1, 1, 0, 1]), f64([0, 0.1, 0.30000000000000004, 0.95, 1]), 10);
    expect(bins.map((b) => [b.low, b.count, b.fractionPositive])).toEqual([
      [0, 2, 0.5],
      [0.2, 1, 1],
      [0.9, 2, 0.5],
    ]);
    expect(bins[2]?.meanScore).toBe(0.975);
  });

  it('refuses scores outside [0, 1]', () => {
    expect(() => calibrationBins(u8([0, 1]), f64([-0.5, 0.5]))).toThrow('calibration needs probabilities in [0, 1]; row 1 has score -0.5');
  });
});

describe('per-group evaluation', () => {
  it('refuses a set without groups', () => {
    expect(() => evaluateByGroup({ labels: u8([1]), scores: f64([0.5]) })).toThrow(PredictionsError);
  });

  it('orders groups by name and evaluates each on its own rows', () => {
    const results = evaluateByGroup({ labels: u8([1, 0, 1, 0]), scores: f64([0.9, 0.1, 0.2, 0.8]), groups: ['b', 'b', 'a', 'a'] });
    expect(results.map((r) => [r.group, r.evaluation.metrics.auc])).toEqual([
      ['a', 0],
      ['b', 1],
    ]);
  });
});

describe('ranking', () => {
  it('ties -0 and +0, as numpy does', () => {
    const ranking = rank(u8([1, 0, 1]), f64([0, -0, 0.5]));
    expect([...ranking.thresholds]).toEqual([0.5, 0]);
    expect(Object.is(ranking.thresholds[1], -0)).toBe(false);
    expect([...ranking.tps]).toEqual([1, 2]);
    expect([...ranking.fps]).toEqual([0, 1]);
  });

  it('gives the same table whether or not the input is already sorted', () => {
    const scores = f64([0.9, 0.7, 0.7, 0.4, -3, -3]);
    const labels = u8([1, 0, 1, 1, 0, 0]);
    const sorted = rank(labels, scores);
    const shuffled = rank(u8([0, 1, 0, 1, 1, 0]), f64([-3, 0.4, 0.7, 0.9, 0.7, -3]));
    expect(shuffled).toEqual(sorted);
  });

  it('computes AUC as the Mann–Whitney statistic (ties count one half)', () => {
    // Pairs (pos, neg): (0.8, 0.5) wins, (0.8, 0.8) ties, (0.5, 0.5) ties, (0.5, 0.8) loses.
    expect(rocAuc(u8([1, 1, 0, 0]), f64([0.8, 0.5, 0.5, 0.8]))).toBe(0.5);
    expect(rocAuc(u8([1, 0, 1, 0]), f64([0.8, 0.5, 0.5, 0.1]))).toBe(0.875);
  });

  it('matches a brute-force pair count on random data with ties', () => {
    let seed = 7;
    const next = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const n = 500;
    const labels = Uint8Array.from({ length: n }, () => (next() < 0.3 ? 1 : 0));
    const scores = Float64Array.from({ length: n }, () => Math.round(next() * 50) / 10 - 2);
    let wins = 0;
    let pairs = 0;
    for (let i = 0; i < n; i += 1) {
      if (labels[i] !== 1) continue;
      for (let j = 0; j < n; j += 1) {
        if (labels[j] !== 0) continue;
        pairs += 1;
        const [a, b] = [scores[i] as number, scores[j] as number];
        wins += a > b ? 1 : a === b ? 0.5 : 0;
      }
    }
    expectClose(rocAuc(labels, scores), wins / pairs);
  });
});

describe('radix sort', () => {
  it('orders doubles as numbers: negatives, zeros, subnormals, huge values', () => {
    const values = [3, -1e308, 5e-324, -5e-324, 0, -0, 1e308, -2.5, 0.1, Number.MAX_VALUE, -Number.MAX_VALUE, 2 ** -1022, 1, 1, -1];
    const { scores, payload } = radixSort(f64(values), Uint32Array.from(values, (_, i) => i));
    expect([...scores].map((v) => v + 0)).toEqual([...values].sort((a, b) => b - a).map((v) => v + 0));
    expect([...payload].map((i) => values[i])).toEqual([...scores]);
    expect([...payload.subarray(8, 10)].map((i) => Object.is(values[i], -0))).toEqual([false, true]); // +0, then -0
  });

  it('agrees with the built-in sort on 100,000 random doubles, stably', () => {
    let seed = 99;
    const next = (): number => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed;
    };
    const values = Float64Array.from({ length: 100_000 }, () => ((next() % 1000) - 500) * 1.37 ** ((next() % 200) - 100));
    const rows = Uint32Array.from(values, (_, i) => i);
    const { scores, payload } = radixSort(values, rows);
    const expected = values.slice().sort().reverse();
    expect(scores).toEqual(expected);
    let unstable = 0;
    for (let k = 1; k < payload.length; k += 1) if (scores[k] === scores[k - 1] && payload[k]! < payload[k - 1]!) unstable += 1;
    expect(unstable).toBe(0);
    const order = descendingOrder(values);
    let increasing = 0;
    for (let k = 1; k < order.length; k += 1) if (values[order[k]!]! > values[order[k - 1]!]!) increasing += 1;
    expect(increasing).toBe(0);
    expect([...order].sort((a, b) => a - b)).toEqual([...rows]);
  });
});
