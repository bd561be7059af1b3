/**
 * A seeded PRNG for bootstraps: xoshiro128** (Blackman & Vigna) on 32-bit integer arithmetic, so a
 * seed gives the same stream on every platform and Node version (Math.random cannot be seeded).
 * The 128-bit state is filled from the seed by splitmix32; the one invalid state, all zero (it
 * would only ever return 0), is nudged to a valid one.
 */
export class Xoshiro128 {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** Any safe integer seed: its low and high 32-bit halves both feed the state. */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`the seed must be a safe integer, got ${seed}`);
    const low = seed >>> 0;
    const high = Math.floor(seed / 2 ** 32) >>> 0;
    let x = splitmix32(low ^ splitmix32(high));
    this.s0 = x;
    x = splitmix32(x);
    this.s1 = x;
    x = splitmix32(x);
    this.s2 = x;
    x = splitmix32(x);
    this.s3 = x;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Builds a generator on an exact state, for reference-vector tests. */
  static fromState(s0: number, s1: number, s2: number, s3: number): Xoshiro128 {
    const rng = new Xoshiro128(0);
    rng.s0 = s0 >>> 0;
    rng.s1 = s1 >>> 0;
    rng.s2 = s2 >>> 0;
    rng.s3 = s3 >>> 0;
    return rng;
  }

  /** The four state words, for code that steps the generator inline (the bootstrap kernel). */
  state(): Int32Array {
    return Int32Array.of(this.s0, this.s1, this.s2, this.s3);
  }

  /** The next 32 random bits, as an unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /**
   * A uniform integer in [0, bound), 1 ≤ bound ≤ 2^32, without modulo bias: Lemire's
   * multiply-and-shift (the high word of x · bound), rejecting the few x that would favour the
   * low results. The 64-bit product is formed from 16-bit halves, each exact in a double.
   */
  nextBelow(bound: number): number {
    for (;;) {
      const x = this.nextUint32();
      const low = Math.imul(x, bound) >>> 0;
      if (low < bound && low < (2 ** 32 - bound) % bound) continue; // rare: probability < bound / 2^32
      const fromLowHalf = (x & 0xffff) * bound;
      const fromHighHalf = (x >>> 16) * bound;
      return Math.floor((fromHighHalf + Math.floor(fromLowHalf / 0x10000)) / 0x10000);
    }
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** splitmix32's finaliser over a Weyl step: spreads any seed over all 32 bits. */
export function splitmix32(seed: number): number {
  let z = (seed + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}
