import { ConfigSchema } from './schema.js';

/**
 * The `mlship.yml` reference in the README, generated from the zod schema (its `.describe()` texts),
 * so the reference cannot drift from what mlship accepts. `node .ci/config-reference.mjs` writes it
 * between the README's markers; test/config/reference.test.ts fails when they differ.
 */

export const REFERENCE_START = '<!-- config-reference:start (generated from src/config/schema.ts by `node .ci/config-reference.mjs`; do not edit by hand) -->';
export const REFERENCE_END = '<!-- config-reference:end -->';

export interface ReferenceRow {
  /** `environments.<name>.rollout.delay`, `evaluate.gates[].metric`. */
  readonly key: string;
  readonly type: string;
  readonly required: boolean;
  readonly description: string;
}

interface Def {
  readonly type: string;
  readonly innerType?: unknown;
  readonly shape?: Record<string, unknown>;
  readonly element?: unknown;
  readonly valueType?: unknown;
  readonly options?: readonly unknown[];
  readonly entries?: Record<string, string>;
  readonly values?: readonly unknown[];
  readonly checks?: readonly { readonly _zod: { readonly def: { readonly check?: string; readonly format?: string; readonly pattern?: RegExp } } }[];
}

interface Node {
  readonly _zod: { readonly def: Def };
  readonly description?: string;
}

const defOf = (schema: unknown): Def => (schema as Node)._zod.def;

/** Peels optional/default/nullable wrappers: the schema underneath, whether it may be left out, and the nearest description. */
function peel(schema: unknown): { inner: unknown; optional: boolean; description: string } {
  let current = schema;
  let optional = false;
  let description = (schema as Node).description ?? '';
  for (;;) {
    const def = defOf(current);
    if (def.type !== 'optional' && def.type !== 'default' && def.type !== 'nullable') break;
    optional = true;
    current = def.innerType;
    if (description === '') description = (current as Node).description ?? '';
  }
  return { inner: current, optional, description };
}

/** The object a value may be written as (a store is a URL or a mapping), if any. */
function mappingOf(schema: unknown): Def | undefined {
  const def = defOf(schema);
  if (def.type === 'object') return def;
  if (def.type === 'union') return def.options?.map(defOf).find((d) => d.type === 'object');
  return undefined;
}

function typeName(schema: unknown): string {
  const def = defOf(schema);
  switch (def.type) {
    case 'string':
      return def.checks?.some((c) => c._zod.def.pattern?.source.includes('(ms|s|m|h)')) ? 'duration' : 'string';
    case 'number':
      return def.checks?.some((c) => c._zod.def.format === 'safeint' || c._zod.def.format === 'int') ? 'integer' : 'number';
    case 'boolean':
      return 'boolean';
    case 'literal':
      return (def.values ?? []).map((v) => JSON.stringify(v)).join(', ');
    case 'enum':
      return `one of ${Object.values(def.entries ?? {}).join(', ')}`;
    case 'array': {
      const element = peel(def.element).inner;
      return defOf(element).type === 'object' ? 'list of mappings' : `list of ${plural(typeName(element))}`;
    }
    case 'record': {
      const value = peel(def.valueType).inner;
      return defOf(value).type === 'object' ? 'mapping of names' : `mapping of ${plural(typeName(value))}`;
    }
    case 'object':
      return 'mapping';
    case 'union':
      return (def.options ?? []).map(typeName).join(' or ');
    default:
      return def.type;
  }
}

function plural(type: string): string {
  return type.endsWith('s') ? type : `${type}s`;
}

/** Every key the schema accepts, depth first, in the schema's order. */
export function referenceRows(schema: unknown = ConfigSchema): ReferenceRow[] {
  const rows: ReferenceRow[] = [];
  const walk = (mapping: Def, prefix: string): void => {
    for (const [key, field] of Object.entries(mapping.shape ?? {})) {
      const { inner, optional, description } = peel(field);
      const name = `${prefix}${key}`;
      rows.push({ key: name, type: typeName(inner), required: !optional, description });
      const def = defOf(inner);
      const nested = mappingOf(inner);
      if (nested) walk(nested, `${name}.`);
      else if (def.type === 'array' && defOf(peel(def.element).inner).type === 'object') walk(defOf(peel(def.element).inner), `${name}[].`);
      else if (def.type === 'record' && defOf(peel(def.valueType).inner).type === 'object') walk(defOf(peel(def.valueType).inner), `${name}.<name>.`);
    }
  };
  walk(defOf(schema), '');
  return rows;
}

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function table(rows: readonly ReferenceRow[]): string[] {
  return [
    '| Key | Type | Required | Description |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| \`${r.key}\` | ${cell(r.type)} | ${r.required ? 'yes' : 'no'} | ${cell(r.description)} |`),
  ];
}

/** The Markdown between the README's markers: top-level keys, then one table per section. */
export function configReference(schema: unknown = ConfigSchema): string {
  const rows = referenceRows(schema);
  const topLevel = rows.filter((r) => !r.key.includes('.') && !r.key.includes('['));
  const sections = topLevel.filter((r) => rows.some((other) => other.key.startsWith(`${r.key}.`)));
  const lines = ['', ...table(topLevel), ''];
  for (const section of sections) {
    lines.push(`#### \`${section.key}\``, '', `${section.description}${section.required ? '' : ' Optional: only the commands that use it need it.'}`, '');
    lines.push(...table(rows.filter((r) => r.key.startsWith(`${section.key}.`))), '');
  }
  return lines.join('\n');
}

/** `text` with the part between the markers replaced by `reference`; undefined when the markers are missing. */
export function replaceReference(text: string, reference: string): string | undefined {
  const start = text.indexOf(REFERENCE_START);
  const end = text.indexOf(REFERENCE_END);
  if (start < 0 || end < start) return undefined;
  return `${text.slice(0, start + REFERENCE_START.length)}\n${reference}\n${text.slice(end)}`;
}
