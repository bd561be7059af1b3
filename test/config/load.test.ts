import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ConfigurationError, ExitCode } from '../../src/errors.js';

const valid = `version: 1
name: churn
data:
  paths: [data/train.csv, data/images]
  store: s3://bucket/prefix
train:
  command: python3 train.py
  outputs: { model: model/, metrics: metrics.json }
evaluate:
  gates:
    - { metric: auc, min: 0.80 }
    - { metric: auc, baseline: production, max_drop: 0.01 }
environments:
  production: { target: swarm, service: churn, replicas: 3, port: 80, rollout: { parallelism: 1, order: start-first, monitor: 30s } }
`;

function errorOf(source: string): ConfigurationError {
  try {
    parseConfig(source, '/repo/mlship.yml');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error('expected the config to be rejected');
}

describe('parseConfig', () => {
  it('accepts the design sketch and resolves the root to the config directory', () => {
    const loaded = parseConfig(valid, '/repo/mlship.yml');
    expect(loaded.root).toBe('/repo');
    expect(loaded.config.data?.paths).toEqual(['data/train.csv', 'data/images']);
    expect(loaded.where(['data', 'paths', 1])).toBe('mlship.yml:4:27 data.paths[1]');
  });

  it.each([
    ['a number where a path belongs', 'version: 1\nname: x\ndata:\n  paths: [data/a.csv, 42]\n', 'mlship.yml:4:23 data.paths[1]: expected a file or directory path relative to the repository, got 42'],
    ['an unknown key, with the allowed ones', 'version: 1\nname: x\ndata:\n  paths: [a]\n  pathz: b\n', 'mlship.yml:5:3 data.pathz: unknown key (expected one of: paths, store)'],
    ['a word where a positive integer belongs', 'version: 1\nname: x\nenvironments:\n  production: { target: swarm, service: s, port: 80, rollout: { parallelism: two } }\n', 'environments.production.rollout.parallelism: expected a positive integer, got "two"'],
    ['a wrong version', 'version: 2\nname: x\n', 'mlship.yml:1:10 version: expected 1 (the only config version), got 2'],
    ['an empty path list', 'version: 1\nname: x\ndata: { paths: [] }\n', 'data.paths: expected at least one path'],
    ['an absolute path', 'version: 1\nname: x\ndata: { paths: [/etc/passwd] }\n', 'data.paths[0]: expected a file or directory path relative to the repository (not an absolute path), got "/etc/passwd"'],
    ['a missing name', 'version: 1\ndata: { paths: [a] }\n', 'name: required: expected a project name'],
    ['a bad enum', 'version: 1\nname: x\nevaluate: { gates: [ { metric: auc, direction: up } ] }\n', 'evaluate.gates[0].direction: expected one of higher, lower, got "up"'],
    ['a bad duration', 'version: 1\nname: x\nenvironments: { p: { target: swarm, service: s, port: 80, rollout: { monitor: soon } } }\n', 'environments.p.rollout.monitor: expected a duration such as 30s, 500ms, 5m or 1h, got "soon"'],
    ['an environment without a target', 'version: 1\nname: x\nenvironments: { staging: { service: s, port: 8080 } }\n', 'environments.staging.target: required: expected one of swarm'],
    ['a port out of range', 'version: 1\nname: x\nenvironments: { staging: { target: swarm, service: s, port: 70000 } }\n', 'environments.staging.port: expected a port number between 1 and 65535, got 70000'],
    ['a bad service name', 'version: 1\nname: x\nenvironments: { staging: { target: swarm, service: "my service", port: 8080 } }\n', 'environments.staging.service: expected a service name'],
    ['a docker host without a scheme', 'version: 1\nname: x\nenvironments: { staging: { target: swarm, service: s, port: 8080, docker_host: staging.internal } }\n', 'environments.staging.docker_host: expected a Docker host such as'],
    ['a negative skew', 'version: 1\nname: x\nsmoke: { cases: smoke.jsonl, max_skew: -1 }\n', 'smoke.max_skew: expected a non-negative number'],
    ['an analysis threshold of the wrong kind', 'version: 1\nname: x\nenvironments: { p: { target: swarm, service: s, port: 80, rollout: { analysis: { max_error_rate: 5 } } } }\n', 'environments.p.rollout.analysis.max_error_rate: expected a fraction between 0 and 1'],
    ['an unknown key in a store mapping', 'version: 1\nname: x\ndata: { paths: [a], store: { url: s3://b/p, endpoit: x } }\n', 'data.store.endpoit: unknown key (expected one of: url, endpoint, region, path_style)'],
    ['broken YAML', 'version: 1\nname: x\ndata:\n  paths: [a\n', 'invalid YAML'],
    ['duplicate keys', 'version: 1\nname: x\nname: y\n', 'mlship.yml:3:1'],
    ['an empty file', '', 'the config is empty'],
  ])('rejects %s', (_name, source, expected) => {
    const error = errorOf(source);
    expect(error.message).toContain(expected);
    expect(error.exitCode).toBe(ExitCode.Usage);
  });

  it('reports every problem at once', () => {
    const error = errorOf('version: 1\nname: x\ndata:\n  paths: [a, 1, 2]\n  extra: true\n');
    expect(error.message).toContain('data.paths[1]');
    expect(error.message).toContain('data.paths[2]');
    expect(error.message).toContain('data.extra: unknown key');
  });
});
