import { logBinomial } from './special.js';

/**
 * The survival function of the two-sided one-sample Kolmogorov–Smirnov statistic D_n, P(D_n ≥ x):
 * SciPy's `kstwo.sf(x, n)`, which `ks_2samp` uses in its asymptotic mode. A port of SciPy 1.10's
 * `_kolmogn(n, x, cdf=False)` (Simard & L'Ecuyer 2011): the same choice of method for each region
 * of (n, x) — Ruben–Gambino ends, the Durbin matrix (Marsaglia–Tsang–Wang), Pomeranz's recursion,
 * Pelz–Good's approximation, and twice the one-sided Smirnov tail where that is exact enough.
 */
export function kolmogorovSurvival(n: number, x: number): number {
  // rv_continuous.sf: outside the support (0.5/n, 1) the answer is 1 or 0.
  if (x >= 1) return 0;
  if (x <= 0.5 / n) return 1;
  return clip(kolmogn(n, x));
}

const E128 = 2 ** 128;
const EM128 = 2 ** -128;
const MIN_LOG = -708;
/** Below this, Math.exp gives 0. */
const MIN_LOG_TERM = -746;
const EPSILON = Number.EPSILON;
const SQRT2PI = Math.sqrt(2 * Math.PI);
const LOG_2PI = Math.log(2 * Math.PI);
const PI2 = Math.PI ** 2;
const PI4 = Math.PI ** 4;
const PI6 = Math.PI ** 6;
const STIRLING = [
  -2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3, 8.4175084175084175084e-4, -5.952380952380952381e-4,
  7.9365079365079365079e-4, -2.7777777777777777778e-3, 8.3333333333333333333e-2,
];

function clip(p: number): number {
  return Math.min(1, Math.max(0, p));
}

function kolmogn(n: number, x: number): number {
  const t = n * x;
  if (t <= 1) {
    if (t <= 0.5) return 1;
    let prob: number;
    if (n <= 140) {
      prob = 1;
      for (let i = 1; i <= n; i++) prob *= (i * (1 / n)) * (2 * t - 1);
    } else {
      prob = Math.exp(logFactorialOverPower(n) + n * Math.log(2 * t - 1));
    }
    return 1 - prob;
  }
  if (t >= n - 1) return 2 * (1 - x) ** n;
  if (x >= 0.5) return 2 * smirnov(n, x);
  const nxSquared = t * x;
  if (n <= 140) {
    if (nxSquared <= 0.754693) return 1 - clip(durbinMatrixCdf(n, x));
    if (nxSquared <= 4) return 1 - clip(pomeranzCdf(n, x));
    return 2 * smirnov(n, x);
  }
  if (nxSquared >= 370) return 0;
  if (nxSquared >= 2.2) return 2 * smirnov(n, x);
  const cdf = n <= 100_000 && n * x ** 1.5 <= 1.4 ? durbinMatrixCdf(n, x) : pelzGoodCdf(n, x);
  return 1 - clip(cdf);
}

/** ln(n! / n^n) by Stirling's series. */
function logFactorialOverPower(n: number): number {
  const rn = 1 / n;
  let poly = 0;
  for (const c of STIRLING) poly = poly * (rn / n) + c;
  return Math.log(n) / 2 - n + LOG_2PI / 2 + rn * poly;
}

/**
 * The one-sided tail P(D+_n ≥ x) by the Birnbaum–Tingey sum, every term positive (so summing in
 * doubles loses nothing that matters); SciPy's `smirnov` evaluates the same sum in double-double,
 * and stops as it does: once past the largest terms, when the ones left, even were they all as
 * large as this one, could not change the sum's last bit.
 */
function smirnov(n: number, x: number): number {
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const terms: SmirnovTerms = { last: Math.floor(n * (1 - x)), sum: 0, done: false };
  for (let start = 0; start <= terms.last && !terms.done; start += ANCHOR) addSmirnovTerms(n, x, start, terms);
  return terms.sum;
}

/** ln C(n, j) is computed afresh every ANCHOR terms, step by step in between, so rounding cannot accumulate. */
const ANCHOR = 1024;

interface SmirnovTerms {
  /** The last term's index, ⌊n(1 − x)⌋. */
  readonly last: number;
  sum: number;
  done: boolean;
}

/**
 * Adds terms start … start + ANCHOR − 1 of smirnov's sum. A function called block after block
 * rather than one long loop: it is compiled once and then reused by every call, where a loop
 * would start each call unoptimized.
 */
function addSmirnovTerms(n: number, x: number, start: number, terms: SmirnovTerms): void {
  const logX = Math.log(x);
  const end = Math.min(terms.last, start + ANCHOR - 1);
  let logChoose = start === 0 ? 0 : logBinomial(n, start);
  let sum = terms.sum;
  for (let j = start; j <= end; j++) {
    if (j > start) logChoose += Math.log((n - j + 1) / j);
    const low = 1 - x - j / n;
    if (low <= 0) continue;
    const logTerm = logChoose + (n - j) * Math.log(low) + (j - 1) * Math.log(x + j / n) + logX;
    if (logTerm < MIN_LOG_TERM) {
      if (j <= n / 2) continue; // exp would give 0
      terms.done = true; // past the middle, the terms only shrink
      break;
    }
    const term = Math.exp(logTerm);
    sum += term;
    if (4 * (terms.last + 1 - j) * term < EPSILON * sum && j !== terms.last) {
      terms.done = true;
      break;
    }
  }
  terms.sum = sum;
}

/** Pr(D_n ≤ d) by Durbin's matrix, powered by squaring with the MTW rescaling. */
function durbinMatrixCdf(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  let H: Float64Array = new Float64Array(m * m);
  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] = (1 - h ** j) * fac;
  }
  const tt = Math.max(2 * h - 1, 0) ** m - 2 * h ** m;
  v[m - 1] = (1 + tt) * fac;
  for (let i = 1; i < m; i++) for (let r = i - 1; r < m; r++) H[r * m + i] = w[r - i + 1]!;
  for (let r = 0; r < m; r++) H[r * m] = v[r]!;
  for (let c = 0; c < m; c++) H[(m - 1) * m + c] = v[m - 1 - c]!;

  let power: Float64Array = identity(m);
  let nn = n;
  let exponent = 0;
  let hExponent = 0;
  while (nn > 0) {
    if (nn % 2) {
      power = multiply(power, H, m);
      exponent += hExponent;
    }
    H = multiply(H, H, m);
    hExponent *= 2;
    if (Math.abs(H[(k - 1) * m + (k - 1)]!) > E128) {
      for (let i = 0; i < H.length; i++) H[i]! /= E128;
      hExponent += 128;
    }
    nn = Math.floor(nn / 2);
  }
  let p = power[(k - 1) * m + (k - 1)]!;
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < EM128) {
      p *= E128;
      exponent -= 128;
    }
  }
  return exponent !== 0 ? p * 2 ** exponent : p;
}

function identity(m: number): Float64Array {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) out[i * m + i] = 1;
  return out;
}

function multiply(a: Float64Array, b: Float64Array, m: number): Float64Array {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let l = 0; l < m; l++) {
      const ail = a[i * m + l]!;
      if (ail === 0) continue;
      for (let j = 0; j < m; j++) out[i * m + j]! += ail * b[l * m + j]!;
    }
  }
  return out;
}

function pomeranzBounds(i: number, n: number, ll: number, ceilf: number, roundf: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const half = Math.floor((i + 1) / 2);
    if ((i + 1) % 2 === 0) {
      if (half === n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = half - 1 - ll - roundf - 1;
        j2 = half + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = half - 1 - ll - 1;
      j2 = half + ll + roundf - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/** Pr(D_n ≤ x) by Pomeranz's recursion. */
function pomeranzCdf(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilf = f > 0 ? 1 : 0;
  const roundf = f > 0.5 ? 1 : 0;
  const powers = 2 * (ll + 1);
  const gPower = new Float64Array(powers);
  const twoGPower = new Float64Array(powers);
  const oneMinusTwoGPower = new Float64Array(powers);
  gPower[0] = twoGPower[0] = oneMinusTwoGPower[0] = 1;
  for (let m = 1; m < powers; m++) {
    gPower[m] = (gPower[m - 1]! * (g / n)) / m;
    twoGPower[m] = (twoGPower[m - 1]! * ((2 * g) / n)) / m;
    oneMinusTwoGPower[m] = (oneMinusTwoGPower[m - 1]! * ((1 - 2 * g) / n)) / m;
  }
  let v0 = new Float64Array(powers);
  let v1 = new Float64Array(powers);
  v1[0] = 1;
  let v0s = 0;
  let v1s = 0;
  let exponent = 0;
  let [j1, j2] = pomeranzBounds(0, n, ll, ceilf, roundf);
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [v0, v1] = [v1, v0];
    [v0s, v1s] = [v1s, v0s];
    v1.fill(0);
    [j1, j2] = pomeranzBounds(i, n, ll, ceilf, roundf);
    const pwrs = i === 1 || i === 2 * n + 1 ? gPower : i % 2 ? twoGPower : oneMinusTwoGPower;
    const length = j2 - k1 + 1;
    if (length > 0) {
      const start = j1 - k1;
      const count = j2 - j1 + 1;
      // The entries [start, start + count) of the full convolution of V0[k1 - v0s …][:length] with pwrs[:length].
      let max = 0;
      for (let r = 0; r < count; r++) {
        const at = start + r;
        let sum = 0;
        for (let a = Math.max(0, at - length + 1); a <= Math.min(at, length - 1); a++) sum += (v0[k1 - v0s + a] ?? 0) * (pwrs[at - a] ?? 0);
        v1[r] = sum;
        if (sum > max) max = sum;
      }
      if (max > 0 && max < EM128) {
        for (let r = 0; r < v1.length; r++) v1[r]! *= E128;
        exponent -= 128;
      }
      v1s = v0s + j1 - k1;
    }
  }
  let answer = v1[n - v1s]!;
  for (let m = 1; m <= n; m++) {
    if (Math.abs(answer) > E128) {
      answer *= EM128;
      exponent += 128;
    }
    answer *= m;
  }
  return exponent !== 0 ? answer * 2 ** exponent : answer;
}

/** Pelz–Good's approximation to Pr(D_n ≤ x). */
function pelzGoodCdf(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const z2 = z ** 2;
  const z3 = z ** 3;
  const z4 = z ** 4;
  const z6 = z ** 6;
  const qlog = -PI2 / 8 / z2;
  if (qlog < MIN_LOG) return 0;
  let q = Math.exp(qlog);
  const k1a = -z2;
  const k1b = PI2 / 4;
  const k2a = 6 * z6 + 2 * z4;
  const k2b = ((2 * z4 - 5 * z2) * PI2) / 4;
  const k2c = (PI4 * (1 - 2 * z2)) / 16;
  const k3d = (PI6 * (5 - 30 * z2)) / 64;
  const k3c = (PI4 * (-60 * z2 + 212 * z4)) / 16;
  const k3b = (PI2 * (135 * z4 - 96 * z6)) / 4;
  const k3a = -30 * z6 - 90 * z ** 8;
  const K = [0, 0, 0, 0];
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k > 0; k--) {
    const m = 2 * k - 1;
    const m2 = m ** 2;
    const m4 = m ** 4;
    const m6 = m ** 6;
    const qpower = q ** (8 * k);
    const coeffs = [1, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6];
    for (let i = 0; i < 4; i++) K[i] = K[i]! * qpower + coeffs[i]!;
  }
  const divisors = [z, 6 * z4, 72 * z ** 7, 6480 * z ** 10];
  for (let i = 0; i < 4; i++) K[i] = (K[i]! * q * SQRT2PI) / divisors[i]!;
  q = Math.exp(-PI2 / 2 / z2);
  let k2extra = 0;
  let k3extra = 0;
  const sqrt3z = Math.sqrt(3) * z;
  for (let k = maxk; k > 0; k--) {
    const k2 = k ** 2;
    const qp = q ** k2;
    k2extra += k2 * qp;
    const kpi = Math.PI * k;
    k3extra += (sqrt3z + kpi) * (sqrt3z - kpi) * k2 * qp;
  }
  K[2]! += (k2extra * PI2 * SQRT2PI) / (-36 * z3);
  K[3]! += (k3extra * PI2 * SQRT2PI) / (216 * z6);
  let sum = 0;
  for (let i = 0; i < 4; i++) sum += K[i]! / n ** (i / 2);
  return sum;
}
