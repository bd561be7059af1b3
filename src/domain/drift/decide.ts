import { alignCounts, categoricalPsi, chiSquareHomogeneity, jensenShannonDistance } from './categorical.js';
import { ksTest } from './ks.js';
import { MIN_SPREAD, ksAndWasserstein, numericPsi, standardDeviation } from './numeric.js';
import { sortedCount, type SortedNumbers } from './sort.js';

/**
 * Per-feature drift verdicts and the data set's, Evidently-style and sample-size aware: a p-value
 * on a million rows flags every harmless wobble, so small samples are judged by a test's p-value
 * and large ones by a distance threshold.
 *
 * - Small (the smaller side has at most SMALL_SAMPLE values): numeric by the two-sample KS test,
 *   categorical by the chi-square test; drift when p < 0.05.
 * - Large: numeric by the Wasserstein distance in reference standard deviations, categorical by
 *   the Jensen–Shannon distance; drift when the distance ≥ 0.1.
 * - PSI is always reported; `method: psi` judges by it (drift when PSI ≥ 0.1 unless set).
 * - Fewer than MIN_VALUES non-missing values on either side: "not enough data", never "no drift".
 */
export const SMALL_SAMPLE = 1000;
export const MIN_VALUES = 10;
export const DEFAULT_BINS = 10;
export const DEFAULT_SHARE = 0.5;

export type FeatureType = 'numeric' | 'categorical';
export type DriftMethod = 'ks' | 'wasserstein' | 'psi' | 'chisquare' | 'jensenshannon';
export type FeatureVerdictKind = 'drift' | 'no drift' | 'not enough data';

export const DEFAULT_THRESHOLDS: Readonly<Record<DriftMethod, number>> = { ks: 0.05, chisquare: 0.05, wasserstein: 0.1, jensenshannon: 0.1, psi: 0.1 };
const P_VALUE_METHODS: ReadonlySet<DriftMethod> = new Set(['ks', 'chisquare']);

export interface FeatureSettings {
  readonly critical?: boolean | undefined;
  readonly method?: DriftMethod | undefined;
  readonly threshold?: number | undefined;
}

/** One side of one feature, as read: non-missing values (numeric sorted ascending, as doubles or decimals) and how many rows had none. */
export type FeatureSample =
  | { readonly type: 'numeric'; readonly values: SortedNumbers; readonly missing: number }
  | { readonly type: 'categorical'; readonly counts: ReadonlyMap<string, number>; readonly missing: number };

export interface FeatureResult {
  readonly feature: string;
  readonly type: FeatureType;
  readonly method: DriftMethod;
  /** The judged score: a p-value for ks/chisquare, a distance otherwise; undefined with not enough data. */
  readonly score: number | undefined;
  readonly threshold: number;
  readonly verdict: FeatureVerdictKind;
  readonly critical: boolean;
  /** How far past (> 1) or short of (< 1) its threshold the score is, for ordering. */
  readonly severity: number;
  readonly referenceSize: number;
  readonly currentSize: number;
  /** Current missing rate − reference missing rate. */
  readonly missingRateChange: number;
  /** Every statistic computed for the feature, by name. */
  readonly statistics: Readonly<Record<string, number>>;
}

function valueCount(sample: FeatureSample): number {
  if (sample.type === 'numeric') return sortedCount(sample.values);
  let n = 0;
  for (const c of sample.counts.values()) n += c;
  return n;
}

export function defaultMethod(type: FeatureType, smallerSide: number): DriftMethod {
  const small = smallerSide <= SMALL_SAMPLE;
  if (type === 'numeric') return small ? 'ks' : 'wasserstein';
  return small ? 'chisquare' : 'jensenshannon';
}

export function judgeFeature(
  feature: string,
  reference: FeatureSample,
  current: FeatureSample,
  settings: FeatureSettings,
  bins: number = DEFAULT_BINS,
): FeatureResult {
  const referenceValues = valueCount(reference);
  const currentValues = valueCount(current);
  const referenceSize = referenceValues + reference.missing;
  const currentSize = currentValues + current.missing;
  const missingRateChange = (currentSize === 0 ? 0 : current.missing / currentSize) - (referenceSize === 0 ? 0 : reference.missing / referenceSize);
  const method = settings.method ?? defaultMethod(reference.type, Math.min(referenceValues, currentValues));
  const threshold = settings.threshold ?? DEFAULT_THRESHOLDS[method];
  const base = { feature, type: reference.type, method, threshold, critical: settings.critical ?? false, referenceSize, currentSize, missingRateChange };
  if (Math.min(referenceValues, currentValues) < MIN_VALUES) {
    return { ...base, score: undefined, verdict: 'not enough data', severity: 0, statistics: {} };
  }
  const statistics = computeStatistics(reference, current, bins);
  const score = statistics[method === 'ks' ? 'ks_pvalue' : method === 'chisquare' ? 'chisquare_pvalue' : method];
  if (score === undefined) throw new Error(`method ${method} does not apply to a ${reference.type} feature`);
  const pValue = P_VALUE_METHODS.has(method);
  const drifted = pValue ? score < threshold : score >= threshold;
  const severity = pValue ? threshold / Math.max(score, Number.MIN_VALUE) : threshold === 0 ? Infinity : score / threshold;
  return { ...base, score, verdict: drifted ? 'drift' : 'no drift', severity, statistics };
}

function computeStatistics(reference: FeatureSample, current: FeatureSample, bins: number): Record<string, number> {
  if (reference.type === 'numeric' && current.type === 'numeric') {
    const distances = ksAndWasserstein(reference.values, current.values);
    const ks = ksTest(sortedCount(reference.values), sortedCount(current.values), distances.ks);
    return {
      ks: ks.statistic,
      ks_pvalue: ks.pValue,
      // As normalisedWasserstein: in units of the reference's spread.
      wasserstein: distances.wasserstein / Math.max(standardDeviation(reference.values), MIN_SPREAD),
      psi: numericPsi(reference.values, current.values, bins),
    };
  }
  if (reference.type === 'categorical' && current.type === 'categorical') {
    const counts = alignCounts(reference.counts, current.counts);
    const chi = chiSquareHomogeneity(counts);
    return { chisquare: chi.statistic, chisquare_pvalue: chi.pValue, jensenshannon: jensenShannonDistance(counts), psi: categoricalPsi(counts) };
  }
  throw new Error('a feature must have the same type on both sides');
}

const VERDICT_ORDER: Readonly<Record<FeatureVerdictKind, number>> = { drift: 0, 'not enough data': 1, 'no drift': 2 };

/** Drifted first (most severe first), then those that could not be judged, then the rest by severity. */
export function bySeverity(results: readonly FeatureResult[]): FeatureResult[] {
  return [...results].sort(
    (a, b) => VERDICT_ORDER[a.verdict] - VERDICT_ORDER[b.verdict] || b.severity - a.severity || a.feature.localeCompare(b.feature),
  );
}

export type DataSetVerdict = 'drift' | 'no drift' | 'not enough data';

export interface DataSetResult {
  readonly verdict: DataSetVerdict;
  /** Drifted features / judged features (those with enough data); 0 when none could be judged. */
  readonly share: number;
  readonly drifted: readonly string[];
  readonly criticalDrifted: readonly string[];
  readonly notEnoughData: readonly string[];
  readonly why: string;
}

/** The data set drifts when share ≥ `share` of the judged features drift, or any critical feature does. */
export function judgeDataSet(results: readonly FeatureResult[], share: number = DEFAULT_SHARE): DataSetResult {
  const judged = results.filter((r) => r.verdict !== 'not enough data');
  const drifted = results.filter((r) => r.verdict === 'drift').map((r) => r.feature);
  const criticalDrifted = results.filter((r) => r.verdict === 'drift' && r.critical).map((r) => r.feature);
  const notEnoughData = results.filter((r) => r.verdict === 'not enough data').map((r) => r.feature);
  const driftShare = judged.length === 0 ? 0 : drifted.length / judged.length;
  const base = { share: driftShare, drifted, criticalDrifted, notEnoughData };
  if (judged.length === 0) return { ...base, verdict: 'not enough data', why: `none of the ${results.length} features has at least ${MIN_VALUES} values on both sides` };
  const shareText = `${drifted.length} of ${judged.length} features drifted (${formatShare(driftShare)}, threshold ${formatShare(share)})`;
  if (criticalDrifted.length > 0) return { ...base, verdict: 'drift', why: `critical feature${criticalDrifted.length > 1 ? 's' : ''} ${criticalDrifted.join(', ')} drifted; ${shareText}` };
  if (drifted.length > 0 && driftShare >= share) return { ...base, verdict: 'drift', why: shareText };
  return { ...base, verdict: 'no drift', why: shareText };
}

function formatShare(share: number): string {
  return `${(share * 100).toFixed(share * 100 % 1 === 0 ? 0 : 1)}%`;
}
