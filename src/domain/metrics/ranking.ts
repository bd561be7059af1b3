import { MetricUndefinedError, PredictionsError } from './errors.js';
import { oneClassName } from './predictions.js';
import { radixSort } from './sort.js';
import { CompensatedSum } from './sum.js';

/**
 * Ranking metrics (ROC AUC, the ROC curve, average precision, the precision-recall curve) all
 * derive from one table: for each distinct score, taken from the highest down, how many positives
 * and negatives score at least that much. That is scikit-learn's `_binary_clf_curve`; building it
 * costs one sort, and every metric below is then a single pass over the distinct scores.
 */
export interface Ranking {
  /** The distinct scores, descending. */
  readonly thresholds: Float64Array;
  /**
   * tps[k]: positives scoring >= thresholds[k] (cumulative, so tps[last] is all positives).
   * Whole numbers, stored as doubles: V8 runs arithmetic on Float64Array elements several times
   * faster than on Uint32Array ones, whose values can overflow its small integers.
   */
  readonly tps: Float64Array;
  /** fps[k]: negatives scoring >= thresholds[k]. */
  readonly fps: Float64Array;
  readonly positives: number;
  readonly negatives: number;
}

export interface RocCurve {
  readonly fpr: Float64Array;
  readonly tpr: Float64Array;
  readonly thresholds: Float64Array;
}

export interface PrecisionRecallCurve {
  /** Recall decreases along the curve; the last point is (precision 1, recall 0), with no threshold. */
  readonly precision: Float64Array;
  readonly recall: Float64Array;
  /** Ascending; one fewer than the points. */
  readonly thresholds: Float64Array;
}

/**
 * Builds the ranking table. Input already sorted by descending score (as bootstrap resamples are
 * emitted) is recognised in the validating pass and not sorted again.
 */
export function rank(labels: Uint8Array, scores: Float64Array): Ranking {
  const scan = scanPredictions(labels, scores);
  if (scan.descending) {
    const table = { thresholds: new Float64Array(scan.distinct), tps: new Float64Array(scan.distinct), fps: new Float64Array(scan.distinct) };
    return tabulate(labels, scores, table);
  }
  // The sorted copy is ours: its distinct scores are compacted in place (row i writes slot k ≤ i,
  // after rows i and i + 1 were read), and the sort's scratch buffer takes the positive counts.
  const sorted = radixSort(scores, labels);
  const distinct = countDistinct(sorted.scores);
  const table = { thresholds: sorted.scores, tps: sorted.scratch, fps: new Float64Array(distinct) };
  return tabulate(sorted.payload, sorted.scores, table);
}

interface Scan {
  /** The scores never increase. */
  readonly descending: boolean;
  /** Runs of equal adjacent scores: the distinct scores, when they are sorted. */
  readonly distinct: number;
}

/** Validates (as `checkPredictions`) and reads the order of the scores, in one pass. */
function scanPredictions(labels: Uint8Array, scores: Float64Array): Scan {
  if (labels.length !== scores.length) {
    throw new PredictionsError(`labels and scores differ in length: ${labels.length} labels, ${scores.length} scores`);
  }
  let descending = true;
  let distinct = 0;
  let previous = NaN;
  for (let i = 0; i < labels.length; i += 1) {
    const score = scores[i] as number;
    if (score - score !== 0) throw new PredictionsError(`row ${i + 1}: score is ${score}; scores must be finite numbers`);
    if ((labels[i] as number) > 1) throw new PredictionsError(`row ${i + 1}: label is ${labels[i]}; expected 0 or 1`);
    if (score > previous) descending = false;
    // `!==` treats -0 and +0 as one score, as numpy's np.diff does; NaN starts the first run.
    if (score !== previous) distinct += 1;
    previous = score;
  }
  return { descending, distinct };
}

function countDistinct(sorted: Float64Array): number {
  let distinct = sorted.length > 0 ? 1 : 0;
  for (let i = 1; i < sorted.length; i += 1) if ((sorted[i] as number) !== (sorted[i - 1] as number)) distinct += 1;
  return distinct;
}

/**
 * Counts per distinct score, from rows sorted by descending score, into `into` (whose arrays
 * hold at least one slot per distinct score; `thresholds` may be `scores` itself). Every row
 * writes its running counts into the current slot and the slot advances only where the score
 * changes: fewer unpredictable branches than testing for the end of each run first.
 */
function tabulate(
  labels: Uint8Array,
  scores: Float64Array,
  into: { thresholds: Float64Array; tps: Float64Array; fps: Float64Array },
): Ranking {
  const n = scores.length;
  const { thresholds, tps, fps } = into;
  let positives = 0;
  let k = 0;
  for (let i = 0; i < n; i += 1) {
    const score = scores[i] as number;
    const changes = i + 1 < n && score !== (scores[i + 1] as number);
    positives += labels[i] as number;
    thresholds[k] = score + 0; // -0 + 0 is +0
    tps[k] = positives;
    fps[k] = i + 1 - positives;
    if (changes) k += 1;
  }
  const distinct = n > 0 ? k + 1 : 0;
  return { thresholds: fit(thresholds, distinct), tps: fit(tps, distinct), fps: fit(fps, distinct), positives, negatives: n - positives };
}

/** The first `length` values: a view when that is most of the array, else a copy, so a table of
 * a few distinct scores does not keep a buffer of ten million alive. */
function fit(values: Float64Array, length: number): Float64Array {
  if (values.length === length) return values;
  return 2 * length < values.length ? values.slice(0, length) : values.subarray(0, length);
}

function requireBothClasses(ranking: Ranking, metric: string): void {
  if (ranking.positives + ranking.negatives === 0) throw new MetricUndefinedError(`${metric} is undefined: there are no predictions`);
  if (ranking.positives === 0 || ranking.negatives === 0) {
    throw new MetricUndefinedError(`${metric} is undefined: the labels hold only one class (${oneClassName(ranking.positives)})`);
  }
}

/**
 * ROC AUC as the Mann–Whitney statistic, exactly: U counts, over all (positive, negative) pairs,
 * 1 when the positive scores higher and 1/2 on a tie. Each distinct score adds
 * dn·(2·tps_before + dp) to 2U, an integer, so the sum is exact while it stays below 2^53 (up to
 * about 130 million balanced rows); the one division then rounds once. scikit-learn integrates
 * the same curve with the trapezoidal rule and agrees to ~1e-15.
 */
export function rocAucOf(ranking: Ranking): number {
  requireBothClasses(ranking, 'ROC AUC');
  const { tps, fps } = ranking;
  let twiceU = 0;
  let tpBefore = 0;
  let fpBefore = 0;
  for (let k = 0; k < tps.length; k += 1) {
    const tp = tps[k] as number;
    const fp = fps[k] as number;
    twiceU += (fp - fpBefore) * (2 * tpBefore + (tp - tpBefore));
    tpBefore = tp;
    fpBefore = fp;
  }
  return twiceU / (2 * ranking.positives * ranking.negatives);
}

/**
 * The ROC curve as scikit-learn 1.2.1's `roc_curve` (drop_intermediate=True) returns it: points
 * in the middle of a straight segment are dropped, (0, 0) is prepended, and its threshold is the
 * highest score + 1. (scikit-learn ≥ 1.3 puts +Infinity there instead.) With one class only the
 * curve is undefined; scikit-learn returns NaN rates with a warning, this throws.
 */
export function rocCurveOf(ranking: Ranking): RocCurve {
  requireBothClasses(ranking, 'the ROC curve');
  const { tps, fps, thresholds } = ranking;
  const kept = cornerIndices(tps, fps);
  const fpr = new Float64Array(kept.length + 1);
  const tpr = new Float64Array(kept.length + 1);
  const cut = new Float64Array(kept.length + 1);
  cut[0] = (thresholds[0] as number) + 1;
  for (let j = 0; j < kept.length; j += 1) {
    const k = kept[j] as number;
    fpr[j + 1] = (fps[k] as number) / ranking.negatives;
    tpr[j + 1] = (tps[k] as number) / ranking.positives;
    cut[j + 1] = thresholds[k] as number;
  }
  return { fpr, tpr, thresholds: cut };
}

/**
 * scikit-learn's points worth keeping: both ends, and every point where the second difference
 * of fps or tps is non-zero (a bend). Curves of two points or fewer keep everything.
 */
function cornerIndices(tps: Float64Array, fps: Float64Array): Uint32Array {
  const m = tps.length;
  const kept = new Uint32Array(m);
  let count = 0;
  for (let k = 0; k < m; k += 1) {
    if (k > 0 && k < m - 1) {
      const fpBend = (fps[k + 1] as number) - 2 * (fps[k] as number) + (fps[k - 1] as number);
      const tpBend = (tps[k + 1] as number) - 2 * (tps[k] as number) + (tps[k - 1] as number);
      if (fpBend === 0 && tpBend === 0) continue;
    }
    kept[count++] = k;
  }
  return kept.subarray(0, count);
}

/**
 * The precision-recall curve as scikit-learn's `precision_recall_curve`: one point per distinct
 * score, ordered by ascending threshold, then the point (1, 0). With no positives recall is
 * undefined; scikit-learn sets it to 1 with a warning, this throws.
 */
export function precisionRecallCurveOf(ranking: Ranking): PrecisionRecallCurve {
  requirePositives(ranking, 'the precision-recall curve');
  const { tps, fps, thresholds } = ranking;
  const m = tps.length;
  const precision = new Float64Array(m + 1);
  const recall = new Float64Array(m + 1);
  const ascending = new Float64Array(m);
  for (let k = 0; k < m; k += 1) {
    const tp = tps[k] as number;
    precision[m - 1 - k] = tp / (tp + (fps[k] as number));
    recall[m - 1 - k] = tp / ranking.positives;
    ascending[m - 1 - k] = thresholds[k] as number;
  }
  precision[m] = 1;
  recall[m] = 0;
  return { precision, recall, thresholds: ascending };
}

/**
 * Average precision, scikit-learn's step-wise (not interpolated) sum over distinct scores of
 * (recall_k − recall_{k−1}) · precision_k. With no positives it is undefined (scikit-learn
 * returns 0 with a warning); with no negatives every precision is 1, and so is the result.
 */
export function averagePrecisionOf(ranking: Ranking): number {
  requirePositives(ranking, 'average precision');
  const { tps, fps } = ranking;
  const sum = new CompensatedSum();
  let recallBefore = 0;
  for (let k = 0; k < tps.length; k += 1) {
    const tp = tps[k] as number;
    const recall = tp / ranking.positives;
    sum.add((recall - recallBefore) * (tp / (tp + (fps[k] as number))));
    recallBefore = recall;
  }
  return sum.value;
}

function requirePositives(ranking: Ranking, metric: string): void {
  if (ranking.positives + ranking.negatives === 0) throw new MetricUndefinedError(`${metric} is undefined: there are no predictions`);
  if (ranking.positives === 0) throw new MetricUndefinedError(`${metric} is undefined: the labels hold no positives (all 0)`);
}

export function rocAuc(labels: Uint8Array, scores: Float64Array): number {
  return rocAucOf(rank(labels, scores));
}

export function rocCurve(labels: Uint8Array, scores: Float64Array): RocCurve {
  return rocCurveOf(rank(labels, scores));
}

export function averagePrecision(labels: Uint8Array, scores: Float64Array): number {
  return averagePrecisionOf(rank(labels, scores));
}

export function precisionRecallCurve(labels: Uint8Array, scores: Float64Array): PrecisionRecallCurve {
  return precisionRecallCurveOf(rank(labels, scores));
}
