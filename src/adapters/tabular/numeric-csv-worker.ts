import { Worker } from 'node:worker_threads';
import { decimalPlaces, sortAscending, sortUnits, writeDecimals, type SortedNumbers } from '../../domain/drift/sort.js';
import { MISSING_TOKENS, createNumberScanner, readNumber } from './columns.js';

/**
 * Reading CSV files whose wanted columns all hold numbers on a worker thread, each column sorted
 * there, and held as decimals (integers, half the memory of doubles) while its values allow (see
 * sortAscending): the drift command reads its reference and its current data on two cores at once. The
 * worker takes only the plain case — unquoted numbers, empty fields and missing-value tokens in
 * the wanted columns, anything in the others, every row as wide as the header. Anything else (a quoted field, a value that is not a
 * number, a short row, an unreadable file) makes it give up, and the caller reads the files the
 * ordinary way (readTable), which reads the same values and words its errors precisely.
 */
export interface NumericColumns {
  readonly rows: number;
  /** Per wanted column: its numbers sorted ascending, and how many rows had none. */
  readonly columns: ReadonlyMap<string, { readonly values: SortedNumbers; readonly missing: number }>;
}

export interface NumericCsvOptions {
  /** Rows the files probably hold (a little over, rather than under). */
  readonly estimatedRows: number;
  readonly onBytes?: ((bytes: number) => void) | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Bytes read at a time (tests make it small, to cut rows and numbers at a chunk's end). */
  readonly chunkBytes?: number | undefined;
}

interface Task {
  readonly files: readonly string[];
  readonly columns: readonly string[];
  readonly missingTokens: readonly string[];
  readonly estimatedRows: number;
  readonly chunkBytes: number;
}

type Reply =
  | { kind: 'bytes'; bytes: number }
  | { kind: 'done'; rows: number; columns: SortedNumbers[]; missing: number[] }
  | { kind: 'unusual'; why: string };

/**
 * The worker's body. It runs from its own source text, so it uses only globals and its arguments,
 * functions that are themselves self-contained (see resample-pool.ts): the same code serves the
 * tests (TypeScript) and the bundle.
 */
function numericCsvWorkerMain(
  createScanner: typeof createNumberScanner,
  readNumberOf: typeof readNumber,
  sortDoubles: typeof sortAscending,
  sortIntegers: typeof sortUnits,
  placesOf: typeof decimalPlaces,
  writeDoubles: typeof writeDecimals,
): void {
  const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads');
  const fs = process.getBuiltinModule('node:fs');
  if (!parentPort) return;
  const task = workerData as Task;
  const { scanNumber, scanned } = createScanner();
  const missingTokens = new Set(task.missingTokens);
  const COMMA = 0x2c;
  const QUOTE = 0x22;
  const LF = 0x0a;
  const CR = 0x0d;
  const MINUS = 0x2d;
  const PLUS = 0x2b;
  const POINT = 0x2e;
  const DIGIT_0 = 0x30;
  const POWERS_OF_TEN = Array.from({ length: 16 }, (_, i) => 10 ** i);
  const LIMIT = 0x7fffffff;
  const wanted = task.columns.length;
  const capacity = Math.max(task.estimatedRows, 1024);
  // A column is held as decimals — integer units of 10^-decimals[slot], half the memory of doubles —
  // until a value does not fit (then decimals[slot] is -1, units[slot] empty, and doubles[slot] holds it).
  const units = task.columns.map(() => new Int32Array(capacity));
  const doubles = task.columns.map((): Float64Array | undefined => undefined);
  const decimals = new Int32Array(wanted);
  const negativeZeros = new Int32Array(wanted);
  const sizes = new Int32Array(wanted);
  const missing = new Array<number>(wanted).fill(0);
  // What each wanted field of the row being read added, to undo a row cut by the chunk's end.
  const VALUE = 0;
  const MISSING = 1;
  const NEGATIVE_ZERO = 2;
  const added = new Uint8Array(wanted);
  const unusual = (why: string): never => {
    throw Object.assign(new Error(why), { unusual: true });
  };

  const push = (slot: number, value: number): void => {
    added[slot] = VALUE;
    if (decimals[slot]! >= 0) {
      let power = POWERS_OF_TEN[decimals[slot]!]!;
      let k = Math.round(value * power);
      if (k / power !== value || k > LIMIT || k < -LIMIT) {
        const more = placesOf(value, decimals[slot]! + 1);
        if (more < 0 || !addDecimals(slot, more)) {
          holdAsDoubles(slot);
          pushDouble(slot, value);
          return;
        }
        power = POWERS_OF_TEN[more]!;
        k = Math.round(value * power);
      }
      if (k === 0 && 1 / value < 0) {
        negativeZeros[slot]!++;
        added[slot] = NEGATIVE_ZERO;
      }
      pushUnits(slot, k);
    } else pushDouble(slot, value);
  };

  /** A plain number of plainRow's that the common case did not take (not -0). */
  const pushPlain = (slot: number, negative: boolean, mantissa: number, decimalCount: number): void => {
    const columnDecimals = decimals[slot]!;
    if (decimalCount < columnDecimals) {
      const k = mantissa * POWERS_OF_TEN[columnDecimals - decimalCount]!;
      if (k <= LIMIT) {
        added[slot] = VALUE;
        pushUnits(slot, negative ? -k : k);
        return;
      }
    }
    const magnitude = decimalCount === 0 ? mantissa : mantissa / POWERS_OF_TEN[decimalCount]!;
    push(slot, negative ? -magnitude : magnitude);
  };

  /** Holds a column in `more` decimals: every unit so far times a power of ten; false when one would not fit. */
  const addDecimals = (slot: number, more: number): boolean => {
    const column = units[slot]!;
    const size = sizes[slot]!;
    const factor = POWERS_OF_TEN[more - decimals[slot]!]!;
    let largest = 0;
    for (let i = 0; i < size; i++) largest = Math.max(largest, Math.abs(column[i]!));
    if (largest * factor > LIMIT) return false;
    for (let i = 0; i < size; i++) column[i] = column[i]! * factor;
    decimals[slot] = more;
    return true;
  };

  /** Holds a column as doubles from now on: the units so far as the doubles they stand for (the -0s among the zeros, wherever: it is sorted later). */
  const holdAsDoubles = (slot: number): void => {
    const column = units[slot]!;
    const values = new Float64Array(column.length);
    writeDoubles(column.subarray(0, sizes[slot]), decimals[slot]!, negativeZeros[slot]!, values);
    doubles[slot] = values;
    units[slot] = new Int32Array(0);
    decimals[slot] = -1;
  };

  /** The column, or when it is full a copy half as long again. */
  const withRoom = <T extends Int32Array | Float64Array>(column: T, size: number, kind: new (length: number) => T): T => {
    if (size < column.length) return column;
    const grown = new kind(Math.ceil(column.length * 1.5));
    grown.set(column);
    return grown;
  };

  const pushUnits = (slot: number, k: number): void => {
    const column = (units[slot] = withRoom(units[slot]!, sizes[slot]!, Int32Array));
    column[sizes[slot]!++] = k;
  };

  const pushDouble = (slot: number, value: number): void => {
    const column = (doubles[slot] = withRoom(doubles[slot]!, sizes[slot]!, Float64Array));
    column[sizes[slot]!++] = value;
  };

  /** A field that is not a plain number, [start, end): missing, a number Number() reads, or the end of the worker's road. */
  const addText = (slot: number, bytes: Buffer, start: number, end: number): void => {
    if (start === end) {
      missing[slot]!++;
      added[slot] = MISSING;
      return;
    }
    const text = bytes.toString('utf8', start, end);
    if (missingTokens.has(text)) {
      missing[slot]!++;
      added[slot] = MISSING;
      return;
    }
    const value = readNumberOf(text);
    if (Number.isNaN(value)) unusual('a value that is not a number');
    push(slot, value);
  };

  let slots: Int32Array | undefined;
  let width = 0;
  let rows = 0;

  /** Reads the rows that end in bytes [0, end); returns where the first incomplete one starts. */
  const readChunk = (bytes: Buffer, end: number, last: boolean): number => {
    let at = 0;
    if (slots === undefined) {
      if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) at = 3;
      const lineEnd = bytes.indexOf(LF, at);
      if ((lineEnd === -1 || lineEnd >= end) && !last) return 0;
      const stop = lineEnd === -1 || lineEnd >= end ? end : lineEnd;
      const header = bytes.toString('utf8', at, stop);
      if (header.includes('"')) unusual('a quoted header');
      const names = header.split(',').map((name) => name.trim());
      slots = Int32Array.from(names, (name) => task.columns.indexOf(name));
      for (let k = 0; k < wanted; k++) if (names.filter((name) => name === task.columns[k]).length !== 1) unusual('a wanted column missing or repeated');
      width = names.length;
      at = stop + 1;
    }
    const columnSlots = slots;
    const rowWidth = width;
    // Rows that start before this end in a line end inside the chunk: plainRow reads them without looking for the chunk's end.
    const plainEnd = end === 0 ? 0 : bytes.lastIndexOf(LF, end - 1) + 1;
    for (;;) {
      while (at < end && (bytes[at] === LF || (bytes[at] === CR && bytes[at + 1] === LF))) at += bytes[at] === CR ? 2 : 1;
      if (at >= end) return last ? end : at;
      if (at < plainEnd) {
        const next = plainRow(bytes, at, columnSlots, rowWidth);
        if (next >= 0) {
          at = next;
          rows++;
          continue;
        }
      }
      const rowStart = at;
      for (let column = 0; ; column++) {
        if (column === rowWidth) unusual('a row wider than the header');
        const slot = columnSlots[column]!;
        let stop: number;
        let general = true;
        if (slot >= 0) {
          const value = scanNumber(bytes, at, end);
          stop = scanned.stop;
          if (stop < end && !Number.isNaN(value)) {
            const c = bytes[stop];
            if (c === COMMA || c === LF || (c === CR && stop + 1 < end && bytes[stop + 1] === LF)) {
              push(slot, value);
              general = false;
            }
          }
        }
        if (general && slot < 0 && bytes[at] === QUOTE) {
          // A quoted field in a column not wanted: skipped, with its "" escapes and line ends.
          stop = quotedFieldEnd(bytes, at, end, last);
          if (stop < 0) {
            undoRow(column);
            return rowStart;
          }
        } else if (general) {
          // Up to the next comma or line end, as the ordinary reader cuts an unquoted field.
          if (bytes[at] === QUOTE) unusual('a quoted number');
          stop = at;
          while (stop < end && bytes[stop] !== COMMA && bytes[stop] !== LF) stop++;
          if (stop >= end && !last) {
            undoRow(column);
            return rowStart;
          }
          if (slot >= 0) addText(slot, bytes, at, stop > at && bytes[stop - 1] === CR ? stop - 1 : stop);
        }
        const c = stop! < end ? bytes[stop!] : LF;
        if (c === COMMA) {
          at = stop! + 1;
          continue;
        }
        at = c === CR ? stop! + 2 : stop! + 1;
        if (column !== rowWidth - 1) unusual('a row narrower than the header');
        rows++;
        break;
      }
    }
  };

  /**
   * The common row, read in one go: every field a plain number (a sign, at most 15 digits, a
   * point) or, in a column not wanted, unquoted text, and as many fields as the header. Returns
   * where the next row starts, or -1, having taken back what it added, for anything else: the
   * general reader in readChunk then reads the row. The value is the one scanNumber gives
   * (Clinger's fast path: the integer of the digits, divided by a power of ten, both exact). The
   * caller makes sure a line end follows in the chunk, so no field runs past its end.
   */
  const plainRow = (bytes: Buffer, start: number, columnSlots: Int32Array, rowWidth: number): number => {
    let at = start;
    for (let column = 0; column < rowWidth; column++) {
      const slot = columnSlots[column]!;
      let c: number;
      if (slot < 0) {
        if (bytes[at] === QUOTE) return undoPlain(column);
        c = bytes[at]!;
        while (c !== COMMA && c !== LF) c = bytes[++at]!;
      } else {
        // The sign without a branch: the processor cannot guess which values are negative.
        c = bytes[at]!;
        const negative = +(c === MINUS);
        at += negative + +(c === PLUS);
        c = bytes[at]!;
        const first = at;
        let mantissa = 0;
        let digit = c - DIGIT_0;
        while (digit >= 0 && digit <= 9) {
          mantissa = mantissa * 10 + digit;
          digit = bytes[++at]! - DIGIT_0;
        }
        let digits = at - first;
        let decimalCount = 0;
        if (digit === POINT - DIGIT_0) {
          const point = at++;
          digit = bytes[at]! - DIGIT_0;
          while (digit >= 0 && digit <= 9) {
            mantissa = mantissa * 10 + digit;
            digit = bytes[++at]! - DIGIT_0;
          }
          decimalCount = at - point - 1;
          digits += decimalCount;
        }
        if (digits === 0 || digits > 15) return undoPlain(column);
        if (mantissa === 0 && negative === 1) return undoPlain(column); // -0: the general reader keeps count of those
        // The common case: as many decimals as the column holds.
        const columnUnits = units[slot]!;
        const size = sizes[slot]!;
        if (decimalCount === decimals[slot] && mantissa <= LIMIT && size < columnUnits.length) {
          columnUnits[size] = (mantissa ^ -negative) + negative; // ±mantissa, again without a branch
          sizes[slot] = size + 1;
        } else pushPlain(slot, negative === 1, mantissa, decimalCount);
        c = digit + DIGIT_0;
      }
      if (c === COMMA) {
        if (column === rowWidth - 1) return undoPlain(column + 1);
        at++;
        continue;
      }
      if (column !== rowWidth - 1) return undoPlain(column + 1);
      if (c === LF) return at + 1;
      if (c === CR && bytes[at + 1] === LF) return at + 2;
      return undoPlain(column + 1);
    }
    return -1;
  };

  /** plainRow's way out: takes back the values the row's first `columns` fields added. */
  const undoPlain = (columns: number): number => {
    for (let column = 0; column < columns; column++) {
      const slot = slots![column]!;
      if (slot >= 0) sizes[slot]!--;
    }
    return -1;
  };

  /** Where the quoted field at `at` ends (its comma or line end), or -1 when the chunk ends first. */
  const quotedFieldEnd = (bytes: Buffer, at: number, end: number, last: boolean): number => {
    let from = at + 1;
    for (;;) {
      const close = bytes.indexOf(QUOTE, from);
      if (close === -1 || close >= end) {
        if (last) unusual('a quoted value never closed');
        return -1;
      }
      if (close + 1 >= end && !last) return -1;
      if (bytes[close + 1] === QUOTE) {
        from = close + 2;
        continue;
      }
      let next = close + 1;
      if (bytes[next] === CR) next++;
      if (next >= end) return last ? end : -1;
      const c = bytes[next];
      if (c !== COMMA && c !== LF) unusual('text after a closing quote');
      return next;
    }
  };

  /** Takes back what the first `columns` fields of a row cut by the chunk's end added. */
  const undoRow = (columns: number): void => {
    for (let column = 0; column < columns; column++) {
      const slot = slots![column]!;
      if (slot < 0) continue;
      if (added[slot] === MISSING) missing[slot]!--;
      else {
        sizes[slot]!--;
        if (added[slot] === NEGATIVE_ZERO) negativeZeros[slot]!--;
      }
    }
  };

  const readFile = (file: string): void => {
    slots = undefined;
    const fd = fs.openSync(file, 'r');
    try {
      let buffer = Buffer.allocUnsafe(task.chunkBytes);
      let filled = 0;
      for (;;) {
        if (filled === buffer.length) {
          const grown = Buffer.allocUnsafe(buffer.length * 2);
          buffer.copy(grown, 0, 0, filled);
          buffer = grown;
        }
        const read = fs.readSync(fd, buffer, filled, buffer.length - filled, null);
        parentPort.postMessage({ kind: 'bytes', bytes: read } satisfies Reply);
        filled += read;
        const last = read === 0;
        const consumed = readChunk(buffer, filled, last);
        if (last) break;
        buffer.copy(buffer, 0, consumed, filled);
        filled -= consumed;
      }
      if (slots === undefined) unusual('an empty file');
    } finally {
      fs.closeSync(fd);
    }
  };

  try {
    for (const file of task.files) readFile(file);
    // One scratch array for every column's sort: its first half for decimals, all of it for doubles.
    const longest = Math.max(0, ...sizes);
    const scratch = new ArrayBuffer((doubles.some((column) => column !== undefined) ? 8 : 4) * longest);
    const columns = units.map((column, k): SortedNumbers => {
      const size = sizes[k]!;
      const values = doubles[k];
      if (values !== undefined) {
        sortDoubles(values.subarray(0, size), new Float64Array(scratch, 0, size));
        return values.subarray(0, size);
      }
      sortIntegers(column.subarray(0, size), new Int32Array(scratch, 0, size));
      return { units: column.subarray(0, size), decimals: decimals[k]!, negativeZeros: negativeZeros[k]! };
    });
    const buffers = columns.map((c) => (c instanceof Float64Array ? c.buffer : c.units.buffer) as ArrayBuffer);
    parentPort.postMessage({ kind: 'done', rows, columns, missing } satisfies Reply, buffers);
  } catch (error) {
    const err = error as { message?: string; unusual?: boolean; stack?: string };
    parentPort.postMessage({ kind: 'unusual', why: err.unusual ? String(err.message) : `the worker failed: ${err.stack ?? String(error)}` } satisfies Reply);
  }
}

/** Thousands of rows at a time; no more, as every page of a fresh buffer costs a fault when first written. */
const CHUNK_BYTES = 1024 * 1024;

// sortAscending calls decimalPlaces, sortUnits and writeDecimals by name: declared first, they are there.
const WORKER_SOURCE = [
  ...[decimalPlaces, sortUnits, writeDecimals].map(String),
  `(${numericCsvWorkerMain.toString()})(${[createNumberScanner, readNumber, sortAscending, sortUnits, decimalPlaces, writeDecimals].map(String).join(', ')})`,
].join('\n');

/**
 * Reads `columns` of CSV `files` on a worker thread, or says why it would not (then read them
 * with readTable). Every value is the one readTable would read; the columns come back sorted,
 * as decimals or as doubles.
 */
export function readNumericCsvOnWorker(
  files: readonly string[],
  columns: readonly string[],
  options: NumericCsvOptions,
): Promise<{ read: NumericColumns } | { unusual: string }> {
  const { signal, onBytes } = options;
  signal?.throwIfAborted();
  const task: Task = { files, columns, missingTokens: [...MISSING_TOKENS], estimatedRows: options.estimatedRows, chunkBytes: options.chunkBytes ?? CHUNK_BYTES };
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: task });
  return new Promise<{ read: NumericColumns } | { unusual: string }>((resolve, reject) => {
    const onAbort = (): void => reject(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const settle = (): void => signal?.removeEventListener('abort', onAbort);
    worker.on('message', (reply: Reply) => {
      if (reply.kind === 'bytes') {
        onBytes?.(reply.bytes);
        return;
      }
      settle();
      if (reply.kind === 'unusual') {
        resolve({ unusual: reply.why });
        return;
      }
      const read = new Map(columns.map((name, k) => [name, { values: reply.columns[k]!, missing: reply.missing[k]! }] as const));
      resolve({ read: { rows: reply.rows, columns: read } });
    });
    worker.on('error', (error) => {
      settle();
      resolve({ unusual: `the worker failed: ${error.stack ?? String(error)}` });
    });
    worker.on('exit', (code) => {
      settle();
      resolve({ unusual: `the worker stopped (exit code ${code})` });
    });
  }).finally(() => void worker.terminate());
}
