import { ConfigurationError } from '../../errors.js';
import { sortAscending, type SortedNumbers } from '../../domain/drift/sort.js';

export type ColumnType = 'numeric' | 'categorical';

/**
 * One column as read: non-missing values (numeric, sorted ascending: as doubles, or as decimals
 * held as integers in half the memory, see SortedNumbers) or category counts, and how many rows
 * had none.
 */
export type ColumnValues =
  | { readonly type: 'numeric'; readonly values: SortedNumbers; readonly missing: number }
  | { readonly type: 'categorical'; readonly counts: ReadonlyMap<string, number>; readonly missing: number };

/**
 * What counts as a missing value, in every format (compared as written): the empty field and the
 * usual spellings of "no value" that pandas and R write.
 */
export const MISSING_TOKENS: ReadonlySet<string> = new Set(['', 'NA', 'N/A', 'NaN', 'nan', 'null', 'NULL', 'None', 'none']);

/** How many of a column's first non-missing reference values decide its type when the config does not. */
export const TYPE_SAMPLE = 1000;

/**
 * Where a value came from, built only when an error needs it (the per-row path builds nothing).
 */
export type Place = () => string;

/**
 * Collects one column across files. A column whose type the config does not give is numeric when
 * its first TYPE_SAMPLE non-missing values all read as numbers, categorical otherwise; the values
 * are held as text until then.
 */
export class ColumnBuilder {
  private values = new Float64Array(1024);
  private size = 0;
  private readonly counts = new Map<string, number>();
  private pending: string[] = [];
  missing = 0;

  constructor(
    readonly name: string,
    private type: ColumnType | undefined,
    /** Why the type is what it is, for the error a stray value gets. */
    private readonly typeSource: 'declared' | 'reference' | undefined,
  ) {}

  get decidedType(): ColumnType | undefined {
    return this.type;
  }

  /** Room for `rows` values, allocated once: growing a million-value column by doubling costs more than reading it. */
  reserve(rows: number): void {
    if (this.type === 'categorical' || rows <= this.values.length) return;
    const reserved = new Float64Array(rows);
    reserved.set(this.values.subarray(0, this.size));
    this.values = reserved;
  }

  addMissing(): void {
    this.missing += 1;
  }

  addNumber(value: number, place: Place): void {
    if (this.type === 'numeric') this.pushNumber(value);
    else this.addText(String(value), place);
  }

  /** A value given as text; `number` is its numeric reading when the caller has one (NaN if not a number). */
  addText(text: string, place: Place, number: number = readNumber(text)): void {
    if (MISSING_TOKENS.has(text)) {
      this.missing += 1;
      return;
    }
    if (this.type === 'numeric') {
      if (Number.isNaN(number)) throw this.notANumber(text, place);
      this.pushNumber(number);
    } else if (this.type === 'categorical') {
      this.counts.set(text, (this.counts.get(text) ?? 0) + 1);
    } else {
      this.pending.push(text);
      if (this.pending.length >= TYPE_SAMPLE) this.decide();
    }
  }

  private pushNumber(value: number): void {
    if (this.size === this.values.length) {
      const grown = new Float64Array(Math.ceil(this.values.length * 1.5));
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.size++] = value;
  }

  private decide(): void {
    const pending = this.pending;
    this.pending = [];
    this.type = pending.length > 0 && pending.every((t) => !Number.isNaN(readNumber(t))) ? 'numeric' : 'categorical';
    if (this.type === 'categorical') this.values = new Float64Array(0);
    for (const text of pending) this.addText(text, () => '');
  }

  private notANumber(text: string, place: Place): ConfigurationError {
    const why =
      this.typeSource === 'declared'
        ? `drift.features.${this.name}.type is numeric`
        : this.typeSource === 'reference'
          ? `the column is numeric in the reference; if it holds categories, set drift.features.${this.name}.type: categorical`
          : `its first values were numbers; if it holds categories, set drift.features.${this.name}.type: categorical`;
    return new ConfigurationError(`${place()}, column "${this.name}": expected a number, found ${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)} (${why})`);
  }

  /** The column, numbers sorted in place; `scratch` gives a sort buffer of at least n values (shared between columns). */
  finish(scratch: (n: number) => Float64Array): ColumnValues {
    if (this.type === undefined) this.decide();
    if (this.type === 'numeric') {
      const values = this.values.subarray(0, this.size);
      sortAscending(values, scratch(values.length));
      return { type: 'numeric', values, missing: this.missing };
    }
    return { type: 'categorical', counts: this.counts, missing: this.missing };
  }
}

/**
 * A decimal number as Python's float() reads it, or NaN. Hexadecimal, binary and octal literals,
 * which Number() accepts, are not numbers in a data file; "inf"/"Infinity" are refused too.
 */
export function readNumber(text: string): number {
  const value = Number(text);
  if (Number.isNaN(value) || !Number.isFinite(value)) return NaN;
  if (text.trim() === '') return NaN;
  if (/^\s*[+-]?0[xXbBoO]/.test(text)) return NaN;
  return value;
}

/**
 * The CSV number reader, as a factory that uses nothing from outside its own body: the worker
 * that reads a file's numeric columns (numeric-csv-worker.ts) runs it from its source text.
 */
export function createNumberScanner(): {
  scanNumber: (bytes: Uint8Array, start: number, end: number) => number;
  scanned: { stop: number };
} {
  const DIGIT_0 = 0x30;
  const POWERS_OF_TEN = Array.from({ length: 23 }, (_, i) => 10 ** i);
  /** Where the last scanNumber stopped: the first byte that is not part of the number. */
  const scanned = { stop: 0 };

  /**
   * A decimal number from `start` up to the first byte that cannot continue a number (a comma, a
   * line end), which it leaves in `scanned.stop`, without making a string: the digits are gathered
   * into an integer mantissa, and when it has at most 15 digits and the power of ten is at most 22
   * (both exact in a double), one multiplication or division gives the correctly rounded value
   * (Clinger's fast path), the same double Number() and Python's float() give. Anything else —
   * more digits, larger exponents, odd text — is NaN here and read by the caller through Number().
   */
  function scanNumber(bytes: Uint8Array, start: number, end: number): number {
    let i = start;
    let negative = false;
    let c = bytes[i]!;
    if (c === 0x2d || c === 0x2b) {
      negative = c === 0x2d;
      i++;
    }
    let mantissa = 0;
    let digits = 0;
    let scale = 0;
    let seenDigit = false;
    for (; i < end; i++) {
      c = bytes[i]! - DIGIT_0;
      if (c < 0 || c > 9) break;
      seenDigit = true;
      if (mantissa === 0 && c === 0) continue;
      mantissa = mantissa * 10 + c;
      digits++;
    }
    if (i < end && bytes[i] === 0x2e) {
      for (i++; i < end; i++) {
        c = bytes[i]! - DIGIT_0;
        if (c < 0 || c > 9) break;
        seenDigit = true;
        scale--;
        if (mantissa === 0 && c === 0) continue;
        mantissa = mantissa * 10 + c;
        digits++;
      }
    }
    scanned.stop = i;
    if (!seenDigit) return NaN;
    if (i < end && (bytes[i]! | 0x20) === 0x65) {
      i++;
      let exponentNegative = false;
      if (bytes[i] === 0x2d || bytes[i] === 0x2b) exponentNegative = bytes[i++] === 0x2d;
      let exponent = 0;
      let exponentDigits = 0;
      for (; i < end; i++) {
        c = bytes[i]! - DIGIT_0;
        if (c < 0 || c > 9) break;
        exponent = exponent * 10 + c;
        if (++exponentDigits > 4) return NaN;
      }
      scanned.stop = i;
      if (exponentDigits === 0) return NaN;
      scale += exponentNegative ? -exponent : exponent;
    }
    if (digits > 15) return NaN;
    let value: number;
    if (mantissa === 0) value = 0;
    else if (scale >= 0 && scale <= 22) value = mantissa * POWERS_OF_TEN[scale]!;
    else if (scale < 0 && scale >= -22) value = mantissa / POWERS_OF_TEN[-scale]!;
    else return NaN;
    return negative ? -value : value;
  }
  return { scanNumber, scanned };
}

const scanner = createNumberScanner();
/** Where the last scanNumber stopped: the first byte that is not part of the number. */
export const scanned = scanner.scanned;
/** createNumberScanner's scanNumber: the CSV reader finds a numeric field's value and its end in one pass. */
export const scanNumber = scanner.scanNumber;

/** scanNumber over exactly the bytes [start, end): NaN unless the whole field is a plain decimal number. */
export function fastNumber(bytes: Uint8Array, start: number, end: number): number {
  const value = scanNumber(bytes, start, end);
  return scanned.stop === end ? value : NaN;
}
