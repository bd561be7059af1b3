/**
 * The inner loop of every bootstrap: draw a resample's rows, then read each standard metric of
 * each model off the drawn counts, in one pass per model over its rows sorted once by score.
 *
 * It is self-contained on purpose: worker threads build it from the source text of
 * createResampleKernel (Function.prototype.toString, see adapters/threads/resample-pool.ts), so
 * that function refers to nothing outside its own body but JavaScript's globals — no imports, no
 * module-level helpers. Its inner functions are made once per kernel, not once per chunk: V8's
 * optimised code calls them directly, and a new closure every chunk would throw that code away.
 *
 * Bit for bit, a value here is the value the metric function has on the resampled rows written
 * out in full (test/metrics/resample-kernel.test.ts compares them):
 * - the draws are Xoshiro128.nextBelow(rows), inlined;
 * - ROC AUC sums the same whole numbers (exact below 2^53) before its one division;
 * - average precision, log loss and the Brier score add the same terms, in the same order, to the
 *   same compensated sum (a row drawn c times adds its term c times, as the written-out rows do);
 * - the threshold metrics divide the same whole-number counts.
 */

/** The metrics a resample yields, in the order of each view's block of values. */
export const RESAMPLE_METRICS = ['auc', 'average_precision', 'log_loss', 'brier', 'accuracy', 'precision', 'recall', 'f1'] as const;
export type ResampleMetric = (typeof RESAMPLE_METRICS)[number];

/** One model's rows as the kernel reads them: by descending score, ties in row order. */
export interface ResampleView {
  /** The draw that stands for each position (a row number, or the position itself). */
  readonly order: Uint32Array;
  readonly labels: Uint8Array;
  /** 1 where the next position has another score, and at the last position. */
  readonly groupEnds: Uint8Array;
  /** Positions [0, this) are predicted positive; -1 when the threshold metrics are undefined. */
  readonly predictedPositive: number;
  /** Each position's log-loss term, when the scores are probabilities. */
  readonly logLossTerms?: Float64Array | undefined;
  /** Each position's squared error, when the scores are probabilities. */
  readonly brierTerms?: Float64Array | undefined;
  /** The largest log-loss term and the largest squared error, with those terms (all of them are 0 or more). */
  readonly largestTerms?: readonly [number, number] | undefined;
  /** Whether anybody asks this view's average precision (it costs the most; NaN when not). */
  readonly averagePrecision: boolean;
}

export interface ResamplePlan {
  /** Rows in the data, and draws in each resample. */
  readonly rows: number;
  readonly views: readonly ResampleView[];
  /** Whether any view computes average precision (derived from the views: it keeps a table per resample). */
  readonly averagePrecision: boolean;
}

export type ResampleKernel = ReturnType<typeof createResampleKernel>;

/** Per resample, the cumulative positives and negatives at each score group with positives drawn (for average precision). */
interface AveragePrecisionTable {
  readonly tps: Float64Array;
  readonly fps: Float64Array;
}

let shared: ResampleKernel | undefined;

/** resampleChunk of one kernel made on first use (see createResampleKernel). */
export function resampleChunk(plan: ResamplePlan, state: Int32Array, resamples: number, out: Float64Array, counter: 'byte' | 'word' = 'byte'): void {
  shared ??= createResampleKernel();
  shared.resampleChunk(plan, state, resamples, out, counter);
}

/** skipResamples of one kernel made on first use (see createResampleKernel). */
export function skipResamples(state: Int32Array, resamples: number, rows: number): void {
  shared ??= createResampleKernel();
  shared.skipResamples(state, resamples, rows);
}

/** The kernel's functions, self-contained (see the top of this file). */
export function createResampleKernel() {
  const DRAW_BLOCK = 4096;
  warmUp();
  return { resampleChunk, skipResamples };

  /**
   * A few hundred resamples of a small made-up plan, of the shape resampleView builds, before any
   * real one. A first real call spends seconds in each long loop before V8 compiles it, and code
   * compiled inside a loop's first run knows nothing of what follows the loop, so V8 throws it
   * away again at each return. After this, the functions are compiled once, from calls that went
   * through every path, before the real work starts.
   */
  function warmUp(): void {
    const rows = 512;
    const view = (draws: 'positions' | 'rows', averagePrecision: boolean): ResampleView => {
      const order = new Uint32Array(rows);
      const labels = new Uint8Array(rows);
      const groupEnds = new Uint8Array(rows);
      const logLossTerms = new Float64Array(rows);
      const brierTerms = new Float64Array(rows);
      for (let i = 0; i < rows; i += 1) {
        order[i] = draws === 'rows' ? rows - 1 - i : i;
        labels[i] = i % 3 === 0 ? 1 : 0;
        groupEnds[i] = i % 4 === 0 || i === rows - 1 ? 1 : 0;
        logLossTerms[i] = (i % 7) / 2;
        brierTerms[i] = (i % 5) / 5;
      }
      return { order, labels, groupEnds, predictedPositive: rows / 4, logLossTerms, brierTerms, largestTerms: [3, 0.8], averagePrecision };
    };
    const plan: ResamplePlan = { rows, views: [view('positions', true), view('rows', false)], averagePrecision: true };
    resampleChunk(plan, Int32Array.of(1, 2, 3, 4), 300, new Float64Array(300 * 2 * 8));
  }

  /**
   * Runs `resamples` resamples from the generator state `state` (xoshiro128**'s four words, advanced
   * in place) and writes each view's RESAMPLE_METRICS into `out`, resample by resample:
   * out[(r · views + v) · 8 + m], NaN where a metric is undefined on that resample. `counter`
   * 'word' counts in 32 bits from the start (the tests compare both ways).
   */
  function resampleChunk(plan: ResamplePlan, state: Int32Array, resamples: number, out: Float64Array, counter: 'byte' | 'word' = 'byte'): void {
    const rows = plan.rows;
    const views = plan.views;
    const width = 8;
    // Counts of each row in a resample. A byte holds them unless one row is drawn 256 times, which
    // the sum check below notices; the resample is then counted again in 32 bits.
    const narrow = counter === 'byte' ? new Uint8Array(rows) : new Uint32Array(rows);
    let wide: Uint32Array | undefined;
    const table = plan.averagePrecision ? { tps: new Float64Array(rows), fps: new Float64Array(rows) } : undefined;
    const saved = new Int32Array(4);
    for (let r = 0; r < resamples; r += 1) {
      saved.set(state);
      let counts: Uint8Array | Uint32Array = narrow;
      for (let attempt = 0; attempt < 2; attempt += 1) {
        state.set(saved);
        counts.fill(0);
        draw(state, counts, rows);
        let complete = true;
        for (let v = 0; v < views.length; v += 1) {
          if (!measureView(views[v]!, counts, out, (r * views.length + v) * width, rows, table)) complete = false;
        }
        if (complete) break;
        wide ??= new Uint32Array(rows);
        counts = wide;
      }
    }
  }

  /**
   * One resample's draws, in blocks. A block is a call of its own: V8 optimises a function that is
   * called many times before it runs, whereas a single call of a long loop is compiled while inside
   * the loop, before the lines after it have ever run, and that code is thrown away (deoptimised)
   * at every return.
   */
  function draw(state: Int32Array, counts: Uint8Array | Uint32Array, rows: number): void {
    for (let done = 0; done < rows; done += DRAW_BLOCK) drawBlock(state, counts, rows, Math.min(DRAW_BLOCK, rows - done));
  }

  /**
   * `draws` draws of Xoshiro128.nextBelow(rows), inlined, each counted against its row. Its own
   * function with the state in locals: V8 keeps them in registers, and nothing else in the loop.
   */
  function drawBlock(state: Int32Array, counts: Uint8Array | Uint32Array, rows: number, draws: number): void {
    // nextBelow(rows) rejects the few outputs whose low product word is below this.
    const rejectBelow = (4294967296 - rows) % rows;
    let s0 = state[0]! | 0;
    let s1 = state[1]! | 0;
    let s2 = state[2]! | 0;
    let s3 = state[3]! | 0;
    for (let j = 0; j < draws; ) {
      const scrambled = Math.imul(s1, 5);
      const x = Math.imul((scrambled << 7) | (scrambled >>> 25), 9) >>> 0;
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      if (Math.imul(x, rows) >>> 0 < rejectBelow) continue;
      // The high word of x · rows from 16-bit halves, each product exact in a double.
      const drawn = Math.floor(((x >>> 16) * rows + Math.floor(((x & 0xffff) * rows) / 0x10000)) / 0x10000);
      counts[drawn] = counts[drawn]! + 1;
      j += 1;
    }
    state[0] = s0;
    state[1] = s1;
    state[2] = s2;
    state[3] = s3;
  }

  /** Writes one view's metrics at `at`; false when the counts wrapped (they do not sum to rows). */
  function measureView(view: ResampleView, counts: Uint8Array | Uint32Array, into: Float64Array, at: number, rows: number, tables: AveragePrecisionTable | undefined): boolean {
    const { order, labels, groupEnds } = view;
    const table = view.averagePrecision ? tables : undefined;
    const cut = view.predictedPositive;
    // Every accumulator starts as -0, a double: V8 then keeps them unboxed doubles throughout
    // instead of small integers it would have to check for overflow. The counts they hold are
    // whole numbers far below 2^53, so every sum is exact.
    let positives = -0;
    let negatives = -0;
    let groupPositives = -0;
    let groupNegatives = -0;
    let twiceU = -0;
    let tpAtCut = -0;
    let fpAtCut = -0;
    let groups = 0;
    let i = 0;
    for (let segment = 0; segment < 2; segment += 1) {
      const end = segment === 0 ? Math.max(0, cut) : rows;
      for (; i < end; i += 1) {
        const count = counts[order[i]!]!;
        const positive = labels[i]! * count;
        positives += positive;
        negatives += count - positive;
        if (groupEnds[i] === 1) {
          // Mann–Whitney: each negative drawn in this group ranks below every positive drawn
          // before it and ties with this group's positives: dn · (2 · before + dp) = dn · (before + after).
          twiceU += (negatives - groupNegatives) * (groupPositives + positives);
          if (table) {
            // Only a group with positives drawn moves recall: any other adds 0 · precision = +0 to
            // the sum, which leaves it exactly as it was. The entry is written every time and
            // kept when it counts, so no branch has to guess which groups those are.
            table.tps[groups] = positives;
            table.fps[groups] = negatives;
            groups += (groupPositives - positives) >>> 31; // 1 when positives grew, without a branch
          }
          groupPositives = positives;
          groupNegatives = negatives;
        }
      }
      if (segment === 0) {
        tpAtCut = positives;
        fpAtCut = negatives;
      }
    }
    if (positives + negatives !== rows) return false;
    const P = positives + 0;
    const N = negatives + 0;
    into[at] = P > 0 && N > 0 ? twiceU / (2 * P * N) : NaN;
    into[at + 1] = table && P > 0 ? averagePrecisionOfTable(table, groups, P) : NaN;
    if (view.logLossTerms && view.brierTerms && view.largestTerms) {
      repeatedMeans(view.logLossTerms, view.brierTerms, view.largestTerms, order, counts, rows, into, at + 2);
    } else {
      into[at + 2] = NaN;
      into[at + 3] = NaN;
    }
    if (cut < 0) {
      into[at + 4] = NaN;
      into[at + 5] = NaN;
      into[at + 6] = NaN;
      into[at + 7] = NaN;
    } else {
      const tp = tpAtCut + 0;
      const fp = fpAtCut + 0;
      const fn = P - tp;
      const tn = rows - tp - fp - fn;
      into[at + 4] = (tp + tn) / (tp + fp + tn + fn);
      into[at + 5] = tp + fp > 0 ? tp / (tp + fp) : 0;
      into[at + 6] = tp + fn > 0 ? tp / (tp + fn) : 0;
      into[at + 7] = 2 * tp + fp + fn > 0 ? (2 * tp) / (2 * tp + fp + fn) : 0;
    }
    return true;
  }

  /** Step-wise average precision over the groups with positives drawn, summed as CompensatedSum does. */
  function averagePrecisionOfTable(table: AveragePrecisionTable, groups: number, positives: number): number {
    const { tps, fps } = table;
    let sum = 0;
    let compensation = 0;
    let recallBefore = 0;
    for (let k = 0; k < groups; k += 1) {
      const tp = tps[k]!;
      const recall = tp / positives;
      const term = (recall - recallBefore) * (tp / (tp + fps[k]!));
      const total = sum + term;
      if (Math.abs(sum) >= Math.abs(term)) compensation += sum - total + term;
      else compensation += term - total + sum;
      sum = total;
      recallBefore = recall;
    }
    return sum + compensation;
  }

  /**
   * The means of two terms per position, each taken as often as its row was drawn, summed in
   * position order as CompensatedSum does (into[at], into[at + 1]): the same additions, in the
   * same order, as the resampled rows written out. The two sums interleave, so each one's chain
   * of dependent additions hides the other's latency. The terms are 0 or more, so a sum only
   * grows: once each sum has reached its largest term, CompensatedSum's test |sum| >= |term|
   * holds for every term after, and the second loop adds without it.
   */
  function repeatedMeans(
    first: Float64Array,
    second: Float64Array,
    largest: readonly [number, number],
    order: Uint32Array,
    counts: Uint8Array | Uint32Array,
    rows: number,
    into: Float64Array,
    at: number,
  ): void {
    const [largestA, largestB] = largest;
    let sumA = 0;
    let compensationA = 0;
    let sumB = 0;
    let compensationB = 0;
    let i = 0;
    for (; i < rows && (sumA < largestA || sumB < largestB); i += 1) {
      const count = counts[order[i]!]!;
      const a = first[i]!;
      const b = second[i]!;
      for (let k = 0; k < count; k += 1) {
        const totalA = sumA + a;
        if (Math.abs(sumA) >= Math.abs(a)) compensationA += sumA - totalA + a;
        else compensationA += a - totalA + sumA;
        sumA = totalA;
        const totalB = sumB + b;
        if (Math.abs(sumB) >= Math.abs(b)) compensationB += sumB - totalB + b;
        else compensationB += b - totalB + sumB;
        sumB = totalB;
      }
    }
    // How often a row is drawn is a coin toss a branch predictor cannot learn (0, 1, 2 or more
    // times: 37%, 37%, 26%), and a loop over the count mispredicts on most rows. So every row adds
    // its term twice, masked by arithmetic (no branch) to 0 unless drawn at least once, and at
    // least twice: adding 0 leaves a sum of terms that are 0 or more exactly as it was. Only rows
    // drawn three times or more (8%) take the loop.
    for (; i < rows; i += 1) {
      const count = counts[order[i]!]!;
      const termA = first[i]!;
      const termB = second[i]!;
      const once = (0 - count) >>> 31;
      const twice = (1 - count) >>> 31;
      let a = termA * once;
      let b = termB * once;
      let totalA = sumA + a;
      compensationA += sumA - totalA + a;
      sumA = totalA;
      let totalB = sumB + b;
      compensationB += sumB - totalB + b;
      sumB = totalB;
      a = termA * twice;
      b = termB * twice;
      totalA = sumA + a;
      compensationA += sumA - totalA + a;
      sumA = totalA;
      totalB = sumB + b;
      compensationB += sumB - totalB + b;
      sumB = totalB;
      for (let k = 2; k < count; k += 1) {
        totalA = sumA + termA;
        compensationA += sumA - totalA + termA;
        sumA = totalA;
        totalB = sumB + termB;
        compensationB += sumB - totalB + termB;
        sumB = totalB;
      }
    }
    into[at] = (sumA + compensationA) / rows;
    into[at + 1] = (sumB + compensationB) / rows;
  }

  /**
   * Advances the generator state past `resamples` resamples of `rows` draws without counting them:
   * where a thread starts a later chunk. It steps exactly as resampleChunk does, rejections included.
   */
  function skipResamples(state: Int32Array, resamples: number, rows: number): void {
    for (let r = 0; r < resamples; r += 1) {
      for (let done = 0; done < rows; done += DRAW_BLOCK) skipBlock(state, rows, Math.min(DRAW_BLOCK, rows - done));
    }
  }

  /** drawBlock's steps without the counting (blocks for the same reason as there). */
  function skipBlock(state: Int32Array, rows: number, draws: number): void {
    const rejectBelow = (4294967296 - rows) % rows;
    let s0 = state[0]! | 0;
    let s1 = state[1]! | 0;
    let s2 = state[2]! | 0;
    let s3 = state[3]! | 0;
    for (let j = 0; j < draws; ) {
      const scrambled = Math.imul(s1, 5);
      const x = Math.imul((scrambled << 7) | (scrambled >>> 25), 9) >>> 0;
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      if (Math.imul(x, rows) >>> 0 < rejectBelow) continue;
      j += 1;
    }
    state[0] = s0;
    state[1] = s1;
    state[2] = s2;
    state[3] = s3;
  }
}
