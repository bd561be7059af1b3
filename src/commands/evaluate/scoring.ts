import {
  METRIC_DIRECTION,
  PredictionsError,
  accuracy,
  averagePrecision,
  bootstrapInterval,
  brierScore,
  evaluateBinary,
  evaluateByGroup,
  f1,
  logLoss,
  pairedBootstrapDifference,
  parsePredictions,
  precision,
  recall,
  rocAuc,
  type MetricFunction,
  type PredictionSet,
} from '../../domain/metrics/index.js';
import type { Direction, Interval } from '../../domain/gate/gates.js';
import type { CalibrationRow, Curve, SliceRow } from '../../domain/report/evaluation-report.js';
import { ConfigurationError } from '../../errors.js';

/** The metrics computed from predictions, in the order reports list them. */
export const STANDARD_METRICS = ['auc', 'average_precision', 'log_loss', 'brier', 'accuracy', 'precision', 'recall', 'f1'] as const;

export function isComputedMetric(metric: string): boolean {
  return (STANDARD_METRICS as readonly string[]).includes(metric) || ['positives', 'negatives', 'count'].includes(metric);
}

export function directionOf(metric: string): Direction | undefined {
  return METRIC_DIRECTION[metric];
}

/** Reads a predictions file, CSV or JSONL (by extension, else by its first character). */
export function parsePredictionsText(text: string, display: string, columns: { label?: string | undefined; score?: string | undefined; group?: string | undefined }): PredictionSet {
  const format = /\.(jsonl|ndjson)$/i.test(display) ? 'jsonl' : /\.csv$/i.test(display) ? 'csv' : text.trimStart().startsWith('{') ? 'jsonl' : 'csv';
  try {
    return parsePredictions(text, format, {
      ...(columns.label ? { labelColumn: columns.label } : {}),
      ...(columns.score ? { scoreColumn: columns.score } : {}),
      ...(columns.group ? { groupColumn: columns.group } : {}),
    });
  } catch (error) {
    if (error instanceof PredictionsError) throw new ConfigurationError(`predictions ${display}: ${error.message}`);
    throw error;
  }
}

/** A scored predictions file: metrics, curves and slices, and intervals computed when asked. */
export interface Scored {
  readonly set: PredictionSet;
  readonly metrics: Readonly<Record<string, number>>;
  readonly undefinedMetrics: Readonly<Record<string, string>>;
  readonly confusion: { readonly tp: number; readonly fp: number; readonly tn: number; readonly fn: number };
  readonly roc: Curve | undefined;
  readonly calibration: readonly CalibrationRow[];
  readonly slices: readonly SliceRow[] | undefined;
  readonly notes: readonly string[];
  interval(metric: string, confidence: number): Interval | undefined;
  /** Whether both were scored on the same rows (same labels, in the same order): a paired comparison is then valid. */
  sameRowsAs(other: Scored): boolean;
  differenceInterval(baseline: Scored, metric: string, confidence: number): Interval | undefined;
}

export function scorePredictions(set: PredictionSet, options: { threshold: number; resamples: number; seed: number }): Scored {
  const evaluation = evaluateBinary(set, { threshold: options.threshold });
  const functions: Record<string, MetricFunction> = {
    auc: rocAuc,
    average_precision: averagePrecision,
    log_loss: logLoss,
    brier: brierScore,
    accuracy: (l, s) => accuracy(l, s, options.threshold),
    precision: (l, s) => precision(l, s, options.threshold),
    recall: (l, s) => recall(l, s, options.threshold),
    f1: (l, s) => f1(l, s, options.threshold),
  };
  const intervals = new Map<string, Interval | undefined>();
  const bootstrap = { resamples: options.resamples, seed: options.seed };
  const slices = set.groups
    ? evaluateByGroup(set, { threshold: options.threshold }).map(
        (g): SliceRow => ({
          group: g.group,
          count: g.evaluation.metrics.count ?? 0,
          positives: g.evaluation.metrics.positives ?? 0,
          metrics: { auc: g.evaluation.metrics.auc, accuracy: g.evaluation.metrics.accuracy, recall: g.evaluation.metrics.recall },
        }),
      )
    : undefined;
  const scored: Scored = {
    set,
    metrics: evaluation.metrics as Record<string, number>,
    undefinedMetrics: evaluation.undefinedMetrics as Record<string, string>,
    confusion: evaluation.confusion,
    roc: evaluation.rocCurve ? { fpr: evaluation.rocCurve.fpr, tpr: evaluation.rocCurve.tpr } : undefined,
    calibration: evaluation.calibration ?? [],
    slices,
    notes: evaluation.warnings,
    interval(metric, confidence) {
      const key = `${metric}@${confidence}`;
      if (!intervals.has(key)) {
        const fn = functions[metric];
        intervals.set(key, fn && bootstrap.resamples > 0 ? safe(() => bootstrapInterval(set, fn, { ...bootstrap, confidence })) : undefined);
      }
      return intervals.get(key);
    },
    sameRowsAs(other) {
      const a = set.labels;
      const b = other.set.labels;
      if (a.length !== b.length) return false;
      for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
      return true;
    },
    differenceInterval(baseline, metric, confidence) {
      const fn = functions[metric];
      if (!fn || !scored.sameRowsAs(baseline) || bootstrap.resamples === 0) return undefined;
      return safe(() => pairedBootstrapDifference(set.labels, set.scores, baseline.set.scores, fn, { ...bootstrap, confidence }));
    },
  };
  return scored;
}

/** An interval that cannot be computed (say, one class in every resample) is simply absent; gates then fail visibly. */
function safe(compute: () => { low: number; high: number }): Interval | undefined {
  try {
    const { low, high } = compute();
    return Number.isFinite(low) && Number.isFinite(high) ? { low, high } : undefined;
  } catch {
    return undefined;
  }
}
