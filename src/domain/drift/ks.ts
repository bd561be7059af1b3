import { kolmogorovSurvival } from './kolmogorov.js';
import { gcd, roundHalfEven } from './special.js';

export interface KsResult {
  readonly statistic: number;
  readonly pValue: number;
  /** How the p-value was computed, as SciPy's `method='auto'` decides. */
  readonly method: 'exact' | 'asymp';
}

/** SciPy's MAX_AUTO_N: `auto` tries the exact distribution when both samples are at most this size. */
const MAX_EXACT_N = 10_000;

/**
 * The two-sample Kolmogorov–Smirnov test, two-sided: SciPy 1.10's `ks_2samp(a, b, method='auto')`.
 * Both samples must be sorted ascending and non-empty. The statistic is the largest gap between
 * the two empirical CDFs evaluated at every observed value (ties handled as SciPy does, by
 * counting values ≤ v on each side); the p-value is exact for samples of at most 10,000 (and then
 * the statistic is snapped to the lattice h/lcm(n1, n2), as SciPy does), asymptotic otherwise.
 */
export function ksTwoSample(a: Float64Array, b: Float64Array): KsResult {
  return ksTest(a.length, b.length, ksStatistic(a, b));
}

/** ksTwoSample from the samples' sizes and their statistic (see ksAndWasserstein, which finds it with the Wasserstein distance). */
export function ksTest(n1: number, n2: number, d: number): KsResult {
  if (Math.max(n1, n2) <= MAX_EXACT_N) {
    const exact = exactPValue(n1, n2, d);
    if (exact) return { ...exact, method: 'exact' };
  }
  const [m, n] = n1 >= n2 ? [n1, n2] : [n2, n1];
  const en = (m * n) / (m + n);
  return { statistic: d, pValue: kolmogorovSurvival(roundHalfEven(en), d), method: 'asymp' };
}

/** max |F1(v) − F2(v)| over every observed v, each CDF difference computed as SciPy does (i/n1 − j/n2). */
export function ksStatistic(a: Float64Array, b: Float64Array): number {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let max = -Infinity;
  let min = Infinity;
  while (i < n1 || j < n2) {
    const v = j >= n2 || (i < n1 && a[i]! <= b[j]!) ? a[i]! : b[j]!;
    while (i < n1 && a[i]! <= v) i++;
    while (j < n2 && b[j]! <= v) j++;
    const diff = i / n1 - j / n2;
    if (diff > max) max = diff;
    if (diff < min) min = diff;
  }
  const minS = Math.min(1, Math.max(0, -min));
  return minS > max ? minS : max;
}

function exactPValue(n1: number, n2: number, d: number): { statistic: number; pValue: number } | undefined {
  const g = gcd(n1, n2);
  const lcm = (n1 / g) * n2;
  const h = roundHalfEven(d * lcm);
  const statistic = h / lcm;
  if (h === 0) return { statistic, pValue: 1 };
  const p = n1 === n2 ? probabilityOutsideSquare(n1, h) : outerProbabilityInside(n1, n2, g, h);
  if (!Number.isFinite(p) || p < 0 || p > 1) return undefined;
  return { statistic, pValue: p };
}

/** Pr(D_{n,n} ≥ h/n), Horner-like so nothing cancels. */
function probabilityOutsideSquare(n: number, h: number): number {
  let P = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
  }
  return 2 * P;
}

/**
 * 1 − the share of lattice paths from (0,0) to (m,n) that stay strictly inside |x/m − y/n| <
 * h/lcm, computed directly as Viehmann's recursion for 1 − p (numerically stable), as SciPy does.
 */
function outerProbabilityInside(m0: number, n0: number, g: number, h: number): number {
  const [m, n] = m0 >= n0 ? [m0, n0] : [n0, m0];
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  A.fill(0, minj, maxj);
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = (A[jj + minj - lastminj]! * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) A.fill(1, maxj - minj, maxj - minj + (lastlen - curlen));
  }
  return A[maxj - minj - 1]!;
}
