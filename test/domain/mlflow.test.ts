import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { assignKeys, mlflowAlias, mlflowKey, mlflowYaml, numberVersions, runMeta } from '../../src/domain/registry/mlflow.js';
import { flattenParamValues, paramTexts } from '../../src/domain/train/params.js';

/** What PyYAML's safe loader (MLflow's read_yaml) makes of a text, as JSON. */
function pyyamlLoad(text: string): unknown {
  const python = spawnSync('python3', ['-c', 'import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin.read())))'], { input: text, encoding: 'utf8' });
  if (python.status !== 0) throw new Error(`PyYAML refused the text (python3 with PyYAML, Debian: python3-yaml, is needed): ${python.stderr}`);
  return JSON.parse(python.stdout);
}

describe("MLflow's names", () => {
  it.each([
    ['train.auc', 'train.auc'],
    ['loss/val', 'loss/val'],
    ['précision', 'précision'],
    ['a b-c_d', 'a b-c_d'],
    ['a:b', 'a_b'],
    ['bad*name?', 'bad_name_'],
    ['/abs/path/', 'abs/path'],
    ['a//b', 'a/b'],
    ['a/./b/../c', 'a/_/b/_/c'],
    ['..hidden', '_.hidden'],
    ['', '_'],
    ['x'.repeat(300), 'x'.repeat(250)],
  ])('%j is written as %j', (name, key) => {
    expect(mlflowKey(name)).toBe(key);
  });

  it('leaves out names whose MLflow names clash, and says so', () => {
    const { keys, notes } = assignKeys(['a', 'a/b', 'x:y', 'x_y', 'dir/f', 'dir'], 'param');
    expect([...keys]).toEqual([
      ['a', 'a'],
      ['x:y', 'x_y'],
      ['dir/f', 'dir/f'],
    ]);
    expect(notes).toEqual([
      'param "a/b" left out: its MLflow name "a/b" clashes with another param',
      'param "x:y" written as "x_y" (MLflow names allow letters, digits, _ - . space and /)',
      'param "x_y" left out: its MLflow name "x_y" clashes with another param',
      'param "dir" left out: its MLflow name "dir" clashes with another param',
    ]);
  });

  it.each([
    ['production', 'production'],
    ['canary.eu', 'canary_eu'],
    ['latest', 'mlship-latest'],
    ['v2', 'mlship-v2'],
    ['v2-rc', 'v2-rc'],
    ['version', 'version'],
  ])('alias %j is written as %j', (alias, name) => {
    expect(mlflowAlias(alias)).toBe(name);
  });

  it('numbers model versions in order of first appearance, after those already numbered', () => {
    expect([...numberVersions(['a', 'b', 'c'], new Map(), 0)]).toEqual([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]);
    expect([...numberVersions(['a', 'b', 'c'], new Map([['b', 1]]), 4)]).toEqual([
      ['b', 1],
      ['a', 5],
      ['c', 6],
    ]);
  });
});

describe("MLflow's YAML", () => {
  it('reads back through PyYAML as exactly the values written, however YAML 1.1 would resolve them', () => {
    const tricky = ['yes', 'no', 'on', 'off', 'y', 'N', '~', 'null', '1:30', '2024-01-01', '0x1F', '017', '1e3', '.inf', '=', '<<', '- a', '# x', 'a: b', "'q'", '"d"', ' lead', 'multi\nline', 'tab\there', 'del\u007f', 'nel\u0085', 'ls\u2028', 'bom\ufeff', 'emoji 🚀', 'é'];
    const mapping = {
      ...Object.fromEntries(tricky.map((value, i) => [`s${String(i).padStart(2, '0')}`, value])),
      big: 1796084228906,
      none: null,
      empty: [],
      flag: true,
      nested: { b: 'x', a: { deep: '1' } },
      list: ['yes', { k: 'v', j: 2 }],
      'odd key': 'v',
    };
    expect(pyyamlLoad(mlflowYaml(mapping))).toEqual(mapping);
  });

  it('writes keys sorted, as MLflow does, and refuses numbers YAML 1.1 would not read back', () => {
    const meta = mlflowYaml(runMeta({ runId: 'r', runName: 'n', experimentId: '1', artifactUri: 'file:///a', userId: 'u', status: 3, startTime: 1, endTime: 2 }));
    const keys = meta.split('\n').filter(Boolean).map((line) => line.split(':')[0]!);
    expect(keys).toEqual([...keys].sort());
    expect(() => mlflowYaml({ x: 0.5 })).toThrow(RangeError);
  });
});

describe('params as written', () => {
  it('keeps each param as the file writes it, nested names joined by dots', () => {
    const text = 'lr: 1.0\nn: 3\nexp: 1e-3\nhex: 0x1F\nflag: true\nnothing: ~\nempty:\nquoted: "1.0"\nplain: hello world\nlist: [1, 2.0, "a", b]\nblock:\n  - 1.50\n  - x\nnested:\n  depth: 3.0\n  inner: { a: 1.10 }\n';
    expect(paramTexts(text)).toEqual({
      lr: '1.0',
      n: '3',
      exp: '1e-3',
      hex: '0x1F',
      flag: 'true',
      nothing: '~',
      empty: '',
      quoted: '1.0',
      plain: 'hello world',
      list: '[1, 2.0, "a", b]',
      block: '[1.50, x]',
      'nested.depth': '3.0',
      'nested.inner.a': '1.10',
    });
    expect(paramTexts('{"lr": 1.0, "layers": [64, 32]}')).toEqual({ lr: '1.0', layers: '[64, 32]' });
  });

  it('falls back to the parsed values for records made before the text was kept', () => {
    expect(flattenParamValues({ lr: 1, name: 'x', nested: { on: true }, list: [1, 2] })).toEqual({ lr: '1', name: 'x', 'nested.on': 'true', list: '[1,2]' });
  });
});
