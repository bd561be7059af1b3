import { PredictionsError } from './errors.js';
import type { PredictionSet } from './predictions.js';

/**
 * Reading predictions files: CSV with a header row, or JSON Lines with one object per line. Both
 * are read straight into typed columns. Every error names the line (1-based, the CSV header is
 * line 1) and the column, and says what was expected, so a ten-million-row file can be fixed
 * without a search.
 */
export type PredictionsFormat = 'csv' | 'jsonl';

export interface ParseOptions {
  /** Default "label": 0/1, true/false (any case), or 0.0/1.0. */
  readonly labelColumn?: string;
  /** Default "score": a finite number. */
  readonly scoreColumn?: string;
  /** Optional: each row's slice name, for per-group evaluation. */
  readonly groupColumn?: string;
}

interface Columns {
  readonly label: string;
  readonly score: string;
  readonly group: string | undefined;
}

export function parsePredictions(text: string, format: PredictionsFormat, options: ParseOptions = {}): PredictionSet {
  const columns: Columns = {
    label: options.labelColumn ?? 'label',
    score: options.scoreColumn ?? 'score',
    group: options.groupColumn,
  };
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text; // a byte-order mark is not data
  switch (format) {
    case 'csv':
      return parseCsv(body, columns);
    case 'jsonl':
      return parseJsonLines(body, columns);
    default:
      throw new PredictionsError(`unknown predictions format ${JSON.stringify(format)}; expected "csv" or "jsonl"`);
  }
}

/** Growing columns, allocated once at the largest possible row count (the number of lines). */
class ColumnBuilder {
  private readonly labels: Uint8Array;
  private readonly scores: Float64Array;
  private readonly groups: string[] | undefined;
  private count = 0;

  constructor(capacity: number, withGroups: boolean) {
    this.labels = new Uint8Array(capacity);
    this.scores = new Float64Array(capacity);
    this.groups = withGroups ? [] : undefined;
  }

  push(label: 0 | 1, score: number, group: string | undefined): void {
    this.labels[this.count] = label;
    this.scores[this.count] = score;
    if (this.groups !== undefined) this.groups.push(group as string);
    this.count += 1;
  }

  get rows(): number {
    return this.count;
  }

  finish(): PredictionSet {
    const n = this.count;
    const labels = n === this.labels.length ? this.labels : this.labels.slice(0, n);
    const scores = n === this.scores.length ? this.scores : this.scores.slice(0, n);
    return this.groups === undefined ? { labels, scores } : { labels, scores, groups: this.groups };
  }
}

/**
 * One string per distinct group name, so ten million rows of a few groups hold a few strings
 * rather than ten million copies (which the collector would have to promote and trace). Past a
 * few thousand names (row ids, say) the names are kept as they come.
 */
class GroupNames {
  private readonly names = new Map<string, string>();

  intern(name: string): string {
    const known = this.names.get(name);
    if (known !== undefined) return known;
    if (this.names.size < 10_000) this.names.set(name, name);
    return name;
  }
}

function lineCount(text: string): number {
  let lines = 1;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) lines += 1;
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Values. The readers return a sentinel instead of throwing so the per-row path allocates
// nothing; the error builders run only when a value is wrong, and name where it came from.

/** 0 or 1 from "0", "1", "true", "false" (any case), or a number equal to 0 or 1 ("1.0"); else -1. */
function readLabel(raw: string): 0 | 1 | -1 {
  if (raw === '0') return 0;
  if (raw === '1') return 1;
  const lower = raw.trim().toLowerCase();
  if (lower === 'true') return 1;
  if (lower === 'false') return 0;
  if (lower !== '' && isDecimal(lower)) {
    const value = Number(lower);
    if (value === 0) return 0;
    if (value === 1) return 1;
  }
  return -1;
}

function labelError(found: string, place: string): PredictionsError {
  return new PredictionsError(`${place}: expected a label 0 or 1 (or true/false), found ${found}`);
}

/** A finite number in decimal notation, or NaN. */
function readScore(raw: string): number {
  const value = Number(raw);
  // Number() reads "" and "  " as 0 and "0x1f" as 31; neither is a score.
  if (value - value === 0 && (value !== 0 || raw.trim() !== '') && isDecimal(raw)) return value;
  return NaN;
}

/** Why `raw` is not a score: empty, NaN or an infinity (refused by name), too large, or not a number. */
function scoreError(raw: string, place: string): PredictionsError {
  const lower = raw.trim().toLowerCase();
  if (lower === '') return new PredictionsError(`${place}: expected a number, found an empty value`);
  if (/^[+-]?nan$/.test(lower)) return new PredictionsError(`${place}: the score is NaN; scores must be finite numbers`);
  if (/^[+-]?inf(inity)?$/.test(lower)) {
    return new PredictionsError(`${place}: the score is ${lower.startsWith('-') ? '-' : ''}Infinity; scores must be finite numbers`);
  }
  if (isDecimal(lower) && Math.abs(Number(lower)) === Infinity) {
    return new PredictionsError(`${place}: the score ${quote(raw)} is beyond the largest double; scores must be finite numbers`);
  }
  return new PredictionsError(`${place}: expected a number, found ${quote(raw)}`);
}

/** Refuses the hexadecimal, binary and octal literals Number() accepts: "0x1f", "0b1", "0o7". */
function isDecimal(raw: string): boolean {
  const text = raw.charCodeAt(0) <= 0x20 ? raw.trimStart() : raw;
  if (text.length < 3 || text.charCodeAt(0) !== 0x30) return true;
  const marker = text.charCodeAt(1) | 0x20; // lower-case it
  return marker !== 0x78 && marker !== 0x62 && marker !== 0x6f;
}

function quote(raw: string): string {
  return JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}…` : raw);
}

// ---------------------------------------------------------------------------------------------
// CSV (RFC 4180: comma-separated; fields optionally in double quotes, "" for a quote, and then
// free to hold commas and line breaks; lines end in \n or \r\n; empty lines hold no row).

const COMMA = 0x2c;
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

interface CsvPosition {
  /** Offset of the next character to read. */
  pos: number;
  /** 1-based line of that character. */
  line: number;
}

/** Skips empty lines; false at the end of the text. */
function skipBlankLines(text: string, at: CsvPosition): boolean {
  for (;;) {
    const c = text.charCodeAt(at.pos);
    if (c === LF) at.pos += 1;
    else if (c === CR && text.charCodeAt(at.pos + 1) === LF) at.pos += 2;
    else return at.pos < text.length;
    at.line += 1;
  }
}

/** What a row reader reports each field to: its [start, end) span, or its text if it was quoted. */
interface FieldSink {
  bare(index: number, start: number, end: number): void;
  quoted(index: number, value: string): void;
}

/**
 * The fields a data row is read for (label, score, group), by slot. Unquoted ones are kept as
 * spans and not sliced out until used: a string per field would be garbage for the collector.
 */
class WantedFields implements FieldSink {
  private readonly spans: Float64Array;
  private readonly quotedValues: (string | undefined)[];

  /** slots[i]: where field i goes, or -1 when it is not wanted. */
  constructor(
    private readonly slots: Int8Array,
    wanted: number,
  ) {
    this.spans = new Float64Array(2 * wanted);
    this.quotedValues = new Array<string | undefined>(wanted).fill(undefined);
  }

  bare(index: number, start: number, end: number): void {
    const slot = this.slots[index] ?? -1;
    if (slot < 0) return;
    this.quotedValues[slot] = undefined;
    this.spans[2 * slot] = start;
    this.spans[2 * slot + 1] = end;
  }

  quoted(index: number, value: string): void {
    const slot = this.slots[index] ?? -1;
    if (slot >= 0) this.quotedValues[slot] = value;
  }

  text(source: string, slot: number): string {
    return this.quotedValues[slot] ?? source.slice(this.spans[2 * slot], this.spans[2 * slot + 1]);
  }

  /** The character code of a one-character unquoted field, else -1. */
  singleChar(source: string, slot: number): number {
    if (this.quotedValues[slot] !== undefined) return -1;
    const start = this.spans[2 * slot] as number;
    return (this.spans[2 * slot + 1] as number) - start === 1 ? source.charCodeAt(start) : -1;
  }
}

/** Every field, as text: for the header row. */
class AllFields implements FieldSink {
  readonly values: string[] = [];

  constructor(private readonly source: string) {}

  bare(index: number, start: number, end: number): void {
    this.values[index] = this.source.slice(start, end);
  }

  quoted(index: number, value: string): void {
    this.values[index] = value;
  }
}

/**
 * Reads the row at `at` (not an empty line), reports its fields to `sink`, and moves past its
 * line end. Returns the number of fields. Unquoted fields are found with indexOf, which scans in
 * native code several times faster than a loop over char codes.
 */
function readCsvRow(text: string, at: CsvPosition, sink: FieldSink, columnName: (index: number) => string): number {
  const length = text.length;
  let pos = at.pos;
  let lineEnd = endOfLine(text, pos);
  let count = 0;
  for (;;) {
    if (text.charCodeAt(pos) === QUOTE) {
      at.pos = pos;
      sink.quoted(count, readQuoted(text, at, columnName(count)));
      pos = at.pos;
      lineEnd = endOfLine(text, pos); // the quotes may have held line breaks
    } else {
      const comma = text.indexOf(',', pos);
      let end = comma !== -1 && comma < lineEnd ? comma : lineEnd;
      if (end === lineEnd && end > pos && text.charCodeAt(end - 1) === CR) end -= 1;
      sink.bare(count, pos, end);
      pos = end;
    }
    count += 1;
    if (pos < length && text.charCodeAt(pos) === COMMA) pos += 1;
    else break;
  }
  at.pos = lineEnd + 1;
  at.line += 1;
  return count;
}

function endOfLine(text: string, from: number): number {
  const at = text.indexOf('\n', from);
  return at === -1 ? text.length : at;
}

/** A quoted field from its opening quote; `at` ends just past the closing quote. */
function readQuoted(text: string, at: CsvPosition, column: string): string {
  const openedOn = at.line;
  let value = '';
  let from = at.pos + 1;
  for (;;) {
    const close = text.indexOf('"', from);
    if (close === -1) throw new PredictionsError(`line ${openedOn}, ${column}: a quoted value is never closed`);
    value += text.slice(from, close);
    for (let nl = text.indexOf('\n', from); nl !== -1 && nl < close; nl = text.indexOf('\n', nl + 1)) at.line += 1;
    if (text.charCodeAt(close + 1) === QUOTE) {
      value += '"';
      from = close + 2;
      continue;
    }
    at.pos = close + 1;
    const next = text.charCodeAt(at.pos);
    if (at.pos < text.length && next !== COMMA && next !== LF && next !== CR) {
      throw new PredictionsError(`line ${at.line}, ${column}: unexpected text after a closing quote; expected a comma or the end of the line`);
    }
    return value;
  }
}

const LABEL_SLOT = 0;
const SCORE_SLOT = 1;
const GROUP_SLOT = 2;

function parseCsv(text: string, columns: Columns): PredictionSet {
  let header: readonly string[] = [];
  const columnName = (index: number): string =>
    index < header.length ? `column ${index + 1} (${quote(header[index] as string)})` : `column ${index + 1}`;
  const at: CsvPosition = { pos: 0, line: 1 };
  if (!skipBlankLines(text, at)) throw new PredictionsError('no rows: the file is empty; expected a header row and one row per prediction');
  const headerFields = new AllFields(text);
  readCsvRow(text, at, headerFields, (index) => `column ${index + 1} of the header`);
  header = headerFields.values.map((name) => name.trim());
  const width = header.length;
  const indexOf = (name: string, role: string): number => {
    const index = header.indexOf(name);
    if (index === -1) {
      throw new PredictionsError(`line 1: no ${role} column ${quote(name)}; the header has columns: ${header.map((h) => quote(h)).join(', ')}`);
    }
    if (header.indexOf(name, index + 1) !== -1) throw new PredictionsError(`line 1: the column ${quote(name)} appears twice in the header`);
    return index;
  };
  const slots = new Int8Array(width).fill(-1);
  const labelIndex = indexOf(columns.label, 'label');
  const scoreIndex = indexOf(columns.score, 'score');
  const groupIndex = columns.group === undefined ? -1 : indexOf(columns.group, 'group');
  slots[labelIndex] = LABEL_SLOT;
  slots[scoreIndex] = SCORE_SLOT;
  if (groupIndex !== -1) slots[groupIndex] = GROUP_SLOT;

  const builder = new ColumnBuilder(lineCount(text), groupIndex !== -1);
  const fields = new WantedFields(slots, 3);
  const groups = new GroupNames();
  while (skipBlankLines(text, at)) {
    const line = at.line;
    const count = readCsvRow(text, at, fields, columnName);
    // The width is checked before the values: a short row's real problem is its missing columns.
    if (count !== width) throw new PredictionsError(`line ${line}: expected ${width} columns (${header.join(',')}), found ${count}`);
    // A bare 0 or 1, the common label, is read from its char code without making a string.
    let label = fields.singleChar(text, LABEL_SLOT) - 0x30;
    if (label !== 0 && label !== 1) {
      const labelText = fields.text(text, LABEL_SLOT);
      label = readLabel(labelText);
      if (label === -1) throw labelError(quote(labelText), `line ${line}, ${columnName(labelIndex)}`);
    }
    const scoreText = fields.text(text, SCORE_SLOT);
    const score = readScore(scoreText);
    if (Number.isNaN(score)) throw scoreError(scoreText, `line ${line}, ${columnName(scoreIndex)}`);
    builder.push(label as 0 | 1, score, groupIndex === -1 ? undefined : groups.intern(fields.text(text, GROUP_SLOT)));
  }
  if (builder.rows === 0) {
    throw new PredictionsError(`no rows: the file has a header (${header.join(',')}) but no data rows`);
  }
  return builder.finish();
}

// ---------------------------------------------------------------------------------------------
// JSON Lines

/**
 * One JSON.parse per line: native, and (measured) as fast as a hand-written reader of flat
 * objects in JS, which would have to loop over char codes.
 */
function parseJsonLines(text: string, columns: Columns): PredictionSet {
  const builder = new ColumnBuilder(lineCount(text), columns.group !== undefined);
  const groups = new GroupNames();
  let line = 0;
  let from = 0;
  while (from <= text.length) {
    line += 1;
    const newline = text.indexOf('\n', from);
    const to = newline === -1 ? text.length : newline;
    const raw = text.slice(from, to > from && text.charCodeAt(to - 1) === CR ? to - 1 : to);
    from = to + 1;
    if (raw.trim() === '') continue;
    const record = parseJsonObject(raw, line);
    const label = jsonLabel(field(record, columns.label, 'label', line));
    if (label === -1) throw labelError(describeJson(record[columns.label]), `line ${line}, ${quote(columns.label)}`);
    const score = jsonScore(field(record, columns.score, 'score', line));
    if (Number.isNaN(score)) throw jsonScoreError(record[columns.score], `line ${line}, ${quote(columns.score)}`);
    let group: string | undefined;
    if (columns.group !== undefined) {
      group = jsonGroup(field(record, columns.group, 'group', line));
      if (group === undefined) {
        const found = describeJson(record[columns.group]);
        throw new PredictionsError(`line ${line}, ${quote(columns.group)}: expected a group name (a string or number), found ${found}`);
      }
      group = groups.intern(group);
    }
    builder.push(label, score, group);
  }
  if (builder.rows === 0) throw new PredictionsError('no rows: the file has no JSON objects; expected one object per line');
  return builder.finish();
}

const NON_FINITE = '__mlship_nonfinite:';

/**
 * One line's object. Python's json.dumps writes NaN and Infinity bare, which JSON.parse refuses;
 * such lines are parsed a second time with those tokens quoted, so the error can name the score.
 */
function parseJsonObject(raw: string, line: number): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    try {
      value = JSON.parse(raw.replace(/(?<=[:[,]\s*)(-?Infinity|NaN)(?=\s*[,}\]])/g, `"${NON_FINITE}$1"`));
    } catch {
      throw new PredictionsError(`line ${line}: not valid JSON (${(error as Error).message}); expected one object per line`);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PredictionsError(`line ${line}: expected a JSON object, found ${describeJson(value)}`);
  }
  return value as Record<string, unknown>;
}

function field(record: Record<string, unknown>, key: string, role: string, line: number): unknown {
  if (Object.hasOwn(record, key)) return record[key];
  const keys = Object.keys(record);
  throw new PredictionsError(
    `line ${line}: no ${role} key ${quote(key)}; the keys found are: ${keys.length === 0 ? '(none)' : keys.map((k) => quote(k)).join(', ')}`,
  );
}

function jsonLabel(value: unknown): 0 | 1 | -1 {
  if (value === 0 || value === 1) return value;
  if (value === true) return 1;
  if (value === false) return 0;
  if (typeof value === 'string' && !value.startsWith(NON_FINITE)) return readLabel(value);
  return -1;
}

/** The score, or NaN when it is not a finite number (JSON's 1e999 parses to Infinity). */
function jsonScore(value: unknown): number {
  if (typeof value === 'number') return Number.isFinite(value) ? value : NaN;
  if (typeof value === 'string' && !value.startsWith(NON_FINITE)) return readScore(value);
  return NaN;
}

function jsonScoreError(value: unknown, place: string): PredictionsError {
  if (typeof value === 'number') return scoreError(String(value), place); // 1e999 parsed as Infinity
  if (typeof value === 'string') return scoreError(value.startsWith(NON_FINITE) ? value.slice(NON_FINITE.length) : value, place);
  return new PredictionsError(`${place}: expected a number, found ${describeJson(value)}`);
}

function jsonGroup(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string' && value.startsWith(NON_FINITE)) return value.slice(NON_FINITE.length);
  if (typeof value === 'string') return `the string ${quote(value)}`;
  return String(value);
}
