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
      url: storeUrl().describe('file:///path, s3://bucket/prefix, or a path relative to mlship.yml.'),
      endpoint: text('an http(s) URL').optional().describe('S3-compatible server (MinIO, Ceph); default AWS_ENDPOINT_URL_S3, else AWS.'),
      region: text('an AWS region').optional().describe('Default: AWS_REGION or the profile\'s.'),
      path_style: bool().optional().describe('Path-style addressing (http://host/bucket), which most S3-compatible servers need.'),
    }),
  ],
  { error: expecting('a store URL or a mapping with url, endpoint, region') },
);

export const DataSchema = z.strictObject({
  paths: z
    .array(relativePath('a file or directory path relative to the repository'), { error: expecting('a list of paths') })
    .min(1, { error: expecting('at least one path') })
    .describe('Files or directories the model is trained on, relative to mlship.yml; versioned in mlship.lock.'),
  store: StoreSchema.optional().describe('Where data objects and trained models are kept: a URL, or a mapping for S3 options. Default .mlship/store.'),
});

export const TrainSchema = z.strictObject({
  command: text('a shell command').describe('The training command, run by the shell in the repository (MLSHIP_* variables set).'),
  container: z
    .strictObject({
      dockerfile: relativePath().optional().describe('Default Dockerfile.'),
      target: text('a Dockerfile stage name').optional().describe('The stage to train in; default the last.'),
    })
    .optional()
    .describe('Train inside an image built from this Dockerfile (the workspace mounted at the same path) instead of on the host.'),
  params: relativePath().optional().describe('A YAML or JSON mapping of parameters: recorded, part of the run key, passed as MLSHIP_PARAMS.'),
  outputs: z
    .strictObject({
      model: relativePath().describe('The model file or directory the command writes; its content hash is the model version.'),
      metrics: relativePath().describe('JSON of metrics the command writes (nested keys flattened with dots; every leaf a finite number).'),
      predictions: relativePath().optional().describe('CSV or JSONL of held-out label and score per row, which evaluate scores.'),
      /** Stored and restored like the model. */
      smoke: relativePath().optional().describe('Smoke cases (JSONL) the command writes from held-out rows.'),
    })
    .describe('What the training command writes, relative to mlship.yml: stored with the run.'),
  /**
   * What the run key hashes of the code (gitignore-style patterns, relative to mlship.yml): files
   * matching `include` (default: all) and not `ignore` (added to the defaults: *.md, .github/,
   * mlship.yml itself, whose train and data sections are hashed on their own).
   */
  include: z
    .array(text('a gitignore-style pattern'), { error: expecting('a list of gitignore-style patterns') })
    .optional()
    .describe('Gitignore-style patterns of the code files the run key hashes; default every file.'),
  ignore: z
    .array(text('a gitignore-style pattern'), { error: expecting('a list of gitignore-style patterns') })
    .optional()
    .describe('Patterns left out of the run key, added to the defaults (*.md, .github/, mlship.yml, mlship.lock, data paths, outputs).'),
  log_tail: z
    .number({ error: expecting('a whole number of lines (0 keeps none)') })
    .int({ error: expecting('a whole number of lines (0 keeps none)') })
    .min(0, { error: expecting('a whole number of lines (0 keeps none)') })
    .optional()
    .describe('Lines of the command\'s output kept in the run record; 0 keeps none. Default 50.'),
});

export const GateSchema = z.strictObject({
  metric: text('a metric name').describe('auc, average_precision, log_loss, brier, accuracy, precision, recall, f1, positives, negatives, count, or a key of the training metrics.'),
  min: finite().optional().describe('Absolute gate: the metric must be at least this.'),
  max: finite().optional().describe('Absolute gate: the metric must be at most this.'),
  baseline: text('a registry alias such as production').optional().describe('Baseline gate: compare with the model behind this registry alias. Default production.'),
  max_drop: finite().optional().describe('Baseline gate: the metric may be worse than the baseline\'s by at most this.'),
  min_improvement: finite().optional().describe('Baseline gate: the metric must beat the baseline\'s by at least this.'),
  relative: bool().optional().describe('max_drop and min_improvement are fractions of the baseline\'s value. Default false.'),
  confidence: probability('a confidence level between 0 and 1, such as 0.95').optional().describe('Judge the bootstrap interval\'s bound at this level instead of the estimate.'),
  direction: oneOf(['higher', 'lower']).optional().describe('Which way is better, for a metric mlship does not know (the training command\'s own).'),
});

export const EvaluateSchema = z
  .strictObject({
    threshold: finite().optional().describe('Scores at or above this count as positive (accuracy, precision, recall, F1, confusion matrix). Default 0.5.'),
    scores: oneOf(['probability', 'logits', 'raw']).optional().describe('What the scores are: probabilities, logits (log-odds) or raw scores (rank only). Default probability.'),
    bootstrap: positiveInt().optional().describe('Bootstrap resamples for confidence intervals. Default 1000.'),
    seed: z.number({ error: expecting('an integer') }).int({ error: expecting('an integer') }).optional().describe('Seed of the bootstrap: the same intervals every run. Default 1.'),
    columns: z
      .strictObject({
        label: text('a column name').optional().describe('Default label.'),
        score: text('a column name').optional().describe('Default score.'),
        group: text('a column name').optional().describe('A column to slice the metrics by; default none.'),
      })
      .optional()
      .describe('Column names of the predictions file.'),
    gates: z.array(GateSchema, { error: expecting('a list of gates') }).optional().describe('Each gate is absolute (min, max) or against a baseline (baseline, max_drop, min_improvement).'),
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
  store: text('git or a registry location (file:///path)').describe('git (an orphan branch of the repository\'s origin) or file:///path. Default .mlship/registry.'),
  branch: text('a git branch name').optional().describe('The git registry\'s branch. Default mlship-registry.'),
});

export const ImageSchema = z.strictObject({
  repository: text('an image repository such as ghcr.io/acme/churn').describe('Where the serving image goes, such as ghcr.io/acme/churn.'),
  context: relativePath().optional().describe('Build context, relative to mlship.yml (.dockerignore honoured). Default .'),
  dockerfile: relativePath().optional().describe('Relative to mlship.yml. Default Dockerfile.'),
  target: text('a Dockerfile stage name').optional().describe('The stage to build; default the last.'),
  build_args: z.record(z.string(), z.string({ error: expecting('a string') }), { error: expecting('a mapping of names to strings') }).optional().describe('Build arguments, name to value.'),
  tags: z.array(text('a tag template'), { error: expecting('a list of tag templates') }).optional().describe('Tag templates: {model_version}, {model_version_short}, {data_version}, {data_version_short}, {git_sha}, {git_sha_short}, {run_id}, {ref}. Default {model_version_short}, sha-{git_sha_short}.'),
  push: bool().optional().describe('Push after building (as mlship build --push). Default false.'),
  username: text('a registry user name').optional().describe('Registry user name.'),
  password_env: text('the name of an environment variable').optional().describe('The environment variable holding the registry password (never the password itself).'),
});

/** Thresholds the analysis applies while a rollout runs; each defaults to the smoke section's. */
export const AnalysisSchema = z.strictObject({
  interval: duration().optional().describe('How often a sample of the smoke cases goes through the edge. Default 2s.'),
  cases: positiveInt().optional().describe('Cases sent each interval. Default 20.'),
  min_samples: positiveInt().optional().describe('Answers of the new version before its accuracy and latency percentiles are judged. Default 10.'),
  max_error_rate: probability('a fraction between 0 and 1, such as 0 or 0.01').optional().describe('Default: smoke.max_error_rate.'),
  max_p95_ms: positiveNumber('a number of milliseconds').optional().describe('Default: smoke.max_p95_ms.'),
  min_accuracy: probability().optional().describe('Default: smoke.min_accuracy.'),
  max_skew: nonNegative('a non-negative number, such as 0.000001').optional().describe('Default: smoke.max_skew.'),
});

export const RolloutSchema = z.strictObject({
  parallelism: positiveInt().optional().describe('Tasks updated at a time. Default 1.'),
  order: oneOf(['start-first', 'stop-first']).optional().describe('start-first: a new task is healthy before an old one stops. Default start-first.'),
  delay: duration().optional().describe('Pause between batches. Default 0s.'),
  monitor: duration().optional().describe('How long Swarm watches each updated task for failure. Default 5s.'),
  timeout: duration().optional().describe('Longest the whole rollout may take before it is rolled back (timed_out). Default 5m.'),
  max_failure_ratio: probability('a fraction between 0 and 1, such as 0 or 0.1').optional().describe('Fraction of tasks that may fail before Swarm rolls back. Default 0.'),
  analysis: AnalysisSchema.optional().describe('Checks of the new version through the edge while it rolls out; a breach rolls back.'),
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
  target: oneOf(['swarm']).describe('Where the model runs: swarm (a Docker Swarm service behind an nginx edge).'),
  docker_host: text('a Docker host such as unix:///var/run/docker.sock, tcp://host:2376 or ssh://user@host')
    .regex(/^(unix|tcp|ssh|https?):\/\//, { error: expecting('a Docker host such as unix:///var/run/docker.sock, tcp://host:2376 or ssh://user@host') })
    .optional()
    .describe('The Swarm manager: unix://, tcp:// (TLS) or ssh://. Default DOCKER_HOST, else the local engine.'),
  service: serviceName().describe('The Swarm service of the model.'),
  replicas: positiveInt().optional().describe('Tasks serving the model. Default 1.'),
  port: port().describe('The edge\'s published port on the engine\'s host.'),
  url: text('an http(s) URL such as http://staging.internal:8080')
    .regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, { error: expecting('an http(s) URL such as http://staging.internal:8080') })
    .optional()
    .describe('How mlship reaches the edge. Default http://127.0.0.1:<port> for a local engine, else the engine\'s host.'),
  container_port: port().optional().describe('Where the model server listens inside its container (also passed as PORT). Default 8080.'),
  edge: z
    .strictObject({ image: text('an nginx image reference such as nginx:1.27-alpine').optional().describe('Any nginx image. Default nginx:1.27-alpine.') })
    .optional()
    .describe('The nginx edge mlship runs in front of the model.'),
  stop_grace_period: duration().optional().describe('How long a stopping task may finish its requests. Default 10s.'),
  rollout: RolloutSchema.optional().describe('How a new version rolls out (deploy, promote, rollback).'),
});

export const SmokeSchema = z.strictObject({
  cases: relativePath().describe('JSONL, one {"input": {…}, "label": 0|1, "score": <offline score>} per line (label and score optional).'),
  requests: positiveInt().optional().describe('Requests sent, cycling through the cases. Default 500.'),
  concurrency: positiveInt().optional().describe('Keep-alive connections. Default 4.'),
  min_accuracy: probability().optional().describe('Accuracy on the labelled cases; reported, not gated, when absent.'),
  max_p95_ms: positiveNumber('a number of milliseconds').optional().describe('95th percentile latency; reported, not gated, when absent.'),
  max_skew: nonNegative('a non-negative number, such as 0.000001').optional().describe('Largest |live score − offline score|. Default 0.000001.'),
  max_error_rate: probability('a fraction between 0 and 1, such as 0 or 0.01').optional().describe('Fraction of requests without a well-formed answer. Default 0.'),
  timeout: duration().optional().describe('Per request. Default 5s.'),
  deadline: duration().optional().describe('For the whole smoke test. Default 2m.'),
});

const NUMERIC_METHODS = ['ks', 'wasserstein', 'psi'] as const;
const CATEGORICAL_METHODS = ['chisquare', 'jensenshannon', 'psi'] as const;
/** Methods whose score is a p-value: drift when it falls below the threshold, which is then a probability. */
const P_VALUE_METHODS: readonly string[] = ['ks', 'chisquare'];

export const DriftFeatureSchema = z
  .strictObject({
    type: oneOf(['numeric', 'categorical']).optional().describe('Default: numeric when the first 1,000 reference values are all numbers.'),
    critical: bool().optional().describe('When it drifts, the whole data set has drifted, whatever the share.'),
    method: oneOf(['ks', 'wasserstein', 'psi', 'chisquare', 'jensenshannon']).optional().describe('Default: ks or chisquare up to 1,000 rows, wasserstein or jensenshannon above.'),
    threshold: positiveNumber().optional().describe('A p-value (ks, chisquare: drift below it) or a distance (drift at or above it). Default 0.05 or 0.1.'),
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
  reference: relativePath('a file or directory relative to the repository').optional().describe('The data to compare with. Default: the data of the model serving production (pulled from the store when absent).'),
  current: relativePath('a file or directory relative to the repository').optional().describe('The fresh data (CSV, JSONL or Parquet; a directory of them).'),
  features: z
    .record(z.string(), DriftFeatureSchema.nullable(), { error: expecting('a mapping of column names to settings') })
    .optional()
    .describe('The features to check, with per-feature settings. Default: every column both sides share.'),
  ignore: z.array(text('a column name'), { error: expecting('a list of column names') }).optional().describe('Columns never checked: labels, ids, timestamps.'),
  share: probability('a share between 0 and 1, such as 0.5').optional().describe('The data set drifts when at least this share of its features drift (or any critical one does). Default 0.5.'),
  bins: z
    .number({ error: expecting('a whole number of bins, at least 2') })
    .int({ error: expecting('a whole number of bins, at least 2') })
    .min(2, { error: expecting('a whole number of bins, at least 2') })
    .optional()
    .describe('Reference-quantile bins for numeric PSI. Default 10.'),
});

/** A git branch name, as `git check-ref-format --branch` would take it (the common rules). */
const branchName = (what = 'a git branch name such as mlship/retrain') =>
  text(what).refine((b) => /^[^\s~^:?*[\\]+$/.test(b) && !b.startsWith('-') && !b.startsWith('/') && !b.endsWith('/') && !b.endsWith('.lock') && !b.includes('..') && !b.includes('//') && !b.includes('@{'), {
    error: expecting(what),
  });

/** What a proposal's title template may name. */
export const PROPOSE_TITLE_FIELDS: readonly string[] = ['project', 'reason', 'data_version'];

/** `mlship propose`: the retraining pull request. */
export const ProposeSchema = z.strictObject({
  branch: branchName().optional().describe('The branch the proposal is pushed to. Default mlship/retrain.'),
  base: branchName().optional().describe("The pull request's base. Default the checked-out branch."),
  labels: z.array(text('a label name'), { error: expecting('a list of label names') }).optional().describe('Labels put on the pull request.'),
  title: text('a title such as "Retrain {project}: {reason}"')
    .refine((t) => [...t.matchAll(/\{([^}]*)\}/g)].every((m) => PROPOSE_TITLE_FIELDS.includes(m[1]!)), {
      error: expecting(`a title whose {placeholders} are among {project}, {reason}, {data_version}`),
    })
    .optional()
    .describe("The pull request's title, with {project}, {reason} and {data_version} filled in."),
});


export const ConfigSchema = z.strictObject({
  version: z.literal(1, { error: expecting('1 (the only config version)') }).describe('The config format: 1.'),
  name: text('a project name')
    .regex(/^[a-z0-9][a-z0-9._-]*$/, {
      error: expecting('a name of lowercase letters, digits, dots, dashes and underscores'),
    })
    .describe('The project: names its registry records, networks and MLflow experiment.'),
  data: DataSchema.optional().describe('The data the model is trained on (mlship data).'),
  train: TrainSchema.optional().describe('How the model is trained and what it writes (mlship train).'),
  evaluate: EvaluateSchema.optional().describe('How predictions are scored and gated (mlship evaluate).'),
  registry: RegistrySchema.optional().describe('Where run records, model versions, aliases and the ledger live. Default .mlship/registry.'),
  image: ImageSchema.optional().describe('The serving image (mlship build).'),
  environments: z
    .record(z.string(), EnvironmentSchema, { error: expecting('a mapping of environment names') })
    .optional()
    .describe('Where the model runs, by environment name (mlship deploy, smoke, promote, rollback, status).'),
  smoke: SmokeSchema.optional().describe('The live model tested as a model (mlship smoke, and the analysis during a promotion).'),
  drift: DriftSchema.optional().describe('Whether the data the model sees has moved away from its training data.'),
  propose: ProposeSchema.optional().describe('The retraining pull request (mlship propose).'),
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
