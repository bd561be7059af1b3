import { format, type GateResult } from '../gate/gates.js';
import type { CalibrationBin as CalibrationRow } from '../metrics/probability.js';

/** Everything the evaluation report shows; the command assembles it, this renders it. */
export interface ReportInput {
  readonly project: string;
  readonly passed: boolean;
  readonly gates: readonly GateResult[];
  /** One row per metric worth showing: gated metrics first, then the usual ones. */
  readonly metrics: readonly MetricRow[];
  readonly baselineLabel?: string | undefined;
  readonly lineage?: Lineage | undefined;
  readonly confusion?: { readonly tp: number; readonly fp: number; readonly tn: number; readonly fn: number; readonly threshold: number } | undefined;
  readonly slices?: readonly SliceRow[] | undefined;
  readonly roc?: Roc | undefined;
  readonly calibration?: readonly CalibrationRow[] | undefined;
  readonly notes?: readonly string[] | undefined;
}

export interface MetricRow {
  readonly metric: string;
  readonly candidate: number | undefined;
  readonly baseline: number | undefined;
  readonly interval?: { readonly low: number; readonly high: number; readonly confidence: number } | undefined;
}

export interface Lineage {
  readonly runId?: string | undefined;
  readonly modelVersion?: string | undefined;
  readonly dataVersion?: string | undefined;
  readonly gitSha?: string | undefined;
  readonly gitRef?: string | undefined;
  readonly cacheHit?: boolean | undefined;
  readonly predictions: string;
}

export interface SliceRow {
  readonly group: string;
  readonly count: number;
  readonly positives: number;
  readonly metrics: Readonly<Record<string, number | undefined>>;
}

export interface Curve {
  readonly fpr: ArrayLike<number>;
  readonly tpr: ArrayLike<number>;
}

export interface Roc {
  readonly candidate: Curve;
  readonly baseline?: Curve | undefined;
  /** How the legend names each curve, e.g. `candidate (AUC 0.912)`; default candidate, baseline. */
  readonly labels?: { readonly candidate: string; readonly baseline?: string | undefined } | undefined;
}

/** "1 gate", "2 gates": a count with its noun in the right number. */
export function plural(count: number, noun: string, nouns = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : nouns}`;
}

export type { CalibrationBin as CalibrationRow } from '../metrics/probability.js';

const MARK = { pass: '✅', fail: '❌', 'no-baseline': '⚪' } as const;

export function renderMarkdown(input: ReportInput): string {
  const out: string[] = [];
  const failing = input.gates.filter((g) => g.verdict === 'fail');
  out.push(`### ${input.passed ? '✅' : '❌'} mlship evaluate: ${input.project}`);
  out.push('');
  out.push(
    input.gates.length === 0
      ? 'No gates are configured (`evaluate.gates` in mlship.yml): nothing was checked.'
      : input.passed
        ? input.gates.length === 1
          ? '1 gate passes.'
          : `All ${plural(input.gates.length, 'gate')} pass.`
        : `${failing.length === input.gates.length ? plural(failing.length, 'gate') : `${failing.length} of ${plural(input.gates.length, 'gate')}`} ` +
          `${failing.length === 1 ? 'fails' : 'fail'}: ${failing.map((g) => `**${g.metric}** ${g.rule}`).join('; ')}.`,
  );
  out.push('');
  out.push(metricTable(input));
  if (input.gates.length > 0) {
    out.push('');
    out.push('<details><summary>Gates</summary>\n');
    out.push('| Gate | Verdict | Why |\n| --- | --- | --- |');
    for (const g of input.gates) out.push(`| ${escape(g.metric)} ${escape(g.rule)} | ${MARK[g.verdict]} | ${escape(g.reason)} |`);
    out.push('\n</details>');
  }
  if (input.lineage) out.push('', lineageTable(input.lineage));
  if (input.roc) out.push('', '<details open><summary>ROC curve</summary>\n', rocMermaid(input.roc), '\n</details>');
  if (input.confusion) out.push('', confusionTable(input.confusion));
  if (input.slices && input.slices.length > 0) out.push('', sliceTable(input.slices));
  if (input.calibration && input.calibration.length > 0) out.push('', calibrationTable(input.calibration));
  if (input.notes && input.notes.length > 0) out.push('', ...input.notes.map((n) => `> ${n}`));
  out.push('');
  return out.join('\n');
}

function metricTable(input: ReportInput): string {
  const baselineHeader = input.baselineLabel ? `Baseline (${escape(input.baselineLabel)})` : 'Baseline';
  const rows = input.metrics.map((row) => {
    const gates = input.gates.filter((g) => g.metric === row.metric);
    const gateCell = gates.length === 0 ? '—' : gates.map((g) => `${MARK[g.verdict]} ${escape(g.rule)}`).join('<br>');
    const candidate = row.candidate === undefined ? 'n/a' : format(row.candidate) + (row.interval ? ` (${Math.round(row.interval.confidence * 100)}% CI ${format(row.interval.low)}–${format(row.interval.high)})` : '');
    const baseline = row.baseline === undefined ? '—' : format(row.baseline);
    const change = row.candidate !== undefined && row.baseline !== undefined ? signed(row.candidate - row.baseline) : '—';
    return `| ${escape(row.metric)} | ${baseline} | ${candidate} | ${change} | ${gateCell} |`;
  });
  return ['| Metric | ' + baselineHeader + ' | Candidate | Change | Gate |', '| --- | ---: | ---: | ---: | --- |', ...rows].join('\n');
}

function lineageTable(lineage: Lineage): string {
  const rows: [string, string | undefined][] = [
    ['Predictions', lineage.predictions],
    ['Run', lineage.runId && `\`${lineage.runId}\``],
    ['Model version', lineage.modelVersion && `\`${short(lineage.modelVersion)}\``],
    ['Data version', lineage.dataVersion && `\`${short(lineage.dataVersion)}\``],
    ['Code', lineage.gitSha && `\`${lineage.gitSha.slice(0, 12)}\`${lineage.gitRef ? ` on ${escape(lineage.gitRef)}` : ''}`],
    ['Cache hit', lineage.cacheHit === undefined ? undefined : lineage.cacheHit ? 'yes' : 'no'],
  ];
  return ['<details><summary>Lineage</summary>\n', '| | |', '| --- | --- |', ...rows.filter(([, v]) => v).map(([k, v]) => `| ${k} | ${v} |`), '\n</details>'].join('\n');
}

function confusionTable(c: NonNullable<ReportInput['confusion']>): string {
  return [
    `<details><summary>Confusion matrix at threshold ${c.threshold}</summary>\n`,
    '| | Predicted 1 | Predicted 0 |',
    '| --- | ---: | ---: |',
    `| **Actual 1** | ${c.tp} (TP) | ${c.fn} (FN) |`,
    `| **Actual 0** | ${c.fp} (FP) | ${c.tn} (TN) |`,
    '\n</details>',
  ].join('\n');
}

function sliceTable(slices: readonly SliceRow[]): string {
  const names = [...new Set(slices.flatMap((s) => Object.keys(s.metrics)))];
  const header = `| Slice | Rows | Positives | ${names.join(' | ')} |`;
  const rule = `| --- | ---: | ---: | ${names.map(() => '---:').join(' | ')} |`;
  const rows = [...slices]
    .sort((a, b) => (a.metrics.auc ?? Infinity) - (b.metrics.auc ?? Infinity))
    .map((s) => `| ${escape(s.group)} | ${s.count} | ${s.positives} | ${names.map((n) => (s.metrics[n] === undefined ? 'n/a' : format(s.metrics[n]!))).join(' | ')} |`);
  return ['<details><summary>Slices (worst first): where the model fails</summary>\n', header, rule, ...rows, '\n</details>'].join('\n');
}

function calibrationTable(bins: readonly CalibrationRow[]): string {
  return [
    '<details><summary>Calibration</summary>\n',
    '| Score bin | Rows | Mean score | Fraction positive |',
    '| --- | ---: | ---: | ---: |',
    ...bins.map((b) => `| ${format(b.low)}–${format(b.high)} | ${b.count} | ${format(b.meanScore)} | ${format(b.fractionPositive)} |`),
    '\n</details>',
  ].join('\n');
}

/** TPR at evenly spaced FPRs (the best TPR reached at or below each), for charts that need a grid. */
export function tprOnGrid(curve: Curve, points = 21): number[] {
  const grid: number[] = [];
  for (let i = 0; i < points; i += 1) {
    const x = i / (points - 1);
    let best = 0;
    for (let k = 0; k < curve.fpr.length; k += 1) if (curve.fpr[k]! <= x + 1e-12) best = Math.max(best, curve.tpr[k]!);
    grid.push(Number(best.toFixed(4)));
  }
  return grid;
}

/** The curves' colours, shared by the Mermaid chart, its legend line and the SVG. */
const ROC_COLOURS = {
  candidate: { hex: '#1f6feb', swatch: '🟦' },
  baseline: { hex: '#f0883e', swatch: '🟧' },
  chance: { hex: '#afb8c1', swatch: '⬜' },
} as const;

function rocSeries(roc: Roc): { key: keyof typeof ROC_COLOURS; label: string; curve?: Curve }[] {
  return [
    { key: 'candidate', label: roc.labels?.candidate ?? 'candidate', curve: roc.candidate },
    ...(roc.baseline ? [{ key: 'baseline' as const, label: roc.labels?.baseline ?? 'baseline', curve: roc.baseline }] : []),
    { key: 'chance', label: 'chance' },
  ];
}

/**
 * A ROC chart GitHub renders in comments and summaries (Mermaid), with no image hosted anywhere.
 * xychart-beta draws no legend: the init directive fixes the lines' colours, in the order the
 * lines come, and a legend line under the chart names them with squares of the same colours.
 */
export function rocMermaid(roc: Roc): string {
  const points = 21;
  const xs = Array.from({ length: points }, (_, i) => (i / (points - 1)).toFixed(2));
  const series = rocSeries(roc);
  const palette = series.map((s) => ROC_COLOURS[s.key].hex).join(', ');
  const init = { theme: 'base', themeVariables: { xyChart: { plotColorPalette: palette } } };
  const legend = series.map((s) => `${ROC_COLOURS[s.key].swatch} ${escape(s.label)}`).join(' · ');
  return [
    '```mermaid',
    `%%{init: ${JSON.stringify(init)}}%%`,
    'xychart-beta',
    '    title "ROC curve"',
    `    x-axis "False positive rate" [${xs.join(', ')}]`,
    '    y-axis "True positive rate" 0 --> 1',
    ...series.map((s) => `    line [${(s.curve ? tprOnGrid(s.curve, points) : xs).join(', ')}]`),
    '```',
    '',
    legend,
  ].join('\n');
}

/**
 * The same curves as a standalone SVG, for the report directory: ticks on both axes, the chance
 * diagonal dashed, and the legend (with each curve's AUC when given) below the plot, where no
 * curve can run through it.
 */
export function rocSvg(roc: Roc): string {
  const left = 50;
  const top = 20;
  const plot = 320;
  const bottom = top + plot;
  const series = rocSeries(roc);
  const legendTop = bottom + 56;
  const height = legendTop + 18 * series.length + 4;
  const width = left + plot + 30;
  const x = (fpr: number): string => (left + fpr * plot).toFixed(1);
  const y = (tpr: number): string => (bottom - tpr * plot).toFixed(1);
  const toPath = (curve: Curve): string => {
    const parts: string[] = [];
    // Keep the drawing small: at most ~2,000 points, always including the ends.
    const step = Math.max(1, Math.floor(curve.fpr.length / 2000));
    for (let i = 0; i < curve.fpr.length; i += step) parts.push(`${x(curve.fpr[i]!)},${y(curve.tpr[i]!)}`);
    const last = curve.fpr.length - 1;
    if (last >= 0 && last % step !== 0) parts.push(`${x(curve.fpr[last]!)},${y(curve.tpr[last]!)}`);
    return parts.join(' ');
  };
  const ticks = [0, 0.2, 0.4, 0.6, 0.8, 1];
  const tickMarks = ticks.flatMap((t) => [
    `<line x1="${x(t)}" y1="${bottom}" x2="${x(t)}" y2="${bottom + 5}" stroke="#888"/>`,
    `<text x="${x(t)}" y="${bottom + 18}" text-anchor="middle">${t}</text>`,
    `<line x1="${left - 5}" y1="${y(t)}" x2="${left}" y2="${y(t)}" stroke="#888"/>`,
    `<text x="${left - 8}" y="${y(t)}" text-anchor="end" dominant-baseline="middle">${t}</text>`,
  ]);
  const curves = series
    .filter((s) => s.curve)
    .reverse() // the candidate last, so it is drawn on top
    .map((s) => `<polyline fill="none" stroke="${ROC_COLOURS[s.key].hex}" stroke-width="2" points="${toPath(s.curve!)}"><title>${xml(s.label)}</title></polyline>`);
  const legend = series.flatMap((s, i) => {
    const at = legendTop + 18 * i;
    const dash = s.key === 'chance' ? ' stroke-dasharray="4 4"' : '';
    return [
      `<line x1="${left}" y1="${at}" x2="${left + 24}" y2="${at}" stroke="${ROC_COLOURS[s.key].hex}" stroke-width="2"${dash}/>`,
      `<text x="${left + 32}" y="${at}" dominant-baseline="middle">${xml(s.label)}</text>`,
    ];
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect x="${left}" y="${top}" width="${plot}" height="${plot}" fill="none" stroke="#888"/>`,
    ...tickMarks,
    `<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="${ROC_COLOURS.chance.hex}" stroke-dasharray="4 4"/>`,
    ...curves,
    `<text x="${left + plot / 2}" y="${bottom + 36}" text-anchor="middle">False positive rate</text>`,
    `<text x="14" y="${top + plot / 2}" text-anchor="middle" transform="rotate(-90 14 ${top + plot / 2})">True positive rate</text>`,
    ...legend,
    '</svg>',
    '',
  ].join('\n');
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function signed(x: number): string {
  return `${x > 0 ? '+' : x < 0 ? '−' : '±'}${format(Math.abs(x))}`;
}

function short(version: string): string {
  return version.replace(/^sha256:/, '').slice(0, 12);
}

/** Table cells must not break the table: escape pipes and newlines. */
function escape(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}
