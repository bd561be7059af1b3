import { Worker } from 'node:worker_threads';
import { sortAscending } from '../../domain/drift/sort.js';
import { MISSING_TOKENS, createNumberScanner, readNumber } from './columns.js';

/**
 * Reading CSV files whose wanted columns all hold numbers on a worker thread, each column sorted
 * there: the drift command reads its reference and its current data on two cores at once. The
 * worker takes only the plain case — unquoted numbers, empty fields and missing-value tokens in
 * the wanted columns, anything in the others, every row as wide as the header. Anything else (a quoted field, a value that is not a
 * number, a short row, an unreadable file) makes it give up, and the caller reads the files the
 * ordinary way (readTable), which reads the same values and words its errors precisely.
 */
export interface NumericColumns {
  readonly rows: number;
  /** Per wanted column: its numbers sorted ascending, and how many rows had none. */
  readonly columns: ReadonlyMap<string, { readonly values: Float64Array; readonly missing: number }>;
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
  | { kind: 'done'; rows: number; values: Float64Array[]; sizes: number[]; missing: number[] }
  | { kind: 'unusual'; why: string };

/**
 * The worker's body. It runs from its own source text, so it uses only globals and its arguments,
 * functions that are themselves self-contained (see resample-pool.ts): the same code serves the
 * tests (TypeScript) and the bundle.
 */
function numericCsvWorkerMain(
  createScanner: typeof createNumberScanner,
  readNumberOf: typeof readNumber,
  sortValues: typeof sortAscending,
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
  const wanted = task.columns.length;
  const values = task.columns.map(() => new Float64Array(Math.max(task.estimatedRows, 1024)));
  const sizes = new Array<number>(wanted).fill(0);
  const missing = new Array<number>(wanted).fill(0);
  // What each wanted field of the row being read added (1: a missing value), to undo a row cut by the chunk's end.
  const addedMissing = new Uint8Array(wanted);
  const unusual = (why: string): never => {
    throw Object.assign(new Error(why), { unusual: true });
  };

  const push = (slot: number, value: number): void => {
    let column = values[slot]!;
    if (sizes[slot] === column.length) {
      const grown = new Float64Array(Math.ceil(column.length * 1.5));
      grown.set(column);
      values[slot] = column = grown;
    }
    column[sizes[slot]!++] = value;
    addedMissing[slot] = 0;
  };

  /** A field that is not a plain number, [start, end): missing, a number Number() reads, or the end of the worker's road. */
  const addText = (slot: number, bytes: Buffer, start: number, end: number): void => {
    if (start === end) {
      missing[slot]!++;
      addedMissing[slot] = 1;
      return;
    }
    const text = bytes.toString('utf8', start, end);
    if (missingTokens.has(text)) {
      missing[slot]!++;
      addedMissing[slot] = 1;
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
    for (;;) {
      while (at < end && (bytes[at] === LF || (bytes[at] === CR && bytes[at + 1] === LF))) at += bytes[at] === CR ? 2 : 1;
      if (at >= end) return last ? end : at;
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
            if (c === COMMA && column < rowWidth - 1) {
              // The common case, kept short: a number and its comma.
              const columnValues = values[slot]!;
              const size = sizes[slot]!;
              if (size < columnValues.length) {
                columnValues[size] = value;
                sizes[slot] = size + 1;
                addedMissing[slot] = 0;
              } else push(slot, value);
              at = stop + 1;
              continue;
            }
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
      if (addedMissing[slot]) missing[slot]!--;
      else sizes[slot]!--;
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
    const scratch = new Float64Array(Math.max(0, ...sizes));
    for (let k = 0; k < wanted; k++) sortValues(values[k]!.subarray(0, sizes[k]), scratch);
    parentPort.postMessage({ kind: 'done', rows, values, sizes, missing } satisfies Reply, values.map((v) => v.buffer as ArrayBuffer));
  } catch (error) {
    const err = error as { message?: string; unusual?: boolean; stack?: string };
    parentPort.postMessage({ kind: 'unusual', why: err.unusual ? String(err.message) : `the worker failed: ${err.stack ?? String(error)}` } satisfies Reply);
  }
}

/** As readTable reads. */
const CHUNK_BYTES = 8 * 1024 * 1024;

const WORKER_SOURCE = `(${numericCsvWorkerMain.toString()})(${createNumberScanner.toString()}, ${readNumber.toString()}, ${sortAscending.toString()})`;

/**
 * Reads `columns` of CSV `files` on a worker thread, or says why it would not (then read them
 * with readTable). Every value is the one readTable would read; the columns come back sorted.
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
      const read = new Map(columns.map((name, k) => [name, { values: reply.values[k]!.subarray(0, reply.sizes[k]), missing: reply.missing[k]! }] as const));
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
