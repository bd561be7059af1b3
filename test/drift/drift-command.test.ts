import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { runIn, temporaryDirectory, writeTree } from '../helpers/project.js';

/** A seeded generator (mulberry32) and normal draws (Box–Muller), so the data is the same on every run. */
function random(seed: number): { uniform: () => number; normal: (mean?: number, sd?: number) => number } {
  let state = seed >>> 0;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = (mean = 0, sd = 1): number => mean + sd * Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal };
}

interface Shift {
  /** Added to the mean of age and income, in standard deviations. */
  readonly mean: number;
  /** Share of rows whose plan moves to "premium". */
  readonly plan: number;
}

const NONE: Shift = { mean: 0, plan: 0 };

/** id, age, income, plan (categorical), label. */
function csv(rows: number, seed: number, shift: Shift): string {
  const r = random(seed);
  const lines = ['id,age,income,plan,label'];
  for (let i = 0; i < rows; i++) {
    const age = r.normal(40 + 10 * shift.mean, 10).toFixed(1);
    const income = r.normal(50_000 + 15_000 * shift.mean, 15_000).toFixed(0);
    const u = r.uniform();
    const plan = r.uniform() < shift.plan ? 'premium' : u < 0.5 ? 'basic' : u < 0.8 ? 'plus' : 'premium';
    lines.push(`${i},${age},${income},${plan},${r.uniform() < 0.3 ? 1 : 0}`);
  }
  return `${lines.join('\n')}\n`;
}

function project(files: Record<string, string | Buffer>, drift = 'drift: { reference: data/reference.csv, current: data/current.csv, ignore: [id, label] }'): string {
  const root = temporaryDirectory();
  writeTree(root, { 'mlship.yml': `version: 1\nname: test\n${drift}\n`, ...files });
  return root;
}

const json = (value: unknown): unknown => (typeof value === 'string' ? JSON.parse(value) : value);

describe('mlship drift: shifted data is flagged, unshifted is not', () => {
  it.each([
    ['~200 rows (p-values: KS and chi-square)', 200, 'ks', 'chisquare'],
    ['~50,000 rows (distances: Wasserstein and Jensen–Shannon)', 50_000, 'wasserstein', 'jensenshannon'],
  ])('%s', async (_name, rows, numericMethod, categoricalMethod) => {
    const shifted = { mean: 0.6, plan: 0.3 };
    const root = project({
      'data/reference.csv': csv(rows, 1, NONE),
      'data/current.csv': csv(rows + 7, 2, NONE),
      'data/shifted.csv': csv(rows + 7, 3, shifted),
    });
    const same = await runIn(root, ['drift']);
    expect(same.error).toBeUndefined();
    expect(same.result!.outputs.drifted).toBe(false);
    expect(same.result!.outputs['drift-verdict']).toBe('no drift');
    expect(same.result!.outputs['drifted-features']).toEqual([]);
    const scores = json(same.result!.outputs.scores) as Record<string, { method: string; verdict: string }>;
    expect(Object.keys(scores).sort()).toEqual(['age', 'income', 'plan']);
    expect(scores.age!.method).toBe(numericMethod);
    expect(scores.plan!.method).toBe(categoricalMethod);

    const moved = await runIn(root, ['drift', '--current', path.join(root, 'data/shifted.csv')]);
    expect(moved.error).toBeUndefined();
    expect(moved.result!.outputs.drifted).toBe(true);
    expect(moved.result!.outputs['drift-share']).toBe(1);
    expect([...(moved.result!.outputs['drifted-features'] as string[])].sort()).toEqual(['age', 'income', 'plan']);
  });
});

describe('mlship drift: outputs and report', () => {
  it('writes the report with a chart per drifted feature, and --fail-on-drift exits 1', async () => {
    const root = project({ 'data/reference.csv': csv(300, 1, NONE), 'data/current.csv': csv(300, 4, { mean: 1, plan: 0 }) });
    const run = await runIn(root, ['drift', '--fail-on-drift', '--report-dir', 'out']);
    expect(run.exitCode).toBe(1);
    expect(run.result!.failure).toMatch(/^data drift: /);
    const files = readdirSync(path.join(root, 'out')).sort();
    expect(files).toEqual(['age.svg', 'income.svg', 'report.md']);
    const report = readFileSync(path.join(root, 'out/report.md'), 'utf8');
    expect(report).toContain('xychart-beta');
    expect(report).toMatch(/Reference: data\/reference\.csv, 300 rows\. Current: data\/current\.csv, 300 rows\./);
    // Sorted by severity: the drifted features first, plan (not drifted) last.
    const table = report.split('\n').filter((l) => /^\| (age|income|plan) /.test(l));
    expect(table.map((l) => l.split('|')[1]!.trim())).toEqual(expect.arrayContaining(['age', 'income']));
    expect(table[2]).toMatch(/^\| plan \| categorical \| chisquare \|.*🟢 no drift/);
    expect(run.result!.summary).toBe(report);
    expect(readFileSync(path.join(root, 'out/age.svg'), 'utf8')).toMatch(/^<svg /);
  });

  it('a critical feature that drifts makes the data set drift, whatever the share', async () => {
    const r = random(9);
    const rows = (shift: number): string => ['a,b,c,d', ...Array.from({ length: 300 }, () => [r.normal(shift), r.normal(), r.normal(), r.normal()].map((v) => v.toFixed(3)).join(','))].join('\n');
    const config = 'drift: { reference: ref.csv, current: cur.csv, features: { a: { critical: true }, b: null, c: null, d: null } }';
    const root = project({ 'ref.csv': rows(0), 'cur.csv': rows(1) }, config);
    const run = await runIn(root, ['drift']);
    expect(run.result!.outputs['drifted-features']).toEqual(['a']);
    expect(run.result!.outputs['drift-share']).toBe(0.25);
    expect(run.result!.outputs.drifted).toBe(true);
    expect(run.result!.summary).toMatch(/critical feature a drifted/);
  });

  it('too few rows is "not enough data", never "no drift"', async () => {
    const root = project({ 'data/reference.csv': csv(300, 1, NONE), 'data/current.csv': csv(5, 2, NONE) });
    const run = await runIn(root, ['drift']);
    expect(run.result!.outputs['drift-verdict']).toBe('not enough data');
    expect(run.result!.outputs.drifted).toBe(false);
    const failing = await runIn(root, ['drift', '--fail-on-drift']);
    expect(failing.exitCode).toBe(1);
    expect(failing.result!.failure).toMatch(/cannot tell whether the data drifted/);
  });
});

describe('mlship drift: formats', () => {
  it('reads JSON Lines and Parquet (written with hyparquet-writer) to the same scores as CSV', async () => {
    const referenceCsv = csv(400, 1, NONE);
    const currentCsv = csv(400, 5, { mean: 0.5, plan: 0.2 });
    const parse = (text: string): { age: number[]; income: number[]; plan: string[] } => {
      const rows = text.trim().split('\n').slice(1).map((l) => l.split(','));
      return { age: rows.map((x) => Number(x[1])), income: rows.map((x) => Number(x[2])), plan: rows.map((x) => x[3]!) };
    };
    const jsonl = (text: string): string => {
      const c = parse(text);
      return c.age.map((age, i) => JSON.stringify({ age, income: c.income[i], plan: c.plan[i] })).join('\n') + '\n';
    };
    const parquet = (text: string): Buffer => {
      const c = parse(text);
      return Buffer.from(
        parquetWriteBuffer({
          columnData: [
            { name: 'age', data: c.age, type: 'DOUBLE' },
            { name: 'income', data: c.income, type: 'DOUBLE' },
            { name: 'plan', data: c.plan, type: 'STRING' },
          ],
          rowGroupSize: 150,
        }),
      );
    };
    const root = project(
      {
        'csv/reference.csv': referenceCsv.replace(/^id,|\n\d+,/g, (m) => (m.startsWith('\n') ? '\n' : '')).replace(/,[01]\n/g, '\n').replace('plan,label', 'plan'),
        'csv/current.csv': currentCsv.replace(/^id,|\n\d+,/g, (m) => (m.startsWith('\n') ? '\n' : '')).replace(/,[01]\n/g, '\n').replace('plan,label', 'plan'),
        'jsonl/reference.jsonl': jsonl(referenceCsv),
        'jsonl/current.jsonl': jsonl(currentCsv),
      },
      'drift: { reference: csv/reference.csv, current: csv/current.csv }',
    );
    writeFileSync(path.join(root, 'reference.parquet'), parquet(referenceCsv));
    writeFileSync(path.join(root, 'current.parquet'), parquet(currentCsv));
    const fromCsv = await runIn(root, ['drift']);
    const fromJsonl = await runIn(root, ['drift', '--reference', path.join(root, 'jsonl/reference.jsonl'), '--current', path.join(root, 'jsonl/current.jsonl')]);
    const fromParquet = await runIn(root, ['drift', '--reference', path.join(root, 'reference.parquet'), '--current', path.join(root, 'current.parquet')]);
    expect(fromCsv.error).toBeUndefined();
    expect(fromJsonl.error).toBeUndefined();
    expect(fromParquet.error).toBeUndefined();
    expect(json(fromJsonl.result!.outputs.scores)).toEqual(json(fromCsv.result!.outputs.scores));
    expect(json(fromParquet.result!.outputs.scores)).toEqual(json(fromCsv.result!.outputs.scores));
    expect(fromCsv.result!.outputs.drifted).toBe(true);
  });

  it('reads CSV as RFC 4180 writes it: CRLF line ends, quoted values with commas and quotes, blank lines', async () => {
    const plain = csv(200, 6, NONE);
    const gold = '"plus, ""gold"""';
    const quirky = plain
      .split('\n')
      .map((line, i) => (i === 0 ? line : line.replace(/,(basic|plus|premium),/, (_m, plan: string) => (plan === 'plus' ? `,${gold},` : `,"${plan}",`))))
      .join('\r\n')
      .replace('\r\n5,', '\r\n\r\n5,');
    const root = project({ 'data/reference.csv': csv(200, 1, NONE), 'data/current.csv': quirky, 'data/plain.csv': plain.replace(/,plus,/g, `,${gold},`) });
    const fromQuirky = await runIn(root, ['drift']);
    const fromPlain = await runIn(root, ['drift', '--current', path.join(root, 'data/plain.csv')]);
    expect(fromQuirky.error).toBeUndefined();
    expect(json(fromQuirky.result!.outputs.scores)).toEqual(json(fromPlain.result!.outputs.scores));
    expect((json(fromQuirky.result!.outputs.scores) as Record<string, { current_rows: number }>).plan!.current_rows).toBe(200);
  });

  it('reads every data file of a directory', async () => {
    const root = project({ 'ref/a.csv': csv(100, 1, NONE), 'ref/b.csv': csv(100, 2, NONE), 'cur.csv': csv(150, 3, NONE) }, 'drift: { reference: ref, current: cur.csv, ignore: [id, label] }');
    const run = await runIn(root, ['drift']);
    expect(run.error).toBeUndefined();
    expect(run.result!.summary).toMatch(/Reference: ref, 200 rows\./);
  });
});

describe('mlship drift: bad input is exit 2, naming what is wrong', () => {
  it('a column only one side has, named with its side', async () => {
    const current = csv(50, 2, NONE).replace('id,age,income,plan,label', 'id,age,salary,plan,label');
    const run = await runIn(project({ 'data/reference.csv': csv(50, 1, NONE), 'data/current.csv': current }), ['drift']);
    expect(run.exitCode).toBe(2);
    expect(run.error!.message).toMatch(/"income" only in the reference \(data\/reference\.csv\); "salary" only in the current data \(data\/current\.csv\)/);
  });

  it('a non-numeric value in a numeric column, with its line and column', async () => {
    const current = csv(50, 2, NONE).split('\n');
    current[31] = '30,forty,50000,basic,0';
    const run = await runIn(project({ 'data/reference.csv': csv(50, 1, NONE), 'data/current.csv': current.join('\n') }), ['drift']);
    expect(run.exitCode).toBe(2);
    expect(run.error!.message).toMatch(/^data\/current\.csv: line 32, column "age": expected a number, found "forty" \(the column is numeric in the reference/);
  });

  it('empty current data', async () => {
    const run = await runIn(project({ 'data/reference.csv': csv(50, 1, NONE), 'data/current.csv': 'id,age,income,plan,label\n' }), ['drift']);
    expect(run.exitCode).toBe(2);
    expect(run.error!.message).toMatch(/data\/current\.csv: no data rows; the current data is empty/);
  });

  it('a feature the config names that one side lacks, at its config path', async () => {
    const root = project({ 'data/reference.csv': csv(50, 1, NONE), 'data/current.csv': csv(50, 2, NONE) }, 'drift: { reference: data/reference.csv, current: data/current.csv, features: { tenure: null } }');
    const run = await runIn(root, ['drift']);
    expect(run.exitCode).toBe(2);
    expect(run.error!.message).toMatch(/drift\.features\.tenure.*the reference \(data\/reference\.csv\) has no column "tenure"/);
  });

  it('a method that does not fit the feature type, from the config schema', async () => {
    const root = project({ 'data/reference.csv': csv(50, 1, NONE), 'data/current.csv': csv(50, 2, NONE) }, 'drift: { current: data/current.csv, features: { plan: { type: categorical, method: ks } } }');
    const run = await runIn(root, ['drift']);
    expect(run.exitCode).toBe(2);
    expect(run.error!.message).toMatch(/drift\.features\.plan\.method: expected one of chisquare, jensenshannon, psi for a categorical feature/);
  });

  it('no current data configured', async () => {
    const root = project({ 'data/reference.csv': csv(50, 1, NONE) }, 'drift: { reference: data/reference.csv }');
    const run = await runIn(root, ['drift']);
    expect(run.exitCode).toBe(2);
    expect(run.error!.message).toMatch(/set drift\.current or pass --current/);
    expect(existsSync(path.join(root, '.mlship/reports/drift'))).toBe(false);
  });
});
