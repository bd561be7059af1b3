import { describe, expect, it } from 'vitest';
import { checkGates, evaluateGates, pairedIntervalMetrics, passed, type BaselineEvidence, type Direction, type GateEvidence, type GateSpec } from '../../src/domain/gate/gates.js';

const directions: Record<string, Direction> = { auc: 'higher', log_loss: 'lower' };
const direction = (metric: string): Direction | undefined => directions[metric];

function evidence(candidate: Record<string, number>, baseline?: Partial<BaselineEvidence> & { metrics: Record<string, number> }, extra: Partial<GateEvidence> = {}): GateEvidence {
  return {
    candidate,
    baselines: { production: baseline ? { label: 'production (sha256:abc)', ...baseline } : undefined },
    direction,
    ...extra,
  };
}

const verdict = (gate: GateSpec, ev: GateEvidence): string => evaluateGates([gate], ev)[0]!.verdict;

describe('absolute gates', () => {
  it.each([
    [{ metric: 'auc', min: 0.8 }, { auc: 0.8 }, 'pass'],
    [{ metric: 'auc', min: 0.8 }, { auc: 0.7999999 }, 'fail'],
    [{ metric: 'log_loss', max: 0.4 }, { log_loss: 0.41 }, 'fail'],
    [{ metric: 'log_loss', max: 0.4 }, { log_loss: 0.39 }, 'pass'],
    [{ metric: 'auc', min: 0.5, max: 0.9 }, { auc: 0.95 }, 'fail'],
    [{ metric: 'auc', min: 0.8 }, { accuracy: 0.99 }, 'fail'], // nobody produced auc: never a silent pass
  ])('%j on %j → %s', (gate, candidate, expected) => {
    expect(verdict(gate, evidence(candidate))).toBe(expected);
  });

  it('with confidence, judges the bound of the interval, not the estimate', () => {
    const ev = evidence({ auc: 0.85 }, undefined, { candidateInterval: () => ({ low: 0.78, high: 0.9 }) });
    const [result] = evaluateGates([{ metric: 'auc', min: 0.8, confidence: 0.95 }], ev);
    expect(result).toMatchObject({ verdict: 'fail', rule: '≥ 0.8 at 95% confidence' });
    expect(result!.reason).toBe('the 95% interval [0.78, 0.9] is below 0.8');
  });

  it('names why a metric is missing when it could not be computed', () => {
    const ev = evidence({ accuracy: 1 }, undefined, { undefinedMetrics: { auc: 'ROC AUC is undefined: the labels hold only one class (all 1)' } });
    const [result] = evaluateGates([{ metric: 'auc', min: 0.8 }], ev);
    expect(result).toMatchObject({ verdict: 'fail', reason: 'ROC AUC is undefined: the labels hold only one class (all 1)' });
  });
});

describe('baseline gates', () => {
  it.each([
    ['no worse, equal', { metric: 'auc', baseline: 'production' }, 0.85, 0.85, 'pass'],
    ['no worse, slightly worse', { metric: 'auc', baseline: 'production' }, 0.849, 0.85, 'fail'],
    ['max_drop absolute, within', { metric: 'auc', baseline: 'production', max_drop: 0.01 }, 0.841, 0.85, 'pass'],
    ['max_drop absolute, beyond', { metric: 'auc', baseline: 'production', max_drop: 0.01 }, 0.839, 0.85, 'fail'],
    ['max_drop relative, within', { metric: 'auc', baseline: 'production', max_drop: 0.01, relative: true }, 0.842, 0.85, 'pass'],
    ['max_drop relative, beyond', { metric: 'auc', baseline: 'production', max_drop: 0.01, relative: true }, 0.841, 0.85, 'fail'],
    ['lower is better: loss rose within the drop', { metric: 'log_loss', baseline: 'production', max_drop: 0.02 }, 0.41, 0.4, 'pass'],
    ['lower is better: loss rose beyond', { metric: 'log_loss', baseline: 'production', max_drop: 0.02 }, 0.43, 0.4, 'fail'],
    ['min_improvement met', { metric: 'auc', baseline: 'production', min_improvement: 0.01 }, 0.86, 0.85, 'pass'],
    ['min_improvement missed', { metric: 'auc', baseline: 'production', min_improvement: 0.01 }, 0.855, 0.85, 'fail'],
    ['min_improvement, lower is better', { metric: 'log_loss', baseline: 'production', min_improvement: 0.05 }, 0.34, 0.4, 'pass'],
    ['custom metric with a direction', { metric: 'latency', baseline: 'production', direction: 'lower' as const }, 10, 12, 'pass'],
  ])('%s', (_name, gate, candidate, baseline, expected) => {
    expect(verdict(gate, evidence({ [gate.metric]: candidate }, { metrics: { [gate.metric]: baseline } }))).toBe(expected);
  });

  it('passes visibly when there is no baseline yet', () => {
    const [result] = evaluateGates([{ metric: 'auc', baseline: 'production', max_drop: 0.01 }], evidence({ auc: 0.7 }));
    expect(result).toMatchObject({ verdict: 'no-baseline' });
    expect(result!.reason).toContain('no baseline yet');
    expect(passed([result!])).toBe(true);
  });

  it('fails, with the reason, when the baseline exists but cannot be read: never "no baseline yet"', () => {
    const ev: GateEvidence = { candidate: { auc: 0.9 }, baselines: { production: { label: 'production (abc)', unreadable: 'object sha256:12 is missing' } }, direction };
    const [result] = evaluateGates([{ metric: 'auc', baseline: 'production', max_drop: 0.01 }], ev);
    expect(result).toMatchObject({ verdict: 'fail', baseline: undefined });
    expect(result!.reason).toBe('the baseline production (abc) cannot be read, so nothing shows the candidate is no worse: object sha256:12 is missing');
    expect(passed([result!])).toBe(false);
  });

  it('with confidence, judges the worst end of the paired interval of the change', () => {
    const baseline = { metrics: { auc: 0.85 }, differenceInterval: () => ({ low: -0.02, high: 0.01 }) };
    expect(verdict({ metric: 'auc', baseline: 'production', max_drop: 0.01, confidence: 0.95 }, evidence({ auc: 0.855 }, baseline))).toBe('fail');
    expect(verdict({ metric: 'auc', baseline: 'production', max_drop: 0.03, confidence: 0.95 }, evidence({ auc: 0.855 }, baseline))).toBe('pass');
    // Without a paired interval (different rows), a confidence gate cannot pass.
    expect(verdict({ metric: 'auc', baseline: 'production', confidence: 0.95 }, evidence({ auc: 0.9 }, { metrics: { auc: 0.85 } }))).toBe('fail');
  });
});

describe('pairedIntervalMetrics', () => {
  it('names each metric a baseline gate judges at a confidence, once', () => {
    const gates: GateSpec[] = [
      { metric: 'auc', min: 0.8, confidence: 0.95 },
      { metric: 'auc', baseline: 'production', max_drop: 0.01, confidence: 0.95 },
      { metric: 'auc', max_drop: 0.02, confidence: 0.9 },
      { metric: 'f1', baseline: 'production', max_drop: 0.01 },
      { metric: 'log_loss', min_improvement: 0, confidence: 0.9 },
    ];
    expect(pairedIntervalMetrics(gates)).toEqual(['auc', 'log_loss']);
    expect(pairedIntervalMetrics([{ metric: 'auc', min: 0.8 }])).toEqual([]);
  });
});

describe('checkGates', () => {
  it.each([
    [{ metric: 'auc' }, 'a gate needs a rule'],
    [{ metric: 'auc', min: 0.8, baseline: 'production' }, 'either absolute (min, max) or against a baseline'],
    [{ metric: 'auc', min: 0.9, max: 0.8 }, 'min 0.9 is above max 0.8'],
    [{ metric: 'latency', baseline: 'production' }, 'is a higher or lower "latency" better? Set direction'],
    [{ metric: 'auc', min: 0.8, relative: true }, 'relative: applies only to max_drop and min_improvement'],
    [{ metric: 'auc', baseline: 'production', max_drop: -1 }, 'max_drop: expected 0 or more'],
  ])('refuses %j', (gate, message) => {
    expect(() => checkGates([gate], direction)).toThrow(message);
  });
});
