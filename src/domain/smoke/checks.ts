import * as hdr from 'hdr-histogram-js';
import type { SmokeCase } from './cases.js';

/**
 * A smoke test judged, pure: the answers the live endpoint gave to the cases, checked as a model
 * (right answers, the same scores as offline, the version deployed, fast enough), not only as a
 * container that answers. Every threshold missing from the config is reported, never gated.
 */

/** What one request got back. */
export interface CaseAnswer {
  readonly caseIndex: number;
  readonly status: number;
  /** The one score of the one row sent, when the answer was well-formed. */
  readonly score?: number | undefined;
  /** X-Model-Version, else the body's model_version. */
  readonly modelVersion?: string | undefined;
  readonly digest?: string | undefined;
  /** Why the answer does not count as one (connection error, HTTP status, malformed body). */
  readonly problem?: string | undefined;
  readonly latencyMs: number;
}

export interface SmokeThresholds {
  readonly minAccuracy?: number | undefined;
  readonly maxP95Ms?: number | undefined;
  readonly maxSkew: number;
  readonly maxErrorRate: number;
  /** Scores at or above count as positive for accuracy. */
  readonly threshold: number;
}

export interface SmokeExpectation {
  /** The model version deployed there; undefined when smoke runs against a bare URL. */
  readonly modelVersion?: string | undefined;
  readonly digest?: string | undefined;
}

export type CheckVerdict = 'pass' | 'fail' | 'reported';

export interface CheckRow {
  readonly check: string;
  readonly threshold: string | null;
  readonly observed: string;
  readonly verdict: CheckVerdict;
}

export interface SkewCase {
  readonly line: number;
  readonly offline: number;
  readonly live: number;
  readonly difference: number;
}

export interface SmokeJudgement {
  readonly passed: boolean;
  readonly checks: readonly CheckRow[];
  readonly requests: number;
  readonly errors: number;
  readonly accuracy: number | undefined;
  /** The labelled cases the accuracy was measured on. */
  readonly labelled: number;
  readonly maxSkew: number | undefined;
  readonly worstSkew: readonly SkewCase[];
  readonly latency: { readonly p50: number; readonly p95: number; readonly p99: number; readonly max: number } | undefined;
  /** Latency histogram for the report: upper bound (ms) and count per bucket. */
  readonly histogram: readonly { readonly upToMs: number; readonly count: number }[];
  /** The first problems seen, for the message. */
  readonly problems: readonly string[];
}

export function judgeSmoke(cases: readonly SmokeCase[], answers: readonly CaseAnswer[], thresholds: SmokeThresholds, expected: SmokeExpectation): SmokeJudgement {
  const good = answers.filter((a) => a.problem === undefined && a.score !== undefined);
  const errors = answers.length - good.length;
  const errorRate = answers.length === 0 ? 1 : errors / answers.length;
  const problems = [...new Set(answers.filter((a) => a.problem).map((a) => a.problem!))].slice(0, 5);

  // One live score per case: the first good answer (later ones are load, and must agree too).
  const liveByCase = new Map<number, number>();
  for (const a of good) if (!liveByCase.has(a.caseIndex)) liveByCase.set(a.caseIndex, a.score!);

  const labelled = [...liveByCase].filter(([i]) => cases[i]!.label !== undefined);
  const correct = labelled.filter(([i, score]) => (score >= thresholds.threshold ? 1 : 0) === cases[i]!.label).length;
  const accuracy = labelled.length > 0 ? correct / labelled.length : undefined;

  const skews: SkewCase[] = good
    .filter((a) => cases[a.caseIndex]!.score !== undefined)
    .map((a) => {
      const offline = cases[a.caseIndex]!.score!;
      return { line: cases[a.caseIndex]!.line, offline, live: a.score!, difference: Math.abs(a.score! - offline) };
    });
  const worstSkew = dedupe(skews.sort((x, y) => y.difference - x.difference)).slice(0, 5);
  const maxSkew = skews.length > 0 ? worstSkew[0]!.difference : undefined;

  const versions = expected.modelVersion === undefined ? [] : good.filter((a) => a.modelVersion !== expected.modelVersion);
  const digests = expected.digest === undefined ? [] : good.filter((a) => a.digest !== undefined && a.digest !== expected.digest);
  const latency = percentiles(answers.filter((a) => a.status !== 0).map((a) => a.latencyMs));

  const checks: CheckRow[] = [
    {
      check: 'answers (HTTP 200, well-formed)',
      threshold: `error rate ≤ ${formatRate(thresholds.maxErrorRate)}`,
      observed: `${good.length} of ${answers.length} (error rate ${formatRate(errorRate)})`,
      verdict: answers.length > 0 && errorRate <= thresholds.maxErrorRate ? 'pass' : 'fail',
    },
    expected.modelVersion === undefined
      ? { check: 'model version', threshold: null, observed: versionsSeen(good), verdict: 'reported' }
      : {
          check: 'model version',
          threshold: `= ${short(expected.modelVersion)}`,
          observed: versions.length === 0 ? `${short(expected.modelVersion)} in every answer` : `${versions.length} answers from ${versionsSeen(versions)}`,
          verdict: versions.length === 0 && good.length > 0 ? 'pass' : 'fail',
        },
    ...(expected.digest !== undefined && good.some((a) => a.digest !== undefined)
      ? [{ check: 'image digest', threshold: `= ${short(expected.digest)}`, observed: digests.length === 0 ? 'as deployed' : `${digests.length} answers from another image`, verdict: (digests.length === 0 ? 'pass' : 'fail') as CheckVerdict }]
      : []),
    gated('accuracy', thresholds.minAccuracy, accuracy, (t, v) => v >= t, (v) => `${v.toFixed(4)} on ${labelled.length} labelled cases`, (t) => `≥ ${t}`, labelled.length === 0 ? 'no labelled cases' : undefined),
    gated('training/serving skew', thresholds.maxSkew, maxSkew, (t, v) => v <= t, (v) => `max |live − offline| ${v.toExponential(2)}`, (t) => `≤ ${t}`, skews.length === 0 ? 'no offline scores in the cases' : undefined),
    gated('latency p95', thresholds.maxP95Ms, latency?.p95, (t, v) => v <= t, (v) => `${v.toFixed(1)} ms (p50 ${latency!.p50.toFixed(1)}, p99 ${latency!.p99.toFixed(1)})`, (t) => `≤ ${t} ms`, latency ? undefined : 'no answers'),
  ];
  return {
    passed: checks.every((c) => c.verdict !== 'fail'),
    checks,
    requests: answers.length,
    errors,
    accuracy,
    labelled: labelled.length,
    maxSkew,
    worstSkew,
    latency,
    histogram: histogramOf(answers.filter((a) => a.status !== 0).map((a) => a.latencyMs)),
    problems,
  };
}

/** A check gated when a threshold is configured, reported otherwise; a gated check with nothing to measure fails. */
function gated(
  check: string,
  threshold: number | undefined,
  observed: number | undefined,
  holds: (threshold: number, observed: number) => boolean,
  show: (observed: number) => string,
  showThreshold: (threshold: number) => string,
  missing: string | undefined,
): CheckRow {
  const observedText = observed === undefined ? (missing ?? 'not measured') : show(observed);
  if (threshold === undefined) return { check, threshold: null, observed: observedText, verdict: 'reported' };
  return { check, threshold: showThreshold(threshold), observed: observedText, verdict: observed !== undefined && holds(threshold, observed) ? 'pass' : 'fail' };
}

function percentiles(latencies: readonly number[]): SmokeJudgement['latency'] {
  if (latencies.length === 0) return undefined;
  // Microseconds, 3 significant digits: the resolution autocannon and wrk report with.
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
  for (const ms of latencies) histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
  const at = (p: number): number => histogram.getValueAtPercentile(p) / 1000;
  const result = { p50: at(50), p95: at(95), p99: at(99), max: histogram.maxValue / 1000 };
  histogram.destroy();
  return result;
}

/** Power-of-two buckets in milliseconds, for a bar chart in the report. */
function histogramOf(latencies: readonly number[]): { upToMs: number; count: number }[] {
  if (latencies.length === 0) return [];
  const buckets = new Map<number, number>();
  for (const ms of latencies) {
    const upTo = 2 ** Math.max(0, Math.ceil(Math.log2(Math.max(ms, 1))));
    buckets.set(upTo, (buckets.get(upTo) ?? 0) + 1);
  }
  return [...buckets].sort(([a], [b]) => a - b).map(([upToMs, count]) => ({ upToMs, count }));
}

function dedupe(skews: SkewCase[]): SkewCase[] {
  const seen = new Set<number>();
  return skews.filter((s) => (seen.has(s.line) ? false : (seen.add(s.line), true)));
}

function versionsSeen(answers: readonly CaseAnswer[]): string {
  const versions = [...new Set(answers.map((a) => a.modelVersion ?? 'no version'))];
  return versions.length === 0 ? 'no answers' : versions.map((v) => (v === 'no version' ? v : short(v))).join(', ');
}

function formatRate(rate: number): string {
  return rate === 0 ? '0' : `${(rate * 100).toFixed(rate < 0.01 ? 2 : 1)}%`;
}

function short(version: string): string {
  return version.replace(/^sha256:/, '').slice(0, 12);
}
