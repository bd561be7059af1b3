import { MetricUndefinedError } from './errors.js';
import { checkPredictions } from './predictions.js';
import { brierScore, brierTerm, logLoss, logLossTerm } from './probability.js';
import { Xoshiro128 } from './random.js';
import { averagePrecision, rocAuc } from './ranking.js';
import { RESAMPLE_METRICS, resampleChunk, type ResampleMetric, type ResamplePlan, type ResampleView } from './resample-kernel.js';
import { descendingOrder, radixSort } from './sort.js';

/**
 * Percentile bootstrap intervals for any metric of (labels, scores), seeded and deterministic.
 *
 * Each resample draws n row numbers with replacement. Speed comes from never sorting a resample:
 * each model's rows are sorted by score once, a resample is the count of draws of each row, and
 * the standard metrics are read off those counts in one pass over the sorted rows
 * (resample-kernel.ts), all of them at once, for every model drawn from the same rows. Any other
 * metric gets the drawn rows written out in descending score order, into buffers reused across
 * resamples. Both give bit-for-bit the value the metric has on the resampled rows.
 *
 * A custom metric must not depend on the order of rows (none of mlship's do) and must not keep
 * the arrays it is given: they are overwritten by the next resample.
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

/** The metric functions the kernel computes from counts, by their name there. */
const KERNEL_FORMS = new Map<MetricFunction, ResampleMetric>([
  [rocAuc, 'auc'],
  [averagePrecision, 'average_precision'],
  [logLoss, 'log_loss'],
  [brierScore, 'brier'],
]);

export function bootstrapInterval(
  set: { readonly labels: Uint8Array; readonly scores: Float64Array },
  metric: MetricFunction,
  options: BootstrapOptions,
): BootstrapInterval {
  checkPredictions(set.labels, set.scores);
  checkOptions(options);
  const estimate = metric(set.labels, set.scores);
  const name = KERNEL_FORMS.get(metric);
  if (name) {
    const plan = resamplePlan([resampleView(modelFor(set, name), 'positions', [name])]);
    return { estimate, ...runResamples(plan, options.seed, options.resamples).interval(0, name, options.confidence) };
  }
  // Resampling the rows of the table sorted by score is resampling the rows themselves (each draw
  // picks any row with probability 1/n either way), and it makes the interval independent of the
  // order of the file's rows.
  const order = descendingOrder(set.scores);
  const labels = Uint8Array.from(order, (row) => set.labels[row] as number);
  const scores = Float64Array.from(order, (row) => set.scores[row] as number);
  const evaluate = emittingEvaluator(labels, scores, identityOrder(labels.length), metric);
  const draws = new Draws(labels.length, options.seed);
  const values = new Float64Array(options.resamples);
  let used = 0;
  for (let r = 0; r < options.resamples; r += 1) {
    const value = definedOrUndefined(() => evaluate(draws.next()));
    if (value !== undefined) values[used++] = value;
  }
  return { estimate, ...summarise(values.subarray(0, used), options.resamples, options.confidence) };
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
  const name = KERNEL_FORMS.get(metric);
  if (name) {
    const views = [resampleView(modelFor({ labels, scores: candidateScores }, name), 'rows', [name]), resampleView(modelFor({ labels, scores: baselineScores }, name), 'rows', [name])];
    const values = runResamples(resamplePlan(views), options.seed, options.resamples);
    return { estimate, ...values.difference(0, 1, name, options.confidence) };
  }
  const candidate = emittingEvaluator(labels, candidateScores, descendingOrder(candidateScores), metric);
  const baseline = emittingEvaluator(labels, baselineScores, descendingOrder(baselineScores), metric);
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
  return { estimate, ...summarise(values.subarray(0, used), options.resamples, options.confidence) };
}

/** One model's predictions, as the bootstrap reads them. */
export interface BootstrapModel {
  readonly labels: Uint8Array;
  /** What ranks the rows: ROC AUC and average precision. */
  readonly scores: Float64Array;
  /** What the threshold is compared with, when the threshold metrics are defined; it must not rank the rows otherwise than `scores`. */
  readonly decisions?: { readonly scores: Float64Array; readonly threshold: number } | undefined;
  /** The predicted probabilities, when there are any: log loss and the Brier score. */
  readonly probabilities?: Float64Array | undefined;
}

/** The model the bootstrap of one metric function needs (its estimate succeeded, so the scores suit it). */
function modelFor(set: { readonly labels: Uint8Array; readonly scores: Float64Array }, metric: ResampleMetric): BootstrapModel {
  return { labels: set.labels, scores: set.scores, ...(metric === 'log_loss' || metric === 'brier' ? { probabilities: set.scores } : {}) };
}

const THRESHOLD_METRICS: readonly ResampleMetric[] = ['accuracy', 'precision', 'recall', 'f1'];

/**
 * A model's rows for the kernel. `positions`: a draw picks the j-th row by descending score (one
 * model's interval); `rows`: it picks row j of the file, the same row for every model drawn
 * together (a paired comparison). `metrics`: those anybody will read of this view (the others
 * are NaN); average precision and the probability metrics cost several times what the rest do.
 */
export function resampleView(model: BootstrapModel, draws: 'positions' | 'rows', metrics: readonly ResampleMetric[] = RESAMPLE_METRICS): ResampleView {
  const { scores } = model;
  checkPredictions(model.labels, scores);
  const n = scores.length;
  const { scores: sortedScores, payload: sorted } = radixSort(scores, identityOrder(n));
  const labels = new Uint8Array(n);
  const groupEnds = new Uint8Array(n);
  for (let i = 0; i < n; i += 1) {
    labels[i] = model.labels[sorted[i] as number] as number;
    groupEnds[i] = i === n - 1 || sortedScores[i] !== sortedScores[i + 1] ? 1 : 0;
  }
  const probabilities = metrics.includes('log_loss') || metrics.includes('brier') ? model.probabilities : undefined;
  const decisions = THRESHOLD_METRICS.some((metric) => metrics.includes(metric)) ? model.decisions : undefined;
  // Every view has every field, in this order, present or not: the kernel's optimised code then
  // sees one shape of view (a new shape makes V8 throw that code away and start again).
  const terms = probabilities ? probabilityTerms(sorted, model.labels, probabilities) : undefined;
  return {
    order: draws === 'rows' ? sorted : identityOrder(n),
    labels,
    groupEnds,
    predictedPositive: decisions ? predictedPositive(sorted, decisions.scores, decisions.threshold) : -1,
    logLossTerms: terms?.logLossTerms,
    brierTerms: terms?.brierTerms,
    largestTerms: terms?.largestTerms,
    averagePrecision: metrics.includes('average_precision'),
  };
}

/** Each position's log-loss term and squared error, and the largest of each. */
function probabilityTerms(sorted: Uint32Array, labels: Uint8Array, probabilities: Float64Array): { logLossTerms: Float64Array; brierTerms: Float64Array; largestTerms: [number, number] } {
  const logLossTerms = new Float64Array(sorted.length);
  const brierTerms = new Float64Array(sorted.length);
  let largestLogLoss = 0;
  let largestBrier = 0;
  for (let i = 0; i < sorted.length; i += 1) {
    const row = sorted[i] as number;
    logLossTerms[i] = logLossTerm(labels[row] as number, probabilities[row] as number);
    brierTerms[i] = brierTerm(labels[row] as number, probabilities[row] as number);
    largestLogLoss = Math.max(largestLogLoss, logLossTerms[i] as number);
    largestBrier = Math.max(largestBrier, brierTerms[i] as number);
  }
  return { logLossTerms, brierTerms, largestTerms: [largestLogLoss, largestBrier] };
}

/** How many rows, from the top of the ranking, reach the threshold: they must come first. */
function predictedPositive(sorted: Uint32Array, decisions: Float64Array, threshold: number): number {
  let count = 0;
  while (count < sorted.length && (decisions[sorted[count] as number] as number) >= threshold) count += 1;
  for (let i = count; i < sorted.length; i += 1) {
    if ((decisions[sorted[i] as number] as number) >= threshold) throw new RangeError('the decision scores rank the rows otherwise than the scores');
  }
  return count;
}

export function resamplePlan(views: readonly ResampleView[]): ResamplePlan {
  const rows = views[0]?.labels.length ?? 0;
  if (rows === 0) throw new MetricUndefinedError('a bootstrap needs at least one prediction');
  if (views.some((v) => v.labels.length !== rows)) throw new RangeError('every model drawn together must have the same rows');
  return { rows, views, averagePrecision: views.some((v) => v.averagePrecision) };
}

/** The generator state a seed starts from, as the kernel steps it. */
export function seedState(seed: number): Int32Array {
  return new Xoshiro128(seed).state();
}

/** Runs a whole plan on this thread (worker threads run it in chunks: adapters/threads). */
export function runResamples(plan: ResamplePlan, seed: number, resamples: number): ResampleValues {
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`a bootstrap needs a whole number of resamples >= 1, got ${resamples}`);
  const values = new Float64Array(resamples * plan.views.length * RESAMPLE_METRICS.length);
  resampleChunk(plan, seedState(seed), resamples, values);
  return new ResampleValues(values, resamples, plan.views.length);
}

/** Every resample's metrics for every view, as the kernel wrote them; intervals are read from them. */
export class ResampleValues {
  constructor(
    readonly values: Float64Array,
    readonly resamples: number,
    readonly views: number,
  ) {
    if (values.length !== resamples * views * RESAMPLE_METRICS.length) throw new RangeError('resample values of the wrong size');
  }

  /** The percentile interval of a metric of one view (without the estimate: the caller has it). */
  interval(view: number, metric: ResampleMetric, confidence: number): Omit<BootstrapInterval, 'estimate'> {
    return summarise(this.collect((value) => value(view), metric), this.resamples, confidence);
  }

  /** The interval of view a's metric minus view b's, resample by resample (both defined). */
  difference(a: number, b: number, metric: ResampleMetric, confidence: number): Omit<BootstrapInterval, 'estimate'> {
    return summarise(this.collect((value) => value(a) - value(b), metric), this.resamples, confidence);
  }

  private collect(combine: (value: (view: number) => number) => number, metric: ResampleMetric): Float64Array {
    const m = RESAMPLE_METRICS.indexOf(metric);
    const out = new Float64Array(this.resamples);
    let used = 0;
    for (let r = 0; r < this.resamples; r += 1) {
      const combined = combine((view) => this.values[(r * this.views + view) * RESAMPLE_METRICS.length + m] as number);
      if (!Number.isNaN(combined)) out[used++] = combined;
    }
    return out.subarray(0, used);
  }
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

/** The metric of the resample a set of drawn rows makes. */
type ResampleEvaluator = (rows: Uint32Array) => number;

function identityOrder(n: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i += 1) order[i] = i;
  return order;
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

function summarise(values: Float64Array, resamples: number, confidence: number): Omit<BootstrapInterval, 'estimate'> {
  if (values.length === 0) {
    const every = resamples === 1 ? 'the one resample' : `all ${resamples} resamples`;
    throw new MetricUndefinedError(`the bootstrap interval is undefined: the metric was undefined in ${every}`);
  }
  values.sort();
  const tail = (1 - confidence) / 2;
  return {
    low: percentile(values, tail),
    high: percentile(values, 1 - tail),
    confidence,
    used: values.length,
    skipped: resamples - values.length,
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
