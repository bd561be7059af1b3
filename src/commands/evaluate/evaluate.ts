import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig, type LoadedConfig } from '../../config/load.js';
import { ConfigurationError, InfrastructureError, errnoCode } from '../../errors.js';
import { writeFileAtomic } from '../../adapters/fs/atomic.js';
import { pullRequestFromEvent } from '../../adapters/github/pull-request.js';
import { checkGates, evaluateGates, passed, DEFAULT_BASELINE, GateConfigError, type BaselineEvidence, type GateSpec } from '../../domain/gate/gates.js';
import { renderMarkdown, rocSvg, type MetricRow, type ReportInput } from '../../domain/report/evaluation-report.js';
import type { RunRecord } from '../../domain/registry/records.js';
import type { Registry } from '../../domain/registry/registry.js';
import type { BlobStore } from '../../adapters/store/blob-store.js';
import type { CommandContext, CommandDefinition, CommandResult } from '../command.js';
import { downloadText } from '../../services/objects.js';
import { resolveRunIdentity, type RunIdentity } from '../../services/run-identity.js';
import { sha256Hex } from '../../domain/data/manifest.js';
import { openRegistry } from '../../adapters/registry/open-registry.js';
import { openStore } from '../../adapters/store/open-store.js';
import { directionOf, isComputedMetric, parsePredictionsText, scorePredictions, STANDARD_METRICS, type Scored } from './scoring.js';

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
  const settings = loaded.config.evaluate ?? {};
  const threshold = settings.threshold ?? 0.5;
  const gates: readonly GateSpec[] = settings.gates ?? [];
  try {
    checkGates(gates, directionOf);
  } catch (error) {
    if (error instanceof GateConfigError) throw new ConfigurationError(`${path.basename(loaded.file)} ${error.message}`);
    throw error;
  }
  // Scoring this commit's run needs its identity, which opens the registry and store: use those.
  const identity = typeof options.predictions === 'string' ? undefined : await resolveRunIdentity(context, { allowDirtyData: false, command: 'mlship evaluate' });
  const registry = identity?.registry ?? (await openRegistry(loaded.config.registry, loaded.root, loaded.where(['registry', 'store'])));
  const store = identity?.store ?? (loaded.config.data ? await openStore(loaded.config.data.store, loaded.root, loaded.where(['data', 'store'])) : undefined);

  const source = identity ? { identity } : { file: String(options.predictions) };
  const candidate = await reporter.group('Reading the predictions', () => candidatePredictions(source, loaded));
  const columns = settings.columns ?? {};
  const set = parsePredictionsText(candidate.text, candidate.display, columns);
  const scored = scorePredictions(set, { threshold, resamples: settings.bootstrap ?? 1000, seed: settings.seed ?? 1 });
  const metrics: Record<string, number> = { ...candidate.trainingMetrics, ...scored.metrics };
  checkGateMetricsExist(gates, metrics, scored, loaded);

  // Baselines: the alias each baseline gate names, or what the command line says.
  const baselines: Record<string, BaselineEvidence | undefined> = {};
  let baselineScored: Scored | undefined;
  let baselineLabel: string | undefined;
  const baselineNames = [...new Set(gates.filter((g) => g.min === undefined && g.max === undefined).map((g) => g.baseline ?? DEFAULT_BASELINE))];
  const requested = typeof options.baseline === 'string' ? options.baseline : undefined;
  if (typeof options['baseline-file'] === 'string') {
    const file = path.resolve(loaded.root, options['baseline-file']);
    const baselineSet = parsePredictionsText(readText(file, '--baseline-file'), options['baseline-file'], columns);
    baselineScored = scorePredictions(baselineSet, { threshold, resamples: 0, seed: 1 });
    baselineLabel = `file ${options['baseline-file']}`;
    const evidence = baselineEvidence(baselineLabel, baselineScored.metrics, scored, baselineScored);
    for (const name of [...baselineNames, requested ?? DEFAULT_BASELINE]) baselines[name] = evidence;
  } else {
    for (const name of requested ? [requested] : baselineNames) {
      const found = await baselineFromAlias(name, registry, store, reporter.warning.bind(reporter));
      if (!found && requested) throw new ConfigurationError(`--baseline ${requested}: the registry ${registry.location} has no alias "${requested}"`);
      if (!found) continue;
      const foundScored = found.text === undefined ? undefined : scorePredictions(parsePredictionsText(found.text, found.label, columns), { threshold, resamples: 0, seed: 1 });
      baselineScored ??= foundScored;
      baselineLabel ??= found.label;
      const evidence = baselineEvidence(found.label, { ...found.trainingMetrics, ...foundScored?.metrics }, scored, foundScored);
      baselines[name] = evidence;
      if (requested) for (const other of baselineNames) baselines[other] = evidence;
    }
  }

  const results = evaluateGates(gates, {
    candidate: metrics,
    undefinedMetrics: scored.undefinedMetrics,
    candidateInterval: (metric, confidence) => scored.interval(metric, confidence),
    baselines,
    direction: directionOf,
  });
  const ok = passed(results);

  const gated = [...new Set(gates.map((g) => g.metric))];
  const shown = [...gated, ...STANDARD_METRICS.filter((m) => !gated.includes(m))];
  const confidence = gates.find((g) => g.confidence !== undefined)?.confidence;
  const rows: MetricRow[] = shown.map((metric) => {
    const interval = confidence !== undefined && isComputedMetric(metric) ? scored.interval(metric, confidence) : undefined;
    return {
      metric,
      candidate: metrics[metric],
      baseline: baselineLabel ? Object.values(baselines).find((b) => b)?.metrics[metric] : undefined,
      ...(interval ? { interval: { ...interval, confidence: confidence! } } : {}),
    };
  });
  const run = candidate.run;
  const report: ReportInput = {
    project: loaded.config.name,
    passed: ok,
    gates: results,
    metrics: rows,
    baselineLabel,
    lineage: {
      predictions: candidate.display,
      runId: run?.id,
      modelVersion: run?.modelVersion,
      dataVersion: run?.dataVersion,
      gitSha: run?.git.sha,
      gitRef: run?.git.ref,
    },
    confusion: { ...scored.confusion, threshold },
    slices: scored.slices,
    roc: scored.roc ? { candidate: scored.roc, baseline: baselineScored?.roc } : undefined,
    calibration: scored.calibration,
    notes: [
      ...scored.notes,
      ...(baselineScored && !scored.sameRowsAs(baselineScored)
        ? [`The baseline's predictions are on other rows (${baselineScored.set.labels.length} vs ${set.labels.length}, or other labels): its numbers are point estimates from its own evaluation, and confidence gates against it cannot pass.`]
        : []),
    ],
  };
  const markdown = renderMarkdown(report);

  const reportDir = path.resolve(
    loaded.root,
    typeof options['report-dir'] === 'string' ? options['report-dir'] : path.join('.mlship', 'reports', run?.id ?? `file-${new Date().toISOString().replace(/[:.]/g, '')}`),
  );
  await mkdir(reportDir, { recursive: true });
  const reportFile = path.join(reportDir, 'report.md');
  writeFileAtomic(reportFile, markdown);
  if (report.roc) writeFileAtomic(path.join(reportDir, 'roc.svg'), rocSvg(report.roc));
  writeFileAtomic(path.join(reportDir, 'metrics.json'), `${JSON.stringify({ passed: ok, metrics, gates: results }, null, 2)}\n`);

  for (const r of results) reporter.info(`${r.verdict === 'pass' ? 'pass' : r.verdict === 'fail' ? 'FAIL' : 'none'}  ${r.metric} ${r.rule}: ${r.reason}`);
  reporter.info(`report: ${reportFile}`);

  const { url, error } = await postComment(markdown, loaded, context);
  const failing = results.filter((r) => r.verdict === 'fail');
  return {
    outputs: { passed: ok, report: reportFile, metrics, 'comment-url': url },
    summary: markdown,
    ...(ok ? {} : { failure: `${failing.length} of ${results.length} gates failed: ${failing.map((r) => `${r.metric} ${r.rule} (${r.reason})`).join('; ')}` }),
    ...(error ? { error } : {}),
  };
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

async function baselineFromAlias(
  name: string,
  registry: Registry,
  store: BlobStore | undefined,
  warn: (message: string) => void,
): Promise<{ label: string; text: string | undefined; trainingMetrics: Readonly<Record<string, number>> } | undefined> {
  const alias = await registry.alias(name);
  if (!alias) return undefined;
  const model = await registry.model(alias.version);
  const run = model ? await registry.run(model.runId) : undefined;
  const label = `${name} (${alias.version.replace(/^sha256:/, '').slice(0, 12)})`;
  if (!run) {
    warn(`the registry has no run for ${label}: comparing with nothing`);
    return undefined;
  }
  const output = run.outputs.predictions;
  if (!output || !store) {
    warn(`${label} recorded no predictions: comparing with its training metrics only`);
    return { label, text: undefined, trainingMetrics: run.metrics };
  }
  return { label, text: await downloadText(store, output.hash.replace(/^sha256:/, ''), `${output.path} of ${label}`), trainingMetrics: run.metrics };
}

function baselineEvidence(label: string, metrics: Readonly<Record<string, number>>, candidate: Scored, baseline: Scored | undefined): BaselineEvidence {
  const paired = baseline !== undefined && candidate.sameRowsAs(baseline);
  return {
    label,
    metrics,
    ...(paired ? { differenceInterval: (metric: string, confidence: number) => candidate.differenceInterval(baseline, metric, confidence) } : {}),
  };
}

/** A gate naming a metric that neither the predictions nor the training command can produce is a config error. */
function checkGateMetricsExist(gates: readonly GateSpec[], metrics: Readonly<Record<string, number>>, scored: Scored, loaded: LoadedConfig): void {
  gates.forEach((gate, i) => {
    if (isComputedMetric(gate.metric) || gate.metric in metrics || gate.metric in scored.undefinedMetrics) return;
    const known = [...new Set([...STANDARD_METRICS, ...Object.keys(metrics)])].sort().join(', ');
    throw new ConfigurationError(`${loaded.where(['evaluate', 'gates', i, 'metric'])}: unknown metric "${gate.metric}" (known: ${known})`);
  });
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
