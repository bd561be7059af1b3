import { describe, expect, it } from 'vitest';
import { renderMarkdown, rocMermaid, rocSvg, tprOnGrid, type ReportInput } from '../../src/domain/report/evaluation-report.js';
import type { GateResult } from '../../src/domain/gate/gates.js';

const gates: GateResult[] = [
  { gate: { metric: 'auc', min: 0.8 }, metric: 'auc', rule: '≥ 0.8', candidate: 0.84, baseline: undefined, verdict: 'pass', reason: '0.84 is within ≥ 0.8' },
  { gate: { metric: 'auc', baseline: 'production', max_drop: 0.01 }, metric: 'auc', rule: 'no worse than production by more than 0.01', candidate: 0.84, baseline: 0.86, verdict: 'fail', reason: 'auc 0.84 vs 0.86 | worse' },
];

const input: ReportInput = {
  project: 'churn',
  passed: false,
  gates,
  metrics: [
    { metric: 'auc', candidate: 0.84, baseline: 0.86, interval: { low: 0.8, high: 0.88, confidence: 0.95 } },
    { metric: 'log_loss', candidate: 0.36, baseline: undefined },
  ],
  baselineLabel: 'production (sha256:abc)',
  lineage: { runId: '20261123T101500Z-abcdef', modelVersion: `sha256:${'a'.repeat(64)}`, dataVersion: `sha256:${'d'.repeat(64)}`, gitSha: 'f'.repeat(40), gitRef: 'feature', cacheHit: true, predictions: 'predictions.csv' },
  confusion: { tp: 10, fp: 2, tn: 80, fn: 8, threshold: 0.5 },
  slices: [
    { group: 'monthly', count: 50, positives: 10, metrics: { auc: 0.7 } },
    { group: 'yearly', count: 50, positives: 5, metrics: { auc: 0.9 } },
  ],
  roc: {
    candidate: { fpr: [0, 0.1, 0.5, 1], tpr: [0, 0.6, 0.9, 1] },
    baseline: { fpr: [0, 1], tpr: [0, 1] },
    labels: { candidate: 'candidate (AUC 0.84)', baseline: 'production (abc) (AUC 0.5)' },
  },
};

describe('the evaluation report', () => {
  it('leads with the verdict and a Metric | Baseline | Candidate | Change | Gate table', () => {
    const text = renderMarkdown(input);
    expect(text.startsWith('### ❌ mlship evaluate: churn\n\n1 of 2 gates fails: **auc** no worse than production by more than 0.01.')).toBe(true);
    expect(text).toContain('| Metric | Baseline (production (sha256:abc)) | Candidate | Change | Gate |');
    expect(text).toContain('| auc | 0.86 | 0.84 (95% CI 0.8–0.88) | −0.02 | ✅ ≥ 0.8<br>❌ no worse than production by more than 0.01 |');
    expect(text).toContain('| log_loss | — | 0.36 | — | — |');
    // A reason with a pipe does not break its table row.
    expect(text).toContain('auc 0.84 vs 0.86 \\| worse');
  });

  it('shows lineage, the confusion matrix, slices worst first, and a ROC chart GitHub renders', () => {
    const text = renderMarkdown(input);
    expect(text).toContain('| Model version | `aaaaaaaaaaaa` |');
    expect(text).toContain('| Cache hit | yes |');
    expect(text).toContain('| **Actual 1** | 10 (TP) | 8 (FN) |');
    expect(text.indexOf('| monthly |')).toBeLessThan(text.indexOf('| yearly |'));
    expect(text).toMatch(/```mermaid\n%%\{init: .*\}%%\nxychart-beta\n/);
  });

  it.each([
    [['pass'], '1 gate passes.'],
    [['pass', 'pass'], 'All 2 gates pass.'],
    [['fail'], '1 gate fails: **auc** ≥ 0.8.'],
    [['fail', 'fail'], '2 gates fail: **auc** ≥ 0.8; **auc** ≥ 0.8.'],
    [['fail', 'pass', 'pass'], '1 of 3 gates fails: **auc** ≥ 0.8.'],
    [['fail', 'fail', 'pass'], '2 of 3 gates fail: **auc** ≥ 0.8; **auc** ≥ 0.8.'],
  ] as [('pass' | 'fail')[], string][])('counts gates in words that agree: %j', (verdicts, headline) => {
    const results = verdicts.map((verdict) => ({ ...gates[0]!, verdict }));
    const text = renderMarkdown({ ...input, gates: results, passed: !verdicts.includes('fail') });
    expect(text.split('\n')[2]).toBe(headline);
  });

  it('gives the Mermaid chart colours in the order of its lines, and a legend line in the same colours, with the AUCs', () => {
    const chart = rocMermaid(input.roc!);
    const init = /^%%\{init: (.*)\}%%$/m.exec(chart)!;
    const palette = (JSON.parse(init[1]!) as { themeVariables: { xyChart: { plotColorPalette: string } } }).themeVariables.xyChart.plotColorPalette.split(', ');
    expect(chart.split('\n').filter((l) => l.trim().startsWith('line'))).toHaveLength(3); // candidate, baseline, chance
    expect(palette).toHaveLength(3);
    expect(new Set(palette).size).toBe(3);
    const legend = chart.slice(chart.lastIndexOf('```') + 3).trim();
    expect(legend).toBe('🟦 candidate (AUC 0.84) · 🟧 production (abc) (AUC 0.5) · ⬜ chance');
    // Without a baseline, chance takes the second line and so the second colour: the palette follows.
    const alone = rocMermaid({ candidate: input.roc!.candidate });
    expect(alone).toContain(`"plotColorPalette":"${palette[0]}, ${palette[2]}"`);
    expect(alone.trim().endsWith('🟦 candidate · ⬜ chance')).toBe(true);
  });

  it('says plainly when no gates are configured', () => {
    expect(renderMarkdown({ ...input, gates: [], passed: true })).toContain('No gates are configured');
  });

  it('samples the ROC curve on an even FPR grid as the best TPR reached', () => {
    expect(tprOnGrid({ fpr: [0, 0.1, 0.5, 1], tpr: [0, 0.6, 0.9, 1] }, 5)).toEqual([0, 0.6, 0.9, 0.9, 1]);
    const chart = rocMermaid({ candidate: { fpr: [0, 1], tpr: [0, 1] } });
    expect(chart.split('\n').filter((l) => l.trim().startsWith('line'))).toHaveLength(2);
  });

  it('draws an SVG with both curves, axis ticks, and a legend with the AUCs clear of the curves', () => {
    const svg = rocSvg(input.roc!);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    // The plot is 320 px square from (50, 20): FPR 0.1 at x 82, TPR 0.6 at y 340 − 192.
    expect(svg).toContain('points="50.0,340.0 82.0,148.0 210.0,52.0 370.0,20.0"');
    for (const tick of ['0', '0.2', '0.4', '0.6', '0.8', '1']) expect(svg.match(new RegExp(`>${tick.replace('.', '\\.')}</text>`, 'g')), tick).toHaveLength(2);
    const plotBottom = 340;
    const texts = [...svg.matchAll(/<text x="[\d.]+" y="([\d.]+)"[^>]*>([^<]*)<\/text>/g)].map((m) => ({ y: Number(m[1]), text: m[2]! }));
    for (const label of ['candidate (AUC 0.84)', 'production (abc) (AUC 0.5)', 'chance']) {
      const legend = texts.find((t) => t.text === label);
      expect(legend, label).toBeDefined();
      expect(legend!.y, label).toBeGreaterThan(plotBottom + 40); // below the axis and its title: no curve runs there
    }
  });
});
