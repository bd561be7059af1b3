import path from 'node:path';
import { statSync } from 'node:fs';
import { writeFileAtomic } from '../../adapters/fs/atomic.js';
import { formatBytes } from '../../adapters/runtime/reporter.js';
import { readColumnNames, readTable, readTableOnWorker, tableFiles, type ReadOptions, type Table } from '../../adapters/tabular/read-table.js';
import type { ColumnType } from '../../adapters/tabular/columns.js';
import { loadConfig, type LoadedConfig } from '../../config/load.js';
import type { DriftConfig } from '../../config/schema.js';
import { DEFAULT_BINS, DEFAULT_SHARE, bySeverity, judgeDataSet, judgeFeature, type FeatureResult } from '../../domain/drift/decide.js';
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

    const { referenceTable, currentTable } = await readBothSides(reference, current, columns, declared, context);
    if (currentTable.rows === 0) throw new ConfigurationError(`${current.label}: no data rows; the current data is empty`);
    if (referenceTable.rows === 0) throw new ConfigurationError(`${reference.label}: no data rows; the reference data is empty`);

    const samples = columns.map((name) => ({ name, reference: referenceTable.columns.get(name)!, current: currentTable.columns.get(name)! }));
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
    // A feature's name is data, and data may hold a secret: the chart's file name is masked too.
    for (const h of histograms) writeFileAtomic(path.join(reportDir, `${fileName(context.secrets.mask(h.feature))}.svg`), context.secrets.mask(histogramSvg(h)));

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

/**
 * Both sides' tables. Each side whose files are plain numeric CSV is read on its own worker
 * thread, both at once; a side that is not is read here, the reference first (its types decide
 * how the current data is read), exactly as one thread would read them.
 */
async function readBothSides(
  reference: Source,
  current: Source,
  columns: readonly string[],
  declared: ReadonlyMap<string, { type: ColumnType; source: 'declared' }>,
  context: CommandContext,
): Promise<{ referenceTable: Table; currentTable: Table }> {
  const { reporter } = context;
  const referenceBytes = bytesOf(reference);
  const currentBytes = bytesOf(current);
  const progress = reporter.progress('reading the reference and current data', referenceBytes + currentBytes, 'bytes');
  const onBytes = (n: number): void => progress.advance(n);
  const stop = new AbortController();
  const signal = AbortSignal.any([context.signal, stop.signal]);
  const onWorker = (side: Source): Promise<{ table: Table } | { unusual: string }> => {
    const reading = readTableOnWorker(side.files, { columns, types: declared, display: side.display, onBytes, signal });
    reading.catch(() => {}); // awaited below unless an error ends the command first
    return reading;
  };
  const read = async (name: 'reference' | 'current', side: Source, onWorkerRead: { table: Table } | { unusual: string }, types: ReadOptions['types']): Promise<Table> => {
    if ('table' in onWorkerRead) return onWorkerRead.table;
    reporter.debug(`${name} data read on the main thread: ${onWorkerRead.unusual}`);
    return readTable(side.files, { columns, types, display: side.display, onBytes });
  };
  try {
    const referenceOnWorker = onWorker(reference);
    const currentOnWorker = onWorker(current);
    const referenceTable = await read('reference', reference, await referenceOnWorker, declared);
    const found = new Map<string, { type: ColumnType; source: 'declared' | 'reference' }>(
      [...referenceTable.columns].map(([name, values]) => [name, declared.get(name) ?? { type: values.type, source: 'reference' as const }]),
    );
    // The worker read the current data as numbers: right only when the reference says every column is numeric.
    const allNumeric = [...found.values()].every((t) => t.type === 'numeric');
    if (!allNumeric) stop.abort();
    const currentTable = await read('current', current, allNumeric ? await currentOnWorker : { unusual: 'the reference has categorical columns' }, found);
    reporter.info(`reference: ${reference.label}: ${referenceTable.rows.toLocaleString('en-US')} rows, ${columns.length} features, ${formatBytes(referenceBytes)}`);
    reporter.info(`current: ${current.label}: ${currentTable.rows.toLocaleString('en-US')} rows, ${columns.length} features, ${formatBytes(currentBytes)}`);
    return { referenceTable, currentTable };
  } finally {
    stop.abort();
    progress.done();
  }
}

function bytesOf(source: Source): number {
  return source.files.reduce((n, f) => n + statSync(f).size, 0);
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
