import type { LoadedConfig } from '../config/load.js';
import { durationOr } from '../domain/duration.js';
import type { SmokeThresholds } from '../domain/smoke/checks.js';
import { DEFAULT_MIN_SAMPLES } from '../domain/rollout/analysis.js';

/** The smoke section's defaults: a threshold left out is reported, not gated, except these two. */
export const SMOKE_DEFAULTS = { requests: 500, concurrency: 4, maxSkew: 1e-6, maxErrorRate: 0, timeoutMs: 5000, deadlineMs: 120_000 } as const;
const ANALYSIS_DEFAULTS = { intervalMs: 2000, cases: 20 } as const;

/** What a smoke test sends and how long it may take. */
export interface SmokeLoadSettings {
  readonly requests: number;
  readonly concurrency: number;
  readonly timeoutMs: number;
  readonly deadlineMs: number;
}

export interface AnalysisSettings {
  readonly intervalMs: number;
  /** Cases sent each interval. */
  readonly cases: number;
  /** Answers of the new version before its accuracy and latency percentiles are judged. */
  readonly minSamples: number;
  readonly thresholds: SmokeThresholds;
}

/** The smoke section's thresholds, with evaluate's threshold for what a positive score is. */
export function smokeThresholds(loaded: LoadedConfig): SmokeThresholds {
  const smoke = loaded.config.smoke;
  return {
    minAccuracy: smoke?.min_accuracy,
    maxP95Ms: smoke?.max_p95_ms,
    maxSkew: smoke?.max_skew ?? SMOKE_DEFAULTS.maxSkew,
    maxErrorRate: smoke?.max_error_rate ?? SMOKE_DEFAULTS.maxErrorRate,
    threshold: loaded.config.evaluate?.threshold ?? 0.5,
  };
}

export function smokeLoad(loaded: LoadedConfig): SmokeLoadSettings {
  const smoke = loaded.config.smoke;
  return {
    requests: smoke?.requests ?? SMOKE_DEFAULTS.requests,
    concurrency: smoke?.concurrency ?? SMOKE_DEFAULTS.concurrency,
    timeoutMs: durationOr(smoke?.timeout, SMOKE_DEFAULTS.timeoutMs),
    deadlineMs: durationOr(smoke?.deadline, SMOKE_DEFAULTS.deadlineMs),
  };
}

/** An environment's rollout.analysis, each threshold defaulting to the smoke section's. */
export function analysisSettings(loaded: LoadedConfig, environment: string): AnalysisSettings {
  const analysis = loaded.config.environments?.[environment]?.rollout?.analysis ?? {};
  const base = smokeThresholds(loaded);
  return {
    intervalMs: durationOr(analysis.interval, ANALYSIS_DEFAULTS.intervalMs),
    cases: analysis.cases ?? ANALYSIS_DEFAULTS.cases,
    minSamples: analysis.min_samples ?? DEFAULT_MIN_SAMPLES,
    thresholds: {
      minAccuracy: analysis.min_accuracy ?? base.minAccuracy,
      maxP95Ms: analysis.max_p95_ms ?? base.maxP95Ms,
      maxSkew: analysis.max_skew ?? base.maxSkew,
      maxErrorRate: analysis.max_error_rate ?? base.maxErrorRate,
      threshold: base.threshold,
    },
  };
}
