/**
 * Smoke cases: JSONL, one `{"input": {feature: value, …}, "label": 0|1, "score": <offline score>}`
 * per line (label and score optional). The offline score is what the model said in training; the
 * live endpoint must say the same (training/serving skew), and the label says whether it is right.
 */
export interface SmokeCase {
  readonly input: Readonly<Record<string, unknown>>;
  readonly label?: 0 | 1 | undefined;
  readonly score?: number | undefined;
  /** 1-based line in the file, for messages. */
  readonly line: number;
}

export class SmokeCasesError extends Error {}

export function parseSmokeCases(text: string, display: string): SmokeCase[] {
  const cases: SmokeCase[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const where = `${display}:${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new SmokeCasesError(`${where}: not JSON (${(error as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SmokeCasesError(`${where}: expected an object {"input": {...}, "label": 0|1, "score": n}`);
    const { input, label, score, ...rest } = value as Record<string, unknown>;
    const unknown = Object.keys(rest);
    if (unknown.length > 0) throw new SmokeCasesError(`${where}: unknown key ${JSON.stringify(unknown[0])} (expected input, label, score)`);
    if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new SmokeCasesError(`${where}: "input" must be an object of feature values, got ${describe(input)}`);
    if (label !== undefined && label !== 0 && label !== 1) throw new SmokeCasesError(`${where}: "label" must be 0 or 1, got ${describe(label)}`);
    if (score !== undefined && (typeof score !== 'number' || !Number.isFinite(score))) throw new SmokeCasesError(`${where}: "score" must be a finite number, got ${describe(score)}`);
    cases.push({ input: input as Record<string, unknown>, line: i + 1, ...(label !== undefined ? { label } : {}), ...(score !== undefined ? { score } : {}) });
  });
  if (cases.length === 0) throw new SmokeCasesError(`${display}: no cases (the file is empty)`);
  return cases;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  return JSON.stringify(value);
}
