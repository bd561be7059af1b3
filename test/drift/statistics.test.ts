import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ksStatistic, ksTwoSample } from '../../src/domain/drift/ks.js';
import { kolmogorovSurvival } from '../../src/domain/drift/kolmogorov.js';
import { chiSquareSurvival } from '../../src/domain/drift/special.js';
import { alignCounts, categoricalPsi, chiSquareHomogeneity, jensenShannonDistance } from '../../src/domain/drift/categorical.js';
import { binShares, ksAndWasserstein, ksAndWassersteinOfDecimals, numericPsi, quantileEdges, standardDeviation, wassersteinDistance } from '../../src/domain/drift/numeric.js';
import { sortedDoubles, type SortedDecimals, type SortedNumbers } from '../../src/domain/drift/sort.js';
import { histogram } from '../../src/domain/drift/report.js';

/** Produced by test/fixtures/drift/generate.py with Debian's SciPy 1.10. */
interface Fixtures {
  ks: { name: string; a: number[]; b: number[]; statistic: number; pvalue: number }[];
  kstwo: { n: number; x: number; sf: number }[];
  chi2: { x: number; dof: number; sf: number }[];
  contingency: { reference: number[]; current: number[]; statistic: number; pvalue: number; dof: number }[];
  jensenshannon: { reference: number[]; current: number[]; distance: number }[];
  wasserstein: { a: number[]; b: number[]; distance: number; referenceStd: number }[];
}
const fixtures = JSON.parse(readFileSync(path.join(import.meta.dirname, '../fixtures/drift/scipy.json'), 'utf8')) as Fixtures;

const sorted = (values: readonly number[]): Float64Array => Float64Array.from(values).sort();
const counts = (values: readonly number[]): Map<string, number> => new Map(values.map((v, i) => [`c${i}`, v]));

describe('two-sample Kolmogorov–Smirnov equals SciPy ks_2samp(method="auto")', () => {
  it.each(fixtures.ks.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const result = ksTwoSample(sorted(c.a), sorted(c.b));
    expect(Math.abs(result.statistic - c.statistic)).toBeLessThanOrEqual(1e-12);
    expect(Math.abs(result.pValue - c.pvalue)).toBeLessThanOrEqual(1e-6);
    expect(result.method).toBe(Math.max(c.a.length, c.b.length) <= 10_000 ? 'exact' : 'asymp');
  });

  it('is symmetric in its samples', () => {
    const [c] = fixtures.ks.filter((k) => k.name.startsWith('unequal'));
    const forward = ksTwoSample(sorted(c!.a), sorted(c!.b));
    const backward = ksTwoSample(sorted(c!.b), sorted(c!.a));
    expect(backward).toEqual(forward);
  });
});

describe('the Kolmogorov distribution tail equals SciPy kstwo.sf in every region', () => {
  it.each(fixtures.kstwo.map((c) => [c.n, c.x, c] as const))('n=%i x=%f', (_n, _x, c) => {
    expect(Math.abs(kolmogorovSurvival(c.n, c.x) - c.sf)).toBeLessThanOrEqual(1e-6);
  });
});

describe('chi-square', () => {
  it('survival function equals SciPy chi2.sf', () => {
    for (const c of fixtures.chi2) {
      const got = chiSquareSurvival(c.x, c.dof);
      expect(Math.abs(got - c.sf), `chi2.sf(${c.x}, ${c.dof})`).toBeLessThanOrEqual(1e-12 + 1e-9 * c.sf);
    }
  });

  it.each(fixtures.contingency.map((c) => [JSON.stringify(c.reference), c] as const))('test of homogeneity equals chi2_contingency for %s', (_n, c) => {
    const result = chiSquareHomogeneity(alignCounts(counts(c.reference), counts(c.current)));
    expect(result.dof).toBe(c.dof);
    expect(result.statistic).toBeCloseTo(c.statistic, 10);
    expect(Math.abs(result.pValue - c.pvalue)).toBeLessThanOrEqual(1e-9);
  });
});

describe('Jensen–Shannon distance equals scipy.spatial.distance.jensenshannon(base=2)', () => {
  it.each(fixtures.jensenshannon.map((c) => [JSON.stringify(c.reference), c] as const))('%s', (_n, c) => {
    expect(jensenShannonDistance(alignCounts(counts(c.reference), counts(c.current)))).toBeCloseTo(c.distance, 12);
  });
});

describe('Wasserstein distance equals scipy.stats.wasserstein_distance', () => {
  it.each(fixtures.wasserstein.map((c, i) => [i, c] as const))('case %i', (_i, c) => {
    expect(wassersteinDistance(sorted(c.a), sorted(c.b))).toBeCloseTo(c.distance, 10);
    expect(standardDeviation(Float64Array.from(c.a))).toBeCloseTo(c.referenceStd, 12);
  });
});

describe('KS statistic found with the Wasserstein distance: the same double as ksStatistic', () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  // Rounded to few digits, so the samples share values (ties) and hold runs of one value.
  const sample = (n: number, shift: number, digits: number) => sorted(Array.from({ length: n }, () => Number((random() * 3 + shift).toFixed(digits))));
  const pairs: [string, Float64Array, Float64Array][] = [
    ...fixtures.ks.map((c) => [c.name, sorted(c.a), sorted(c.b)] as [string, Float64Array, Float64Array]),
    ...fixtures.wasserstein.map((c, i) => [`wasserstein case ${i}`, sorted(c.a), sorted(c.b)] as [string, Float64Array, Float64Array]),
    ['random, ties', sample(5000, 0, 1), sample(3000, 0.2, 1)],
    ['random, few ties', sample(20000, 0, 6), sample(20001, 0.01, 6)],
    ['one value on one side', sorted([1, 1, 1]), sample(100, 0, 2)],
  ];
  it.each(pairs)('%s', (_name, a, b) => {
    expect(ksAndWasserstein(a, b).ks).toBe(ksStatistic(a, b));
  });

  /** Decimals of `places` places as integers, sorted: -0s counted, and kept first among the zeros in the doubles. */
  const asDecimals = (values: readonly number[], places: number): [SortedDecimals, Float64Array] => {
    const units = Int32Array.from(values, (v) => Math.round(v * 10 ** places)).sort();
    const decimals = { units, decimals: places, negativeZeros: values.filter((v) => Object.is(v, -0)).length };
    return [decimals, sortedDoubles(decimals, new Float64Array(units.length))];
  };
  const decimalPairs: [string, number[], number[], number][] = [
    ['ties on both sides', Array.from({ length: 5000 }, () => Number((random() * 3).toFixed(1))), Array.from({ length: 3001 }, () => Number((random() * 3 + 0.2).toFixed(1))), 1],
    ['few ties, negative values, zeros of both signs', [...Array.from({ length: 20000 }, () => Number((random() * 6 - 3).toFixed(3))), -0, 0, -0], Array.from({ length: 20001 }, () => Number((random() * 6 - 2.99).toFixed(3))), 3],
    ['one side a single value', [2, 2, 2], Array.from({ length: 100 }, () => Number((random() * 4).toFixed(0))), 0],
    ['samples apart, empty bins between them', Array.from({ length: 50 }, () => Number(random().toFixed(1))), Array.from({ length: 60 }, () => Number((random() + 2).toFixed(1))), 1],
  ];
  it.each(decimalPairs)('held as decimals, %s: the same two doubles, found bin by bin', (_name, a, b, places) => {
    const [da, fa] = asDecimals(a, places);
    const [db, fb] = asDecimals(b, places);
    expect(ksAndWassersteinOfDecimals(da, db)).toEqual(ksAndWasserstein(fa, fb));
    expect(ksAndWassersteinOfDecimals(db, da)).toEqual(ksAndWasserstein(fb, fa));
    expect(ksAndWasserstein(da, db)).toEqual(ksAndWasserstein(fa, fb));
  });

  it('held as decimals, leaves to the walk over doubles samples of different places, or spread over more integers than they hold', () => {
    const [ones, onesAsDoubles] = asDecimals([1, 2, 3], 0);
    for (const [other, otherAsDoubles] of [asDecimals([1.5, 2], 1), asDecimals([1, 5000], 0)]) {
      expect(ksAndWassersteinOfDecimals(ones, other)).toBeUndefined();
      expect(ksAndWasserstein(ones, other)).toEqual(ksAndWasserstein(onesAsDoubles, otherAsDoubles));
      expect(ksAndWasserstein(ones, otherAsDoubles)).toEqual(ksAndWasserstein(onesAsDoubles, otherAsDoubles));
    }
  });

  it('charts the share of each side in ten equal-width bins over both ranges, the top bin closed', () => {
    // Both together span 0 … 10: bins of width 1, [0,1) … [9,10]; reference 0, 0.5, 1, 9.99, 10 and current 2, 2, 10.
    const sample = (values: number[]) => ({ type: 'numeric' as const, values: Float64Array.from(values), missing: 0 });
    const h = histogram('x', sample([0, 0.5, 1, 9.99, 10]), sample([2, 2, 10]));
    expect(h.reference).toEqual([0.4, 0.2, 0, 0, 0, 0, 0, 0, 0, 0.4]);
    expect(h.current).toEqual([0, 0, 2 / 3, 0, 0, 0, 0, 0, 0, 1 / 3]);
    expect(h.labels).toEqual(['0.5', '1.5', '2.5', '3.5', '4.5', '5.5', '6.5', '7.5', '8.5', '9.5']);
  });

  it.each(decimalPairs)('held as decimals, %s: spread, PSI and chart shares as of the doubles', (_name, a, b, places) => {
    const [da, fa] = asDecimals(a, places);
    const [db, fb] = asDecimals(b, places);
    expect(standardDeviation(da)).toBe(standardDeviation(fa));
    expect(quantileEdges(da, 10)).toEqual(quantileEdges(fa, 10));
    expect(numericPsi(da, db, 10)).toBe(numericPsi(fa, fb, 10));
    const sample = (values: SortedNumbers) => ({ type: 'numeric' as const, values, missing: 0 });
    expect(histogram('x', sample(da), sample(db))).toEqual(histogram('x', sample(fa), sample(fb)));
  });
});

describe('PSI, checked by hand', () => {
  it('numeric: quantile bins of the reference, ties kept together on both sides', () => {
    // Reference 1..10, 5 bins: edges at the 20/40/60/80% quantiles 2.8, 4.6, 6.4, 8.2 (linear
    // interpolation). Reference shares: {1,2} {3,4} {5,6} {7,8} {9,10} = 0.2 each.
    // Current [1, 2, 3, 3, 3, 3, 9, 9, 10, 10]: {1,2}=0.2, {3,3,3,3}=0.4, {}=0, {}=0, {9,9,10,10}=0.4.
    // PSI = 0 + (0.4−0.2)ln(2) + 2·(0.0001−0.2)ln(0.0001/0.2) + (0.4−0.2)ln(2)
    //     = 0.4·0.693147 + 2·0.1999·7.600902 = 0.277259 + 3.038841 = 3.316100
    const reference = sorted([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const current = sorted([1, 2, 3, 3, 3, 3, 9, 9, 10, 10]);
    expect(quantileEdges(reference, 5).map((e) => +e.toFixed(10))).toEqual([2.8, 4.6, 6.4, 8.2]);
    expect(binShares(current, quantileEdges(reference, 5))).toEqual([0.2, 0.4, 0, 0, 0.4]);
    expect(numericPsi(reference, current, 5)).toBeCloseTo(3.3161, 4);
  });

  it('numeric: a value tied across several quantiles makes one bin, and identical samples give 0', () => {
    // Reference: eight 5s and 1, 9. Quantile q sits at position 9q: 0.1 → 1 + 0.9·4 = 4.6,
    // 0.2…0.8 → 5 (seven edges, one kept), 0.9 → 5 + 0.1·4 = 5.4 → edges [4.6, 5, 5.4].
    const reference = sorted([1, 5, 5, 5, 5, 5, 5, 5, 5, 9]);
    expect(quantileEdges(reference, 10).map((e) => +e.toFixed(10))).toEqual([4.6, 5, 5.4]);
    expect(numericPsi(reference, reference, 10)).toBe(0);
  });

  it('categorical: an unseen category counts at the empty-bin floor', () => {
    // Reference a:50 b:50 (shares .5 .5, c: 0 → 0.0001); current a:40 b:40 c:20 (.4 .4 .2).
    // PSI = 2·(0.4−0.5)ln(0.4/0.5) + (0.2−0.0001)ln(0.2/0.0001)
    //     = 2·0.0223144 + 0.1999·7.6009025 = 0.0446287 + 1.5194204 = 1.5640491
    const psi = categoricalPsi(alignCounts(new Map([['a', 50], ['b', 50]]), new Map([['a', 40], ['b', 40], ['c', 20]])));
    expect(psi).toBeCloseTo(1.5640491, 6);
  });
});

describe('sorting a column', () => {
  it('orders doubles ascending in place, as Float64Array#sort does, negatives, zeros and extremes included', async () => {
    const { sortAscending } = await import('../../src/domain/drift/sort.js');
    const values = Float64Array.from({ length: 5000 }, (_, i) => Math.sin(i * 12.9898) * 10 ** ((i % 13) - 6));
    values.set([-0, 0, -1e-300, 1e300, -1e300, 5e-324, 42, 42], 100);
    const expected = values.slice().sort();
    sortAscending(values, new Float64Array(values.length));
    expect(Array.from(values)).toEqual(Array.from(expected).map((v) => (Object.is(v, -0) ? -0 : v)));
  });

  let seed = 11;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  /** Bit for bit: -0 is not 0 here. */
  const bits = (values: Float64Array | Int32Array): string => Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('hex');

  it.each([
    ['two decimals, then six from halfway (every integer so far scaled up)', (i: number) => Number((random() * 2000 - 1000).toFixed(i < 10_000 ? 2 : 6))],
    ['integers, both zeros among them', (i: number) => (i % 97 === 0 ? (i % 2 ? -0 : 0) : Math.round(random() * 1e6 - 5e5))],
    ['decimals, then one that needs more than nine places', (i: number) => (i === 15_000 ? 0.1 + 0.2 : Number(random().toFixed(3)))],
    ['decimals, then one too large for 31 bits at their scale', (i: number) => (i === 15_000 ? 3e6 : Number((random() * 10).toFixed(3)))],
    ['one value throughout', () => 2.5],
  ])('%s: the same doubles as Float64Array#sort, -0 before 0', async (_name, value) => {
    const { sortAscending } = await import('../../src/domain/drift/sort.js');
    const values = Float64Array.from({ length: 20_000 }, (_, i) => value(i));
    values.set([-0, 0, -0, -0.25], 500);
    const expected = values.slice().sort();
    sortAscending(values, new Float64Array(values.length));
    expect(bits(values)).toBe(bits(expected));
  });

  it('finds the fewest decimal places that hold a value exactly in 31 bits, or says there are none', async () => {
    const { decimalPlaces } = await import('../../src/domain/drift/sort.js');
    const cases: [number, number, number][] = [[42, 0, 0], [-0, 0, 0], [1.25, 0, 2], [1.25, 4, 4], [-0.001, 0, 3], [2147483.647, 0, 3], [2147483.648, 0, -1], [0.1 + 0.2, 0, -1], [1e-10, 0, -1], [5e-9, 0, 9]];
    expect(cases.map(([value, from]) => decimalPlaces(value, from))).toEqual(cases.map(([, , places]) => places));
  });

  it('orders integers in as few radix passes as their range needs, from one value to the whole 32-bit range', async () => {
    const { sortUnits } = await import('../../src/domain/drift/sort.js');
    for (const range of [0, 1, 2047, 2048, 2 ** 22 - 1, 2 ** 22, 2 ** 31, 2 ** 32 - 2]) {
      const units = Int32Array.from({ length: 10_000 }, () => Math.round(-(2 ** 31) + 1 + random() * range));
      units[3] = -(2 ** 31) + 1;
      units[4] = Math.min(2 ** 31 - 1, -(2 ** 31) + 1 + range);
      const expected = units.slice().sort();
      sortUnits(units, new Int32Array(units.length));
      expect([range, bits(units)]).toEqual([range, bits(expected)]);
    }
  });

  it('writes decimals held as integers out as the doubles of their text, the -0s first among the zeros', async () => {
    const { sortedDoubles } = await import('../../src/domain/drift/sort.js');
    const into = new Float64Array(8).fill(7);
    const values = sortedDoubles({ units: Int32Array.from([-1234567, -1, 0, 0, 0, 3, 2147483647]), decimals: 3, negativeZeros: 2 }, into);
    expect(bits(values)).toBe(bits(Float64Array.from([-1234.567, -0.001, -0, -0, 0, 0.003, 2147483.647])));
    expect(values.buffer).toBe(into.buffer);
    const doubles = Float64Array.from([1, 2]);
    expect(sortedDoubles(doubles, into)).toBe(doubles);
  });
});
