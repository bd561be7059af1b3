/**
 * Sorted numeric columns, and the radix sorts that make them.
 *
 * Most data columns hold decimals with a few digits after the point ("3.25", "-0.00127", "42"):
 * each such value is an integer count of 10^-d. Integers that span less than 2^32 sort in two or
 * three passes of 11 bits over four-byte keys, where doubles need four passes of 16 bits over
 * eight, and held as integers a column takes half the memory (on a machine where every fresh page
 * costs a fault, half the time to fill).
 */

/** Decimal numbers held as integers, sorted: value i is units[i] / 10^decimals. */
export interface SortedDecimals {
  readonly units: Int32Array;
  /** 0 to 9 (see decimalPlaces). */
  readonly decimals: number;
  /** How many of the zeros are −0 (written "-0…"): they come first among the zeros, as Float64Array#sort puts them. */
  readonly negativeZeros: number;
}

/** A numeric column's values without the missing ones, sorted ascending: as doubles, or as decimals. */
export type SortedNumbers = Float64Array | SortedDecimals;

/**
 * The fewest decimal places, `from` or more, in which a value is a whole number of units of
 * 10^-places that fits in 31 bits (|units| < 2^31), at most 9 places; -1 when there are none.
 * Checked by division, so the units give back this very double: units / 10^places is correctly
 * rounded, as reading the value's text was. It uses nothing from outside its body: the CSV
 * reading worker runs it from its source text.
 */
export function decimalPlaces(value: number, from: number): number {
  const POWERS_OF_TEN = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
  for (let places = from; places < POWERS_OF_TEN.length; places++) {
    const units = Math.round(value * POWERS_OF_TEN[places]!);
    if (units / POWERS_OF_TEN[places]! === value && Math.abs(units) < 2 ** 31) return places;
  }
  return -1;
}

export function sortedCount(values: SortedNumbers): number {
  return values instanceof Float64Array ? values.length : values.units.length;
}

/**
 * Value i of sorted numbers: for decimals units[i] / 10^decimals, exactly the double the text read
 * as (the division is correctly rounded, as reading the text was), except that a -0 reads as 0;
 * the statistics that read values one by one (sums, quantiles, counts below a value, histograms)
 * give the same either way.
 */
export function sortedValueAt(values: SortedNumbers, i: number): number {
  return values instanceof Float64Array ? values[i]! : values.units[i]! / POWERS_OF_TEN[values.decimals]!;
}

/** 10^decimals, every one exact. */
const POWERS_OF_TEN = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/**
 * The doubles of sorted numbers: doubles as they are; decimals written out (units[i] /
 * 10^decimals, the -0s among the zeros) into the start of `into`, by default a new array.
 */
export function sortedDoubles(values: SortedNumbers, into: Float64Array = new Float64Array(sortedCount(values))): Float64Array {
  if (values instanceof Float64Array) return values;
  if (into.length < values.units.length) throw new Error('the buffer is shorter than the values');
  const out = into.subarray(0, values.units.length);
  writeDecimals(values.units, values.decimals, values.negativeZeros, out);
  return out;
}

/**
 * Writes units[i] / 10^decimals into out[i], the first `negativeZeros` zeros as -0. It uses
 * nothing from outside its body: the CSV reading worker runs it from its source text.
 */
export function writeDecimals(units: Int32Array, decimals: number, negativeZeros: number, out: Float64Array): void {
  const power = 10 ** decimals;
  let zerosLeft = negativeZeros;
  for (let i = 0; i < units.length; i++) {
    const k = units[i]!;
    if (k === 0 && zerosLeft > 0) {
      out[i] = -0;
      zerosLeft--;
    } else out[i] = k / power;
  }
}

/**
 * Sorts integers ascending, in place: an LSD radix sort of their offsets from the smallest, in as
 * few passes of at most 11 bits (2,048 buckets, which stay in cache) as their range needs. The
 * scratch array must be at least as long. It uses nothing from outside its body: the CSV reading
 * worker runs it from its source text.
 */
export function sortUnits(units: Int32Array, scratch: Int32Array): void {
  const n = units.length;
  if (n < 2) return;
  if (scratch.length < n) throw new Error('the scratch array is shorter than the values');
  const min = smallest(units);
  const bits = 32 - Math.clz32((largest(units) - min) >>> 0);
  const passes = Math.ceil(bits / 11);
  if (passes === 0) return;
  const digitBits = Math.ceil(bits / passes);
  const buckets = 1 << digitBits;
  const counts = new Uint32Array(3 * buckets);
  countDigits(units, min, digitBits, counts);
  let source = units;
  let target = scratch.subarray(0, n);
  for (let pass = 0; pass < passes; pass++) {
    startsOfBuckets(counts, pass * buckets, buckets);
    scatter(source, target, min, pass * digitBits, digitBits, counts, pass * buckets);
    [source, target] = [target, source];
  }
  if (source !== units) units.set(source);

  // Each long loop is a function of its own with nothing after it: V8 compiles a long loop while
  // it runs, before the lines after it have ever run, and code so compiled falls back to the
  // interpreter at those lines in every later call too.

  function smallest(values: Int32Array): number {
    let min = values[0]!;
    for (let i = 1; i < values.length; i++) if (values[i]! < min) min = values[i]!;
    return min;
  }

  function largest(values: Int32Array): number {
    let max = values[0]!;
    for (let i = 1; i < values.length; i++) if (values[i]! > max) max = values[i]!;
    return max;
  }

  /** Every pass's digit counts in one read: three counted always (a pass not needed counts zeros, unused). */
  function countDigits(values: Int32Array, min: number, digitBits: number, counts: Uint32Array): void {
    const mask = (1 << digitBits) - 1;
    const buckets = mask + 1;
    const third = Math.min(2 * digitBits, 31);
    for (let i = 0; i < values.length; i++) {
      const u = (values[i]! - min) >>> 0;
      counts[u & mask]!++;
      counts[buckets + ((u >>> digitBits) & mask)]!++;
      counts[2 * buckets + ((u >>> third) & mask)]!++;
    }
  }

  /** A pass's counts become where each bucket starts. */
  function startsOfBuckets(counts: Uint32Array, offset: number, buckets: number): void {
    let sum = 0;
    for (let d = offset; d < offset + buckets; d++) {
      const c = counts[d]!;
      counts[d] = sum;
      sum += c;
    }
  }

  function scatter(from: Int32Array, to: Int32Array, min: number, shift: number, digitBits: number, starts: Uint32Array, offset: number): void {
    const mask = (1 << digitBits) - 1;
    for (let i = 0; i < from.length; i++) {
      const k = from[i]!;
      to[starts[offset + (((k - min) >>> shift) & mask)]!++] = k;
    }
  }
}

/**
 * Sorts finite doubles ascending, in place, as Float64Array#sort does (−0 before 0). It needs one
 * scratch array of the same length, which callers may share between columns: fresh memory costs
 * a page fault per 4 KiB on first touch, and a million-row column sorted with new buffers each
 * time pays that again and again.
 *
 * A column whose every value is a few decimal places (decimalPlaces, checked value by value) is
 * sorted as integers (sortUnits) and written back, the same doubles; any other as doubles, by an
 * LSD radix sort over the IEEE-754 bit pattern in four passes of 16 bits. It uses nothing from
 * outside its body but decimalPlaces, sortUnits and writeDecimals, which the CSV reading worker
 * declares beside it when it runs them from their source text.
 */
export function sortAscending(values: Float64Array, scratch: Float64Array): void {
  const n = values.length;
  if (n < 2) return;
  if (scratch.length < n) throw new Error('the scratch array is shorter than the values');
  if (!sortAsDecimals()) sortAsDoubles();

  /** The decimal way; false (values untouched) when the column is not such decimals. */
  function sortAsDecimals(): boolean {
    const LIMIT = 0x7fffffff;
    const POWERS_OF_TEN = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
    let decimals = 0;
    for (let i = 0; i < Math.min(n, 64); i++) {
      decimals = decimalPlaces(values[i]!, decimals);
      if (decimals < 0) return false;
    }
    // The integers in the first half of the scratch array; the second half is sortUnits' scratch.
    const units = new Int32Array(scratch.buffer, scratch.byteOffset, n);
    let power = POWERS_OF_TEN[decimals]!;
    let largest = 0;
    let negativeZeros = 0;
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      let k = Math.round(v * power);
      if (k / power !== v || k > LIMIT || k < -LIMIT) {
        // A value with more decimals than those before it: every integer so far times a power of ten.
        const more = decimalPlaces(v, decimals + 1);
        if (more < 0) return false;
        const factor = POWERS_OF_TEN[more - decimals]!;
        if (largest * factor > LIMIT) return false;
        for (let j = 0; j < i; j++) units[j] = units[j]! * factor;
        largest *= factor;
        decimals = more;
        power = POWERS_OF_TEN[decimals]!;
        k = Math.round(v * power);
      }
      units[i] = k;
      if (k > largest) largest = k;
      else if (-k > largest) largest = -k;
      if (k === 0 && 1 / v < 0) negativeZeros++;
    }
    sortUnits(units, new Int32Array(scratch.buffer, scratch.byteOffset + 4 * n, n));
    writeDecimals(units, decimals, negativeZeros, values);
    return true;
  }

  function sortAsDoubles(): void {
    const RADIX = 1 << 16;
    const words = new Uint32Array(values.buffer, values.byteOffset, 2 * n);
    // Map the bits so that unsigned order is numeric order: negative numbers flip every bit, others the sign bit.
    for (let i = 0; i < n; i++) {
      const hi = words[2 * i + 1]!;
      if (hi & 0x80000000) {
        words[2 * i] = ~words[2 * i]! >>> 0;
        words[2 * i + 1] = ~hi >>> 0;
      } else {
        words[2 * i + 1] = (hi | 0x80000000) >>> 0;
      }
    }
    let source = values;
    let target = scratch.subarray(0, n);
    const counts = new Uint32Array(RADIX);
    for (let pass = 0; pass < 4; pass++) {
      const word = pass >> 1;
      const shift = (pass & 1) * 16;
      const from = new Uint32Array(source.buffer, source.byteOffset, 2 * n);
      counts.fill(0);
      for (let i = 0; i < n; i++) counts[(from[2 * i + word]! >>> shift) & 0xffff]!++;
      if (counts[(from[word]! >>> shift) & 0xffff] === n) continue; // one digit for all: nothing moves
      let sum = 0;
      for (let d = 0; d < RADIX; d++) {
        const c = counts[d]!;
        counts[d] = sum;
        sum += c;
      }
      for (let i = 0; i < n; i++) target[counts[(from[2 * i + word]! >>> shift) & 0xffff]!++] = source[i]!;
      [source, target] = [target, source];
    }
    if (source !== values) values.set(source);
    for (let i = 0; i < n; i++) {
      const hi = words[2 * i + 1]!;
      if (hi & 0x80000000) {
        words[2 * i + 1] = (hi & 0x7fffffff) >>> 0;
      } else {
        words[2 * i] = ~words[2 * i]! >>> 0;
        words[2 * i + 1] = ~hi >>> 0;
      }
    }
  }
}
