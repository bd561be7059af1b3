import { MetricUndefinedError } from './errors.js';
import { checkPredictions } from './predictions.js';
import { CompensatedSum } from './sum.js';

/**
 * Metrics that read scores as probabilities of the positive class, so they need scores in [0, 1].
 * A decision function's raw margins would give a number here that means nothing, so they are
 * refused (scikit-learn 1.2.1's log_loss clips them silently; its brier_score_loss refuses them).
 */

/** numpy's float64 machine epsilon, 2^-52: scikit-learn 1.2's `eps="auto"` for float64 input. */
export const LOG_LOSS_EPSILON = 2 ** -52;

function requireProbabilities(scores: Float64Array, metric: string): void {
  if (scores.length === 0) throw new MetricUndefinedError(`${metric} is undefined: there are no predictions`);
  for (let i = 0; i < scores.length; i += 1) {
    const score = scores[i] as number;
    if (!(score >= 0 && score <= 1)) {
      throw new MetricUndefinedError(`${metric} needs probabilities in [0, 1]; row ${i + 1} has score ${score}`);
    }
  }
}

/**
 * Mean negative log-likelihood, as scikit-learn 1.2.1 computes it: each probability is clipped to
 * [ε, 1 − ε] with ε = 2^-52 (releases before 1.2 used 1e-15), the pair (1 − p, p) is renormalised
 * by its sum, and the loss is −log of the true class's share. With one class only, scikit-learn
 * needs `labels=[0, 1]` to be told the other class exists; the loss itself is well defined.
 */
export function logLoss(labels: Uint8Array, scores: Float64Array): number {
  checkPredictions(labels, scores);
  requireProbabilities(scores, 'log loss');
  const sum = new CompensatedSum();
  for (let i = 0; i < scores.length; i += 1) sum.add(logLossTerm(labels[i] as number, scores[i] as number));
  return sum.value / scores.length;
}

/** One row's share of the log loss: −log of the clipped, renormalised probability of its label. */
export function logLossTerm(label: number, probability: number): number {
  const p = Math.min(Math.max(probability, LOG_LOSS_EPSILON), 1 - LOG_LOSS_EPSILON);
  const q = 1 - p;
  const total = q + p;
  return -Math.log((label === 1 ? p : q) / total);
}

/** Mean squared difference between the label and the probability (scikit-learn's brier_score_loss). */
export function brierScore(labels: Uint8Array, scores: Float64Array): number {
  checkPredictions(labels, scores);
  requireProbabilities(scores, 'the Brier score');
  const sum = new CompensatedSum();
  for (let i = 0; i < scores.length; i += 1) sum.add(brierTerm(labels[i] as number, scores[i] as number));
  return sum.value / scores.length;
}

/** One row's share of the Brier score: its squared error. */
export function brierTerm(label: number, probability: number): number {
  const error = label - probability;
  return error * error;
}

export interface CalibrationBin {
  /** Bin i of `bins` covers (low, high]; bin 0 also holds 0. */
  readonly low: number;
  readonly high: number;
  readonly count: number;
  readonly meanScore: number;
  readonly fractionPositive: number;
}

/**
 * A reliability diagram's points with `bins` uniform bins on [0, 1], empty bins omitted:
 * scikit-learn 1.2.1's `calibration_curve(strategy="uniform")` (meanScore is its prob_pred,
 * fractionPositive its prob_true), plus the count per bin. Edges are i/bins computed as numpy's
 * linspace does (i · (1/bins)), and a score equal to an inner edge falls in the lower bin, as
 * `np.searchsorted(edges, score)` (side="left") puts it.
 */
export function calibrationBins(labels: Uint8Array, scores: Float64Array, bins = 10): CalibrationBin[] {
  checkPredictions(labels, scores);
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`calibration needs a whole number of bins >= 1, got ${bins}`);
  requireProbabilities(scores, 'calibration');
  const step = 1 / bins;
  const edge = (i: number): number => (i === bins ? 1 : i * step);
  const counts = new Float64Array(bins);
  const positives = new Float64Array(bins);
  const sums = Array.from({ length: bins }, () => new CompensatedSum());
  for (let i = 0; i < scores.length; i += 1) {
    const score = scores[i] as number;
    const bin = binOf(score, bins, edge);
    (counts[bin] as number) += 1;
    (positives[bin] as number) += labels[i] as number;
    (sums[bin] as CompensatedSum).add(score);
  }
  const out: CalibrationBin[] = [];
  for (let b = 0; b < bins; b += 1) {
    const count = counts[b] as number;
    if (count === 0) continue;
    out.push({
      low: edge(b),
      high: edge(b + 1),
      count,
      meanScore: (sums[b] as CompensatedSum).value / count,
      fractionPositive: (positives[b] as number) / count,
    });
  }
  return out;
}

/** The number of inner edges strictly below the score: a first guess from the product, then exact. */
function binOf(score: number, bins: number, edge: (i: number) => number): number {
  let bin = Math.min(bins - 1, Math.floor(score * bins));
  while (bin > 0 && edge(bin) >= score) bin -= 1;
  while (bin < bins - 1 && edge(bin + 1) < score) bin += 1;
  return bin;
}
