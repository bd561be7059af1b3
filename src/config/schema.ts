import { z } from 'zod';

/**
 * The mlship.yml schema. Every object is strict (unknown keys are errors) and every leaf says in
 * words what it expects, so errors read like `data.paths[1]: expected a string, got 42`.
 * Sections are optional here; each command demands the sections it uses (see `requireSection`).
 */

export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

const expecting =
  (what: string) =>
  (issue: { input?: unknown }): string =>
    issue.input === undefined ? `required: expected ${what}` : `expected ${what}, got ${show(issue.input)}`;

const text = (what = 'a string') =>
  z.string({ error: expecting(what) }).min(1, { error: expecting(`a non-empty ${what.replace(/^an? /, '')}`) });
const positiveInt = () =>
  z
    .number({ error: expecting('a positive integer') })
    .int({ error: expecting('a positive integer') })
    .positive({ error: expecting('a positive integer') });
const positiveNumber = (what = 'a positive number') =>
  z.number({ error: expecting(what) }).positive({ error: expecting(what) }).refine(Number.isFinite, { error: expecting(what) });
const nonNegative = (what = 'a non-negative number') =>
  z.number({ error: expecting(what) }).min(0, { error: expecting(what) }).refine(Number.isFinite, { error: expecting(what) });
const finite = (what = 'a number') => z.number({ error: expecting(what) }).refine(Number.isFinite, { error: expecting(what) });
const probability = (what = 'a number between 0 and 1') =>
  z
    .number({ error: expecting(what) })
    .min(0, { error: expecting(what) })
    .max(1, { error: expecting(what) });
const bool = () => z.boolean({ error: expecting('true or false') });
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: expecting(`one of ${values.join(', ')}`) });
const duration = () =>
  z
    .string({ error: expecting('a duration such as 30s, 500ms, 5m or 1h') })
    .regex(/^\d+(\.\d+)?(ms|s|m|h)$/, { error: expecting('a duration such as 30s, 500ms, 5m or 1h') });

/** A path relative to the repository root, in POSIX form. Escapes are checked when resolved. */
const relativePath = (what = 'a path relative to the repository') =>
  text(what).refine((p) => !p.startsWith('/') && !/^[A-Za-z]:[\\/]/.test(p), {
    error: expecting(`${what} (not an absolute path)`),
  });

const storeUrl = () =>
  text('a store location (file:///path, s3://bucket/prefix, or a path relative to the repository)');

export const StoreSchema = z.union(
  [
    storeUrl(),
    z.strictObject({
      url: storeUrl(),
      endpoint: text('an http(s) URL').optional(),
      region: text('an AWS region').optional(),
      path_style: bool().optional(),
    }),
  ],
  { error: expecting('a store URL or a mapping with url, endpoint, region') },
);

export const DataSchema = z.strictObject({
  paths: z
    .array(relativePath('a file or directory path relative to the repository'), { error: expecting('a list of paths') })
    .min(1, { error: expecting('at least one path') }),
  store: StoreSchema.optional(),
});

export const TrainSchema = z.strictObject({
  command: text('a shell command'),
  container: z
    .strictObject({
      dockerfile: relativePath().optional(),
      target: text('a Dockerfile stage name').optional(),
    })
    .optional(),
  params: relativePath().optional(),
  outputs: z.strictObject({
    model: relativePath(),
    metrics: relativePath(),
    predictions: relativePath().optional(),
    /** Smoke cases the training command writes from held-out rows (JSONL): stored and restored like the model. */
    smoke: relativePath().optional(),
  }),
  /**
   * What the run key hashes of the code (gitignore-style patterns, relative to mlship.yml): files
   * matching `include` (default: all) and not `ignore` (added to the defaults: *.md, .github/,
   * mlship.yml itself, whose train and data sections are hashed on their own).
   */
  include: z.array(text('a gitignore-style pattern'), { error: expecting('a list of gitignore-style patterns') }).optional(),
  ignore: z.array(text('a gitignore-style pattern'), { error: expecting('a list of gitignore-style patterns') }).optional(),
  /** Lines of the training command's output kept in the run record; 0 keeps none. */
  log_tail: z
    .number({ error: expecting('a whole number of lines (0 keeps none)') })
    .int({ error: expecting('a whole number of lines (0 keeps none)') })
    .min(0, { error: expecting('a whole number of lines (0 keeps none)') })
    .optional(),
});

export const GateSchema = z.strictObject({
  metric: text('a metric name'),
  min: finite().optional(),
  max: finite().optional(),
  baseline: text('a registry alias such as production').optional(),
  max_drop: finite().optional(),
  min_improvement: finite().optional(),
  relative: bool().optional(),
  confidence: probability('a confidence level between 0 and 1, such as 0.95').optional(),
  direction: oneOf(['higher', 'lower']).optional(),
});

export const EvaluateSchema = z
  .strictObject({
    /** Scores at or above this count as positive for accuracy, precision, recall, F1 and the confusion matrix. */
    threshold: finite().optional(),
    /** What the scores are: probabilities (default), logits (log-odds) or raw scores (rank only). */
    scores: oneOf(['probability', 'logits', 'raw']).optional(),
    /** Bootstrap resamples for confidence intervals. */
    bootstrap: positiveInt().optional(),
    seed: z.number({ error: expecting('an integer') }).int({ error: expecting('an integer') }).optional(),
    /** Columns of the predictions file; `group` names a column to slice the metrics by. */
    columns: z
      .strictObject({
        label: text('a column name').optional(),
        score: text('a column name').optional(),
        group: text('a column name').optional(),
      })
      .optional(),
    gates: z.array(GateSchema, { error: expecting('a list of gates') }).optional(),
  })
  .superRefine((evaluate, context) => {
    // A threshold on probabilities (or on logits mapped to them) lies in [0, 1]; raw scores may need any.
    const { threshold } = evaluate;
    if (threshold === undefined || evaluate.scores === 'raw' || (threshold >= 0 && threshold <= 1)) return;
    context.addIssue({
      code: 'custom',
      path: ['threshold'],
      input: threshold,
      message: `expected a number between 0 and 1, as the scores are probabilities${evaluate.scores === 'logits' ? ' once the sigmoid maps the logits' : ''} (for raw scores, compared as they are, set evaluate.scores: raw), got ${show(threshold)}`,
    });
  });

export const RegistrySchema = z.strictObject({
  store: text('git or a registry location (file:///path)'),
  branch: text('a git branch name').optional(),
});

export const ImageSchema = z.strictObject({
  repository: text('an image repository such as ghcr.io/acme/churn'),
  context: relativePath().optional(),
  dockerfile: relativePath().optional(),
  target: text('a Dockerfile stage name').optional(),
  build_args: z.record(z.string(), z.string({ error: expecting('a string') }), { error: expecting('a mapping of names to strings') }).optional(),
  tags: z.array(text('a tag template'), { error: expecting('a list of tag templates') }).optional(),
  push: bool().optional(),
  username: text('a registry user name').optional(),
  password_env: text('the name of an environment variable').optional(),
});

/** Thresholds the analysis applies while a rollout runs; each defaults to the smoke section's. */
export const AnalysisSchema = z.strictObject({
  interval: duration().optional(),
  cases: positiveInt().optional(),
  max_error_rate: probability('a fraction between 0 and 1, such as 0 or 0.01').optional(),
  max_p95_ms: positiveNumber('a number of milliseconds').optional(),
  min_accuracy: probability().optional(),
  max_skew: nonNegative('a non-negative number, such as 0.000001').optional(),
});

export const RolloutSchema = z.strictObject({
  parallelism: positiveInt().optional(),
  order: oneOf(['start-first', 'stop-first']).optional(),
  delay: duration().optional(),
  monitor: duration().optional(),
  timeout: duration().optional(),
  max_failure_ratio: probability('a fraction between 0 and 1, such as 0 or 0.1').optional(),
  analysis: AnalysisSchema.optional(),
});

/** Docker's service names: letters, digits, `_`, `.` and `-`, starting with a letter or digit, at most 63. */
const serviceName = () =>
  text('a service name').regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, {
    error: expecting('a service name of letters, digits, _ . - (at most 63, starting with a letter or digit)'),
  });

const port = (what = 'a port number between 1 and 65535') =>
  z
    .number({ error: expecting(what) })
    .int({ error: expecting(what) })
    .min(1, { error: expecting(what) })
    .max(65535, { error: expecting(what) });

export const EnvironmentSchema = z.strictObject({
  target: oneOf(['swarm']),
  docker_host: text('a Docker host such as unix:///var/run/docker.sock, tcp://host:2376 or ssh://user@host')
    .regex(/^(unix|tcp|ssh|https?):\/\//, { error: expecting('a Docker host such as unix:///var/run/docker.sock, tcp://host:2376 or ssh://user@host') })
    .optional(),
  service: serviceName(),
  replicas: positiveInt().optional(),
  /** The edge's published port on the engine's host. */
  port: port(),
  /** How mlship reaches the edge; default http://127.0.0.1:<port> for a local engine, else the engine's host. */
  url: text('an http(s) URL such as http://staging.internal:8080').regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, { error: expecting('an http(s) URL such as http://staging.internal:8080') }).optional(),
  /** Where the model server listens inside its container (also passed as PORT). */
  container_port: port().optional(),
  edge: z.strictObject({ image: text('an nginx image reference such as nginx:1.27-alpine').optional() }).optional(),
  stop_grace_period: duration().optional(),
  rollout: RolloutSchema.optional(),
});

export const SmokeSchema = z.strictObject({
  /** JSONL: one {"input": {...}, "label": 0|1?, "score": <offline score>?} per line. */
  cases: relativePath(),
  requests: positiveInt().optional(),
  concurrency: positiveInt().optional(),
  min_accuracy: probability().optional(),
  max_p95_ms: positiveNumber('a number of milliseconds').optional(),
  max_skew: nonNegative('a non-negative number, such as 0.000001').optional(),
  max_error_rate: probability('a fraction between 0 and 1, such as 0 or 0.01').optional(),
  /** Per request. */
  timeout: duration().optional(),
  /** For the whole smoke test. */
  deadline: duration().optional(),
});

const NUMERIC_METHODS = ['ks', 'wasserstein', 'psi'] as const;
const CATEGORICAL_METHODS = ['chisquare', 'jensenshannon', 'psi'] as const;
/** Methods whose score is a p-value: drift when it falls below the threshold, which is then a probability. */
const P_VALUE_METHODS: readonly string[] = ['ks', 'chisquare'];

export const DriftFeatureSchema = z
  .strictObject({
    type: oneOf(['numeric', 'categorical']).optional(),
    /** A critical feature that drifts makes the whole data set drifted, whatever the share. */
    critical: bool().optional(),
    method: oneOf(['ks', 'wasserstein', 'psi', 'chisquare', 'jensenshannon']).optional(),
    threshold: positiveNumber().optional(),
  })
  .superRefine((feature, context) => {
    const { type, method, threshold } = feature;
    if (method !== undefined && type !== undefined) {
      const allowed: readonly string[] = type === 'numeric' ? NUMERIC_METHODS : CATEGORICAL_METHODS;
      if (!allowed.includes(method)) {
        context.addIssue({ code: 'custom', path: ['method'], input: method, message: `expected one of ${allowed.join(', ')} for a ${type} feature, got ${show(method)}` });
      }
    }
    if (method !== undefined && threshold !== undefined && P_VALUE_METHODS.includes(method) && threshold >= 1) {
      context.addIssue({ code: 'custom', path: ['threshold'], input: threshold, message: `expected a p-value threshold between 0 and 1 (such as 0.05) for method ${method}, got ${show(threshold)}` });
    }
  });

export const DriftSchema = z.strictObject({
  /** The data to compare with; by default the data of the model serving production. */
  reference: relativePath('a file or directory relative to the repository').optional(),
  /** The fresh data. */
  current: relativePath('a file or directory relative to the repository').optional(),
  /** The features to check, with per-feature settings; by default every column both sides share. */
  features: z
    .record(z.string(), DriftFeatureSchema.nullable(), { error: expecting('a mapping of column names to settings') })
    .optional(),
  /** Columns never checked: labels, ids, timestamps. */
  ignore: z.array(text('a column name'), { error: expecting('a list of column names') }).optional(),
  /** The data set drifts when at least this share of its features drift. */
  share: probability('a share between 0 and 1, such as 0.5').optional(),
  /** Reference-quantile bins for numeric PSI. */
  bins: z
    .number({ error: expecting('a whole number of bins, at least 2') })
    .int({ error: expecting('a whole number of bins, at least 2') })
    .min(2, { error: expecting('a whole number of bins, at least 2') })
    .optional(),
});

export const ConfigSchema = z.strictObject({
  version: z.literal(1, { error: expecting('1 (the only config version)') }),
  name: text('a project name').regex(/^[a-z0-9][a-z0-9._-]*$/, {
    error: expecting('a name of lowercase letters, digits, dots, dashes and underscores'),
  }),
  data: DataSchema.optional(),
  train: TrainSchema.optional(),
  evaluate: EvaluateSchema.optional(),
  registry: RegistrySchema.optional(),
  image: ImageSchema.optional(),
  environments: z.record(z.string(), EnvironmentSchema, { error: expecting('a mapping of environment names') }).optional(),
  smoke: SmokeSchema.optional(),
  drift: DriftSchema.optional(),
});

export type Config = z.infer<typeof ConfigSchema>;
export type DataConfig = z.infer<typeof DataSchema>;
export type StoreConfig = z.infer<typeof StoreSchema>;
export type EvaluateConfig = z.infer<typeof EvaluateSchema>;
export type DriftConfig = z.infer<typeof DriftSchema>;

/** The JSON Schema editors use to complete and check mlship.yml. */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(ConfigSchema, { target: 'draft-2020-12', unrepresentable: 'any' }),
    $id: 'https://github.com/mlship/mlship/blob/main/dist/mlship.schema.json',
    title: 'mlship.yml',
  };
}
