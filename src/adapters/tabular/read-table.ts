import { closeSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { asyncBufferFromFile, parquetMetadataAsync, parquetRead, parquetSchema } from 'hyparquet';
import { ConfigurationError, errnoCode } from '../../errors.js';
import { ColumnBuilder, MISSING_TOKENS, fastNumber, readNumber, scanNumber, scanned, type ColumnType, type ColumnValues, type Place } from './columns.js';
import { readNumericCsvOnWorker } from './numeric-csv-worker.js';
import { sortedCount } from '../../domain/drift/sort.js';

/**
 * Reading data tables (CSV with a header row, JSON Lines, Parquet) column-wise, keeping only the
 * columns asked for: numbers in typed arrays, categories as counts. CSV and JSONL are read in
 * chunks of CHUNK_BYTES, Parquet one row group at a time through hyparquet, so memory holds the
 * wanted columns, not the file.
 */
export type TableFormat = 'csv' | 'jsonl' | 'parquet';

const CHUNK_BYTES = 8 * 1024 * 1024;

export function formatOf(file: string): TableFormat | undefined {
  if (/\.csv$/i.test(file)) return 'csv';
  if (/\.(jsonl|ndjson)$/i.test(file)) return 'jsonl';
  if (/\.parquet$/i.test(file)) return 'parquet';
  return undefined;
}

/** The data files a FILE|DIR names: the file, or every CSV, JSONL and Parquet file under the directory (sorted). */
export function tableFiles(target: string, display: string): string[] {
  let stats;
  try {
    stats = statSync(target);
  } catch (error) {
    throw new ConfigurationError(`${display}: ${errnoCode(error) === 'ENOENT' ? 'no such file or directory' : String(error)}`);
  }
  if (stats.isFile()) {
    if (!formatOf(target)) throw new ConfigurationError(`${display}: expected a .csv, .jsonl, .ndjson or .parquet file`);
    return [target];
  }
  const files = (readdirSync(target, { recursive: true }) as string[])
    .filter((name) => formatOf(name) && !name.split(path.sep).some((part) => part.startsWith('.')))
    .map((name) => path.join(target, name))
    .sort();
  if (files.length === 0) throw new ConfigurationError(`${display}: the directory holds no .csv, .jsonl, .ndjson or .parquet file`);
  return files;
}

/** The column names of a file: the CSV header, the first JSONL object's keys, the Parquet schema's top-level fields. */
export async function readColumnNames(file: string): Promise<string[]> {
  const format = formatOf(file);
  if (format === 'parquet') {
    const metadata = await parquetMetadataAsync(await asyncBufferFromFile(file));
    return parquetSchema(metadata).children.map((child) => child.element.name);
  }
  const firstLine = readFirstLine(file);
  if (firstLine === undefined) return [];
  if (format === 'jsonl') {
    const record = parseJsonLine(firstLine, () => `${file}: line 1`);
    return Object.keys(record);
  }
  return splitCsvHeader(firstLine);
}

export interface ReadOptions {
  /** The columns to keep. */
  readonly columns: readonly string[];
  /** Known types (declared in the config, or as found in the reference); others are decided from their first values. */
  readonly types: ReadonlyMap<string, { type: ColumnType; source: 'declared' | 'reference' }>;
  /** How errors name a file. */
  readonly display: (file: string) => string;
  /** Called with bytes read, for progress. */
  readonly onBytes?: (bytes: number) => void;
}

export interface Table {
  readonly rows: number;
  readonly columns: ReadonlyMap<string, ColumnValues>;
}

export async function readTable(files: readonly string[], options: ReadOptions): Promise<Table> {
  const builders = new Map(
    options.columns.map((name) => {
      const known = options.types.get(name);
      return [name, new ColumnBuilder(name, known?.type, known?.source)] as const;
    }),
  );
  const expected = files.reduce((n, file) => n + estimateRows(file), 0);
  for (const builder of builders.values()) builder.reserve(expected);
  let rows = 0;
  for (const file of files) {
    const display = options.display(file);
    const format = formatOf(file);
    const reader = format === 'parquet' ? readParquet : format === 'jsonl' ? readJsonLines : readCsv;
    rows += await reader(file, display, builders, options.onBytes ?? (() => {}));
  }
  let scratch = new Float64Array(0);
  const scratchOf = (n: number): Float64Array => (scratch.length >= n ? scratch : (scratch = new Float64Array(n)));
  return { rows, columns: new Map([...builders].map(([name, builder]) => [name, builder.finish(scratchOf)])) };
}

/**
 * readTable on a worker thread, for CSV files whose wanted columns all hold numbers (the plain
 * case, see numeric-csv-worker.ts); otherwise why not, and the caller reads them with readTable.
 * A table it gives is the one readTable would give.
 */
export async function readTableOnWorker(
  files: readonly string[],
  options: ReadOptions & { readonly signal?: AbortSignal | undefined; readonly chunkBytes?: number | undefined },
): Promise<{ table: Table } | { unusual: string }> {
  if (!files.every((file) => formatOf(file) === 'csv')) return { unusual: 'not every file is CSV' };
  const categorical = options.columns.find((name) => options.types.get(name)?.type === 'categorical');
  if (categorical !== undefined) return { unusual: `column "${categorical}" is categorical` };
  const estimatedRows = files.reduce((n, file) => n + estimateRows(file), 0);
  const result = await readNumericCsvOnWorker(files, options.columns, { estimatedRows, onBytes: options.onBytes, signal: options.signal, chunkBytes: options.chunkBytes });
  if ('unusual' in result) return result;
  const columns = new Map<string, ColumnValues>();
  for (const [name, column] of result.read.columns) {
    // A column with no value at all is categorical unless it is known to be numeric, as ColumnBuilder decides.
    if (sortedCount(column.values) === 0 && options.types.get(name)?.type !== 'numeric') return { unusual: `column "${name}" holds no value` };
    columns.set(name, { type: 'numeric', values: column.values, missing: column.missing });
  }
  return { table: { rows: result.read.rows, columns } };
}

/** Rows a CSV or JSONL file probably holds, from its size and the length of its first lines (a little over, rather than under). */
function estimateRows(file: string): number {
  if (formatOf(file) === 'parquet') return 0;
  const size = statSync(file).size;
  const fd = openSync(file, 'r');
  try {
    const sample = Buffer.allocUnsafe(Math.min(size, 256 * 1024));
    const read = readSync(fd, sample, 0, sample.length, 0);
    let lines = 0;
    for (let at = sample.indexOf(LF); at !== -1 && at < read; at = sample.indexOf(LF, at + 1)) lines++;
    if (lines === 0) return 1024;
    return Math.ceil((size / (read / lines)) * 1.02) + 16;
  } finally {
    closeSync(fd);
  }
}

function missingColumn(display: string, name: string, found: readonly string[]): ConfigurationError {
  const shown = found.slice(0, 30).map((h) => JSON.stringify(h)).join(', ');
  return new ConfigurationError(`${display}: no column "${name}"; its columns are: ${shown}${found.length > 30 ? ', …' : ''}`);
}

// ---------------------------------------------------------------------------------------------
// Chunks

/** Calls `onChunk` with successive buffers that end on a line end (the last may not); returns when the file is read. */
function forEachChunk(file: string, display: string, onBytes: (n: number) => void, onChunk: (bytes: Uint8Array, end: number, last: boolean) => number): void {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw new ConfigurationError(`${display}: ${errnoCode(error) === 'ENOENT' ? 'no such file' : String(error)}`);
  }
  try {
    let buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    let filled = 0;
    for (;;) {
      if (filled === buffer.length) {
        // One row longer than the buffer: grow it.
        const grown = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(grown, 0, 0, filled);
        buffer = grown;
      }
      const read = readSync(fd, buffer, filled, buffer.length - filled, null);
      onBytes(read);
      filled += read;
      const last = read === 0;
      const consumed = onChunk(buffer, filled, last);
      if (last) return;
      buffer.copy(buffer, 0, consumed, filled);
      filled -= consumed;
    }
  } finally {
    closeSync(fd);
  }
}

function readFirstLine(file: string): string | undefined {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(1024 * 1024);
    const read = readSync(fd, buffer, 0, buffer.length, 0);
    const text = buffer.toString('utf8', 0, read).replace(/^\uFEFF/, '');
    const lines = text.split(/\r?\n/);
    return lines.find((line) => line.trim() !== '');
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// CSV (RFC 4180: commas, optional double quotes with "" inside, \n or \r\n line ends)

const COMMA = 0x2c;
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

function splitCsvHeader(line: string): string[] {
  const bytes = Buffer.from(line, 'utf8');
  const names: string[] = [];
  const field = newField();
  let at = 0;
  for (;;) {
    if (!csvField(bytes, at, bytes.length, true, field)) break;
    names.push(field.quoted ?? bytes.toString('utf8', field.start, field.end).trim());
    at = field.next;
    if (field.endsRow) break;
  }
  return names;
}

interface CsvField {
  start: number;
  end: number;
  /** The unescaped text of a quoted field. */
  quoted: string | undefined;
  /** Offset after the field's delimiter. */
  next: number;
  endsRow: boolean;
}

function newField(): CsvField {
  return { start: 0, end: 0, quoted: undefined, next: 0, endsRow: false };
}

/**
 * Reads the field starting at `at` into `out` (reused: nothing is allocated per unquoted field);
 * false when the buffer ends before the field does and this is not the last chunk.
 */
function csvField(bytes: Uint8Array, at: number, end: number, last: boolean, out: CsvField): boolean {
  if (bytes[at] === QUOTE) return quotedField(bytes, at, end, last, out);
  let i = at;
  while (i < end) {
    const c = bytes[i]!;
    if (c === COMMA || c === LF) break;
    i++;
  }
  if (i >= end && !last) return false;
  out.start = at;
  out.end = i > at && bytes[i - 1] === CR ? i - 1 : i;
  out.quoted = undefined;
  out.next = i >= end ? end : i + 1;
  out.endsRow = i >= end || bytes[i] === LF;
  return true;
}

function quotedField(bytes: Uint8Array, at: number, end: number, last: boolean, out: CsvField): boolean {
  let value = '';
  let from = at + 1;
  for (;;) {
    let close = from;
    while (close < end && bytes[close] !== QUOTE) close++;
    if (close >= end) {
      if (last) throw new SyntaxError('a quoted value is never closed');
      return false;
    }
    value += Buffer.from(bytes.buffer, bytes.byteOffset + from, close - from).toString('utf8');
    if (close + 1 >= end && !last) return false;
    if (bytes[close + 1] === QUOTE) {
      value += '"';
      from = close + 2;
      continue;
    }
    let next = close + 1;
    if (bytes[next] === CR) next++;
    const c = bytes[next];
    if (next < end && c !== COMMA && c !== LF) throw new SyntaxError('unexpected text after a closing quote; expected a comma or the end of the line');
    out.start = at;
    out.end = close;
    out.quoted = value;
    out.next = next >= end ? end : next + 1;
    out.endsRow = next >= end || c === LF;
    return true;
  }
}

async function readCsv(file: string, display: string, builders: ReadonlyMap<string, ColumnBuilder>, onBytes: (n: number) => void): Promise<number> {
  let header: string[] | undefined;
  let slots: (ColumnBuilder | undefined)[] = [];
  let rows = 0;
  let line = 1;
  const field = newField();
  // One row's wanted fields, kept until the row is known complete (it may continue in the next chunk).
  let starts = new Int32Array(0);
  let ends = new Int32Array(0);
  let quotedValues: (string | undefined)[] = [];
  let parsed = new Float64Array(0);
  let isParsed = new Uint8Array(0);
  forEachChunk(file, display, onBytes, (bytes, end, last) => {
    let at = 0;
    if (header === undefined) {
      if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) at = 3;
      const lineEnd = bytes.indexOf(LF, at);
      if ((lineEnd === -1 || lineEnd >= end) && !last) return 0;
      const stop = lineEnd === -1 || lineEnd >= end ? end : lineEnd;
      header = splitCsvHeader(Buffer.from(bytes.buffer, bytes.byteOffset + at, stop - at).toString('utf8'));
      for (const name of builders.keys()) if (!header.includes(name)) throw missingColumn(display, name, header);
      slots = header.map((name) => builders.get(name));
      starts = new Int32Array(header.length);
      ends = new Int32Array(header.length);
      quotedValues = new Array<string | undefined>(header.length).fill(undefined);
      parsed = new Float64Array(header.length);
      isParsed = new Uint8Array(header.length);
      at = stop + 1;
      line = 2;
    }
    const width = header.length;
    for (;;) {
      // Blank lines hold no row.
      while (at < end && (bytes[at] === LF || (bytes[at] === CR && bytes[at + 1] === LF))) {
        at += bytes[at] === CR ? 2 : 1;
        line++;
      }
      if (at >= end) return last ? end : at;
      const rowStart = at;
      const rowLine = line;
      let count = 0;
      let complete = false;
      let extraLines = 0;
      for (;;) {
        // A plain number in a numeric column: its value and its end in one pass.
        const numeric = count < width ? slots[count] : undefined;
        if (numeric !== undefined && numeric.decidedType === 'numeric') {
          const value = scanNumber(bytes, at, end);
          const stop = scanned.stop;
          if (!Number.isNaN(value) && stop < end) {
            const c = bytes[stop];
            const endsRow = c === LF || (c === CR && stop + 1 < end && bytes[stop + 1] === LF);
            if (c === COMMA || endsRow) {
              parsed[count] = value;
              isParsed[count] = 1;
              count++;
              at = c === CR ? stop + 2 : stop + 1;
              if (endsRow) {
                complete = true;
                break;
              }
              continue;
            }
          }
        }
        if (count < width) isParsed[count] = 0;
        let found: boolean;
        try {
          found = csvField(bytes, at, end, last, field);
        } catch (error) {
          throw new ConfigurationError(`${display}: line ${rowLine}, column ${count + 1}: ${(error as Error).message}`);
        }
        if (!found) break;
        if (count < width && slots[count]) {
          starts[count] = field.start;
          ends[count] = field.end;
          quotedValues[count] = field.quoted;
        }
        if (field.quoted !== undefined) for (let i = field.start; i < field.end; i++) if (bytes[i] === LF) extraLines++;
        count++;
        at = field.next;
        if (field.endsRow) {
          complete = true;
          break;
        }
      }
      if (!complete) return rowStart; // the row continues in the next chunk
      const place: Place = () => `${display}: line ${rowLine}`;
      if (count !== width) throw new ConfigurationError(`${place()}: expected ${width} columns, as in the header, found ${count}`);
      for (let i = 0; i < width; i++) {
        const builder = slots[i];
        if (!builder) continue;
        if (isParsed[i]) builder.addNumber(parsed[i]!, place);
        else addCsvValue(builder, bytes, starts[i]!, ends[i]!, quotedValues[i], place);
      }
      rows++;
      line += 1 + extraLines;
    }
  });
  if (header === undefined) throw new ConfigurationError(`${display}: the file is empty; expected a header row`);
  return rows;
}

function addCsvValue(builder: ColumnBuilder, bytes: Uint8Array, start: number, end: number, quoted: string | undefined, place: Place): void {
  if (quoted !== undefined) {
    builder.addText(quoted, place);
    return;
  }
  if (builder.decidedType === 'numeric') {
    const value = fastNumber(bytes, start, end);
    if (!Number.isNaN(value)) {
      builder.addNumber(value, place);
      return;
    }
    if (start === end) {
      builder.addMissing();
      return;
    }
  }
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('utf8');
  builder.addText(text, place);
}

// ---------------------------------------------------------------------------------------------
// JSON Lines

function parseJsonLine(line: string, place: Place): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new ConfigurationError(`${place()}: not valid JSON (${(error as Error).message}); expected one object per line`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigurationError(`${place()}: expected a JSON object`);
  return value as Record<string, unknown>;
}

async function readJsonLines(file: string, display: string, builders: ReadonlyMap<string, ColumnBuilder>, onBytes: (n: number) => void): Promise<number> {
  let rows = 0;
  let line = 0;
  let checkedKeys = false;
  forEachChunk(file, display, onBytes, (bytes, end, last) => {
    let at = 0;
    for (;;) {
      let lineEnd = bytes.indexOf(LF, at);
      if (lineEnd === -1 || lineEnd >= end) {
        if (!last) return at;
        lineEnd = end;
      }
      if (lineEnd === at && at >= end) return end;
      line++;
      const text = Buffer.from(bytes.buffer, bytes.byteOffset + at, lineEnd - at).toString('utf8').replace(/^\uFEFF/, '');
      at = lineEnd + 1;
      if (text.trim() !== '') {
        const here = line;
        const place: Place = () => `${display}: line ${here}`;
        const record = parseJsonLine(text, place);
        if (!checkedKeys) {
          for (const name of builders.keys()) if (!Object.hasOwn(record, name)) throw missingColumn(display, name, Object.keys(record));
          checkedKeys = true;
        }
        for (const [name, builder] of builders) addValue(builder, record[name], place);
        rows++;
      }
      if (at > end) return end;
    }
  });
  return rows;
}

/** A typed value (JSON, Parquet): numbers as numbers, strings as text, null and undefined as missing. */
function addValue(builder: ColumnBuilder, value: unknown, place: Place): void {
  if (value === null || value === undefined) builder.addMissing();
  else if (typeof value === 'number') {
    if (Number.isFinite(value)) builder.addNumber(value, place);
    else builder.addMissing(); // NaN in a Parquet double column is how pandas writes a missing value
  } else if (typeof value === 'bigint') builder.addNumber(Number(value), place);
  else if (typeof value === 'string') builder.addText(value, place, MISSING_TOKENS.has(value) ? NaN : readNumber(value));
  else if (typeof value === 'boolean') builder.addText(String(value), place, NaN);
  else if (value instanceof Date) builder.addNumber(value.getTime(), place);
  else throw new ConfigurationError(`${place()}, column "${builder.name}": expected a number or a string, found ${Array.isArray(value) ? 'a list' : 'an object'}`);
}

// ---------------------------------------------------------------------------------------------
// Parquet, through hyparquet: only the wanted columns, one row group at a time.

async function readParquet(file: string, display: string, builders: ReadonlyMap<string, ColumnBuilder>, onBytes: (n: number) => void): Promise<number> {
  let buffer;
  let metadata;
  try {
    buffer = await asyncBufferFromFile(file);
    metadata = await parquetMetadataAsync(buffer);
  } catch (error) {
    if (errnoCode(error)) throw new ConfigurationError(`${display}: ${String(error)}`);
    throw new ConfigurationError(`${display}: not a readable Parquet file (${(error as Error).message})`);
  }
  const names = parquetSchema(metadata).children.map((child) => child.element.name);
  for (const name of builders.keys()) if (!names.includes(name)) throw missingColumn(display, name, names);
  const columns = [...builders.keys()];
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    const first = rowStart;
    await parquetRead({
      file: buffer,
      metadata,
      columns,
      rowStart,
      rowEnd,
      onChunk: ({ columnName, columnData, rowStart: chunkStart, rowEnd: chunkEnd }) => {
        const builder = builders.get(columnName);
        if (!builder) return;
        // Chunks may reach outside the requested rows: keep only this group's.
        const from = Math.max(first, chunkStart);
        const to = Math.min(rowEnd, chunkEnd);
        for (let row = from; row < to; row++) addValue(builder, columnData[row - chunkStart], () => `${display}: row ${row + 1}`);
      },
    });
    // Progress counts the file's bytes: this group's compressed column chunks, every column's.
    onBytes(group.columns.reduce((n, column) => n + Number(column.meta_data?.total_compressed_size ?? 0), 0));
    rowStart = rowEnd;
  }
  return Number(metadata.num_rows);
}
