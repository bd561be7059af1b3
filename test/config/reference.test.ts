import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { configReference, referenceRows, REFERENCE_END, REFERENCE_START } from '../../src/config/reference.js';
import { REPO_ROOT } from '../helpers/bundle.js';

describe('the mlship.yml reference in the README', () => {
  it('is the one generated from the schema (run `node .ci/config-reference.mjs` to regenerate it)', () => {
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const start = readme.indexOf(REFERENCE_START);
    const end = readme.indexOf(REFERENCE_END);
    expect(start, `README.md needs the markers ${REFERENCE_START} and ${REFERENCE_END}`).toBeGreaterThanOrEqual(0);
    expect(end).toBeGreaterThan(start);
    const inReadme = readme.slice(start + REFERENCE_START.length, end);
    expect(inReadme, 'the README\'s mlship.yml reference is stale: run `node .ci/config-reference.mjs` and commit README.md').toBe(`\n${configReference()}\n`);
  });

  it('describes every key of the schema (add a .describe() to the field in src/config/schema.ts)', () => {
    const undescribed = referenceRows().filter((row) => row.description.trim() === '').map((row) => row.key);
    expect(undescribed).toEqual([]);
  });

  it('walks whatever the schema holds: nested mappings, lists of mappings, named mappings, unions, optional keys', () => {
    const schema = z.strictObject({
      version: z.literal(1).describe('v'),
      watch: z
        .strictObject({
          every: z.string().regex(/^\d+(ms|s|m|h)$/).optional().describe('how often'),
          checks: z.array(z.strictObject({ column: z.string().describe('col') })).describe('list'),
          targets: z.record(z.string(), z.strictObject({ port: z.number().int().describe('p') })).optional().describe('named'),
          store: z.union([z.string(), z.strictObject({ url: z.string().describe('u') })]).optional().describe('where'),
          mode: z.enum(['a', 'b']).optional().describe('m'),
        })
        .optional()
        .describe('a new section'),
    });
    expect(referenceRows(schema).map((r) => [r.key, r.type, r.required])).toEqual([
      ['version', '1', true],
      ['watch', 'mapping', false],
      ['watch.every', 'duration', false],
      ['watch.checks', 'list of mappings', true],
      ['watch.checks[].column', 'string', true],
      ['watch.targets', 'mapping of names', false],
      ['watch.targets.<name>.port', 'integer', true],
      ['watch.store', 'string or mapping', false],
      ['watch.store.url', 'string', true],
      ['watch.mode', 'one of a, b', false],
    ]);
    expect(configReference(schema)).toContain('#### `watch`\n\na new section Optional');
  });
});
