import {
  evaluateBinary,
  evaluateByGroup,
  interpretScores,
  METRIC_DIRECTION,
  parsePredictions,
  PredictionsError,
  RESAMPLE_METRICS,
  resamplePlan,
  resampleView,
  ResampleValues,
  runResamples,
  seedState,
  type BootstrapModel,
  type PredictionSet,
  type ResampleMetric,
  type ScoreKind,
} from '../domain/metrics/index.js';
import type { Direction, Interval } from '../domain/gate/gates.js';
import type { CalibrationRow, Curve, SliceRow } from '../domain/report/evaluation-report.js';
import type { EvaluateConfig } from '../config/schema.js';
import type { Reporter } from '../adapters/runtime/reporter.js';
import { resampleOnThreads } from '../adapters/threads/resample-pool.js';
import { ConfigurationError } from '../errors.js';

/** The metrics computed from predictions, in the order reports list them. */
export const STANDARD_METRICS: readonly ResampleMetric[] = RESAMPLE_METRICS;

export function isComputedMetric(metric: string): boolean {
  return (STANDARD_METRICS as readonly string[]).includes(metric) || ['positives', 'negatives', 'count'].includes(metric);
}

export function directionOf(metric: string): Direction | undefined {
  return METRIC_DIRECTION[metric];
}

/** `evaluate` in mlship.yml with its defaults filled in: how predictions are read and scored. */
export interface ScoringSettings {
  readonly threshold: number;
  readonly scores: ScoreKind;
  readonly resamples: number;
  readonly seed: number;
  readonly columns: { readonly label?: string | undefined; readonly score?: string | undefined; readonly group?: string | undefined };
}

export function scoringSettings(evaluate: EvaluateConfig | undefined): ScoringSettings {
  return {
    threshold: evaluate?.threshold ?? 0.5,
    scores: evaluate?.scores ?? 'probability',
    resamples: evaluate?.bootstrap ?? 1000,
    seed: evaluate?.seed ?? 1,
    columns: evaluate?.columns ?? {},
  };
}

/**
 * The metrics `mlship evaluate` reports for a predictions file (the same numbers, by the same
 * code), for other stages to record: build labels its images with them.
 */
export function predictionMetrics(
  text: string,
  display: string,
  evaluate: EvaluateConfig | undefined,
): { readonly metrics: Readonly<Record<string, number>>; readonly undefinedMetrics: Readonly<Record<string, string>> } {
  const settings = scoringSettings(evaluate);
  const scored = scorePredictions(parsePredictionsText(text, display, settings.columns), settings);
  return { metrics: scored.metrics, undefinedMetrics: scored.undefinedMetrics };
}

/** Reads a predictions file, CSV or JSONL (by extension, else by its first character). */
export function parsePredictionsText(text: string, display: string, columns: ScoringSettings['columns']): PredictionSet {
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

/** A scored predictions file: metrics, curves and slices, and what a bootstrap needs of it. */
export interface Scored {
  readonly set: PredictionSet;
  readonly metrics: Readonly<Record<string, number>>;
  readonly undefinedMetrics: Readonly<Record<string, string>>;
  readonly confusion: { readonly tp: number; readonly fp: number; readonly tn: number; readonly fn: number } | undefined;
  readonly roc: Curve | undefined;
  readonly calibration: readonly CalibrationRow[];
  readonly slices: readonly SliceRow[] | undefined;
  readonly notes: readonly string[];
  readonly model: BootstrapModel;
  /** Whether both were scored on the same rows (same labels, in the same order): a paired comparison is then valid. */
  sameRowsAs(other: Scored): boolean;
}

export function scorePredictions(set: PredictionSet, settings: Pick<ScoringSettings, 'threshold' | 'scores'>): Scored {
  const options = { threshold: settings.threshold, scores: settings.scores };
  const evaluation = evaluateBinary(set, options);
  const slices = set.groups
    ? evaluateByGroup(set, options).map(
        (g): SliceRow => ({
          group: g.group,
          count: g.evaluation.metrics.count ?? 0,
          positives: g.evaluation.metrics.positives ?? 0,
          metrics: { auc: g.evaluation.metrics.auc, accuracy: g.evaluation.metrics.accuracy, recall: g.evaluation.metrics.recall },
        }),
      )
    : undefined;
  const meaning = interpretScores(set.scores, settings.scores);
  return {
    set,
    metrics: evaluation.metrics as Record<string, number>,
    undefinedMetrics: evaluation.undefinedMetrics as Record<string, string>,
    confusion: evaluation.confusion,
    roc: evaluation.rocCurve ? { fpr: evaluation.rocCurve.fpr, tpr: evaluation.rocCurve.tpr } : undefined,
    calibration: evaluation.calibration ?? [],
    slices,
    notes: evaluation.warnings,
    model: {
      labels: set.labels,
      scores: set.scores,
      decisions: meaning.decisions && { scores: meaning.decisions, threshold: settings.threshold },
      probabilities: meaning.probabilities,
    },
    sameRowsAs(other) {
      const a = set.labels;
      const b = other.set.labels;
      if (a.length !== b.length) return false;
      for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
      return true;
    },
  };
}

/** Bootstrap intervals of the candidate's metrics, and of its differences from baselines on the same rows. */
export interface Intervals {
  interval(metric: string, confidence: number): Interval | undefined;
  difference(baseline: Scored, metric: string, confidence: number): Interval | undefined;
}

export interface BootstrapOptions {
  readonly reporter?: Reporter | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Worker threads; default: one per core when the work is large enough to gain from them. */
  readonly threads?: number | undefined;
  /** The metrics whose differences from a baseline will be asked (default: every standard metric). */
  readonly pairedMetrics?: readonly string[] | undefined;
}

/** Below this many draws (rows × resamples) one thread finishes before workers would have started. */
const THREADED_DRAWS = 20_000_000;

/**
 * Every interval a report and its gates may ask for, from one seeded bootstrap: the same
 * resamples serve every metric, the candidate's own intervals and its paired differences from
 * each baseline scored on the same rows (the values are those of bootstrapInterval and
 * pairedBootstrapDifference with the same seed).
 */
export async function bootstrapIntervals(candidate: Scored, baselines: readonly Scored[], settings: Pick<ScoringSettings, 'resamples' | 'seed'>, options: BootstrapOptions = {}): Promise<Intervals> {
  const paired = baselines.filter((b) => candidate.sameRowsAs(b));
  const rows = candidate.set.labels.length;
  if (rows === 0 || settings.resamples < 1) return { interval: () => undefined, difference: () => undefined };
  const known = (metric: string): metric is ResampleMetric => (STANDARD_METRICS as readonly string[]).includes(metric);
  const compared = options.pairedMetrics?.filter(known) ?? STANDARD_METRICS;
  const views = [resampleView(candidate.model, 'positions')];
  if (paired.length > 0 && compared.length > 0) {
    views.push(resampleView(candidate.model, 'rows', compared), ...paired.map((b) => resampleView(b.model, 'rows', compared)));
  }
  const plan = resamplePlan(views);
  const threaded = options.threads === undefined ? rows * settings.resamples >= THREADED_DRAWS : options.threads > 1;
  let values: ResampleValues;
  if (threaded) {
    const progress = options.reporter?.progress('bootstrap', settings.resamples, 'resamples');
    try {
      const start = seedState(settings.seed);
      const computed = await resampleOnThreads(plan, start, settings.resamples, {
        threads: options.threads,
        signal: options.signal,
        onResamples: (count) => progress?.advance(count),
      });
      values = new ResampleValues(computed, settings.resamples, views.length);
    } finally {
      progress?.done();
    }
  } else {
    values = runResamples(plan, settings.seed, settings.resamples);
  }
  const defined = (compute: () => { low: number; high: number }): Interval | undefined => {
    try {
      const { low, high } = compute();
      return Number.isFinite(low) && Number.isFinite(high) ? { low, high } : undefined;
    } catch {
      return undefined; // undefined in every resample (say, one class throughout): gates then fail visibly
    }
  };
  return {
    interval: (metric, confidence) => (known(metric) && metric in candidate.metrics ? defined(() => values.interval(0, metric, confidence)) : undefined),
    difference: (baseline, metric, confidence) => {
      const index = paired.indexOf(baseline);
      if (index < 0 || !known(metric) || !(metric in candidate.metrics) || !(metric in baseline.metrics)) return undefined;
      if (!compared.includes(metric)) throw new Error(`the paired bootstrap was not asked for ${metric} (pairedMetrics)`);
      return defined(() => values.difference(1, 2 + index, metric, confidence));
    },
  };
}
