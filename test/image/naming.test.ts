import { describe, expect, it } from 'vitest';
import { DEFAULT_TAG_TEMPLATES, checkRepository, imageLabels, renderTag, renderTags, type TagValues } from '../../src/domain/image/naming.js';

const values: TagValues = {
  modelVersion: `sha256:${'ab'.repeat(32)}`,
  dataVersion: `sha256:${'cd'.repeat(32)}`,
  gitSha: '0123456789abcdef0123456789abcdef01234567',
  runId: '20261123T101500Z-3fa9c2',
  ref: 'feature/new-model',
};

describe('tag templates', () => {
  it('defaults to the short model version and the short commit', () => {
    expect(renderTags(DEFAULT_TAG_TEMPLATES, values)).toEqual(['abababababab', 'sha-0123456']);
  });

  it.each([
    ['{model_version}', 'ab'.repeat(32)],
    ['data-{data_version_short}', 'data-cdcdcdcdcdcd'],
    ['{run_id}', '20261123T101500Z-3fa9c2'],
    ['{ref}-{git_sha_short}', 'feature-new-model-0123456'],
    ['latest', 'latest'],
  ])('%s → %s', (template, tag) => {
    expect(renderTag(template, values)).toBe(tag);
  });

  it.each([
    ['{model}', 'unknown placeholder {model}'],
    ['v{model_version_short', 'unbalanced braces'],
    ['.hidden', 'is not a valid image tag'],
    ['{model_version}{model_version}x', 'is not a valid image tag'], // 129 characters
  ])('refuses %s', (template, message) => {
    expect(() => renderTag(template, values)).toThrow(message);
  });

  it('drops duplicate tags', () => {
    expect(renderTags(['{git_sha_short}', '{git_sha_short}'], values)).toEqual(['0123456']);
  });
});

describe('repositories', () => {
  it.each(['churn', 'acme/churn', 'ghcr.io/acme/churn', '127.0.0.1:5000/churn', 'registry.example.com:443/a/b-c/d_e'])('accepts %s', (repository) => {
    expect(() => checkRepository(repository)).not.toThrow();
  });
  it.each(['Acme/churn', 'acme/churn:latest', 'acme/churn@sha256:abc', '', 'acme//churn', '-acme/churn'])('refuses %j', (repository) => {
    expect(() => checkRepository(repository)).toThrow('is not an image repository');
  });
});

describe('labels', () => {
  it('carry OCI revision, source, created and version, and the lineage and gated metrics', () => {
    expect(imageLabels({ ...values, source: 'https://github.com/acme/churn', created: '2026-11-23T10:15:00Z', metrics: { auc: 0.84 } })).toEqual({
      'org.opencontainers.image.revision': values.gitSha,
      'org.opencontainers.image.created': '2026-11-23T10:15:00Z',
      'org.opencontainers.image.version': 'abababababab',
      'org.opencontainers.image.source': 'https://github.com/acme/churn',
      'mlship.model-version': values.modelVersion,
      'mlship.data-version': values.dataVersion,
      'mlship.run-id': values.runId,
      'mlship.metric.auc': '0.84',
    });
  });
});
