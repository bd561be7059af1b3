import { describe, expect, it } from 'vitest';
import {
  averagePrecision,
  bootstrapInterval,
  brierScore,
  MetricUndefinedError,
  pairedBootstrapDifference,
  percentile,
  rocAuc,
  Xoshiro128,
} from '../../src/domain/metrics/index.js';

/** A deterministic synthetic model: labels drawn from the scores, so AUC is well above 0.5. */
function synthetic(n: number, seed: number, noise = 0): { labels: Uint8Array; scores: Float64Array; noisy: Float64Array } {
  const rng = new Xoshiro128(seed);
  const uniform = (): number => rng.nextUint32() / 2 ** 32;
  const scores = Float64Array.from({ length: n }, uniform);
  const labels = Uint8Array.from(scores, (s) => (uniform() < s ? 1 : 0));
  const noisy = Float64Array.from(scores, (s) => Math.min(1, Math.max(0, s + noise * (uniform() - 0.5))));
  return { labels, scores, noisy };
}

const options = { resamples: 200, seed: 42, confidence: 0.95 };

describe('Xoshiro128', () => {
  it('matches the reference C implementation of xoshiro128** from a given state', () => {
    const rng = Xoshiro128.fromState(1, 2, 3, 4);
    expect(Array.from({ length: 6 }, () => rng.nextUint32())).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
    const other = Xoshiro128.fromState(0xdeadbeef, 0x01234567, 0x89abcdef, 0xfeedface);
    expect(Array.from({ length: 6 }, () => other.nextUint32())).toEqual([2576977298, 1162350735, 3441682048, 1347432117, 3370940770, 2425394401]);
  });

  it('is a pure function of the seed, including seeds above 2^32', () => {
    const draw = (seed: number): number[] => {
      const rng = new Xoshiro128(seed);
      return Array.from({ length: 4 }, () => rng.nextUint32());
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
    expect(draw(2 ** 40 + 7)).not.toEqual(draw(7));
    expect(() => new Xoshiro128(1.5)).toThrow(RangeError);
  });

  it('draws uniformly below a bound', () => {
    const rng = new Xoshiro128(3);
    const counts = [0, 0, 0];
    for (let i = 0; i < 30_000; i += 1) (counts[rng.nextBelow(3)] as number) += 1;
    for (const count of counts) expect(Math.abs(count - 10_000)).toBeLessThan(400);
  });
});

describe('bootstrapInterval', () => {
  const data = synthetic(2_000, 1);

  it('is deterministic for a seed and changes with the seed', () => {
    const a = bootstrapInterval(data, rocAuc, options);
    const b = bootstrapInterval(data, rocAuc, options);
    const c = bootstrapInterval(data, rocAuc, { ...options, seed: 43 });
    expect(b).toEqual(a);
    expect(c.low === a.low && c.high === a.high).toBe(false);
  });

  it('gives the same interval through its fast path for AUC and AP as through any metric function', () => {
    for (const metric of [rocAuc, averagePrecision]) {
      const wrapped = (labels: Uint8Array, scores: Float64Array): number => metric(labels, scores);
      expect(bootstrapInterval(data, metric, options)).toEqual(bootstrapInterval(data, wrapped, options));
      const paired = synthetic(1_000, 4, 0.5);
      expect(pairedBootstrapDifference(paired.labels, paired.scores, paired.noisy, metric, options)).toEqual(
        pairedBootstrapDifference(paired.labels, paired.scores, paired.noisy, wrapped, options),
      );
    }
  });

  it('contains the estimate, and narrows with lower confidence', () => {
    for (const metric of [rocAuc, averagePrecision, brierScore]) {
      const wide = bootstrapInterval(data, metric, options);
      expect(wide.estimate).toBe(metric(data.labels, data.scores));
      expect(wide.low).toBeLessThan(wide.estimate);
      expect(wide.high).toBeGreaterThan(wide.estimate);
      const narrow = bootstrapInterval(data, metric, { ...options, confidence: 0.5 });
      expect(narrow.high - narrow.low).toBeLessThan(wide.high - wide.low);
      expect(wide.used + wide.skipped).toBe(options.resamples);
    }
  });

  it('has about the stated coverage of the AUC standard error', () => {
    // For 2,000 rows the AUC's standard error is ~0.01: a 95% interval is about 4 of them wide.
    const interval = bootstrapInterval(data, rocAuc, { ...options, resamples: 500 });
    expect(interval.high - interval.low).toBeGreaterThan(0.02);
    expect(interval.high - interval.low).toBeLessThan(0.08);
  });

  it('does not depend on the order of the rows', () => {
    const reversed = { labels: data.labels.slice().reverse(), scores: data.scores.slice().reverse() };
    const unique = synthetic(500, 5); // distinct scores: no tie order to differ in
    const uniqueReversed = { labels: unique.labels.slice().reverse(), scores: unique.scores.slice().reverse() };
    expect(bootstrapInterval(uniqueReversed, rocAuc, options)).toEqual(bootstrapInterval(unique, rocAuc, options));
    expect(bootstrapInterval(reversed, rocAuc, options).estimate).toBe(bootstrapInterval(data, rocAuc, options).estimate);
  });

  it('skips and counts resamples in which the metric is undefined', () => {
    // One positive in 20 rows: about (19/20)^20 ≈ 36% of resamples miss it.
    const labels = Uint8Array.from({ length: 20 }, (_, i) => (i === 0 ? 1 : 0));
    const scores = Float64Array.from({ length: 20 }, (_, i) => 1 - i / 20);
    const interval = bootstrapInterval({ labels, scores }, rocAuc, options);
    expect(interval.skipped).toBeGreaterThan(40);
    expect(interval.skipped).toBeLessThan(110);
    expect(interval.used + interval.skipped).toBe(200);
    expect(interval).toMatchObject({ estimate: 1, low: 1, high: 1 });
  });

  it('throws when the metric is undefined on the data itself', () => {
    const set = { labels: new Uint8Array(5), scores: new Float64Array(5) };
    expect(() => bootstrapInterval(set, rocAuc, options)).toThrow(MetricUndefinedError);
  });

  it.each([
    [{ ...options, resamples: 0 }, /whole number of resamples/],
    [{ ...options, confidence: 1 }, /strictly between 0 and 1/],
    [{ ...options, seed: -0.5 }, /safe integer/],
  ])('refuses bad options %#', (bad, message) => {
    expect(() => bootstrapInterval(data, rocAuc, bad)).toThrow(message);
  });
});

describe('pairedBootstrapDifference', () => {
  const data = synthetic(2_000, 2, 0.8);

  it('is exactly [0, 0] for identical scores', () => {
    const interval = pairedBootstrapDifference(data.labels, data.scores, data.scores.slice(), rocAuc, options);
    expect(interval).toMatchObject({ estimate: 0, low: 0, high: 0, used: 200, skipped: 0 });
  });

  it('sees a real improvement, with an interval narrower than the metric interval itself', () => {
    const paired = pairedBootstrapDifference(data.labels, data.scores, data.noisy, rocAuc, options);
    expect(paired.estimate).toBe(rocAuc(data.labels, data.scores) - rocAuc(data.labels, data.noisy));
    expect(paired.estimate).toBeGreaterThan(0);
    expect(paired.low).toBeGreaterThan(0);
    expect(paired.high).toBeGreaterThan(paired.estimate);
    const single = bootstrapInterval({ labels: data.labels, scores: data.scores }, rocAuc, options);
    expect(paired.high - paired.low).toBeLessThan(single.high - single.low);
    const reverse = pairedBootstrapDifference(data.labels, data.noisy, data.scores, rocAuc, options);
    expect(reverse.estimate).toBe(-paired.estimate);
    expect(reverse.low).toBeCloseTo(-paired.high, 12);
  });

  it('is deterministic for a seed', () => {
    const a = pairedBootstrapDifference(data.labels, data.scores, data.noisy, averagePrecision, options);
    expect(pairedBootstrapDifference(data.labels, data.scores, data.noisy, averagePrecision, options)).toEqual(a);
  });
});

describe('percentile', () => {
  it('interpolates linearly, as numpy.percentile does by default', () => {
    const values = Float64Array.from([1, 2, 3, 4]);
    expect(percentile(values, 0)).toBe(1);
    expect(percentile(values, 0.5)).toBe(2.5);
    expect(percentile(values, 0.025)).toBeCloseTo(1.075, 12);
    expect(percentile(values, 1)).toBe(4);
  });
});
