import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fastNumber, type ColumnType, type ColumnValues } from '../../src/adapters/tabular/columns.js';
import { readTable, readTableOnWorker, type Table } from '../../src/adapters/tabular/read-table.js';
import { sortedCount, sortedDoubles } from '../../src/domain/drift/sort.js';

const dir = mkdtempSync(path.join(tmpdir(), 'mlship-read-on-worker-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileCount = 0;
function csvFile(text: string): string {
  const file = path.join(dir, `t${fileCount++}.csv`);
  writeFileSync(file, text);
  return file;
}

type Types = ReadonlyMap<string, { type: ColumnType; source: 'declared' | 'reference' }>;
const options = (columns: string[], types: Types = new Map()) => ({ columns, types, display: (f: string) => f });

const bitsOf = (values: Float64Array): string => Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('hex');

/** Bit for bit (-0 is not 0 here), whether the numbers are held as doubles or as decimals. */
function plain(table: Table): unknown {
  return {
    rows: table.rows,
    columns: [...table.columns].map(([name, c]: [string, ColumnValues]) =>
      c.type === 'numeric' ? { name, missing: c.missing, bits: bitsOf(sortedDoubles(c.values, new Float64Array(sortedCount(c.values)))) } : { name, c },
    ),
  };
}

describe('reading numeric CSV on a worker thread gives the table readTable gives', () => {
  const cases: Record<string, string> = {
    'plain numbers, an unwanted text column between': 'a,name,b\n1.5,x,-2\n0.25,"quoted, skipped?",3e2\n-0,y,7\n',
    'CRLF line ends, blank lines, no final line end': 'a,b\r\n1,2\r\n\r\n\n3.5,-4.25\r\n5,6',
    'a byte-order mark and spaces around header names': '\uFEFF a , b\n1,2\n3,4\n',
    'empty fields and missing-value tokens': 'a,b\n,1\nNA,2\n3,nan\nnull,\n4,None\n',
    'numbers only Number() reads: 17 digits, large exponents, a leading plus, spaces': 'a,b\n0.30000000000000004,1e300\n+1.5,2.5e-320\n 7 ,123456789012345678901234\n.5,5.\n',
    'a number cut by a carriage return before a comma': 'a,b\n1.5\r,2\n3,4\n',
    'signs on plain rows: minus, plus, none': 'a,b\n+1.5,-2\n-0.25,+3\n7,-1\n+0,8\n',
    'decimals that gain places further down, and zeros of both signs': `a,b\n${Array.from({ length: 40 }, (_, i) => `${i},-${i}.5`).join('\n')}\n-0,0.125\n0.001,-0.000\n-0.0,7\n`,
    'a column that outgrows 31-bit integers further down, then holds doubles': `a,b\n${'1.5,-0\n'.repeat(30)}2147483.648,1e-7\n-0,3.25\n0.5,4\n`,
  };
  for (const [name, text] of Object.entries(cases)) {
    it(name, async () => {
      const file = csvFile(text);
      const columns = text.replace(/^\uFEFF/, '').split(/\r?\n/)[0]!.split(',').map((c) => c.trim()).filter((c) => c !== 'name');
      const expected = plain(await readTable([file], options(columns)));
      for (const chunkBytes of [3, 7, 16, 1 << 20]) {
        const read = await readTableOnWorker([file], { ...options(columns), chunkBytes });
        expect('table' in read ? plain(read.table) : read).toEqual(expected);
      }
    });
  }

  it('random numbers over several files, cut at every kind of place', async () => {
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const number = () => {
      const r = random();
      if (r < 0.05) return '';
      if (r < 0.1) return (random() * 1e6 - 5e5).toExponential(Math.floor(random() * 18));
      if (r < 0.15) return String(random() * 2 - 1); // shortest round-trip, up to 17 digits
      return (random() * 200 - 100).toFixed(Math.floor(random() * 8));
    };
    const files = [0, 1, 2].map(() => csvFile(`x,y,z\n${Array.from({ length: 2000 }, () => `${number()},${number()},${number()}`).join('\n')}\n`));
    const expected = plain(await readTable(files, options(['z', 'x'])));
    for (const chunkBytes of [5, 97, 4096]) {
      const read = await readTableOnWorker(files, { ...options(['z', 'x']), chunkBytes });
      expect('table' in read ? plain(read.table) : read).toEqual(expected);
    }
  });

  it('more rows than the first lines suggest: columns outgrow the room made for them, as integers and as doubles', async () => {
    // The row estimate comes from the first 256 KiB, long lines here; the short ones after are most of the rows.
    const file = csvFile(`a,b\n${'0.100000000000001,2.5\n'.repeat(13_000)}${'1,-2\n'.repeat(200_000)}`);
    const expected = plain(await readTable([file], options(['a', 'b'])));
    const read = await readTableOnWorker([file], options(['a', 'b']));
    expect('table' in read ? plain(read.table) : read).toEqual(expected);
  });
});

describe('the worker holds decimals as integers, half the memory of doubles', () => {
  it("as many places as the column's longest decimal; doubles for a column that needs more than 9 places or 31 bits", async () => {
    const file = csvFile('a,b,c,d\n1.25,3,0.1,1\n-0.5,-0,0.30000000000000004,2.5\n7,12,1,3000000.001\n');
    const read = await readTableOnWorker([file], options(['a', 'b', 'c', 'd']));
    if (!('table' in read)) expect.fail(read.unusual);
    const values = (name: string) => (read.table.columns.get(name) as { values: unknown }).values;
    expect(values('a')).toEqual({ units: Int32Array.from([-50, 125, 700]), decimals: 2, negativeZeros: 0 });
    expect(values('b')).toEqual({ units: Int32Array.from([0, 3, 12]), decimals: 0, negativeZeros: 1 });
    expect(values('c')).toEqual(Float64Array.from([0.1, 0.30000000000000004, 1]));
    expect(values('d')).toEqual(Float64Array.from([1, 2.5, 3000000.001]));
  });
});

describe('the worker leaves to readTable what is not plain numeric CSV', () => {
  const declines: [string, string, Types?][] = [
    ['a quoted value in a wanted column', 'a,b\n1,"2"\n'],
    ['a value that is not a number', 'a,b\n1,2\n3,four\n'],
    ['a row narrower than the header', 'a,b\n1,2\n3\n'],
    ['a row wider than the header', 'a,b\n1,2\n3,4,5\n'],
    ['a column with no value, not declared numeric', 'a,b\n1,\n2,\n'],
    ['a column declared categorical', 'a,b\n1,2\n', new Map([['b', { type: 'categorical', source: 'declared' }]])],
  ];
  for (const [name, text, types] of declines) {
    it(name, async () => {
      const read = await readTableOnWorker([csvFile(text)], options(['a', 'b'], types));
      expect(read).toEqual({ unusual: expect.any(String) });
    });
  }

  it('a column with no value is numeric when declared so', async () => {
    const types: Types = new Map([['b', { type: 'numeric', source: 'declared' }]]);
    const file = csvFile('a,b\n1,\n2,\n');
    const read = await readTableOnWorker([file], options(['a', 'b'], types));
    expect('table' in read && plain(read.table)).toEqual(plain(await readTable([file], options(['a', 'b'], types))));
  });
});

describe('the fast number reader gives what Number() gives, or declines', () => {
  const agrees = (text: string) => {
    const value = fastNumber(Buffer.from(text), 0, text.length);
    return Number.isNaN(value) || Object.is(value, Number(text));
  };

  it('on edge cases', () => {
    const edge = ['0', '-0', '+0', '00', '0.0', '-0.0e-400', '1e22', '1e23', '9007199254740993', '123456789012345', '1234567890123456', '0.1', '0.3', '1.7976931348623157e308', '5e-324', '2.2250738585072014e-308', '1.', '.5', '-.5', '5e', '5e+', '.', '-', '', 'e5', '1e-22', '1e-23', '4.35', '999999999999999e22', '0.000000000000000000000001', '1_0', '0x10', '1,5'];
    for (const text of edge) expect([text, agrees(text)]).toEqual([text, true]);
    expect(fastNumber(Buffer.from('0x10'), 0, 4)).toBeNaN();
  });

  it('on a million random decimal strings', () => {
    let seed = 99;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const digits = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 10)).join('');
    let read = 0;
    for (let i = 0; i < 1_000_000; i++) {
      let text = random() < 0.3 ? '-' : random() < 0.05 ? '+' : '';
      text += digits(Math.floor(random() * 10));
      if (random() < 0.8) text += `.${digits(Math.floor(random() * 12))}`;
      if (random() < 0.2) text += `e${random() < 0.5 ? '-' : ''}${Math.floor(random() * 30)}`;
      if (!agrees(text)) expect.fail(`fastNumber(${JSON.stringify(text)}) ≠ Number()`);
      if (!Number.isNaN(fastNumber(Buffer.from(text), 0, text.length))) read++;
    }
    expect(read).toBeGreaterThan(500_000); // most are read by the fast path, not declined
  });
});
