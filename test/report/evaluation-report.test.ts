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
  roc: { candidate: { fpr: [0, 0.1, 0.5, 1], tpr: [0, 0.6, 0.9, 1] }, baseline: { fpr: [0, 1], tpr: [0, 1] } },
};

describe('the evaluation report', () => {
  it('leads with the verdict and a Metric | Baseline | Candidate | Change | Gate table', () => {
    const text = renderMarkdown(input);
    expect(text.startsWith('### ❌ mlship evaluate: churn\n\n1 of 2 gates fail: **auc** no worse than production by more than 0.01.')).toBe(true);
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
    expect(text).toContain('```mermaid\nxychart-beta');
  });

  it('says plainly when no gates are configured', () => {
    expect(renderMarkdown({ ...input, gates: [], passed: true })).toContain('No gates are configured');
  });

  it('samples the ROC curve on an even FPR grid as the best TPR reached', () => {
    expect(tprOnGrid({ fpr: [0, 0.1, 0.5, 1], tpr: [0, 0.6, 0.9, 1] }, 5)).toEqual([0, 0.6, 0.9, 0.9, 1]);
    const chart = rocMermaid({ candidate: { fpr: [0, 1], tpr: [0, 1] } });
    expect(chart.split('\n').filter((l) => l.trim().startsWith('line'))).toHaveLength(2);
  });

  it('draws an SVG with both curves', () => {
    const svg = rocSvg(input.roc!);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain('points="40.0,360.0 72.0,168.0 200.0,72.0 360.0,40.0"');
  });
});
