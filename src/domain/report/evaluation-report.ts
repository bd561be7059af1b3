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
  readonly roc?: { readonly candidate: Curve; readonly baseline?: Curve | undefined } | undefined;
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
        ? `All ${input.gates.length} gates pass.`
        : `${failing.length} of ${input.gates.length} gates fail: ${failing.map((g) => `**${g.metric}** ${g.rule}`).join('; ')}.`,
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

/** A ROC chart GitHub renders in comments and summaries (Mermaid), with no image hosted anywhere. */
export function rocMermaid(roc: NonNullable<ReportInput['roc']>): string {
  const points = 21;
  const xs = Array.from({ length: points }, (_, i) => (i / (points - 1)).toFixed(2));
  const lines = [`    line [${tprOnGrid(roc.candidate, points).join(', ')}]`];
  if (roc.baseline) lines.push(`    line [${tprOnGrid(roc.baseline, points).join(', ')}]`);
  lines.push(`    line [${xs.join(', ')}]`);
  return [
    '```mermaid',
    'xychart-beta',
    `    title "ROC: candidate${roc.baseline ? ', baseline' : ''}, chance"`,
    `    x-axis "False positive rate" [${xs.join(', ')}]`,
    '    y-axis "True positive rate" 0 --> 1',
    ...lines,
    '```',
  ].join('\n');
}

/** The same curves as a standalone SVG, for the report directory. */
export function rocSvg(roc: NonNullable<ReportInput['roc']>): string {
  const size = 400;
  const pad = 40;
  const plot = size - 2 * pad;
  const toPath = (curve: Curve): string => {
    const parts: string[] = [];
    // Keep the drawing small: at most ~2,000 points, always including the ends.
    const step = Math.max(1, Math.floor(curve.fpr.length / 2000));
    for (let i = 0; i < curve.fpr.length; i += step) parts.push(`${(pad + curve.fpr[i]! * plot).toFixed(1)},${(size - pad - curve.tpr[i]! * plot).toFixed(1)}`);
    const last = curve.fpr.length - 1;
    if (last >= 0 && last % step !== 0) parts.push(`${(pad + curve.fpr[last]! * plot).toFixed(1)},${(size - pad - curve.tpr[last]! * plot).toFixed(1)}`);
    return parts.join(' ');
  };
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}" font-family="sans-serif" font-size="12">`,
    `<rect x="${pad}" y="${pad}" width="${plot}" height="${plot}" fill="none" stroke="#888"/>`,
    `<line x1="${pad}" y1="${size - pad}" x2="${size - pad}" y2="${pad}" stroke="#bbb" stroke-dasharray="4 4"/>`,
    roc.baseline ? `<polyline fill="none" stroke="#999" stroke-width="2" points="${toPath(roc.baseline)}"><title>baseline</title></polyline>` : '',
    `<polyline fill="none" stroke="#1f6feb" stroke-width="2" points="${toPath(roc.candidate)}"><title>candidate</title></polyline>`,
    `<text x="${size / 2}" y="${size - 8}" text-anchor="middle">False positive rate</text>`,
    `<text x="12" y="${size / 2}" text-anchor="middle" transform="rotate(-90 12 ${size / 2})">True positive rate</text>`,
    `<text x="${pad + 8}" y="${pad + 16}" fill="#1f6feb">candidate</text>`,
    roc.baseline ? `<text x="${pad + 8}" y="${pad + 32}" fill="#999">baseline</text>` : '',
    '</svg>',
    '',
  ]
    .filter(Boolean)
    .join('\n');
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
