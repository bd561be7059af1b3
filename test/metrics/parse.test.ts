import { describe, expect, it } from 'vitest';
import { PredictionsError, parsePredictions, type PredictionsFormat } from '../../src/domain/metrics/index.js';
import { ConfigurationError, ExitCode } from '../../src/errors.js';

const asArrays = (text: string, format: PredictionsFormat, options = {}) => {
  const set = parsePredictions(text, format, options);
  return { labels: [...set.labels], scores: [...set.scores], groups: set.groups };
};

describe('parsePredictions: CSV', () => {
  it('reads a header and rows, with other columns ignored', () => {
    expect(asArrays('id,label,score\na,1,0.9\nb,0,0.25\n', 'csv')).toEqual({ labels: [1, 0], scores: [0.9, 0.25], groups: undefined });
  });

  it.each([
    ['\\r\\n line ends', 'label,score\r\n1,0.5\r\n0,0.25\r\n'],
    ['no trailing newline', 'label,score\n1,0.5\n0,0.25'],
    ['blank lines and a byte-order mark', '\uFEFFlabel,score\n\n1,0.5\n\n0,0.25\n\n'],
    ['quoted values and header', '"label","score"\n"1","0.5"\n0,"0.25"\n'],
    ['labels as booleans', 'label,score\nTrue,0.5\nfalse,0.25\n'],
    ['labels as floats', 'label,score\n1.0,0.5\n0.0,0.25\n'],
    ['spaces around the header names', ' label , score \n1,0.5\n0,0.25\n'],
  ])('tolerates %s', (_name, text) => {
    expect(asArrays(text, 'csv')).toMatchObject({ labels: [1, 0], scores: [0.5, 0.25] });
  });

  it('reads quoted fields with commas, "" escapes and newlines, and counts lines through them', () => {
    const text = 'note,label,score\n"a, ""quoted""\nnote",1,0.5\nplain,0,oops\n';
    expect(() => parsePredictions(text, 'csv')).toThrow('line 4, column 3 ("score"): expected a number, found "oops"');
    const set = parsePredictions('note,label,score,g\n"x,y",1,0.5,"a ""b"""\n', 'csv', { groupColumn: 'g' });
    expect(set.groups).toEqual(['a "b"']);
  });

  it('uses the columns it is told to, and reads groups', () => {
    const set = parsePredictions('y,p,segment\n1,0.75,mobile\n0,1e-3,web\n', 'csv', { labelColumn: 'y', scoreColumn: 'p', groupColumn: 'segment' });
    expect([...set.labels]).toEqual([1, 0]);
    expect([...set.scores]).toEqual([0.75, 0.001]);
    expect(set.groups).toEqual(['mobile', 'web']);
  });

  it('reads scores exactly as float64 (same digits as Python repr)', () => {
    const set = parsePredictions('label,score\n1,0.30000000000000004\n0,5e-324\n1,-0.0\n', 'csv');
    expect([...set.scores]).toEqual([0.30000000000000004, 5e-324, -0]);
  });
});

describe('parsePredictions: JSON Lines', () => {
  it('reads one object per line, ignoring blank lines and \\r', () => {
    const text = '{"label": 1, "score": 0.5, "g": "a"}\r\n\n{"label": false, "score": "0.25", "g": 7}\n';
    expect(asArrays(text, 'jsonl', { groupColumn: 'g' })).toEqual({ labels: [1, 0], scores: [0.5, 0.25], groups: ['a', '7'] });
  });

  it('accepts labels as numbers, booleans and strings', () => {
    const text = ['{"label":1,"score":0}', '{"label":true,"score":0}', '{"label":"0","score":0}', '{"label":"TRUE","score":0}', '{"label":0.0,"score":0}'].join('\n');
    expect(asArrays(text, 'jsonl').labels).toEqual([1, 1, 0, 1, 0]);
  });
});

describe('parsePredictions: errors name the line, the column and what was expected', () => {
  it.each([
    ['csv', '', 'no rows: the file is empty; expected a header row and one row per prediction'],
    ['csv', '\n\n', 'no rows: the file is empty'],
    ['csv', 'label,score\n', 'no rows: the file has a header (label,score) but no data rows'],
    ['csv', 'y,score\n1,0.5\n', 'line 1: no label column "label"; the header has columns: "y", "score"'],
    ['csv', 'label,prob,x\n1,0.5,2\n', 'line 1: no score column "score"; the header has columns: "label", "prob", "x"'],
    ['csv', 'label,score,score\n1,0.5,0.5\n', 'line 1: the column "score" appears twice in the header'],
    ['csv', 'label,score\n1,0.5\n2,0.5\n', 'line 3, column 1 ("label"): expected a label 0 or 1 (or true/false), found "2"'],
    ['csv', 'label,score\nyes,0.5\n', 'line 2, column 1 ("label"): expected a label 0 or 1 (or true/false), found "yes"'],
    ['csv', 'label,score\n1,abc\n', 'line 2, column 2 ("score"): expected a number, found "abc"'],
    ['csv', 'label,score\n1,\n', 'line 2, column 2 ("score"): expected a number, found an empty value'],
    ['csv', 'label,score\n1,0x1f\n', 'line 2, column 2 ("score"): expected a number, found "0x1f"'],
    ['csv', 'label,score\n1,NaN\n', 'line 2, column 2 ("score"): the score is NaN; scores must be finite numbers'],
    ['csv', 'label,score\n1,nan\n', 'line 2, column 2 ("score"): the score is NaN'],
    ['csv', 'label,score\n1,inf\n', 'line 2, column 2 ("score"): the score is Infinity; scores must be finite numbers'],
    ['csv', 'label,score\n1,-Infinity\n', 'line 2, column 2 ("score"): the score is -Infinity'],
    ['csv', 'label,score\n1,1e999\n', 'line 2, column 2 ("score"): the score "1e999" is beyond the largest double; scores must be finite numbers'],
    ['csv', 'label,score\n1,0.5 0.6\n', 'line 2, column 2 ("score"): expected a number, found "0.5 0.6"'],
    ['csv', 'label,score\n1,0.5\n0\n', 'line 3: expected 2 columns (label,score), found 1'],
    ['csv', 'label,score\n1,0.5,extra\n', 'line 2: expected 2 columns (label,score), found 3'],
    ['csv', 'label,score\r\n1,0.5\r\n\r\n1,0.5,\r\n', 'line 4: expected 2 columns (label,score), found 3'],
    ['csv', 'label,score\n1,"0.5\n', 'line 2, column 2 ("score"): a quoted value is never closed'],
    ['csv', 'label,score\n1,"0.5"x\n', 'line 2, column 2 ("score"): unexpected text after a closing quote'],
    ['csv', 'label,score,g\n1,0.5\n', 'line 2: expected 3 columns (label,score,g), found 2'],
    ['jsonl', '', 'no rows: the file has no JSON objects; expected one object per line'],
    ['jsonl', '\n  \n', 'no rows: the file has no JSON objects'],
    ['jsonl', '{"label":1,"score":0.5}\n{"label":1,"score":0.5\n', 'line 2: not valid JSON ('],
    ['jsonl', '[1, 0.5]\n', 'line 1: expected a JSON object, found an array'],
    ['jsonl', '{"label":1,"score":0.5}\n{"y":1,"p":0.5}\n', 'line 2: no label key "label"; the keys found are: "y", "p"'],
    ['jsonl', '{"label":1}\n', 'line 1: no score key "score"; the keys found are: "label"'],
    ['jsonl', '{}\n', 'line 1: no label key "label"; the keys found are: (none)'],
    ['jsonl', '{"label":2,"score":0.5}\n', 'line 1, "label": expected a label 0 or 1 (or true/false), found 2'],
    ['jsonl', '{"label":null,"score":0.5}\n', 'line 1, "label": expected a label 0 or 1 (or true/false), found null'],
    ['jsonl', '{"label":1,"score":"high"}\n', 'line 1, "score": expected a number, found "high"'],
    ['jsonl', '{"label":1,"score":null}\n', 'line 1, "score": expected a number, found null'],
    ['jsonl', '{"label":1,"score":NaN}\n', 'line 1, "score": the score is NaN; scores must be finite numbers'],
    ['jsonl', '\n{"label":1, "score": -Infinity}\n', 'line 2, "score": the score is -Infinity; scores must be finite numbers'],
    ['jsonl', '{"label":1,"score":"inf"}\n', 'line 1, "score": the score is Infinity'],
    ['jsonl', '{"label":1,"score":1e999}\n', 'line 1, "score": the score is Infinity; scores must be finite numbers'],
    ['jsonl', '{"label":1,"score":[0.5]}\n', 'line 1, "score": expected a number, found an array'],
    ['jsonl', '{"label":1,"score":0.5}\n"text"\n', 'line 2: expected a JSON object, found the string "text"'],
  ] as const)('%s %j', (format, text, message) => {
    let thrown: unknown;
    try {
      parsePredictions(text, format);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(PredictionsError);
    expect((thrown as Error).message).toContain(message);
  });

  it('groups: a missing group column or an unusable group value is refused', () => {
    expect(() => parsePredictions('label,score\n1,0.5\n', 'csv', { groupColumn: 'g' })).toThrow(
      'line 1: no group column "g"; the header has columns: "label", "score"',
    );
    expect(() => parsePredictions('{"label":1,"score":0.5,"g":null}\n', 'jsonl', { groupColumn: 'g' })).toThrow(
      'line 1, "g": expected a group name (a string or number), found null',
    );
  });

  it('is a configuration error (exit 2)', () => {
    const error = (() => {
      try {
        parsePredictions('', 'csv');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).exitCode).toBe(ExitCode.Usage);
  });
});

describe('parsePredictions: size', () => {
  it('reads 200,000 CSV rows and 200,000 JSON lines quickly', () => {
    const rows = 200_000;
    let csv = 'id,label,score\n';
    let jsonl = '';
    for (let i = 0; i < rows; i += 1) {
      const score = ((i * 7919) % 10007) / 10007;
      csv += `${i},${i % 3 === 0 ? 1 : 0},${score}\n`;
      jsonl += `{"id":${i},"label":${i % 3 === 0 ? 1 : 0},"score":${score}}\n`;
    }
    const started = performance.now();
    const fromCsv = parsePredictions(csv, 'csv');
    const fromJson = parsePredictions(jsonl, 'jsonl');
    const elapsed = performance.now() - started;
    expect(fromCsv.labels.length).toBe(rows);
    expect(fromCsv.scores).toEqual(fromJson.scores);
    expect(fromCsv.labels).toEqual(fromJson.labels);
    expect(elapsed).toBeLessThan(5_000); // about 0.2 s here; generous for a loaded CI machine
  });
});
