import { describe, expect, it } from 'vitest';
import {
  accuracy,
  averagePrecision,
  bootstrapInterval,
  brierScore,
  f1,
  logLoss,
  pairedBootstrapDifference,
  precision,
  recall,
  RESAMPLE_METRICS,
  resampleChunk,
  resamplePlan,
  resampleView,
  rocAuc,
  runResamples,
  ResampleValues,
  seedState,
  skipResamples,
  Xoshiro128,
  type BootstrapModel,
  type MetricFunction,
  type ResampleMetric,
} from '../../src/domain/metrics/index.js';
import { resampleOnThreads } from '../../src/adapters/threads/resample-pool.js';

/**
 * 3,000 rows with ties (scores on a 0.001 grid) and a noisier baseline on the same rows. The
 * intervals below were computed with the implementation before the resample kernel (commit
 * 7b930d0: bootstrapInterval and pairedBootstrapDifference, 300 resamples, seed 42, 90%), one
 * metric function at a time; every path here must give them to the last bit.
 */
function fixture(): { labels: Uint8Array; candidate: Float64Array; baseline: Float64Array } {
  const rng = new Xoshiro128(2024);
  const uniform = (): number => rng.nextUint32() / 2 ** 32;
  const n = 3000;
  const candidate = Float64Array.from({ length: n }, () => Math.round(uniform() * 1000) / 1000);
  const labels = Uint8Array.from(candidate, (s) => (uniform() < s ? 1 : 0));
  const baseline = Float64Array.from(candidate, (s) => Math.round(Math.min(1, Math.max(0, s + 0.6 * (uniform() - 0.5))) * 1000) / 1000);
  return { labels, candidate, baseline };
}

const BEFORE: Record<'single' | 'paired', Record<ResampleMetric, [number, number]>> = {
  single: {
    auc: [0.8271314387539203, 0.8501412841788787],
    average_precision: [0.8329024523825901, 0.8592033978855147],
    log_loss: [0.47947308377513725, 0.5091633552234119],
    brier: [0.15816173233333333, 0.16983178151666667],
    accuracy: [0.7499833333333333, 0.7743333333333333],
    precision: [0.7583557046979866, 0.7919503970076082],
    recall: [0.7405590211684121, 0.7744662877244088],
    f1: [0.7527920512692531, 0.7790158110151629],
  },
  paired: {
    auc: [0.03690191076473826, 0.0521780024000636],
    average_precision: [0.04355113911842852, 0.06333778812214039],
    log_loss: [-0.5847620157579714, -0.3520763899818639],
    brier: [-0.029005207483333337, -0.02077831928333333],
    accuracy: [0.02733333333333332, 0.04933333333333334],
    precision: [0.020611797029613126, 0.04705212985268334],
    recall: [0.029789752901801542, 0.060307586665454715],
    f1: [0.02845331046806835, 0.05102548703869496],
  },
};

const options = { resamples: 300, seed: 42, confidence: 0.9 };
const { labels, candidate, baseline } = fixture();
const model = (scores: Float64Array): BootstrapModel => ({ labels, scores, decisions: { scores, threshold: 0.5 }, probabilities: scores });
/** One model's own interval, then the candidate and the baseline drawn on the same rows. */
const plan = resamplePlan([resampleView(model(candidate), 'positions'), resampleView(model(candidate), 'rows'), resampleView(model(baseline), 'rows')]);

function intervalsOf(values: ReturnType<typeof runResamples>): typeof BEFORE {
  const single = Object.fromEntries(RESAMPLE_METRICS.map((m) => [m, pair(values.interval(0, m, options.confidence))]));
  const paired = Object.fromEntries(RESAMPLE_METRICS.map((m) => [m, pair(values.difference(1, 2, m, options.confidence))]));
  return { single, paired } as typeof BEFORE;
}

function pair(interval: { low: number; high: number }): [number, number] {
  return [interval.low, interval.high];
}

describe('the resample kernel', () => {
  it('gives, for every metric at once, the intervals the implementation before it gave one metric at a time', () => {
    expect(intervalsOf(runResamples(plan, options.seed, options.resamples))).toEqual(BEFORE);
  });

  it('gives them through bootstrapInterval and pairedBootstrapDifference too', () => {
    const functions: Record<ResampleMetric, MetricFunction> = {
      auc: rocAuc,
      average_precision: averagePrecision,
      log_loss: logLoss,
      brier: brierScore,
      accuracy: (l, s) => accuracy(l, s, 0.5),
      precision: (l, s) => precision(l, s, 0.5),
      recall: (l, s) => recall(l, s, 0.5),
      f1: (l, s) => f1(l, s, 0.5),
    };
    for (const metric of RESAMPLE_METRICS) {
      expect(pair(bootstrapInterval({ labels, scores: candidate }, functions[metric], options)), metric).toEqual(BEFORE.single[metric]);
      expect(pair(pairedBootstrapDifference(labels, candidate, baseline, functions[metric], options)), metric).toEqual(BEFORE.paired[metric]);
    }
  });

  it('counts in bytes, or in 32 bits, to the same values', () => {
    const bytes = new Float64Array(20 * 3 * 8);
    const words = new Float64Array(20 * 3 * 8);
    resampleChunk(plan, seedState(5), 20, bytes, 'byte');
    resampleChunk(plan, seedState(5), 20, words, 'word');
    expect(words).toEqual(bytes);
  });

  it('run in chunks from the states skipResamples finds, gives the values of one run', () => {
    const whole = runResamples(plan, 9, 40).values;
    const state = seedState(9);
    const chunks = new Float64Array(whole.length);
    resampleChunk(plan, state, 15, chunks.subarray(0, 15 * 24));
    const skipped = seedState(9);
    skipResamples(skipped, 15, plan.rows);
    expect(skipped).toEqual(state); // skipping steps the generator exactly as drawing does
    resampleChunk(plan, state, 25, chunks.subarray(15 * 24));
    expect(chunks).toEqual(whole);
  });

  it('draws as Xoshiro128.nextBelow does, rejections included, for any number of rows', () => {
    // 2^32 mod 3,000,001 is large: rejections are frequent enough to be seen in one resample.
    for (const rows of [1, 7, 3000, 3_000_001]) {
      const rng = new Xoshiro128(77);
      for (let j = 0; j < rows; j += 1) rng.nextBelow(rows);
      const state = seedState(77);
      skipResamples(state, 1, rows);
      expect(state, `${rows} rows`).toEqual(rng.state());
    }
  });
});

describe('resample values', () => {
  it('have no interval where every resample was undefined, and say how many there were in words that agree', () => {
    expect(() => new ResampleValues(new Float64Array(8).fill(NaN), 1, 1).interval(0, 'auc', 0.9)).toThrow('the metric was undefined in the one resample');
    expect(() => new ResampleValues(new Float64Array(16).fill(NaN), 2, 1).interval(0, 'auc', 0.9)).toThrow('the metric was undefined in all 2 resamples');
  });
});

describe('the resample kernel on worker threads', () => {
  it('gives the same values as one thread, in any number of chunks, and reports each chunk', async () => {
    let reported = 0;
    const values = await resampleOnThreads(plan, seedState(options.seed), options.resamples, { threads: 2, onResamples: (n) => (reported += n) });
    expect(values).toEqual(runResamples(plan, options.seed, options.resamples).values);
    expect(reported).toBe(options.resamples);
    const many = await resampleOnThreads(plan, seedState(3), 7, { threads: 3 });
    expect(many).toEqual(runResamples(plan, 3, 7).values);
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    const running = resampleOnThreads(plan, seedState(1), 5000, { threads: 2, signal: controller.signal });
    setTimeout(() => controller.abort(Object.assign(new Error('interrupted'), { name: 'AbortError' })), 50);
    await expect(running).rejects.toThrow('interrupted');
  });
});
