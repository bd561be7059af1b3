/**
 * What a model's scores are, as `evaluate.scores` says: probabilities of the positive class
 * (the default), logits (log-odds, mapped to probabilities with the sigmoid), or raw scores such
 * as an SVM's margins, which rank rows but are no probabilities. Ranking metrics (ROC AUC,
 * average precision, the curves) work on any of them; the rest need to know.
 */
export const SCORE_KINDS = ['probability', 'logits', 'raw'] as const;
export type ScoreKind = (typeof SCORE_KINDS)[number];

export interface ScoreMeaning {
  /** What the threshold is compared with; absent when the threshold metrics are undefined. */
  readonly decisions: Float64Array | undefined;
  /** The predicted probabilities; absent when the scores are none. */
  readonly probabilities: Float64Array | undefined;
  /** Why there are no decisions, or no probabilities: a sentence that says how to fix it. */
  readonly noDecisions?: string;
  readonly noProbabilities?: string;
}

export function interpretScores(scores: Float64Array, kind: ScoreKind): ScoreMeaning {
  if (kind === 'logits') {
    const probabilities = Float64Array.from(scores, sigmoid);
    return { decisions: probabilities, probabilities };
  }
  if (kind === 'raw') {
    return { decisions: scores, probabilities: undefined, noProbabilities: 'the scores are raw, not probabilities (evaluate.scores: raw)' };
  }
  const { low, high } = scoreRange(scores);
  if (low >= 0 && high <= 1) return { decisions: scores, probabilities: scores };
  const why =
    `the scores range from ${number(low)} to ${number(high)}, outside [0, 1], so they are not probabilities: ` +
    'set evaluate.scores: logits if they are log-odds (mlship maps them with the sigmoid), ' +
    'or evaluate.scores: raw to keep the threshold metrics at evaluate.threshold';
  return { decisions: undefined, probabilities: undefined, noDecisions: why, noProbabilities: why };
}

/** The logistic function, 1 / (1 + e^−x): 0 and 1 at the extremes, never NaN for a finite x. */
export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** The lowest and highest score (0 and 0 for none). */
export function scoreRange(scores: Float64Array): { low: number; high: number } {
  let low = Infinity;
  let high = -Infinity;
  for (let i = 0; i < scores.length; i += 1) {
    const score = scores[i] as number;
    if (score < low) low = score;
    if (score > high) high = score;
  }
  return scores.length === 0 ? { low: 0, high: 0 } : { low, high };
}

function number(x: number): string {
  return String(Number(x.toPrecision(4)));
}
