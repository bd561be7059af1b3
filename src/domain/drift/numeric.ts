import { sortedCount, sortedDoubles, sortedValueAt, type SortedDecimals, type SortedNumbers } from './sort.js';

/**
 * Distances between a numeric reference sample and a current one. Every function takes the
 * samples sorted ascending, without missing values (the readers drop and count those): as
 * doubles, or (most take either) as decimals.
 */

/**
 * Proportions below this count as this much in PSI, on either side: an empty bin would make
 * ln(current / reference) infinite. The same floor as Evidently's PSI.
 */
export const PSI_EMPTY_BIN = 1e-4;

/** Σ (current − reference) · ln(current / reference) over matching bins of two distributions (proportions). */
export function psiOfProportions(reference: readonly number[], current: readonly number[]): number {
  let psi = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = Math.max(reference[i]!, PSI_EMPTY_BIN);
    const c = Math.max(current[i]!, PSI_EMPTY_BIN);
    psi += (c - r) * Math.log(c / r);
  }
  return psi;
}

/** The q-quantile of a sorted sample, interpolated linearly between order statistics (NumPy's default). */
export function quantileSorted(sorted: SortedNumbers, q: number): number {
  const position = q * (sortedCount(sorted) - 1);
  const low = Math.floor(position);
  const high = Math.min(low + 1, sortedCount(sorted) - 1);
  const atLow = sortedValueAt(sorted, low);
  return atLow + (sortedValueAt(sorted, high) - atLow) * (position - low);
}

/**
 * Bin edges at the reference's quantiles 1/bins … (bins−1)/bins. Ties: a value held by many rows
 * can be several quantiles at once; repeated edges are dropped, so such a column has fewer bins
 * (a constant column has one, and a PSI of 0) rather than empty bins that would only add noise.
 */
export function quantileEdges(reference: SortedNumbers, bins: number): number[] {
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) {
    const edge = quantileSorted(reference, i / bins);
    if (edges.length === 0 || edge > edges[edges.length - 1]!) edges.push(edge);
  }
  return edges;
}

/** How many values of a sorted sample are ≤ v. */
export function countAtMost(sorted: SortedNumbers, v: number): number {
  let low = 0;
  let high = sortedCount(sorted);
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sortedValueAt(sorted, mid) <= v) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * The share of a sorted sample in each bin (−∞, e1], (e1, e2], …, (ek, ∞): a value equal to an
 * edge falls in the bin that edge closes, on both sides alike.
 */
export function binShares(sorted: SortedNumbers, edges: readonly number[]): number[] {
  const n = sortedCount(sorted);
  const shares: number[] = [];
  let below = 0;
  for (const edge of edges) {
    const upTo = countAtMost(sorted, edge);
    shares.push((upTo - below) / n);
    below = upTo;
  }
  shares.push((n - below) / n);
  return shares;
}

/** PSI over `bins` reference-quantile bins. */
export function numericPsi(reference: SortedNumbers, current: SortedNumbers, bins: number): number {
  const edges = quantileEdges(reference, bins);
  return psiOfProportions(binShares(reference, edges), binShares(current, edges));
}

/** The first Wasserstein distance (earth mover's), as scipy.stats.wasserstein_distance: ∫ |F_u − F_v|. */
export function wassersteinDistance(u: SortedNumbers, v: SortedNumbers): number {
  return ksAndWasserstein(u, v).wasserstein;
}

/**
 * The KS statistic (the same double as ksStatistic) and the Wasserstein distance in one walk over
 * the two sorted samples: at each value of either, the step from the value before is weighed by
 * the gap between the two empirical CDFs over it, then the gap at the value is the KS candidate.
 * Decimals walk bin by bin where they can (ksAndWassersteinOfDecimals); the rest as doubles.
 */
export function ksAndWasserstein(u: SortedNumbers, v: SortedNumbers): { ks: number; wasserstein: number } {
  const byBins = u instanceof Float64Array || v instanceof Float64Array ? undefined : ksAndWassersteinOfDecimals(u, v);
  return byBins ?? walkDoubles(sortedDoubles(u), sortedDoubles(v));
}

/**
 * ksAndWasserstein's walk over doubles: while both samples last, the next value is the smaller
 * head and each side skips its run of it (fewer tests per value than one loop for every case);
 * then the rest of the one left.
 */
function walkDoubles(u: Float64Array, v: Float64Array): { ks: number; wasserstein: number } {
  const n1 = u.length;
  const n2 = v.length;
  let i = 0;
  let j = 0;
  let distance = 0;
  let previous = Math.min(u[0]!, v[0]!);
  let gap = 0; // i / n1 − j / n2 before the step: 0 at the start
  let max = -Infinity;
  let min = Infinity;
  while (i < n1 && j < n2) {
    const a = u[i]!;
    const b = v[j]!;
    const x = a <= b ? a : b;
    distance += Math.abs(gap) * (x - previous);
    if (a === x) do i++; while (i < n1 && u[i] === x);
    if (b === x) do j++; while (j < n2 && v[j] === x);
    gap = i / n1 - j / n2;
    if (gap > max) max = gap;
    if (gap < min) min = gap;
    previous = x;
  }
  while (i < n1 || j < n2) {
    const x = j >= n2 ? u[i]! : v[j]!;
    distance += Math.abs(gap) * (x - previous);
    while (i < n1 && u[i]! <= x) i++;
    while (j < n2 && v[j]! <= x) j++;
    gap = i / n1 - j / n2;
    if (gap > max) max = gap;
    if (gap < min) min = gap;
    previous = x;
  }
  const minS = Math.min(1, Math.max(0, -min));
  return { ks: minS > max ? minS : max, wasserstein: distance };
}

/**
 * ksAndWasserstein over decimals held as integers (see SortedDecimals): the same two doubles,
 * found faster when both samples have as many decimal places and their integers span no more
 * values than the samples hold between them. Then every integer of the span is a bin, each
 * side's count in it is tallied first, and the walk goes bin by bin: no comparing one sample's
 * values with the other's, whose outcome a processor cannot predict and which is most of the
 * general walk's time. Otherwise undefined (use ksAndWasserstein).
 */
export function ksAndWassersteinOfDecimals(a: SortedDecimals, b: SortedDecimals): { ks: number; wasserstein: number } | undefined {
  const u = a.units;
  const v = b.units;
  if (a.decimals !== b.decimals || u.length === 0 || v.length === 0) return undefined;
  const low = Math.min(u[0]!, v[0]!);
  const span = Math.max(u[u.length - 1]!, v[v.length - 1]!) - low + 1;
  if (span > u.length + v.length) return undefined;
  // Per bin, the two counts side by side. Room for the widest span, so that no later feature
  // needs more: pages not written are not paid for. The walk leaves the table zeroed.
  if (binCounts.length < 2 * span) binCounts = new Int32Array(2 * (u.length + v.length));
  tally(u, low, binCounts, 0);
  tally(v, low, binCounts, 1);
  const walk = walkBins(binCounts, span, low, 10 ** a.decimals, u.length, v.length);
  const minS = Math.min(1, Math.max(0, -walk.min));
  return { ks: minS > walk.max ? minS : walk.max, wasserstein: walk.distance };
}

/** Adds 1 to counts[2 · (unit − low) + side] for every unit. */
function tally(units: Int32Array, low: number, counts: Int32Array, side: number): void {
  for (let i = 0; i < units.length; i++) counts[2 * (units[i]! - low) + side]!++;
}

/** Where ksAndWasserstein's walk is: values so far, the distance, the last value and CDF gap, the extreme gaps. */
interface BinWalk {
  i: number;
  j: number;
  distance: number;
  previous: number;
  gap: number;
  max: number;
  min: number;
}

/** Bins a block walks: a function that walks one block per call is compiled once and reused, where one long loop would start every call unoptimized. */
const WALK_BLOCK = 4096;

/** ksAndWasserstein's walk, bin by bin, zeroing the counts it reads; a bin's value is (low + bin) / power, as sortedDoubles writes it out. */
function walkBins(counts: Int32Array, span: number, low: number, power: number, n1: number, n2: number): BinWalk {
  const walk: BinWalk = { i: 0, j: 0, distance: 0, previous: low / power, gap: 0, max: -Infinity, min: Infinity };
  for (let from = 0; from < span; from += WALK_BLOCK) walkBlock(counts, from, Math.min(span, from + WALK_BLOCK), low, power, n1, n2, walk);
  return walk;
}

function walkBlock(counts: Int32Array, from: number, to: number, low: number, power: number, n1: number, n2: number, walk: BinWalk): void {
  let { i, j, distance, previous, gap, max, min } = walk;
  for (let bin = from; bin < to; bin++) {
    const inU = counts[2 * bin]!;
    const inV = counts[2 * bin + 1]!;
    if (inU === 0 && inV === 0) continue;
    counts[2 * bin] = 0;
    counts[2 * bin + 1] = 0;
    const x = (bin + low) / power;
    distance += Math.abs(gap) * (x - previous);
    i += inU;
    j += inV;
    gap = i / n1 - j / n2;
    if (gap > max) max = gap;
    if (gap < min) min = gap;
    previous = x;
  }
  walk.i = i;
  walk.j = j;
  walk.distance = distance;
  walk.previous = previous;
  walk.gap = gap;
  walk.max = max;
  walk.min = min;
}

/** ksAndWassersteinOfDecimals' table, kept from one call to the next: fresh memory costs a page fault per 4 KiB. */
let binCounts = new Int32Array(0);

/** The population standard deviation (ddof 0, as numpy.std), in two passes for accuracy. */
export function standardDeviation(values: SortedNumbers): number {
  const n = sortedCount(values);
  const mean = sumOfDeviations(values, 0, 1) / n;
  return Math.sqrt(sumOfDeviations(values, mean, 2) / n);
}

/** Σ (v − centre)^power, power 1 or 2, in order; decimals as the doubles they stand for. */
function sumOfDeviations(values: SortedNumbers, centre: number, power: 1 | 2): number {
  let sum = 0;
  if (values instanceof Float64Array) {
    for (let i = 0; i < values.length; i++) sum += power === 1 ? values[i]! - centre : (values[i]! - centre) ** 2;
    return sum;
  }
  const { units } = values;
  const scale = 10 ** values.decimals;
  for (let i = 0; i < units.length; i++) sum += power === 1 ? units[i]! / scale - centre : (units[i]! / scale - centre) ** 2;
  return sum;
}

/**
 * The spread the Wasserstein distance is divided by: the reference's standard deviation, floored
 * at 0.001 as Evidently does, so a constant reference column does not divide by zero.
 */
export const MIN_SPREAD = 0.001;
