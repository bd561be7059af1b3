import { isMap, isPair, isScalar, isSeq, parseDocument, type Node, type YAMLMap } from 'yaml';

/**
 * Each param as the params file writes it, keyed by its name with nested keys joined by dots (as
 * the run's params flatten). Parsing turns `1.0` into the number 1; tools that keep params as text
 * (MLflow) must show `1.0`. A string is its value; any other scalar is its text as written; a list
 * is flow YAML of its items as written (`[64, 0.50]`). The text must already parse (readParams).
 */
export function paramTexts(text: string): Record<string, string> {
  const contents = parseDocument(text).contents;
  const texts: Record<string, string> = {};
  if (isMap(contents)) flatten(contents, '', texts);
  return texts;
}

function flatten(map: YAMLMap, prefix: string, into: Record<string, string>): void {
  for (const pair of map.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    const name = prefix ? `${prefix}.${key}` : key;
    if (isMap(pair.value)) flatten(pair.value, name, into);
    else into[name] = valueText(pair.value as Node | null);
  }
}

function valueText(node: Node | null): string {
  if (node === null) return '';
  if (isScalar(node)) return typeof node.value === 'string' ? node.value : (node.source ?? String(node.value));
  return inlineText(node);
}

/** A value inside a list or an inline mapping: strings that were quoted stay quoted. */
function inlineText(node: unknown): string {
  if (node === null || node === undefined) return '';
  if (isScalar(node)) {
    if (typeof node.value !== 'string') return node.source ?? String(node.value);
    return node.type === 'PLAIN' ? node.value : JSON.stringify(node.value);
  }
  if (isSeq(node)) return `[${node.items.map(inlineText).join(', ')}]`;
  if (isMap(node)) return `{${node.items.map((pair) => (isPair(pair) ? `${inlineText(pair.key)}: ${inlineText(pair.value)}` : '')).join(', ')}}`;
  return String(node);
}

/** Params from their parsed values, for records made before `paramText`: strings as they are, the rest as JSON. */
export function flattenParamValues(params: Readonly<Record<string, unknown>>, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) Object.assign(out, flattenParamValues(value as Record<string, unknown>, name));
    else out[name] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return out;
}
