import path from 'node:path';
import { statSync } from 'node:fs';
import { writeFileAtomic } from '../../adapters/fs/atomic.js';
import { formatBytes, type Reporter } from '../../adapters/runtime/reporter.js';
import { readColumnNames, readTable, tableFiles, type Table } from '../../adapters/tabular/read-table.js';
import type { ColumnType } from '../../adapters/tabular/columns.js';
import { loadConfig, type LoadedConfig } from '../../config/load.js';
import type { DriftConfig } from '../../config/schema.js';
import { DEFAULT_BINS, DEFAULT_SHARE, bySeverity, judgeDataSet, judgeFeature, type FeatureResult, type FeatureSample } from '../../domain/drift/decide.js';
import { driftMarkdown, histogram, histogramSvg } from '../../domain/drift/report.js';
import { ConfigurationError } from '../../errors.js';
import { productionReference } from '../../services/drift-reference.js';
import type { CommandContext, CommandDefinition } from '../command.js';

/** Charts in the report: the most severe drifted features. */
const CHARTED_FEATURES = 5;

export const drift: CommandDefinition = {
  words: ['drift'],
  description: 'Compare current data with the reference (by default the production model\'s data) feature by feature, and say whether it drifted.',
  options: {
    reference: { type: 'string', value: 'FILE|DIR', description: 'The reference data (CSV, JSONL or Parquet); default drift.reference, else the data of the model serving production.' },
    current: { type: 'string', value: 'FILE|DIR', description: 'The current data; default drift.current.' },
    'report-dir': { type: 'string', value: 'DIR', description: 'Where to write report.md and one SVG chart per drifted feature (default .mlship/reports/drift).' },
    'fail-on-drift': { type: 'boolean', description: 'Exit 1 when the data set drifted, or when there was not enough data to tell.' },
  },
  outputs: {
    drifted: 'true when the data set drifted (the share of drifted features reached drift.share, or a critical feature drifted).',
    'drift-verdict': 'drift, no drift, or not enough data.',
    'drift-share': 'Share of the judged features that drifted (0 to 1).',
    'drifted-features': 'JSON list of the features that drifted, most severe first.',
    scores: 'JSON object: per feature its type, method, score, threshold, verdict, missing-rate change and every statistic computed.',
  },
  primaryOutput: 'drifted',
  async run(options, context) {
    const { reporter } = context;
    const loaded = loadConfig(context.configFile, context.configDisplay);
    const settings: DriftConfig = loaded.config.drift ?? {};
    const current = currentSource(options, settings, loaded);
    const reference = await referenceSource(options, settings, loaded, context);

    const columns = await chooseFeatures(settings, reference, current, loaded);
    const declared = new Map<string, { type: ColumnType; source: 'declared' }>();
    for (const [name, feature] of Object.entries(settings.features ?? {})) if (feature?.type) declared.set(name, { type: feature.type, source: 'declared' });

    const referenceTable = await readSide('reference', reference, columns, declared, reporter);
    const found = new Map<string, { type: ColumnType; source: 'declared' | 'reference' }>(
      [...referenceTable.columns].map(([name, values]) => [name, declared.get(name) ?? { type: values.type, source: 'reference' as const }]),
    );
    const currentTable = await readSide('current', current, columns, found, reporter);
    if (currentTable.rows === 0) throw new ConfigurationError(`${current.label}: no data rows; the current data is empty`);
    if (referenceTable.rows === 0) throw new ConfigurationError(`${reference.label}: no data rows; the reference data is empty`);

    const samples = columns.map((name) => ({ name, reference: referenceTable.columns.get(name)! as FeatureSample, current: currentTable.columns.get(name)! as FeatureSample }));
    const results = samples.map((s) => judgeFeature(s.name, s.reference, s.current, settings.features?.[s.name] ?? {}, settings.bins ?? DEFAULT_BINS));
    const dataSet = judgeDataSet(results, settings.share ?? DEFAULT_SHARE);
    const ordered = bySeverity(results);
    const charted = ordered.filter((r) => r.verdict === 'drift').slice(0, CHARTED_FEATURES);
    const histograms = charted.map((r) => {
      const s = samples.find((x) => x.name === r.feature)!;
      return histogram(r.feature, s.reference, s.current);
    });

    const markdown = context.secrets.mask(
      driftMarkdown({
        dataSet,
        features: results,
        reference: { label: reference.label, rows: referenceTable.rows },
        current: { label: current.label, rows: currentTable.rows },
        histograms,
      }),
    );
    const reportDir = path.resolve(loaded.root, typeof options['report-dir'] === 'string' ? options['report-dir'] : path.join('.mlship', 'reports', 'drift'));
    writeFileAtomic(path.join(reportDir, 'report.md'), markdown);
    for (const h of histograms) writeFileAtomic(path.join(reportDir, `${fileName(h.feature)}.svg`), context.secrets.mask(histogramSvg(h)));

    reporter.info(`${dataSet.verdict === 'drift' ? 'DRIFT' : dataSet.verdict}: ${dataSet.why}`);
    for (const r of ordered.filter((x) => x.verdict !== 'no drift')) reporter.info(`  ${r.feature}: ${r.verdict} (${r.method} ${r.score ?? '—'}, threshold ${r.threshold})`);
    reporter.info(`report: ${path.relative(loaded.root, reportDir) || '.'}${path.sep}report.md`);

    const failed = options['fail-on-drift'] === true && dataSet.verdict !== 'no drift';
    return {
      outputs: {
        drifted: dataSet.verdict === 'drift',
        'drift-verdict': dataSet.verdict,
        'drift-share': dataSet.share,
        'drifted-features': ordered.filter((r) => r.verdict === 'drift').map((r) => r.feature),
        scores: scores(results),
      },
      summary: markdown,
      ...(failed ? { failure: dataSet.verdict === 'drift' ? `data drift: ${dataSet.why}` : `cannot tell whether the data drifted: ${dataSet.why}` } : {}),
    };
  },
};

interface Source {
  readonly files: readonly string[];
  /** How reports and errors name it. */
  readonly label: string;
  readonly display: (file: string) => string;
}

function localSource(target: string, root: string, label: string): Source {
  const absolute = path.resolve(root, target);
  const files = tableFiles(absolute, label);
  return { files, label, display: (file) => path.relative(root, file) || file };
}

function currentSource(options: Readonly<Record<string, string | boolean | undefined>>, settings: DriftConfig, loaded: LoadedConfig): Source {
  if (typeof options.current === 'string') return localSource(options.current, process.cwd(), `--current ${options.current}`);
  if (settings.current) return localSource(settings.current, loaded.root, settings.current);
  throw new ConfigurationError(`${path.basename(loaded.file)}: no current data to compare: set drift.current or pass --current FILE|DIR`);
}

async function referenceSource(
  options: Readonly<Record<string, string | boolean | undefined>>,
  settings: DriftConfig,
  loaded: LoadedConfig,
  context: CommandContext,
): Promise<Source> {
  if (typeof options.reference === 'string') return localSource(options.reference, process.cwd(), `--reference ${options.reference}`);
  if (settings.reference) return localSource(settings.reference, loaded.root, settings.reference);
  const production = await productionReference(loaded, context, settings.current);
  return { files: production.files, label: production.label, display: production.display };
}

/**
 * The features: those drift.features names, else every column both sides have except
 * drift.ignore. A feature missing on one side, or (with no list) a column only one side has,
 * is an error that names it: comparing silently fewer columns than the data has hides drift.
 */
async function chooseFeatures(settings: DriftConfig, reference: Source, current: Source, loaded: LoadedConfig): Promise<string[]> {
  const referenceColumns = await readColumnNames(reference.files[0]!);
  const currentColumns = await readColumnNames(current.files[0]!);
  const ignored = new Set(settings.ignore ?? []);
  if (settings.features) {
    const names = Object.keys(settings.features);
    for (const name of names) {
      const where = loaded.where(['drift', 'features', name]);
      if (!referenceColumns.includes(name)) throw new ConfigurationError(`${where}: the reference (${reference.display(reference.files[0]!)}) has no column "${name}"`);
      if (!currentColumns.includes(name)) throw new ConfigurationError(`${where}: the current data (${current.display(current.files[0]!)}) has no column "${name}"`);
    }
    return names;
  }
  const onlyReference = referenceColumns.filter((c) => !currentColumns.includes(c) && !ignored.has(c));
  const onlyCurrent = currentColumns.filter((c) => !referenceColumns.includes(c) && !ignored.has(c));
  if (onlyReference.length > 0 || onlyCurrent.length > 0) {
    const parts = [
      ...(onlyReference.length > 0 ? [`${quoteList(onlyReference)} only in the reference (${reference.display(reference.files[0]!)})`] : []),
      ...(onlyCurrent.length > 0 ? [`${quoteList(onlyCurrent)} only in the current data (${current.display(current.files[0]!)})`] : []),
    ];
    throw new ConfigurationError(`columns missing on one side: ${parts.join('; ')}. List them in drift.ignore, or name the features to check in drift.features`);
  }
  const features = referenceColumns.filter((c) => !ignored.has(c));
  if (features.length === 0) throw new ConfigurationError(`no features to compare: every column of ${reference.display(reference.files[0]!)} is in drift.ignore`);
  return features;
}

function quoteList(names: readonly string[]): string {
  return names.map((n) => `"${n}"`).join(', ');
}

async function readSide(
  side: 'reference' | 'current',
  source: Source,
  columns: readonly string[],
  types: ReadonlyMap<string, { type: ColumnType; source: 'declared' | 'reference' }>,
  reporter: Reporter,
): Promise<Table> {
  const bytes = source.files.reduce((n, f) => n + statSync(f).size, 0);
  const progress = reporter.progress(`reading the ${side} data`, bytes, 'bytes');
  try {
    const table = await readTable(source.files, { columns, types, display: source.display, onBytes: (n) => progress.advance(n) });
    reporter.info(`${side}: ${source.label}: ${table.rows.toLocaleString('en-US')} rows, ${columns.length} features, ${formatBytes(bytes)}`);
    return table;
  } finally {
    progress.done();
  }
}

function scores(results: readonly FeatureResult[]): Record<string, unknown> {
  return Object.fromEntries(
    results.map((r) => [
      r.feature,
      {
        type: r.type,
        method: r.method,
        score: r.score ?? null,
        threshold: r.threshold,
        verdict: r.verdict,
        critical: r.critical,
        reference_rows: r.referenceSize,
        current_rows: r.currentSize,
        missing_rate_change: r.missingRateChange,
        statistics: r.statistics,
      },
    ]),
  );
}

function fileName(feature: string): string {
  return feature.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_') || 'feature';
}
