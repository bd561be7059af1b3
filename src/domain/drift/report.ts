import { bySeverity, type DataSetResult, type FeatureResult, type FeatureSample } from './decide.js';
import { sortedCount, sortedValueAt, type SortedNumbers } from './sort.js';

/** Reference vs current shares over common bins, for the charts. */
export interface Histogram {
  readonly feature: string;
  readonly labels: readonly string[];
  readonly reference: readonly number[];
  readonly current: readonly number[];
}

const HISTOGRAM_BINS = 10;
const TOP_CATEGORIES = 10;

/** Numeric: equal-width bins over the range of both samples; categorical: the most common categories, the rest as "other". */
export function histogram(feature: string, reference: FeatureSample, current: FeatureSample): Histogram {
  if (reference.type === 'numeric' && current.type === 'numeric') {
    const first = (values: SortedNumbers): number => (sortedCount(values) === 0 ? 0 : sortedValueAt(values, 0));
    const last = (values: SortedNumbers): number => (sortedCount(values) === 0 ? 0 : sortedValueAt(values, sortedCount(values) - 1));
    const low = Math.min(first(reference.values), first(current.values));
    const high = Math.max(last(reference.values), last(current.values));
    const width = (high - low) / HISTOGRAM_BINS || 1;
    const binOf = (value: number): number => Math.min(HISTOGRAM_BINS - 1, Math.floor((value - low) / width));
    // The values are sorted, so each bin holds one run of them: where each run ends, by bisection.
    const shares = (values: SortedNumbers): number[] => {
      const n = sortedCount(values);
      const counts: number[] = [];
      let start = 0;
      for (let bin = 0; bin < HISTOGRAM_BINS; bin++) {
        let end = n;
        for (let from = start; from < end; ) {
          const mid = (from + end) >>> 1;
          if (binOf(sortedValueAt(values, mid)) <= bin) from = mid + 1;
          else end = mid;
        }
        counts.push(end - start);
        start = end;
      }
      return counts.map((c) => (n === 0 ? 0 : c / n));
    };
    const labels = Array.from({ length: HISTOGRAM_BINS }, (_, i) => formatNumber(low + (i + 0.5) * width));
    return { feature, labels, reference: shares(reference.values), current: shares(current.values) };
  }
  if (reference.type === 'categorical' && current.type === 'categorical') {
    const combined = new Map<string, number>();
    for (const counts of [reference.counts, current.counts]) for (const [k, v] of counts) combined.set(k, (combined.get(k) ?? 0) + v);
    const top = [...combined].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, TOP_CATEGORIES).map(([k]) => k);
    const shares = (counts: ReadonlyMap<string, number>): number[] => {
      let total = 0;
      for (const v of counts.values()) total += v;
      const named = top.map((k) => (total === 0 ? 0 : (counts.get(k) ?? 0) / total));
      return combined.size > top.length ? [...named, Math.max(0, 1 - named.reduce((a, b) => a + b, 0))] : named;
    };
    return { feature, labels: combined.size > top.length ? [...top, 'other'] : top, reference: shares(reference.counts), current: shares(current.counts) };
  }
  throw new Error('a feature must have the same type on both sides');
}

function formatNumber(value: number): string {
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  return magnitude >= 1e5 || magnitude < 1e-3 ? value.toExponential(2) : String(+value.toPrecision(3));
}

function formatScore(value: number | undefined): string {
  if (value === undefined) return '—';
  if (value !== 0 && Math.abs(value) < 1e-4) return value.toExponential(2);
  return value.toFixed(4);
}

const COLOURS = { reference: { hex: '#1f77b4', swatch: '🟦' }, current: { hex: '#ff7f0e', swatch: '🟧' } } as const;

function escape(text: string): string {
  return text.replace(/["\\[\]]/g, '_');
}

/** A Mermaid bar (reference) and line (current) chart of one histogram, which GitHub renders with nothing hosted. */
export function histogramMermaid(h: Histogram): string {
  const init = { theme: 'base', themeVariables: { xyChart: { plotColorPalette: `${COLOURS.reference.hex}, ${COLOURS.current.hex}` } } };
  const top = Math.max(...h.reference, ...h.current, 0.01);
  return [
    '```mermaid',
    `%%{init: ${JSON.stringify(init)}}%%`,
    'xychart-beta',
    `    title "${escape(h.feature)}"`,
    `    x-axis [${h.labels.map((l) => `"${escape(l)}"`).join(', ')}]`,
    `    y-axis "share of rows" 0 --> ${+top.toFixed(3)}`,
    `    bar [${h.reference.map((v) => +v.toFixed(4)).join(', ')}]`,
    `    line [${h.current.map((v) => +v.toFixed(4)).join(', ')}]`,
    '```',
    '',
    `${COLOURS.reference.swatch} reference · ${COLOURS.current.swatch} current`,
  ].join('\n');
}

function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The same chart as a standalone SVG: reference as bars, current as a line with points. */
export function histogramSvg(h: Histogram): string {
  const left = 50;
  const top = 30;
  const plotWidth = Math.max(320, 32 * h.labels.length);
  const plotHeight = 200;
  const bottom = top + plotHeight;
  const width = left + plotWidth + 20;
  const height = bottom + 70;
  const max = Math.max(...h.reference, ...h.current, 0.01);
  const slot = plotWidth / h.labels.length;
  const y = (share: number): number => bottom - (share / max) * plotHeight;
  const bars = h.reference.map(
    (share, i) =>
      `<rect x="${(left + i * slot + slot * 0.15).toFixed(1)}" y="${y(share).toFixed(1)}" width="${(slot * 0.7).toFixed(1)}" height="${(bottom - y(share)).toFixed(1)}" fill="${COLOURS.reference.hex}" fill-opacity="0.7"><title>${xml(h.labels[i]!)}: reference ${(share * 100).toFixed(1)}%</title></rect>`,
  );
  const points = h.current.map((share, i) => `${(left + (i + 0.5) * slot).toFixed(1)},${y(share).toFixed(1)}`);
  const dots = h.current.map(
    (share, i) => `<circle cx="${(left + (i + 0.5) * slot).toFixed(1)}" cy="${y(share).toFixed(1)}" r="3" fill="${COLOURS.current.hex}"><title>${xml(h.labels[i]!)}: current ${(share * 100).toFixed(1)}%</title></circle>`,
  );
  const labels = h.labels.map(
    (label, i) => `<text x="${(left + (i + 0.5) * slot).toFixed(1)}" y="${bottom + 14}" text-anchor="middle" font-size="10">${xml(label.length > 10 ? `${label.slice(0, 9)}…` : label)}</text>`,
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<text x="${left}" y="18">${xml(h.feature)}: share of rows</text>`,
    `<line x1="${left}" y1="${bottom}" x2="${left + plotWidth}" y2="${bottom}" stroke="#888"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#888"/>`,
    `<text x="${left - 6}" y="${top}" text-anchor="end" dominant-baseline="middle">${(max * 100).toFixed(0)}%</text>`,
    `<text x="${left - 6}" y="${bottom}" text-anchor="end" dominant-baseline="middle">0%</text>`,
    ...bars,
    `<polyline fill="none" stroke="${COLOURS.current.hex}" stroke-width="2" points="${points.join(' ')}"/>`,
    ...dots,
    ...labels,
    `<rect x="${left}" y="${bottom + 34}" width="14" height="10" fill="${COLOURS.reference.hex}" fill-opacity="0.7"/>`,
    `<text x="${left + 20}" y="${bottom + 43}">reference</text>`,
    `<line x1="${left + 100}" y1="${bottom + 39}" x2="${left + 124}" y2="${bottom + 39}" stroke="${COLOURS.current.hex}" stroke-width="2"/>`,
    `<text x="${left + 130}" y="${bottom + 43}">current</text>`,
    '</svg>',
    '',
  ].join('\n');
}

const VERDICT_MARK = { drift: '🔴 drift', 'no drift': '🟢 no drift', 'not enough data': '⚪ not enough data' } as const;

export interface DriftReportInput {
  readonly dataSet: DataSetResult;
  readonly features: readonly FeatureResult[];
  readonly reference: { readonly label: string; readonly rows: number };
  readonly current: { readonly label: string; readonly rows: number };
  readonly histograms: readonly Histogram[];
}

function percent(change: number): string {
  if (change === 0) return '0';
  return `${change > 0 ? '+' : ''}${(change * 100).toFixed(1)} pp`;
}

/** The drift report: verdict and why, sample sizes, the feature table by severity, charts of the top drifted features. */
export function driftMarkdown(input: DriftReportInput): string {
  const { dataSet } = input;
  const headline = { drift: '🔴 Data drift', 'no drift': '🟢 No data drift', 'not enough data': '⚪ Not enough data to judge drift' }[dataSet.verdict];
  const rows = bySeverity(input.features).map((f) => {
    const name = f.critical ? `${f.feature} (critical)` : f.feature;
    const comparison = f.method === 'ks' || f.method === 'chisquare' ? `p < ${f.threshold}` : `≥ ${f.threshold}`;
    return `| ${name} | ${f.type} | ${f.method} | ${formatScore(f.score)} | ${comparison} | ${VERDICT_MARK[f.verdict]} | ${percent(f.missingRateChange)} |`;
  });
  return [
    '### mlship drift',
    '',
    `**${headline}**: ${dataSet.why}.`,
    '',
    `Reference: ${input.reference.label}, ${input.reference.rows.toLocaleString('en-US')} rows. Current: ${input.current.label}, ${input.current.rows.toLocaleString('en-US')} rows.`,
    '',
    '| Feature | Type | Method | Score | Drift when | Verdict | Missing rate change |',
    '|---|---|---|---:|---|---|---:|',
    ...rows,
    '',
    ...input.histograms.flatMap((h) => [`#### ${h.feature}`, '', histogramMermaid(h), '']),
  ].join('\n');
}
