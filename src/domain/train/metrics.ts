/**
 * Metrics as training commands write them (nested JSON objects) become one flat map of finite
 * numbers: `{"test": {"auc": 0.91}}` → `{"test.auc": 0.91}`. Anything else is refused by key.
 */
export class MetricsError extends Error {}

export function flattenMetrics(value: unknown): Record<string, number> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MetricsError('expected a JSON object of metric names to numbers');
  }
  const out: Record<string, number> = {};
  const visit = (node: unknown, key: string): void => {
    if (typeof node === 'number') {
      if (!Number.isFinite(node)) throw new MetricsError(`"${key}" is ${node}; every metric must be a finite number`);
      out[key] = node;
    } else if (typeof node === 'object' && node !== null && !Array.isArray(node)) {
      const entries = Object.entries(node);
      if (entries.length === 0) throw new MetricsError(`"${key}" is an empty object; expected numbers`);
      for (const [child, value] of entries) visit(value, key === '' ? child : `${key}.${child}`);
    } else {
      throw new MetricsError(`"${key}" is ${describe(node)}; every metric must be a finite number`);
    }
  };
  visit(value, '');
  if (Object.keys(out).length === 0) throw new MetricsError('no metrics: the object is empty');
  return out;
}

/** JSON has no NaN or Infinity; Python's json.dump writes them anyway, so they are read and refused by name. */
export function parseMetricsJson(text: string): unknown {
  return JSON.parse(text.replace(/(?<=[:[,]\s*)(-?Infinity|NaN)(?=\s*[,}\]])/g, '"__nonfinite:$1"'), (_key, value: unknown) =>
    typeof value === 'string' && value.startsWith('__nonfinite:') ? Number(value.slice('__nonfinite:'.length)) : value,
  );
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return String(value);
}
