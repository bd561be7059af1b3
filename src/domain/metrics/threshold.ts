import { MetricUndefinedError } from './errors.js';
import { checkPredictions } from './predictions.js';

/**
 * Metrics of the hard decisions a threshold makes: a row is predicted positive when its score is
 * at least the threshold (`score >= threshold`, so 0.5 at threshold 0.5 is positive).
 */
export const DEFAULT_THRESHOLD = 0.5;

export interface Confusion {
  readonly tp: number;
  readonly fp: number;
  readonly tn: number;
  readonly fn: number;
}

/**
 * Precision, recall and F1 divide by counts that can be zero (no predicted positives, no actual
 * positives). scikit-learn's default (`zero_division="warn"`) then returns 0 and warns; so do
 * these, naming the metrics in `zeroDivision` for the caller to report.
 */
export interface ThresholdMetrics {
  readonly accuracy: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly zeroDivision: readonly ('precision' | 'recall' | 'f1')[];
}

export function confusion(labels: Uint8Array, scores: Float64Array, threshold: number = DEFAULT_THRESHOLD): Confusion {
  checkPredictions(labels, scores);
  if (Number.isNaN(threshold)) throw new RangeError('the threshold is NaN');
  let tp = 0;
  let predictedPositive = 0;
  let positives = 0;
  for (let i = 0; i < labels.length; i += 1) {
    const label = labels[i] as number;
    const predicted = (scores[i] as number) >= threshold ? 1 : 0;
    positives += label;
    predictedPositive += predicted;
    tp += label & predicted;
  }
  const fp = predictedPositive - tp;
  const fn = positives - tp;
  return { tp, fp, fn, tn: labels.length - tp - fp - fn };
}

export function thresholdMetricsOf(c: Confusion): ThresholdMetrics {
  const total = c.tp + c.fp + c.tn + c.fn;
  if (total === 0) throw new MetricUndefinedError('accuracy is undefined: there are no predictions');
  const zeroDivision: ('precision' | 'recall' | 'f1')[] = [];
  const ratio = (numerator: number, denominator: number, metric: 'precision' | 'recall' | 'f1'): number => {
    if (denominator > 0) return numerator / denominator;
    zeroDivision.push(metric);
    return 0;
  };
  return {
    accuracy: (c.tp + c.tn) / total,
    precision: ratio(c.tp, c.tp + c.fp, 'precision'),
    recall: ratio(c.tp, c.tp + c.fn, 'recall'),
    // 2·tp / (2·tp + fp + fn) is the harmonic mean of precision and recall without their roundings.
    f1: ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn, 'f1'),
    zeroDivision,
  };
}

export function accuracy(labels: Uint8Array, scores: Float64Array, threshold: number = DEFAULT_THRESHOLD): number {
  return thresholdMetricsOf(confusion(labels, scores, threshold)).accuracy;
}

/** tp / (tp + fp); 0 when nothing is predicted positive (scikit-learn's default, which also warns). */
export function precision(labels: Uint8Array, scores: Float64Array, threshold: number = DEFAULT_THRESHOLD): number {
  return thresholdMetricsOf(confusion(labels, scores, threshold)).precision;
}

/** tp / (tp + fn); 0 when there are no positives (scikit-learn's default, which also warns). */
export function recall(labels: Uint8Array, scores: Float64Array, threshold: number = DEFAULT_THRESHOLD): number {
  return thresholdMetricsOf(confusion(labels, scores, threshold)).recall;
}

/** 2·tp / (2·tp + fp + fn); 0 when tp, fp and fn are all 0 (scikit-learn's default, which also warns). */
export function f1(labels: Uint8Array, scores: Float64Array, threshold: number = DEFAULT_THRESHOLD): number {
  return thresholdMetricsOf(confusion(labels, scores, threshold)).f1;
}
