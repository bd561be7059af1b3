import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig, type LoadedConfig } from '../../config/load.js';
import { ConfigurationError, InfrastructureError, errnoCode } from '../../errors.js';
import { writeFileAtomic } from '../../adapters/fs/atomic.js';
import { pullRequestFromEvent } from '../../adapters/github/pull-request.js';
import {
  checkGates,
  evaluateGates,
  pairedIntervalMetrics,
  passed,
  GateConfigError,
  type BaselineEvidence,
  type GateResult,
  type GateSpec,
  type UnreadableBaseline,
} from '../../domain/gate/gates.js';
import { plural, renderMarkdown, rocSvg, type MetricRow, type ReportInput } from '../../domain/report/evaluation-report.js';
import type { RunRecord } from '../../domain/registry/records.js';
import type { SecretMasker } from '../../domain/secrets.js';
import type { BlobStore } from '../../adapters/store/blob-store.js';
import type { CommandContext, CommandDefinition, CommandResult } from '../command.js';
import { downloadText } from '../../services/objects.js';
import { resolveRunIdentity, type RunIdentity } from '../../services/run-identity.js';
import {
  bootstrapIntervals,
  directionOf,
  isComputedMetric,
  parsePredictionsText,
  scorePredictions,
  scoringSettings,
  STANDARD_METRICS,
  type Intervals,
  type Scored,
} from '../../services/scoring.js';
import { sha256Hex } from '../../domain/data/manifest.js';
import { openRegistry } from '../../adapters/registry/open-registry.js';
import { openStore } from '../../adapters/store/open-store.js';
import { resolveBaselines, type Baseline } from './baselines.js';

export const evaluate: CommandDefinition = {
  words: ['evaluate'],
  description: 'Score the predictions of this commit\'s model, check the gates (thresholds and the production baseline), and report on the pull request.',
  options: {
    predictions: { type: 'string', value: 'FILE', description: "Score this predictions file (CSV or JSONL: label, score) instead of this commit's latest train run." },
    baseline: { type: 'string', value: 'ALIAS', description: 'Compare with the model behind this registry alias (default: the alias each gate names, production).' },
    'baseline-file': { type: 'string', value: 'FILE', description: 'Compare with this predictions file of the baseline model, scored on the same rows.' },
    'report-dir': { type: 'string', value: 'DIR', description: 'Where to write report.md, roc.svg and metrics.json (default .mlship/reports/<run>).' },
  },
  outputs: {
    passed: 'true when every gate passed (a baseline gate without a baseline yet passes, visibly).',
    report: 'Path of the Markdown report (beside it: roc.svg and metrics.json).',
    metrics: "JSON object of the run's metrics (nested keys flattened with dots).",
    'comment-url': 'URL of the pull-request comment written or updated (empty when none).',
  },
  run: (options, context) => runEvaluate(options, context),
};

interface Candidate {
  readonly text: string;
  readonly display: string;
  readonly run?: RunRecord | undefined;
  readonly trainingMetrics: Readonly<Record<string, number>>;
}

async function runEvaluate(options: Readonly<Record<string, string | boolean | undefined>>, context: CommandContext): Promise<CommandResult> {
  const { reporter } = context;
  const loaded = loadConfig(context.configFile, context.configDisplay);
  const settings = scoringSettings(loaded.config.evaluate);
  const gates: readonly GateSpec[] = loaded.config.evaluate?.gates ?? [];
  try {
    checkGates(gates, directionOf);
  } catch (error) {
    if (error instanceof GateConfigError) throw new ConfigurationError(`${path.basename(loaded.file)} ${error.message}`);
    throw error;
  }
  const predictionsFile = typeof options.predictions === 'string' ? options.predictions : undefined;
  // Scoring this commit's run needs its identity, which opens the registry and store: use those.
  const identity = predictionsFile === undefined ? await resolveRunIdentity(context, { allowDirtyData: false, command: 'mlship evaluate' }) : undefined;
  const registry = identity?.registry ?? (await openRegistry(loaded.config.registry, loaded.root, loaded.where(['registry', 'store'])));
  const store = identity?.store ?? (loaded.config.data ? await openStore(loaded.config.data.store, loaded.root, loaded.where(['data', 'store'])) : undefined);

  const source = identity ? { identity } : { file: predictionsFile! };
  const candidate = await reporter.group('Reading the predictions', () => candidatePredictions(source, loaded));
  const scored = scorePredictions(parsePredictionsText(candidate.text, candidate.display, settings.columns), settings);
  const metrics: Record<string, number> = { ...candidate.trainingMetrics, ...scored.metrics };
  const notProduced = predictionsFile === undefined ? checkGateMetricsExist(gates, metrics, scored, loaded) : metricsNotInFile(gates, metrics, scored);

  const baselines = await resolveBaselines(gates, options, { root: loaded.root, registry, store, settings, reporter });
  const shownBaseline = Object.values(baselines).find((b) => b?.kind === 'found');
  const baselineScored = shownBaseline?.kind === 'found' ? shownBaseline.scored : undefined;

  // One seeded bootstrap serves every interval the gates and the report ask for.
  const confidence = gates.find((g) => g.confidence !== undefined)?.confidence;
  const intervals: Intervals | undefined =
    confidence === undefined
      ? undefined
      : await bootstrapIntervals(scored, scoredBaselines(baselines), settings, { reporter, signal: context.signal, pairedMetrics: pairedIntervalMetrics(gates) });

  const results = evaluateGates(gates, {
    candidate: metrics,
    undefinedMetrics: { ...scored.undefinedMetrics, ...notProduced },
    candidateInterval: (metric, level) => intervals?.interval(metric, level),
    baselines: Object.fromEntries(Object.entries(baselines).map(([name, b]) => [name, b && gateEvidence(b, intervals)])),
    direction: directionOf,
  });
  const ok = passed(results);

  const gated = [...new Set(gates.map((g) => g.metric))];
  const shown = [...gated, ...STANDARD_METRICS.filter((m) => !gated.includes(m))];
  const rows: MetricRow[] = shown.map((metric) => {
    const interval = confidence !== undefined && isComputedMetric(metric) ? intervals?.interval(metric, confidence) : undefined;
    return {
      metric,
      candidate: metrics[metric],
      baseline: shownBaseline?.kind === 'found' ? shownBaseline.metrics[metric] : undefined,
      ...(interval ? { interval: { ...interval, confidence: confidence! } } : {}),
    };
  });
  const run = candidate.run;
  const report: ReportInput = {
    project: loaded.config.name,
    passed: ok,
    gates: results,
    metrics: rows,
    baselineLabel: shownBaseline?.label,
    lineage: {
      predictions: candidate.display,
      runId: run?.id,
      modelVersion: run?.modelVersion,
      dataVersion: run?.dataVersion,
      gitSha: run?.git.sha,
      gitRef: run?.git.ref,
    },
    confusion: scored.confusion && { ...scored.confusion, threshold: settings.threshold },
    slices: scored.slices,
    roc: scored.roc ? { candidate: scored.roc, baseline: baselineScored?.roc, labels: rocLabels(scored, baselineScored, shownBaseline?.label) } : undefined,
    calibration: scored.calibration,
    notes: [
      ...scored.notes,
      ...(baselineScored && !scored.sameRowsAs(baselineScored)
        ? [
            `The baseline's predictions are on other rows (${plural(baselineScored.set.labels.length, 'row')} vs ${plural(scored.set.labels.length, 'row')}, or other labels): ` +
              'its numbers are point estimates from its own evaluation, and confidence gates against it cannot pass.',
          ]
        : []),
    ],
  };
  const reportDir = path.resolve(
    loaded.root,
    typeof options['report-dir'] === 'string' ? options['report-dir'] : path.join('.mlship', 'reports', run?.id ?? `file-${new Date().toISOString().replace(/[:.]/g, '')}`),
  );
  const { reportFile, markdown } = await writeReport(reportDir, report, { passed: ok, metrics, gates: results }, context.secrets);

  for (const r of results) reporter.info(`${r.verdict === 'pass' ? 'pass' : r.verdict === 'fail' ? 'FAIL' : 'none'}  ${r.metric} ${r.rule}: ${r.reason}`);
  reporter.info(`report: ${reportFile}`);

  const { url, error } = await postComment(markdown, loaded, context);
  return {
    outputs: { passed: ok, report: reportFile, metrics, 'comment-url': url },
    summary: markdown,
    ...(ok ? {} : { failure: context.secrets.mask(failureMessage(results)) }),
    ...(error ? { error } : {}),
  };
}

/**
 * report.md, roc.svg and metrics.json, through the masker like everything written or posted: a
 * secret can reach a report through a slice name, a file name or a metric name as easily as a log line.
 */
async function writeReport(dir: string, report: ReportInput, json: Record<string, unknown>, secrets: SecretMasker): Promise<{ reportFile: string; markdown: string }> {
  const markdown = secrets.mask(renderMarkdown(report));
  await mkdir(dir, { recursive: true });
  const reportFile = path.join(dir, 'report.md');
  writeFileAtomic(reportFile, markdown);
  if (report.roc) writeFileAtomic(path.join(dir, 'roc.svg'), secrets.mask(rocSvg(report.roc)));
  writeFileAtomic(path.join(dir, 'metrics.json'), `${JSON.stringify(secrets.maskDeep(json), null, 2)}\n`);
  return { reportFile, markdown };
}

/** "1 gate failed: …" or "2 of 3 gates failed: …", each failing gate with its reason. */
function failureMessage(results: readonly GateResult[]): string {
  const failing = results.filter((r) => r.verdict === 'fail');
  const count = failing.length === results.length ? plural(failing.length, 'gate') : `${failing.length} of ${plural(results.length, 'gate')}`;
  return `${count} failed: ${failing.map((r) => `${r.metric} ${r.rule} (${r.reason})`).join('; ')}`;
}

/** The baselines whose predictions were scored: the bootstrap pairs the candidate with those on the same rows. */
function scoredBaselines(baselines: Readonly<Record<string, Baseline | undefined>>): Scored[] {
  const scored = Object.values(baselines).flatMap((b) => (b?.kind === 'found' && b.scored ? [b.scored] : []));
  return [...new Set(scored)];
}

function gateEvidence(baseline: Baseline, intervals: Intervals | undefined): BaselineEvidence | UnreadableBaseline {
  if (baseline.kind === 'unreadable') return { label: baseline.label, unreadable: baseline.problem };
  const { scored } = baseline;
  return {
    label: baseline.label,
    metrics: baseline.metrics,
    ...(scored && intervals ? { differenceInterval: (metric: string, confidence: number) => intervals.difference(scored, metric, confidence) } : {}),
  };
}

function rocLabels(candidate: Scored, baseline: Scored | undefined, baselineLabel: string | undefined): { candidate: string; baseline?: string } {
  const auc = (s: Scored): string => (s.metrics.auc === undefined ? '' : ` (AUC ${s.metrics.auc.toFixed(3)})`);
  return { candidate: `candidate${auc(candidate)}`, ...(baseline ? { baseline: `${baselineLabel ?? 'baseline'}${auc(baseline)}` } : {}) };
}

/** The predictions to score: a file given on the command line, or those of this commit's run. */
async function candidatePredictions(source: { file: string } | { identity: RunIdentity }, loaded: LoadedConfig): Promise<Candidate> {
  if ('file' in source) {
    return { text: readText(path.resolve(loaded.root, source.file), '--predictions'), display: source.file, trainingMetrics: {} };
  }
  const { identity } = source;
  const run = await identity.registry.runForKey(identity.key);
  if (!run) {
    throw new ConfigurationError(
      `no successful \`mlship train\` run for this commit's code, data, params and command in ${identity.registry.location}; run mlship train first, or pass --predictions FILE`,
    );
  }
  const output = run.outputs.predictions;
  if (!output) throw new ConfigurationError(`run ${run.id} recorded no predictions: set train.outputs.predictions, or pass --predictions FILE`);
  const text = await outputText(identity.root, output.path, output.hash, identity.store);
  return { text, display: `${output.path} of run ${run.id}`, run, trainingMetrics: run.metrics };
}

/** A stored output's text: the local file when it is the recorded content, else from the store (verified). */
async function outputText(root: string, file: string, hash: string, store: BlobStore): Promise<string> {
  try {
    const local = readFileSync(path.join(root, file));
    if (`sha256:${sha256Hex(local)}` === hash) return local.toString('utf8');
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error;
  }
  return downloadText(store, hash.replace(/^sha256:/, ''), file);
}

/**
 * Scoring a train run: a gate naming a metric that neither the predictions nor the training
 * command produced is a config error (a typo, most likely), listing what exists.
 */
function checkGateMetricsExist(gates: readonly GateSpec[], metrics: Readonly<Record<string, number>>, scored: Scored, loaded: LoadedConfig): Record<string, string> {
  gates.forEach((gate, i) => {
    if (isComputedMetric(gate.metric) || gate.metric in metrics || gate.metric in scored.undefinedMetrics) return;
    const known = [...new Set([...STANDARD_METRICS, ...Object.keys(metrics)])].sort().join(', ');
    throw new ConfigurationError(`${loaded.where(['evaluate', 'gates', i, 'metric'])}: unknown metric "${gate.metric}" (known: ${known})`);
  });
  return {};
}

/**
 * Scoring a file (--predictions): a gate on any other metric may well be a training metric, which
 * only a train run's metrics.json gives. Its gate fails, saying so, rather than stopping the run.
 */
function metricsNotInFile(gates: readonly GateSpec[], metrics: Readonly<Record<string, number>>, scored: Scored): Record<string, string> {
  const missing = gates.map((g) => g.metric).filter((metric) => !isComputedMetric(metric) && !(metric in metrics) && !(metric in scored.undefinedMetrics));
  return Object.fromEntries(
    missing.map((metric) => [
      metric,
      `metric "${metric}" was not produced: --predictions scores a predictions file, which gives ${STANDARD_METRICS.join(', ')}; ` +
        'other metrics come from metrics.json of an `mlship train` run (evaluate it without --predictions)',
    ]),
  );
}

async function postComment(markdown: string, loaded: LoadedConfig, context: CommandContext): Promise<{ url: string; error?: Error }> {
  const pr = pullRequestFromEvent(context.env);
  if (!pr) return { url: '' };
  if (!context.githubToken) {
    context.reporter.warning('this is a pull request, but there is no github-token: the report is in the job summary only');
    return { url: '' };
  }
  // Octokit and its HTTP stack are loaded only here: every other CLI start stays free of them.
  const { GitHubCommentPoster } = await import('../../adapters/github/pr-comment.js');
  const marker = `evaluate ${context.env.GITHUB_WORKFLOW ?? 'mlship'} ${path.relative(loaded.root, loaded.file) || 'mlship.yml'} ${loaded.config.name}`;
  try {
    const outcome = await new GitHubCommentPoster({ token: context.githubToken, env: context.env, signal: context.signal }).upsert(pr, marker, markdown);
    if (outcome.kind === 'skipped') {
      context.reporter.warning(`pull-request comment skipped: ${outcome.reason}; the report is in the job summary`);
      return { url: '' };
    }
    context.reporter.info(`pull-request comment ${outcome.kind}: ${outcome.url}`);
    return { url: outcome.url };
  } catch (error) {
    if (error instanceof InfrastructureError) return { url: '', error };
    throw error;
  }
}

function readText(file: string, option: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigurationError(`${option} ${file}: ${errnoCode(error) === 'ENOENT' ? 'no such file' : String(error)}`);
  }
}
