/**
 * Sorting float64 scores fast enough for ten million predictions. A comparator sort in JS takes
 * seconds at that size, and even the built-in Float64Array sort cannot carry the labels along.
 * This is an LSD radix sort on the IEEE-754 bit pattern, six stable passes of 11, 11 and 10 bits
 * over each 32-bit half, moving a payload (the labels, or row indices) with each score.
 *
 * The order is descending, the one every ranking metric walks. Callers pass finite scores only
 * (they are validated first): NaN has no place in a ranking. +0 sorts just before -0; no number
 * lies between them, so callers that compare with `!==` still see one run of zeros.
 */

export type Payload = Uint8Array | Uint32Array;

export interface SortedScores<P extends Payload> {
  /** Descending; a copy, the input is not modified. */
  readonly scores: Float64Array;
  /** payload[i] travelled with scores[i]. */
  readonly payload: P;
  /**
   * The sort's other key buffer, free once it returns (n doubles): callers that need a fresh array
   * of that size may take it. Fresh memory is not free: its first touch faults in every page.
   */
  readonly scratch: Float64Array;
}

interface Digit {
  /** 0 for the low 32-bit word, 1 for the high one (little-endian order in memory). */
  readonly word: 0 | 1;
  readonly shift: number;
  readonly mask: number;
}

const DIGITS: readonly Digit[] = [
  { word: 0, shift: 0, mask: 0x7ff },
  { word: 0, shift: 11, mask: 0x7ff },
  { word: 0, shift: 22, mask: 0x3ff },
  { word: 1, shift: 0, mask: 0x7ff },
  { word: 1, shift: 11, mask: 0x7ff },
  { word: 1, shift: 22, mask: 0x3ff },
];
const RADIX = 0x800;

/** The word views below read the low word first; every platform Node supports is little-endian. */
function assertLittleEndian(): void {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('mlship metrics need a little-endian platform');
}

/**
 * Key words of a double whose unsigned 64-bit order is the numbers' descending order: a positive
 * number keeps its sign bit (0) and has every other bit flipped, so larger means smaller key; a
 * negative number is left as it is, its sign bit (1) putting it after every positive one and a
 * larger magnitude giving a larger key.
 */
function keyWord(lo: number, hi: number, word: 0 | 1): number {
  const invert = ~(hi >> 31); // all ones for a positive number, zero for a negative one
  return word === 1 ? (hi ^ (invert & 0x7fffffff)) >>> 0 : (lo ^ invert) >>> 0;
}

/** Sorts scores descending, carrying the payload. Stable: ties keep their input order. */
export function radixSort<P extends Payload>(scores: Float64Array, payload: P): SortedScores<P> {
  assertLittleEndian();
  const n = scores.length;
  let keys = scores.slice();
  let moved = payload.slice() as P;
  let spareKeys = new Float64Array(n);
  let spareMoved = (payload instanceof Uint8Array ? new Uint8Array(n) : new Uint32Array(n)) as P;

  const counts = histograms(keys);
  for (let d = 0; d < DIGITS.length; d += 1) {
    const digit = DIGITS[d] as Digit;
    const offsets = counts.subarray(d * RADIX, (d + 1) * RADIX);
    // A digit every key shares (the sign and most exponent bits of probabilities) orders nothing.
    if (offsets.includes(n)) continue;
    exclusivePrefixSum(offsets);
    scatter(keys, moved, spareKeys, spareMoved, offsets, digit);
    [keys, spareKeys] = [spareKeys, keys];
    [moved, spareMoved] = [spareMoved, moved];
  }
  return { scores: keys, payload: moved, scratch: spareKeys };
}

/** All six digit histograms in one pass over the keys. */
function histograms(keys: Float64Array): Uint32Array {
  const words = new Uint32Array(keys.buffer, keys.byteOffset, keys.length * 2);
  const counts = new Uint32Array(DIGITS.length * RADIX);
  for (let i = 0; i < keys.length; i += 1) {
    const lo = keyWord(words[2 * i] as number, words[2 * i + 1] as number, 0);
    const hi = keyWord(words[2 * i] as number, words[2 * i + 1] as number, 1);
    (counts[lo & 0x7ff] as number) += 1;
    (counts[RADIX + ((lo >>> 11) & 0x7ff)] as number) += 1;
    (counts[2 * RADIX + (lo >>> 22)] as number) += 1;
    (counts[3 * RADIX + (hi & 0x7ff)] as number) += 1;
    (counts[4 * RADIX + ((hi >>> 11) & 0x7ff)] as number) += 1;
    (counts[5 * RADIX + (hi >>> 22)] as number) += 1;
  }
  return counts;
}

function exclusivePrefixSum(counts: Uint32Array): void {
  let total = 0;
  for (let b = 0; b < counts.length; b += 1) {
    const count = counts[b] as number;
    counts[b] = total;
    total += count;
  }
}

/** One stable counting pass: moves every key and its payload to the next free slot of its bucket. */
function scatter<P extends Payload>(keys: Float64Array, moved: P, toKeys: Float64Array, toMoved: P, offsets: Uint32Array, digit: Digit): void {
  const words = new Uint32Array(keys.buffer, keys.byteOffset, keys.length * 2);
  const { word, shift, mask } = digit;
  for (let i = 0; i < keys.length; i += 1) {
    const bucket = (keyWord(words[2 * i] as number, words[2 * i + 1] as number, word) >>> shift) & mask;
    const to = offsets[bucket] as number;
    offsets[bucket] = to + 1;
    toKeys[to] = keys[i] as number;
    toMoved[to] = moved[i] as number;
  }
}

/** Row indices ordered by descending score, for re-emitting rows sorted. */
export function descendingOrder(scores: Float64Array): Uint32Array {
  const rows = new Uint32Array(scores.length);
  for (let i = 0; i < rows.length; i += 1) rows[i] = i;
  return radixSort(scores, rows).payload;
}
