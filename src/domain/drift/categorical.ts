import { PSI_EMPTY_BIN, psiOfProportions } from './numeric.js';
import { chiSquareSurvival } from './special.js';

/** Counts per category of both samples, over the union of their categories (a category unseen on one side counts 0 there). */
export interface CategoryCounts {
  readonly categories: readonly string[];
  readonly reference: readonly number[];
  readonly current: readonly number[];
}

export function alignCounts(reference: ReadonlyMap<string, number>, current: ReadonlyMap<string, number>): CategoryCounts {
  const categories = [...new Set([...reference.keys(), ...current.keys()])].sort();
  return {
    categories,
    reference: categories.map((c) => reference.get(c) ?? 0),
    current: categories.map((c) => current.get(c) ?? 0),
  };
}

function shares(counts: readonly number[]): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => c / total);
}

/** PSI over categories; a category unseen on one side has share 0 there, counted as PSI_EMPTY_BIN. */
export function categoricalPsi(counts: CategoryCounts): number {
  return psiOfProportions(shares(counts.reference), shares(counts.current));
}
export { PSI_EMPTY_BIN };

/**
 * Pearson's chi-square test of homogeneity on the 2 × k table (reference, current) × category:
 * scipy.stats.chi2_contingency with its defaults, so Yates' correction applies when k = 2 (one
 * degree of freedom). Unlike a goodness-of-fit test against the reference's shares, it stays
 * defined when a category is new in the current data.
 */
export function chiSquareHomogeneity(counts: CategoryCounts): { statistic: number; pValue: number; dof: number } {
  const k = counts.categories.length;
  const dof = k - 1;
  if (dof === 0) return { statistic: 0, pValue: 1, dof };
  const rows = [counts.reference, counts.current];
  const rowTotals = rows.map((r) => r.reduce((a, b) => a + b, 0));
  const total = rowTotals[0]! + rowTotals[1]!;
  let statistic = 0;
  for (let c = 0; c < k; c++) {
    const column = counts.reference[c]! + counts.current[c]!;
    for (let r = 0; r < 2; r++) {
      const expected = (rowTotals[r]! * column) / total;
      let observed = rows[r]![c]!;
      if (dof === 1) {
        const diff = expected - observed;
        observed += Math.sign(diff) * Math.min(0.5, Math.abs(diff));
      }
      statistic += (observed - expected) ** 2 / expected;
    }
  }
  return { statistic, pValue: chiSquareSurvival(statistic, dof), dof };
}

/** The Jensen–Shannon distance with base-2 logarithms (in [0, 1]): scipy.spatial.distance.jensenshannon(p, q, base=2). */
export function jensenShannonDistance(counts: CategoryCounts): number {
  const p = shares(counts.reference);
  const q = shares(counts.current);
  let divergence = 0;
  for (let i = 0; i < p.length; i++) {
    const m = (p[i]! + q[i]!) / 2;
    if (p[i]! > 0) divergence += p[i]! * Math.log(p[i]! / m);
    if (q[i]! > 0) divergence += q[i]! * Math.log(q[i]! / m);
  }
  return Math.sqrt(Math.max(0, divergence / Math.LN2 / 2));
}
