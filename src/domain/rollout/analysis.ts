import { rank, rocAucOf } from '../metrics/ranking.js';
import type { SmokeCase } from '../smoke/cases.js';
import { judgeSmoke, type CaseAnswer, type CheckRow, type SmokeThresholds } from '../smoke/checks.js';

/**
 * Analysis while a rollout runs, pure, in the manner of Argo Rollouts: samples of the smoke cases
 * sent through the edge every interval, each answer attributed to the version that gave it
 * (`X-Image-Digest` where the server sends it, else `X-Model-Version`), and the candidate's
 * answers so far judged against the thresholds. `inconclusive` (no candidate answer yet) is kept
 * apart from `successful`: not enough data never passes for a pass.
 *
 * A wrong score, a failed request or an answer from another image is a breach at once. Accuracy and
 * a latency percentile are statistics: on three answers, p95 is the slowest one (a fresh process's
 * first request), so they are judged from `minSamples` answers of the new version on (Argo Rollouts
 * likewise needs a count of measurements before a metric fails). And accuracy on a few dozen live
 * cases is a sample: 12 right of 16 happens to a model that is right 90% of the time one rollout
 * in fifteen. So the accuracy is a breach only when even its one-sided 95% upper bound (Wilson)
 * is below the threshold: a model that is plainly wrong still fails within a few answers, and a
 * good one is not rolled back by chance. (The smoke test before promotion judges the estimate.)
 *
 * Latency is also compared with the version being replaced over the same stretch of the rollout
 * (its answers from the new version's first answer on), as canary analysis compares a canary with
 * its baseline: a stall that slows every answer alike (a busy node, the edge waiting on the engine's
 * DNS while tasks start) is the platform's, and rolling back would not cure it. So a p95 above the
 * threshold is a breach only when the new version's latencies are also stochastically greater than
 * the old one's in that stretch (one-sided Mann-Whitney U at 95%), or when the old version gave too
 * few answers in it to compare (then the threshold alone judges).
 */

export type AnalysisVerdict =
  | { readonly kind: 'successful'; readonly reason: string }
  | { readonly kind: 'failed'; readonly reason: string }
  | { readonly kind: 'inconclusive'; readonly reason: string };

export interface VersionStats {
  /** A digest or a model version, as the answers named it; `unattributed` when an answer named none. */
  readonly version: string;
  readonly answers: number;
  readonly errors: number;
  readonly p95Ms: number | undefined;
  readonly accuracy: number | undefined;
  readonly maxSkew: number | undefined;
}

export interface Analysis {
  readonly verdict: AnalysisVerdict;
  readonly versions: readonly VersionStats[];
}

export const UNATTRIBUTED = 'unattributed';

/** The standard normal's 95th percentile. */
const Z_95_ONE_SIDED = 1.6448536269514722;

/** Answers of the new version before its accuracy and latency percentiles count. */
export const DEFAULT_MIN_SAMPLES = 10;
const STATISTICAL_CHECKS = new Set(['accuracy', 'latency p95']);

/** Who answered: the image when the server says it (two images of one model differ), else the model version. */
export function versionOf(answer: CaseAnswer, byDigest: boolean): string {
  return (byDigest ? answer.digest : answer.modelVersion) ?? UNATTRIBUTED;
}

export function analyse(
  cases: readonly SmokeCase[],
  answers: readonly CaseAnswer[],
  candidate: { readonly digest: string; readonly modelVersion: string },
  thresholds: SmokeThresholds,
  minSamples: number = DEFAULT_MIN_SAMPLES,
): Analysis {
  const byDigest = answers.some((a) => a.digest !== undefined);
  const candidateKey = byDigest ? candidate.digest : candidate.modelVersion;
  const groups = new Map<string, CaseAnswer[]>();
  for (const answer of answers) {
    const key = versionOf(answer, byDigest);
    groups.set(key, [...(groups.get(key) ?? []), answer]);
  }
  const versions = [...groups].map(([version, group]) => stats(version, cases, group, thresholds));
  const mine = groups.get(candidateKey) ?? [];
  if (mine.length === 0) return { verdict: { kind: 'inconclusive', reason: 'no answer from the new version yet' }, versions };
  const judged = judgeSmoke(cases, mine, thresholds, {});
  // The model-version check is about which version answered, which attribution already decided.
  const enough = mine.length >= minSamples;
  const plausible = (c: CheckRow): boolean =>
    c.check === 'accuracy' && thresholds.minAccuracy !== undefined && judged.accuracy !== undefined && accuracyUpperBound(judged.accuracy, judged.labelled) >= thresholds.minAccuracy;
  const sharedSlowdown = (c: CheckRow): boolean => c.check === 'latency p95' && !slowerThanBaseline(answers, byDigest, candidateKey, minSamples);
  const breaches = judged.checks.filter(
    (c) => c.verdict === 'fail' && c.check !== 'model version' && (enough || !STATISTICAL_CHECKS.has(c.check)) && !plausible(c) && !sharedSlowdown(c),
  );
  if (breaches.length > 0) {
    return {
      verdict: { kind: 'failed', reason: `the new version breached ${breaches.map((c) => `${c.check}${c.threshold ? ` (${c.threshold})` : ''}: ${c.observed}`).join('; ')}` },
      versions,
    };
  }
  if (!enough) return { verdict: { kind: 'inconclusive', reason: `${mine.length} of ${minSamples} answers from the new version needed to judge its accuracy and latency` }, versions };
  return { verdict: { kind: 'successful', reason: `${mine.length} answers from the new version within every threshold` }, versions };
}

/**
 * Whether the new version answered slower than the versions it replaces over the same stretch
 * (every answer from its first one on); true when they gave fewer than `minSamples` answers in it.
 */
function slowerThanBaseline(answers: readonly CaseAnswer[], byDigest: boolean, candidateKey: string, minSamples: number): boolean {
  const first = answers.findIndex((a) => versionOf(a, byDigest) === candidateKey);
  const mine: number[] = [];
  const baseline: number[] = [];
  for (const answer of answers.slice(first)) {
    if (answer.problem !== undefined) continue;
    const version = versionOf(answer, byDigest);
    if (version === candidateKey) mine.push(answer.latencyMs);
    else if (version !== UNATTRIBUTED) baseline.push(answer.latencyMs);
  }
  return baseline.length < minSamples || stochasticallyGreater(mine, baseline);
}

/**
 * One-sided Mann-Whitney U test at 95%: whether values in `a` tend to be greater than those in `b`
 * (normal approximation with the tie correction and a continuity correction).
 */
export function stochasticallyGreater(a: readonly number[], b: readonly number[]): boolean {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) return false;
  // The ranking table of the metrics: U is the ROC AUC of "from a" by value, times the pairs.
  const ranking = rank(new Uint8Array(n1 + n2).fill(1, 0, n1), Float64Array.from([...a, ...b]));
  const u = rocAucOf(ranking) * n1 * n2;
  let ties = 0;
  for (let k = 0; k < ranking.thresholds.length; k += 1) {
    const t = (ranking.tps[k] as number) - (k > 0 ? (ranking.tps[k - 1] as number) : 0) + (ranking.fps[k] as number) - (k > 0 ? (ranking.fps[k - 1] as number) : 0);
    ties += t * t * t - t;
  }
  const n = n1 + n2;
  const variance = ((n1 * n2) / 12) * (n + 1 - ties / (n * (n - 1)));
  if (variance <= 0) return false;
  return (u - (n1 * n2) / 2 - 0.5) / Math.sqrt(variance) > Z_95_ONE_SIDED;
}

/** The one-sided 95% upper confidence bound of a proportion measured on n cases (Wilson score interval). */
export function accuracyUpperBound(accuracy: number, n: number): number {
  if (n === 0) return 1;
  const z = Z_95_ONE_SIDED;
  const z2n = (z * z) / n;
  const centre = accuracy + z2n / 2;
  const spread = z * Math.sqrt((accuracy * (1 - accuracy)) / n + z2n / (4 * n));
  return Math.min(1, (centre + spread) / (1 + z2n));
}

function stats(version: string, cases: readonly SmokeCase[], answers: readonly CaseAnswer[], thresholds: SmokeThresholds): VersionStats {
  const judged = judgeSmoke(cases, answers, thresholds, {});
  return { version, answers: answers.length, errors: judged.errors, p95Ms: judged.latency?.p95, accuracy: judged.accuracy, maxSkew: judged.maxSkew };
}
