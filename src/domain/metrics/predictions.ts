import { PredictionsError } from './errors.js';

/**
 * A binary classifier's predictions, column-oriented so ten million rows stay compact:
 * labels[i] is 0 or 1, scores[i] a finite number (higher means more likely positive), and
 * groups[i], when present, names the slice row i belongs to.
 */
export interface PredictionSet {
  readonly labels: Uint8Array;
  readonly scores: Float64Array;
  readonly groups?: readonly string[];
}

/**
 * Checks what every metric assumes, in one pass: equal lengths, labels 0 or 1, finite scores.
 * Arrays built by `parsePredictions` always pass; arrays built by hand may not.
 */
export function checkPredictions(labels: Uint8Array, scores: Float64Array): void {
  if (labels.length !== scores.length) {
    throw new PredictionsError(`labels and scores differ in length: ${labels.length} labels, ${scores.length} scores`);
  }
  for (let i = 0; i < labels.length; i += 1) {
    if ((labels[i] as number) > 1) throw new PredictionsError(`row ${i + 1}: label is ${labels[i]}; expected 0 or 1`);
    const score = scores[i] as number;
    // One comparison catches NaN and both infinities: each fails `finite - finite === 0`.
    if (score - score !== 0) throw new PredictionsError(`row ${i + 1}: score is ${score}; scores must be finite numbers`);
  }
}

export function countPositives(labels: Uint8Array): number {
  let positives = 0;
  for (let i = 0; i < labels.length; i += 1) positives += labels[i] as number;
  return positives;
}

/** "all 0" / "all 1": the wording of every one-class error, so they read the same everywhere. */
export function oneClassName(positives: number): string {
  return positives === 0 ? 'all 0' : 'all 1';
}
