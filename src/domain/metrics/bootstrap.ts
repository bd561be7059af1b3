import { MetricUndefinedError } from './errors.js';
import { checkPredictions } from './predictions.js';
import { Xoshiro128 } from './random.js';
import { averagePrecision, averagePrecisionOf, rocAuc, rocAucOf, type Ranking } from './ranking.js';
import { descendingOrder, radixSort } from './sort.js';

/**
 * Percentile bootstrap intervals for any metric of (labels, scores), seeded and deterministic.
 *
 * Each resample draws n row numbers with replacement. Speed comes from never sorting a resample:
 * - for ROC AUC and average precision, the resample's ranking table is built straight from the
 *   draws, by adding each drawn row to its distinct-score group (the groups are found once);
 * - any other metric gets the drawn rows written out in descending score order, into buffers
 *   reused across resamples (the ranking metrics recognise sorted input and skip their sort).
 * Both give bit-for-bit the value the metric has on the resampled rows.
 *
 * The metric must not depend on the order of rows (none of mlship's do) and must not keep the
 * arrays it is given: they are overwritten by the next resample.
 */
export type MetricFunction = (labels: Uint8Array, scores: Float64Array) => number;

export interface BootstrapOptions {
  readonly resamples: number;
  readonly seed: number;
  /** Two-sided coverage, e.g. 0.95 for the 2.5th to the 97.5th percentile. */
  readonly confidence: number;
}

export interface BootstrapInterval {
  /** The metric on the full data (for a paired bootstrap, candidate − baseline). */
  readonly estimate: number;
  readonly low: number;
  readonly high: number;
  readonly confidence: number;
  /** Resamples in which the metric was defined, and those skipped because it was not (one class). */
  readonly used: number;
  readonly skipped: number;
}

/** The metrics whose value on a resample can be read from its ranking table without sorting. */
const RANKING_FORMS = new Map<MetricFunction, (ranking: Ranking) => number>([
  [rocAuc, rocAucOf],
  [averagePrecision, averagePrecisionOf],
]);

export function bootstrapInterval(
  set: { readonly labels: Uint8Array; readonly scores: Float64Array },
  metric: MetricFunction,
  options: BootstrapOptions,
): BootstrapInterval {
  checkPredictions(set.labels, set.scores);
  checkOptions(options);
  const estimate = metric(set.labels, set.scores);
  // Resampling the rows of the table sorted by score is resampling the rows themselves (each draw
  // picks any row with probability 1/n either way), and it makes the interval independent of the
  // order of the file's rows.
  const { payload: labels, scores } = radixSort(set.scores, set.labels);
  const evaluate = resampleEvaluator(labels, scores, identityOrder(labels.length), metric);
  const draws = new Draws(labels.length, options.seed);
  const values = new Float64Array(options.resamples);
  let used = 0;
  for (let r = 0; r < options.resamples; r += 1) {
    const value = definedOrUndefined(() => evaluate(draws.next()));
    if (value !== undefined) values[used++] = value;
  }
  return summarise(estimate, values.subarray(0, used), options);
}

/**
 * The interval of metric(candidate) − metric(baseline), both computed on the same resampled rows
 * in every resample: their shared noise cancels, so the interval answers "is the candidate
 * better?" more sharply than two separate intervals. Identical scores give exactly [0, 0].
 */
export function pairedBootstrapDifference(
  labels: Uint8Array,
  candidateScores: Float64Array,
  baselineScores: Float64Array,
  metric: MetricFunction,
  options: BootstrapOptions,
): BootstrapInterval {
  checkPredictions(labels, candidateScores);
  checkPredictions(labels, baselineScores);
  checkOptions(options);
  const estimate = metric(labels, candidateScores) - metric(labels, baselineScores);
  const candidate = resampleEvaluator(labels, candidateScores, descendingOrder(candidateScores), metric);
  const baseline = resampleEvaluator(labels, baselineScores, descendingOrder(baselineScores), metric);
  const draws = new Draws(labels.length, options.seed);
  const values = new Float64Array(options.resamples);
  let used = 0;
  for (let r = 0; r < options.resamples; r += 1) {
    const rows = draws.next();
    const ofCandidate = definedOrUndefined(() => candidate(rows));
    if (ofCandidate === undefined) continue;
    const ofBaseline = definedOrUndefined(() => baseline(rows));
    if (ofBaseline === undefined) continue;
    values[used++] = ofCandidate - ofBaseline;
  }
  return summarise(estimate, values.subarray(0, used), options);
}

/** n row numbers drawn uniformly with replacement, into one buffer reused for every resample. */
class Draws {
  private readonly rows: Uint32Array;
  private readonly rng: Xoshiro128;

  constructor(n: number, seed: number) {
    this.rows = new Uint32Array(n);
    this.rng = new Xoshiro128(seed);
  }

  next(): Uint32Array {
    const { rows, rng } = this;
    for (let j = 0; j < rows.length; j += 1) rows[j] = rng.nextBelow(rows.length);
    return rows;
  }
}

/** The metric of the resample a set of drawn rows makes; `order` lists the rows by descending score. */
type ResampleEvaluator = (rows: Uint32Array) => number;

function resampleEvaluator(labels: Uint8Array, scores: Float64Array, order: Uint32Array, metric: MetricFunction): ResampleEvaluator {
  const ofRanking = RANKING_FORMS.get(metric);
  return ofRanking ? rankingEvaluator(labels, scores, order, ofRanking) : emittingEvaluator(labels, scores, order, metric);
}

function identityOrder(n: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i += 1) order[i] = i;
  return order;
}

/**
 * Ranking metrics: each row belongs to the group of its distinct score; a resample's ranking
 * table is the running sum, over groups by descending score, of the positives and negatives
 * drawn from each (groups nothing was drawn from are left out, as their score is absent).
 */
function rankingEvaluator(labels: Uint8Array, scores: Float64Array, order: Uint32Array, ofRanking: (ranking: Ranking) => number): ResampleEvaluator {
  const n = labels.length;
  // One number per row, 2·group + label, so a draw costs one random read and one increment.
  const slotOf = new Uint32Array(n);
  const groupScores = new Float64Array(n);
  let groups = 0;
  for (let i = 0; i < n; i += 1) {
    const row = order[i] as number;
    const score = scores[row] as number;
    if (i === 0 || score !== (scores[order[i - 1] as number] as number)) groupScores[groups++] = score + 0;
    slotOf[row] = 2 * (groups - 1) + (labels[row] as number);
  }
  const drawn = new Uint32Array(2 * groups); // [negatives, positives] drawn per group
  const thresholds = new Float64Array(groups);
  const tps = new Float64Array(groups);
  const fps = new Float64Array(groups);
  return (rows) => {
    drawn.fill(0);
    for (let j = 0; j < rows.length; j += 1) (drawn[slotOf[rows[j] as number] as number] as number) += 1;
    let positives = 0;
    let negatives = 0;
    let k = 0;
    for (let g = 0; g < groups; g += 1) {
      positives += drawn[2 * g + 1] as number;
      negatives += drawn[2 * g] as number;
      // Written every time, kept only if drawn from: no branch to mispredict on the ~37% of
      // groups a resample misses.
      thresholds[k] = groupScores[g] as number;
      tps[k] = positives;
      fps[k] = negatives;
      k += Math.min(1, (drawn[2 * g] as number) + (drawn[2 * g + 1] as number));
    }
    return ofRanking({ thresholds: thresholds.subarray(0, k), tps: tps.subarray(0, k), fps: fps.subarray(0, k), positives, negatives });
  };
}

/** Any other metric: the drawn rows, each repeated as often as drawn, written out in `order`. */
function emittingEvaluator(labels: Uint8Array, scores: Float64Array, order: Uint32Array, metric: MetricFunction): ResampleEvaluator {
  const n = labels.length;
  const counts = new Uint32Array(n);
  const outLabels = new Uint8Array(n);
  const outScores = new Float64Array(n);
  return (rows) => {
    counts.fill(0);
    for (let j = 0; j < rows.length; j += 1) (counts[rows[j] as number] as number) += 1;
    let at = 0;
    for (let i = 0; i < n; i += 1) {
      const row = order[i] as number;
      let count = counts[row] as number;
      if (count === 0) continue;
      const label = labels[row] as number;
      const score = scores[row] as number;
      do {
        outLabels[at] = label;
        outScores[at] = score;
        at += 1;
        count -= 1;
      } while (count > 0);
    }
    return metric(outLabels, outScores);
  };
}

/** The metric's value, or undefined where it has none (one class, or NaN from a custom metric). */
function definedOrUndefined(compute: () => number): number | undefined {
  try {
    const value = compute();
    return Number.isNaN(value) ? undefined : value;
  } catch (error) {
    if (error instanceof MetricUndefinedError) return undefined;
    throw error;
  }
}

function checkOptions(options: BootstrapOptions): void {
  if (!Number.isInteger(options.resamples) || options.resamples < 1) {
    throw new RangeError(`a bootstrap needs a whole number of resamples >= 1, got ${options.resamples}`);
  }
  if (!Number.isSafeInteger(options.seed)) throw new RangeError(`the seed must be a safe integer, got ${options.seed}`);
  if (!(options.confidence > 0 && options.confidence < 1)) {
    throw new RangeError(`the confidence must lie strictly between 0 and 1, got ${options.confidence}`);
  }
}

function summarise(estimate: number, values: Float64Array, options: BootstrapOptions): BootstrapInterval {
  const skipped = options.resamples - values.length;
  if (values.length === 0) {
    throw new MetricUndefinedError(`the bootstrap interval is undefined: the metric was undefined in all ${options.resamples} resamples`);
  }
  values.sort();
  const tail = (1 - options.confidence) / 2;
  return {
    estimate,
    low: percentile(values, tail),
    high: percentile(values, 1 - tail),
    confidence: options.confidence,
    used: values.length,
    skipped,
  };
}

/** numpy's default ("linear") percentile of sorted values, q in [0, 1]. */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) throw new RangeError('no values to take a percentile of');
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  const lower = sorted[below] as number;
  return lower + (position - below) * ((sorted[above] as number) - lower);
}
