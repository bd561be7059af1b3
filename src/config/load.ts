import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument, isMap, isPair, isScalar, type Document, type Node as YamlNode } from 'yaml';
import type { $ZodIssue } from 'zod/v4/core';
import { ConfigurationError, errnoCode } from '../errors.js';
import { ConfigSchema, show, type Config } from './schema.js';

export type ConfigPath = readonly (string | number)[];

/** A validated config plus what is needed to point at its lines in later errors. */
export interface LoadedConfig {
  readonly config: Config;
  /** Absolute path of mlship.yml. */
  readonly file: string;
  /** The repository root: the directory that holds mlship.yml. Every relative path resolves here. */
  readonly root: string;
  /** `mlship.yml:LINE:COL data.paths[1]` for a config path, for messages about its value. */
  where(configPath: ConfigPath): string;
}

export function formatConfigPath(configPath: ConfigPath): string {
  let out = '';
  for (const part of configPath) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out === '' ? '(top level)' : out;
}

/** Reads and validates a config; `display` is how messages name it (as the user wrote it). */
export function loadConfig(file: string, display = file): LoadedConfig {
  const absolute = path.resolve(file);
  let source: string;
  try {
    source = readFileSync(absolute, 'utf8');
  } catch (error) {
    const code = errnoCode(error);
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : String(error);
    throw new ConfigurationError(`${display}: cannot read the config (${reason}); create it or pass --config`);
  }
  return parseConfig(source, absolute, display);
}

/** Parses and validates config text; `displayName` is how errors name the file. */
export function parseConfig(source: string, absolute: string, displayName = path.basename(absolute)): LoadedConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const position = (offset: number | undefined): string => {
    if (offset === undefined) return displayName;
    const { line, col } = lineCounter.linePos(offset);
    return `${displayName}:${line}:${col}`;
  };
  if (doc.errors.length > 0) {
    const messages = doc.errors.map((e) => `${position(e.pos[0])} ${e.message.split('\n')[0]}`);
    throw new ConfigurationError(`invalid YAML:\n  ${messages.join('\n  ')}`);
  }
  const data: unknown = doc.toJS();
  if (data === null || data === undefined) {
    throw new ConfigurationError(`${displayName}: the config is empty; expected at least "version: 1" and "name"`);
  }
  const where = (configPath: ConfigPath): string =>
    `${position(nodeFor(doc, configPath)?.range?.[0])} ${formatConfigPath(configPath)}`;

  const result = ConfigSchema.safeParse(data, { reportInput: true, error: fallbackMessage });
  if (!result.success) {
    const lines = result.error.issues.flatMap((issue) => describeIssue(issue, doc, position));
    throw new ConfigurationError(`invalid config:\n  ${lines.join('\n  ')}`);
  }
  return { config: result.data, file: absolute, root: path.dirname(absolute), where };
}

function fallbackMessage(issue: { code?: string; input?: unknown; message?: string }): string | undefined {
  if (issue.code === 'invalid_type' && issue.input === undefined) return 'required';
  return undefined;
}

function describeIssue(issue: $ZodIssue, doc: Document, position: (offset: number | undefined) => string): string[] {
  const issuePath = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeys(issuePath);
    return issue.keys.map((key) => {
      const keyNode = keyNodeFor(doc, issuePath, key);
      const hint = allowed.length > 0 ? ` (expected one of: ${allowed.join(', ')})` : '';
      return `${position(keyNode?.range?.[0])} ${formatConfigPath([...issuePath, key])}: unknown key${hint}`;
    });
  }
  const node = nodeFor(doc, issuePath);
  const offset = node?.range?.[0] ?? nodeFor(doc, issuePath.slice(0, -1))?.range?.[0];
  return [`${position(offset)} ${formatConfigPath(issuePath)}: ${issue.message}`];
}

function nodeFor(doc: Document, configPath: ConfigPath): YamlNode | undefined {
  if (configPath.length === 0) return doc.contents ?? undefined;
  const node: unknown = doc.getIn(configPath, true);
  return node && typeof node === 'object' && 'range' in node ? (node as YamlNode) : undefined;
}

function keyNodeFor(doc: Document, mapPath: ConfigPath, key: string): YamlNode | undefined {
  const map = nodeFor(doc, mapPath);
  if (!isMap(map)) return undefined;
  for (const item of map.items) {
    if (isPair(item) && isScalar(item.key) && item.key.value === key) return item.key;
  }
  return undefined;
}

/** The keys the schema allows at a path, for "did you mean" hints. */
function allowedKeys(configPath: ConfigPath): string[] {
  let schema: unknown = ConfigSchema;
  for (const part of configPath) {
    schema = unwrap(schema);
    const def = schemaDef(schema);
    if (typeof part === 'number' && def?.type === 'array') schema = def.element;
    else if (def?.type === 'record') schema = def.valueType;
    else if (def?.type === 'object' && typeof part === 'string') schema = (def.shape as Record<string, unknown>)[part];
    else return [];
  }
  const def = schemaDef(unwrap(schema));
  return def?.type === 'object' ? Object.keys(def.shape as object) : [];
}

interface SchemaDef {
  type: string;
  element?: unknown;
  valueType?: unknown;
  shape?: unknown;
  innerType?: unknown;
  options?: unknown[];
}

function schemaDef(schema: unknown): SchemaDef | undefined {
  if (schema && typeof schema === 'object' && '_zod' in schema) {
    return (schema as { _zod: { def: SchemaDef } })._zod.def;
  }
  return undefined;
}

function unwrap(schema: unknown): unknown {
  let current = schema;
  for (;;) {
    const def = schemaDef(current);
    if (def?.type === 'optional' || def?.type === 'default' || def?.type === 'nullable') current = def.innerType;
    else if (def?.type === 'union') current = def.options?.find((o) => schemaDef(o)?.type === 'object') ?? current;
    else return current;
    if (def?.type === 'union') return current;
  }
}

/** A command that needs a section gets a clear error when it is absent. */
export function requireSection<K extends keyof Config>(loaded: LoadedConfig, key: K, command: string): NonNullable<Config[K]> {
  const section = loaded.config[key];
  if (section === undefined || section === null) {
    throw new ConfigurationError(
      `${path.basename(loaded.file)}: \`${command}\` needs a "${String(key)}" section, and there is none`,
    );
  }
  return section as NonNullable<Config[K]>;
}

export { show };
