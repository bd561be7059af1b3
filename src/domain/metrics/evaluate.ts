import { MetricUndefinedError, PredictionsError } from './errors.js';
import type { PredictionSet } from './predictions.js';
import { brierScore, calibrationBins, logLoss, type CalibrationBin } from './probability.js';
import {
  averagePrecisionOf,
  precisionRecallCurveOf,
  rank,
  rocAucOf,
  rocCurveOf,
  type PrecisionRecallCurve,
  type RocCurve,
} from './ranking.js';
import { interpretScores, type ScoreKind } from './scores.js';
import { confusion, DEFAULT_THRESHOLD, thresholdMetricsOf, type Confusion } from './threshold.js';

/**
 * Everything mlship reports about a binary classifier, under stable names: the scalar metrics a
 * gate compares, and the curves, confusion matrix and calibration a report draws.
 */
export type MetricName =
  | 'auc'
  | 'average_precision'
  | 'log_loss'
  | 'brier'
  | 'accuracy'
  | 'precision'
  | 'recall'
  | 'f1'
  | 'positives'
  | 'negatives'
  | 'count';

export type MetricDirection = 'higher' | 'lower';

/** Which way is better, for each metric a gate may compare (the counts have no direction). */
export const METRIC_DIRECTION: Readonly<Record<string, MetricDirection>> = Object.freeze({
  auc: 'higher',
  average_precision: 'higher',
  accuracy: 'higher',
  precision: 'higher',
  recall: 'higher',
  f1: 'higher',
  log_loss: 'lower',
  brier: 'lower',
});

export interface EvaluateOptions {
  /** score >= threshold is a positive prediction; default 0.5. */
  readonly threshold?: number;
  /** Uniform calibration bins on [0, 1]; default 10. */
  readonly bins?: number;
  /** Include the ROC and precision-recall curves (default true; they hold a point per distinct score). */
  readonly curves?: boolean;
  /** What the scores are (default probabilities): see scores.ts. */
  readonly scores?: ScoreKind;
}

export interface BinaryEvaluation {
  readonly threshold: number;
  /** Every metric that has a value, in a fixed order. All finite. */
  readonly metrics: Readonly<Partial<Record<MetricName, number>>>;
  /** Every metric without a value, and why (e.g. AUC with one class, log loss of raw margins). */
  readonly undefinedMetrics: Readonly<Partial<Record<MetricName, string>>>;
  /** Values that exist but deserve a caveat, such as precision set to 0 when nothing is predicted positive. */
  readonly warnings: readonly string[];
  /** Absent when the scores cannot be compared with the threshold (probabilities expected, and they are not). */
  readonly confusion?: Confusion;
  readonly rocCurve?: RocCurve;
  readonly precisionRecallCurve?: PrecisionRecallCurve;
  readonly calibration?: readonly CalibrationBin[];
}

export function evaluateBinary(set: PredictionSet, options: EvaluateOptions = {}): BinaryEvaluation {
  const { labels, scores } = set;
  const threshold = options.threshold ?? DEFAULT_THRESHOLD;
  const metrics: Partial<Record<MetricName, number>> = {};
  const undefinedMetrics: Partial<Record<MetricName, string>> = {};
  const warnings: string[] = [];
  const attempt = <T>(name: MetricName | undefined, compute: () => T): T | undefined => {
    try {
      return compute();
    } catch (error) {
      if (!(error instanceof MetricUndefinedError)) throw error;
      if (name !== undefined) undefinedMetrics[name] = error.message;
      return undefined;
    }
  };
  const record = (name: MetricName, value: number | undefined): void => {
    if (value !== undefined) metrics[name] = value;
  };

  const ranking = rank(labels, scores); // validates lengths, labels and scores once for all below
  record('auc', attempt('auc', () => rocAucOf(ranking)));
  record('average_precision', attempt('average_precision', () => averagePrecisionOf(ranking)));
  const { decisions, probabilities, noDecisions, noProbabilities } = interpretScores(scores, options.scores ?? 'probability');
  if (probabilities) {
    record('log_loss', attempt('log_loss', () => logLoss(labels, probabilities)));
    record('brier', attempt('brier', () => brierScore(labels, probabilities)));
  } else {
    undefinedMetrics.log_loss = `log loss is undefined: ${noProbabilities}`;
    undefinedMetrics.brier = `the Brier score is undefined: ${noProbabilities}`;
  }
  const counts = decisions && confusion(labels, decisions, threshold);
  const decided = counts && attempt('accuracy', () => thresholdMetricsOf(counts));
  if (decided) {
    record('accuracy', decided.accuracy);
    record('precision', decided.precision);
    record('recall', decided.recall);
    record('f1', decided.f1);
    for (const name of decided.zeroDivision) warnings.push(zeroDivisionWarning(name, threshold));
  } else {
    for (const name of ['accuracy', 'precision', 'recall', 'f1'] as const) {
      undefinedMetrics[name] ??= `${name} is undefined: ${noDecisions ?? 'there are no predictions'}`;
    }
  }
  metrics.positives = ranking.positives;
  metrics.negatives = ranking.negatives;
  metrics.count = labels.length;

  const curves = options.curves ?? true;
  const rocCurve = curves ? attempt(undefined, () => rocCurveOf(ranking)) : undefined;
  const precisionRecallCurve = curves ? attempt(undefined, () => precisionRecallCurveOf(ranking)) : undefined;
  const calibration = probabilities && attempt(undefined, () => calibrationBins(labels, probabilities, options.bins ?? 10));
  return {
    threshold,
    metrics,
    undefinedMetrics,
    warnings,
    ...(counts && { confusion: counts }),
    ...(rocCurve && { rocCurve }),
    ...(precisionRecallCurve && { precisionRecallCurve }),
    ...(calibration && { calibration }),
  };
}

function zeroDivisionWarning(name: 'precision' | 'recall' | 'f1', threshold: number): string {
  const why = {
    precision: 'no row is predicted positive',
    recall: 'no row is labelled positive',
    f1: 'there are no true positives, false positives or false negatives',
  }[name];
  return `${name} is ill-defined at threshold ${threshold} (${why}) and set to 0, as scikit-learn does`;
}

export interface GroupEvaluation {
  readonly group: string;
  readonly evaluation: BinaryEvaluation;
}

/**
 * The evaluation of each slice (rows sharing a group value), in the order of the group names'
 * code units, so reports are stable. Curves are left out unless asked for: slices are for
 * comparing numbers. A slice with one class simply has no AUC (see `undefinedMetrics`).
 */
export function evaluateByGroup(set: PredictionSet, options: EvaluateOptions = {}): GroupEvaluation[] {
  const { groups, labels, scores } = set;
  if (groups === undefined) throw new PredictionsError('no group column: per-group evaluation needs a group for every row');
  if (groups.length !== labels.length) {
    throw new PredictionsError(`groups and labels differ in length: ${groups.length} groups, ${labels.length} labels`);
  }
  const rowsByGroup = new Map<string, number[]>();
  for (let i = 0; i < groups.length; i += 1) {
    const group = groups[i] as string;
    const rows = rowsByGroup.get(group);
    if (rows) rows.push(i);
    else rowsByGroup.set(group, [i]);
  }
  const names = [...rowsByGroup.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return names.map((group) => {
    const rows = rowsByGroup.get(group) as number[];
    const slice = {
      labels: Uint8Array.from(rows, (i) => labels[i] as number),
      scores: Float64Array.from(rows, (i) => scores[i] as number),
    };
    return { group, evaluation: evaluateBinary(slice, { ...options, curves: options.curves ?? false }) };
  });
}
