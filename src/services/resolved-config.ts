import type { LoadedConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { DEFAULT_CONTAINER_PORT, DEFAULT_EDGE_IMAGE, DEFAULT_ROLLOUT, DEFAULT_STOP_GRACE_MS } from '../domain/deploy/service-spec.js';
import { DEFAULT_BASELINE } from '../domain/gate/gates.js';
import { DEFAULT_TAG_TEMPLATES } from '../domain/image/naming.js';
import { DEFAULT_REGISTRY_BRANCH, DEFAULT_REGISTRY_DIRECTORY } from '../adapters/registry/open-registry.js';
import { DEFAULT_STORE_DIRECTORY } from '../adapters/store/open-store.js';
import { environmentSettings } from './environment.js';
import { scoringSettings } from './scoring.js';
import { analysisSettings, SMOKE_DEFAULTS } from './smoke-settings.js';

/** Lines of the training command's output kept in the run record. */
export const DEFAULT_LOG_TAIL = 50;

/**
 * mlship.yml as the commands read it: every default they apply written out, from the same
 * constants they use. Sections the config leaves out stay out (except the registry, which every
 * recording command opens); sections this function does not know pass through as written.
 */
export function resolvedConfig(loaded: LoadedConfig, env: Readonly<Record<string, string | undefined>>): Config {
  const { config } = loaded;
  const resolved: Record<string, unknown> = { ...config };
  if (config.data) resolved.data = { ...config.data, store: config.data.store ?? DEFAULT_STORE_DIRECTORY };
  if (config.train) {
    const { container } = config.train;
    resolved.train = {
      ...config.train,
      ...(container ? { container: { ...container, dockerfile: container.dockerfile ?? 'Dockerfile' } } : {}),
      log_tail: config.train.log_tail ?? DEFAULT_LOG_TAIL,
    };
  }
  if (config.evaluate) {
    const scoring = scoringSettings(config.evaluate);
    resolved.evaluate = {
      ...config.evaluate,
      threshold: scoring.threshold,
      scores: scoring.scores,
      bootstrap: scoring.resamples,
      seed: scoring.seed,
      columns: { label: 'label', score: 'score', ...config.evaluate.columns },
      gates: (config.evaluate.gates ?? []).map((gate) =>
        gate.max_drop !== undefined || gate.min_improvement !== undefined ? { ...gate, baseline: gate.baseline ?? DEFAULT_BASELINE, relative: gate.relative ?? false } : gate,
      ),
    };
  }
  const registry = config.registry ?? { store: DEFAULT_REGISTRY_DIRECTORY };
  resolved.registry = registry.store === 'git' ? { ...registry, branch: registry.branch ?? DEFAULT_REGISTRY_BRANCH } : registry;
  if (config.image) {
    resolved.image = {
      ...config.image,
      context: config.image.context ?? '.',
      dockerfile: config.image.dockerfile ?? 'Dockerfile',
      tags: config.image.tags ?? [...DEFAULT_TAG_TEMPLATES],
      push: config.image.push ?? false,
    };
  }
  if (config.environments) {
    resolved.environments = Object.fromEntries(
      Object.entries(config.environments).map(([name, environment]) => {
        const settings = environmentSettings(loaded, name, env);
        const analysis = analysisSettings(loaded, name);
        return [
          name,
          {
            ...environment,
            replicas: settings.replicas,
            url: settings.url,
            container_port: environment.container_port ?? DEFAULT_CONTAINER_PORT,
            edge: { image: environment.edge?.image ?? DEFAULT_EDGE_IMAGE },
            stop_grace_period: environment.stop_grace_period ?? durationText(DEFAULT_STOP_GRACE_MS),
            rollout: {
              parallelism: DEFAULT_ROLLOUT.parallelism,
              order: DEFAULT_ROLLOUT.order,
              delay: durationText(DEFAULT_ROLLOUT.delayMs),
              monitor: durationText(DEFAULT_ROLLOUT.monitorMs),
              timeout: durationText(DEFAULT_ROLLOUT.timeoutMs),
              max_failure_ratio: DEFAULT_ROLLOUT.maxFailureRatio,
              ...environment.rollout,
              analysis: withoutUndefined({
                interval: durationText(analysis.intervalMs),
                cases: analysis.cases,
                min_samples: analysis.minSamples,
                max_error_rate: analysis.thresholds.maxErrorRate,
                max_p95_ms: analysis.thresholds.maxP95Ms,
                min_accuracy: analysis.thresholds.minAccuracy,
                max_skew: analysis.thresholds.maxSkew,
              }),
            },
          },
        ];
      }),
    );
  }
  if (config.smoke) {
    resolved.smoke = {
      ...config.smoke,
      requests: config.smoke.requests ?? SMOKE_DEFAULTS.requests,
      concurrency: config.smoke.concurrency ?? SMOKE_DEFAULTS.concurrency,
      max_skew: config.smoke.max_skew ?? SMOKE_DEFAULTS.maxSkew,
      max_error_rate: config.smoke.max_error_rate ?? SMOKE_DEFAULTS.maxErrorRate,
      timeout: config.smoke.timeout ?? durationText(SMOKE_DEFAULTS.timeoutMs),
      deadline: config.smoke.deadline ?? durationText(SMOKE_DEFAULTS.deadlineMs),
    };
  }
  return resolved as Config;
}

/** A duration as mlship.yml writes it: `0s`, `500ms`, `5m`. */
export function durationText(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

function withoutUndefined(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));
}
