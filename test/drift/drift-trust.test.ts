import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runIn, temporaryDirectory, writeTree } from '../helpers/project.js';

/** Two numeric columns; `shift` moves both means by that many standard deviations. */
function csv(header: readonly string[], rows: number, seed: number, shift: number): string {
  let state = seed >>> 0;
  const uniform = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 4294967296;
  };
  const normal = (): number => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  const lines = [header.join(',')];
  for (let i = 0; i < rows; i++) lines.push(header.map(() => (normal() + shift).toFixed(3)).join(','));
  return `${lines.join('\n')}\n`;
}

function project(header: readonly string[], shift: number): string {
  const root = temporaryDirectory();
  writeTree(root, {
    'mlship.yml': 'version: 1\nname: test\ndrift: { reference: data/reference.csv, current: data/current.csv }\n',
    'data/reference.csv': csv(header, 400, 1, 0),
    'data/current.csv': csv(header, 400, 2, shift),
  });
  return root;
}

describe('mlship drift: secrets', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('masks a secret that reaches the report through the data: report, charts and their file names, summary, failure (outputs are masked where the CLI and the action write them)', async () => {
    const secret = 'hunter2-drift-credential';
    vi.stubEnv('MLSHIP_TEST_WAREHOUSE_PASSWORD', secret);
    const root = project(['tenure', `${secret}_spend`], 1);
    const run = await runIn(root, ['drift', '--fail-on-drift', '--report-dir', 'out']);
    expect(run.exitCode).toBe(1);
    const files = readdirSync(path.join(root, 'out'));
    expect(files.join(' ')).not.toContain(secret);
    const written: Record<string, string> = {
      summary: run.result!.summary ?? '',
      failure: run.result!.failure ?? '',
    };
    for (const file of files) written[file] = readFileSync(path.join(root, 'out', file), 'utf8');
    expect(Object.keys(written)).toEqual(expect.arrayContaining(['report.md', 'tenure.svg']));
    for (const [what, text] of Object.entries(written)) {
      expect(text, what).not.toContain(secret);
    }
    expect(written['report.md']).toContain('***_spend');
  });
});

describe('mlship drift: two runs at once', () => {
  it('each gets its own verdict, and the report left behind is wholly one of them', async () => {
    const root = project(['tenure', 'spend'], 0);
    writeTree(root, { 'data/shifted.csv': csv(['tenure', 'spend'], 400, 3, 1) });
    const [calm, shifted] = await Promise.all([
      runIn(root, ['drift', '--report-dir', 'out']),
      runIn(root, ['drift', '--current', path.join(root, 'data/shifted.csv'), '--report-dir', 'out']),
    ]);
    expect(calm.error?.message ?? '', 'calm').toBe('');
    expect(shifted.error?.message ?? '', 'shifted').toBe('');
    expect(calm.exitCode).toBe(0);
    expect(shifted.exitCode).toBe(0);
    expect(calm.result!.outputs.drifted).toBe(false);
    expect(shifted.result!.outputs.drifted).toBe(true);
    const report = readFileSync(path.join(root, 'out', 'report.md'), 'utf8');
    expect([calm.result!.summary, shifted.result!.summary]).toContain(report);
    expect(readdirSync(path.join(root, 'out')).filter((name) => name.includes('.tmp'))).toEqual([]);
  });
});
