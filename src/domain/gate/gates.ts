/**
 * Gates decide whether a candidate model may go on. Pure: they see numbers, never files. Every
 * gate explains itself (the value, the bound, the verdict), and nothing passes by accident: a
 * metric nobody produced fails, and a confidence gate judges the interval's bound, not the estimate.
 */

export type { MetricDirection as Direction } from '../metrics/evaluate.js';
import type { MetricDirection as Direction } from '../metrics/evaluate.js';

export interface GateSpec {
  readonly metric: string;
  readonly min?: number | undefined;
  readonly max?: number | undefined;
  /** A registry alias (production by default for baseline gates) or "file" for --baseline-file. */
  readonly baseline?: string | undefined;
  readonly max_drop?: number | undefined;
  readonly min_improvement?: number | undefined;
  readonly relative?: boolean | undefined;
  readonly confidence?: number | undefined;
  readonly direction?: Direction | undefined;
}

export interface Interval {
  readonly low: number;
  readonly high: number;
}

/** Everything the gates may look at, already computed. */
export interface GateEvidence {
  /** The candidate's metrics (computed from predictions, plus the training command's). */
  readonly candidate: Readonly<Record<string, number>>;
  /** Metrics that could not be computed, with why (for example AUC with one class). */
  readonly undefinedMetrics?: Readonly<Record<string, string>>;
  /** Bootstrap intervals of the candidate's metrics, by metric and confidence. */
  readonly candidateInterval?: (metric: string, confidence: number) => Interval | undefined;
  /**
   * The baselines, by name: their metrics, or why they could not be read; absent when there is
   * no baseline yet (the alias was never set).
   */
  readonly baselines: Readonly<Record<string, BaselineEvidence | UnreadableBaseline | undefined>>;
  readonly direction: (metric: string) => Direction | undefined;
}

export interface BaselineEvidence {
  /** How to name it in reports: `production (sha256:ab12…)`. */
  readonly label: string;
  readonly metrics: Readonly<Record<string, number>>;
  /** Paired-bootstrap interval of candidate − baseline, when both were scored on the same rows. */
  readonly differenceInterval?: (metric: string, confidence: number) => Interval | undefined;
}

/** A baseline that exists (its alias is set) but whose record, run or predictions cannot be read. */
export interface UnreadableBaseline {
  readonly label: string;
  /** What failed, in a sentence: the gate fails with it. */
  readonly unreadable: string;
}

export type Verdict = 'pass' | 'fail' | 'no-baseline';

export interface GateResult {
  readonly gate: GateSpec;
  readonly metric: string;
  /** The rule in words: `≥ 0.8`, `no worse than production by more than 0.01`. */
  readonly rule: string;
  readonly candidate: number | undefined;
  readonly baseline: number | undefined;
  readonly verdict: Verdict;
  /** Why, in a sentence. */
  readonly reason: string;
}

export class GateConfigError extends Error {}

export const DEFAULT_BASELINE = 'production';

/** Checks gates before any data is read: each needs a rule, and baseline rules need a direction. */
export function checkGates(gates: readonly GateSpec[], knownDirection: (metric: string) => Direction | undefined): void {
  gates.forEach((gate, i) => {
    const at = `evaluate.gates[${i}]`;
    const absolute = gate.min !== undefined || gate.max !== undefined;
    const relativeToBaseline = gate.baseline !== undefined || gate.max_drop !== undefined || gate.min_improvement !== undefined;
    if (absolute && relativeToBaseline) {
      throw new GateConfigError(`${at}: a gate is either absolute (min, max) or against a baseline (baseline, max_drop, min_improvement); split it in two`);
    }
    if (gate.min !== undefined && gate.max !== undefined && gate.min > gate.max) {
      throw new GateConfigError(`${at}: min ${gate.min} is above max ${gate.max}`);
    }
    if (gate.max_drop !== undefined && gate.max_drop < 0) throw new GateConfigError(`${at}.max_drop: expected 0 or more, got ${gate.max_drop}`);
    if (gate.relative !== undefined && !relativeToBaseline) throw new GateConfigError(`${at}.relative: applies only to max_drop and min_improvement`);
    if (relativeToBaseline && !(gate.direction ?? knownDirection(gate.metric))) {
      throw new GateConfigError(`${at}: is a higher or lower "${gate.metric}" better? Set direction: higher or direction: lower`);
    }
    if (!absolute && !relativeToBaseline) {
      throw new GateConfigError(`${at}: a gate needs a rule: min, max, or a baseline with max_drop or min_improvement`);
    }
  });
}

export function evaluateGates(gates: readonly GateSpec[], evidence: GateEvidence): GateResult[] {
  return gates.map((gate) => evaluateGate(gate, evidence));
}

function evaluateGate(gate: GateSpec, evidence: GateEvidence): GateResult {
  return isBaselineGate(gate) ? baselineGate(gate, evidence) : absoluteGate(gate, evidence);
}

function isBaselineGate(gate: GateSpec): boolean {
  return gate.min === undefined && gate.max === undefined;
}

/** The metrics whose paired intervals (candidate − baseline) the gates will ask for. */
export function pairedIntervalMetrics(gates: readonly GateSpec[]): string[] {
  return [...new Set(gates.filter((gate) => isBaselineGate(gate) && gate.confidence !== undefined).map((gate) => gate.metric))];
}

function absoluteGate(gate: GateSpec, evidence: GateEvidence): GateResult {
  const value = evidence.candidate[gate.metric];
  const rule = [gate.min !== undefined ? `≥ ${gate.min}` : '', gate.max !== undefined ? `≤ ${gate.max}` : ''].filter(Boolean).join(' and ');
  const base = { gate, metric: gate.metric, rule: withConfidence(rule, gate.confidence), candidate: value, baseline: undefined };
  if (value === undefined) return { ...base, verdict: 'fail', reason: missingReason(gate.metric, evidence) };
  let low = value;
  let high = value;
  if (gate.confidence !== undefined) {
    const interval = evidence.candidateInterval?.(gate.metric, gate.confidence);
    if (!interval) return { ...base, verdict: 'fail', reason: `no ${percent(gate.confidence)} interval could be computed for ${gate.metric}` };
    ({ low, high } = interval);
  }
  const judged = gate.confidence === undefined ? `${format(value)}` : `the ${percent(gate.confidence)} interval [${format(low)}, ${format(high)}]`;
  if (gate.min !== undefined && low < gate.min) return { ...base, verdict: 'fail', reason: `${judged} is below ${gate.min}` };
  if (gate.max !== undefined && high > gate.max) return { ...base, verdict: 'fail', reason: `${judged} is above ${gate.max}` };
  return { ...base, verdict: 'pass', reason: `${judged} is within ${rule}` };
}

function baselineGate(gate: GateSpec, evidence: GateEvidence): GateResult {
  const name = gate.baseline ?? DEFAULT_BASELINE;
  const direction = (gate.direction ?? evidence.direction(gate.metric))!;
  const better = direction === 'higher' ? 'higher' : 'lower';
  const unit = gate.relative ? (x: number): string => `${format(x * 100)}%` : format;
  const rule =
    gate.min_improvement !== undefined
      ? `better than ${name} by at least ${unit(gate.min_improvement)}`
      : `no worse than ${name}${gate.max_drop ? ` by more than ${unit(gate.max_drop)}` : ''}`;
  const value = evidence.candidate[gate.metric];
  const baseline = evidence.baselines[name];
  const base = { gate, metric: gate.metric, rule: withConfidence(rule, gate.confidence), candidate: value };
  if (value === undefined) {
    return { ...base, baseline: baseline && 'metrics' in baseline ? baseline.metrics[gate.metric] : undefined, verdict: 'fail', reason: missingReason(gate.metric, evidence) };
  }
  if (!baseline) return { ...base, baseline: undefined, verdict: 'no-baseline', reason: `no baseline yet: the registry has no "${name}" model to compare with (this passes)` };
  if ('unreadable' in baseline) {
    return { ...base, baseline: undefined, verdict: 'fail', reason: `the baseline ${baseline.label} cannot be read, so nothing shows the candidate is no worse: ${baseline.unreadable}` };
  }
  const reference = baseline.metrics[gate.metric];
  if (reference === undefined) {
    return { ...base, baseline: undefined, verdict: 'fail', reason: `the baseline ${baseline.label} has no ${gate.metric} to compare with` };
  }
  // Improvement in the good direction: positive is better, whichever way the metric points.
  const sign = direction === 'higher' ? 1 : -1;
  const scale = gate.relative ? Math.abs(reference) : 1;
  if (gate.relative && scale === 0) {
    return { ...base, baseline: reference, verdict: 'fail', reason: `a relative change from a baseline ${gate.metric} of 0 is undefined` };
  }
  let improvement = (sign * (value - reference)) / scale;
  let judged = `${gate.metric} ${format(value)} vs ${format(reference)} (change ${format(value - reference)}; ${better} is better)`;
  if (gate.confidence !== undefined) {
    const interval = baseline.differenceInterval?.(gate.metric, gate.confidence);
    if (!interval) {
      return { ...base, baseline: reference, verdict: 'fail', reason: `no paired ${percent(gate.confidence)} interval: the baseline was not scored on the same rows` };
    }
    // The worst case for the candidate is the end of the interval in the bad direction.
    const worst = direction === 'higher' ? interval.low : -interval.high;
    improvement = worst / scale;
    judged = `the ${percent(gate.confidence)} interval of the change is [${format(interval.low)}, ${format(interval.high)}]`;
  }
  const threshold = gate.min_improvement !== undefined ? gate.min_improvement : -(gate.max_drop ?? 0);
  const passes = improvement >= threshold - 1e-12;
  return { ...base, baseline: reference, verdict: passes ? 'pass' : 'fail', reason: `${judged}; needs ${rule}` };
}

function missingReason(metric: string, evidence: GateEvidence): string {
  const why = evidence.undefinedMetrics?.[metric];
  if (why) return why;
  const known = Object.keys(evidence.candidate).sort();
  return `no metric "${metric}" was produced (available: ${known.join(', ') || 'none'})`;
}

function withConfidence(rule: string, confidence: number | undefined): string {
  return confidence === undefined ? rule : `${rule} at ${percent(confidence)} confidence`;
}

function percent(p: number): string {
  return `${format(p * 100)}%`;
}

export function format(value: number): string {
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? value.toExponential(3) : String(Number(value.toPrecision(4)));
}

export function passed(results: readonly GateResult[]): boolean {
  return results.every((r) => r.verdict !== 'fail');
}
