import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { REPO_ROOT } from '../helpers/bundle.js';

/** |actual − expected| ≤ 1e-9 · max(1, |expected|): absolute near zero, relative for large values. */
export function expectClose(actual: number, expected: number, what = 'value'): void {
  const tolerance = 1e-9 * Math.max(1, Math.abs(expected));
  if (!(Math.abs(actual - expected) <= tolerance)) {
    expect.fail(`${what}: ${actual} differs from ${expected} by ${Math.abs(actual - expected)} (tolerance ${tolerance})`);
  }
}

export function expectAllClose(actual: ArrayLike<number>, expected: readonly number[], what = 'array'): void {
  expect(actual.length, `${what} length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i += 1) expectClose(actual[i] as number, expected[i] as number, `${what}[${i}]`);
}

export interface ScalarExpectations {
  readonly roc_auc: number | null;
  readonly average_precision: number | null;
  readonly log_loss: number | null;
  readonly brier: number | null;
  readonly accuracy: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** tn, fp, fn, tp, as sklearn's confusion_matrix(...).ravel() */
  readonly confusion: [number, number, number, number];
}

export interface Fixture {
  readonly name: string;
  readonly description: string;
  readonly threshold: number;
  readonly labels: number[];
  readonly scores: number[];
  readonly groups?: string[];
  readonly expected: ScalarExpectations & {
    readonly roc_curve: { fpr: number[]; tpr: number[]; thresholds: number[] };
    readonly precision_recall_curve: { precision: number[]; recall: number[]; thresholds: number[] };
    readonly calibration: { bins: number[]; count: number[]; fraction_positive: number[]; mean_score: number[] } | null;
  };
  readonly expected_by_group?: Record<string, ScalarExpectations>;
}

export const FIXTURES_DIR = path.join(REPO_ROOT, 'test/fixtures/metrics');

export function loadFixtures(): Fixture[] {
  return readdirSync(FIXTURES_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(path.join(FIXTURES_DIR, f), 'utf8')) as Fixture);
}

export function columns(fixture: Pick<Fixture, 'labels' | 'scores'>): { labels: Uint8Array; scores: Float64Array } {
  return { labels: Uint8Array.from(fixture.labels), scores: Float64Array.from(fixture.scores) };
}
