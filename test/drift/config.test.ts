import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ConfigurationError, ExitCode } from '../../src/errors.js';

function errorOf(source: string): ConfigurationError {
  try {
    parseConfig(source, '/repo/mlship.yml');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error('expected the config to be rejected');
}

describe('the drift section of mlship.yml', () => {
  it('accepts the documented settings', () => {
    const config = parseConfig(
      'version: 1\nname: x\ndrift:\n  current: data/live.csv\n  reference: data/train.csv\n  ignore: [id, label]\n  share: 0.3\n  bins: 20\n  features:\n    age: { critical: true }\n    plan: { type: categorical, method: jensenshannon, threshold: 0.2 }\n    income:\n',
      '/repo/mlship.yml',
    );
    expect(config.config.drift?.features?.plan).toEqual({ type: 'categorical', method: 'jensenshannon', threshold: 0.2 });
    expect(config.config.drift?.features?.income).toBeNull();
  });

  it.each([
    ['a share above 1', 'drift: { share: 1.5 }', 'drift.share: expected a share between 0 and 1, such as 0.5, got 1.5'],
    ['one bin', 'drift: { bins: 1 }', 'drift.bins: expected a whole number of bins, at least 2, got 1'],
    ['an unknown method', 'drift: { features: { age: { method: ttest } } }', 'drift.features.age.method: expected one of ks, wasserstein, psi, chisquare, jensenshannon, got "ttest"'],
    ['a method for the other type', 'drift: { features: { age: { type: numeric, method: chisquare } } }', 'drift.features.age.method: expected one of ks, wasserstein, psi for a numeric feature, got "chisquare"'],
    ['a p-value threshold of 5', 'drift: { features: { age: { method: ks, threshold: 5 } } }', 'drift.features.age.threshold: expected a p-value threshold between 0 and 1 (such as 0.05) for method ks, got 5'],
    ['an unknown key in a feature', 'drift: { features: { age: { critcal: true } } }', 'drift.features.age.critcal: unknown key'],
    ['an absolute current path', 'drift: { current: /data/live.csv }', 'drift.current: expected a file or directory relative to the repository (not an absolute path)'],
  ])('rejects %s, at its path', (_name, section, expected) => {
    const error = errorOf(`version: 1\nname: x\n${section}\n`);
    expect(error.message).toContain(expected);
    expect(error.exitCode).toBe(ExitCode.Usage);
  });
});
