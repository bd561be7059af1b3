import { createHash } from 'node:crypto';

/**
 * MLflow's file store (tracking and model registry) as MLflow 3 reads and writes it: the records of
 * its layout as plain values, the names it accepts, and YAML its loader reads back as written.
 * Sources: mlflow/store/tracking/file_store.py, mlflow/store/model_registry/file_store.py and
 * mlflow/utils/validation.py.
 *
 *   <root>/0/meta.yaml                          the Default experiment (FileStore creates it for a new root)
 *   <root>/.trash/<experiment-id>/              deleted experiments
 *   <root>/<experiment-id>/meta.yaml            an experiment
 *   <root>/<experiment-id>/<run-id>/meta.yaml   a run; beside it params/, metrics/, tags/ (one file per
 *                                               name, nested by `/`) and artifacts/
 *   <root>/models/<name>/meta.yaml              a registered model; aliases/<alias> holds a version number
 *   <root>/models/<name>/version-<n>/meta.yaml  a model version; beside it tags/
 */

export const DEFAULT_EXPERIMENT_ID = '0';
export const DEFAULT_EXPERIMENT_NAME = 'Default';
export const TRASH_FOLDER = '.trash';
export const MODELS_FOLDER = 'models';

/** RunStatus codes (mlflow/protos/service.proto): meta.yaml stores the number. */
export const RUN_STATUS = { FINISHED: 3, FAILED: 4 } as const;
/** Limits of validation.py: longer keys are refused when logged, longer values truncated. */
export const MAX_ENTITY_KEY_LENGTH = 250;
export const MAX_PARAM_VALUE_LENGTH = 6000;
export const MAX_TAG_VALUE_LENGTH = 8000;

/** MLflow run ids are 32 hex digits; ours hash to one, so exporting again finds the same run. */
export function mlflowRunId(runId: string): string {
  return createHash('sha256').update(runId).digest('hex').slice(0, 32);
}

/**
 * A param, metric or tag name that MLflow accepts, so the store reads it back
 * (`_validate_param_name`, `_validate_metric_name`, `_validate_tag_name`): letters, digits, `_`, `-`,
 * `.`, space and `/`, and a path that normalises to itself. Anything else becomes `_`; a colon too,
 * which MLflow allows off Windows, so the export opens everywhere.
 */
export function mlflowKey(name: string): string {
  const characters = name.replace(/[^\p{L}\p{N}_.\- /]/gu, '_');
  // path_not_unique: no empty, `.` or `..` segment, no leading `/` or `..`.
  let key = characters
    .split('/')
    .filter((segment) => segment !== '')
    .map((segment) => (segment === '.' || segment === '..' ? '_' : segment))
    .join('/');
  if (key.startsWith('..')) key = `_${key.slice(1)}`;
  key = key.slice(0, MAX_ENTITY_KEY_LENGTH).replace(/\/+$/, '');
  return key === '' ? '_' : key;
}

export interface KeyAssignment {
  /** Original name → the key it is written under. */
  readonly keys: Map<string, string>;
  /** Why a name was renamed or left out, in words. */
  readonly notes: string[];
}

/**
 * Keys for a run's names: MLflow's form of each; a name whose key another name already took, or
 * that would need a file where another needs a directory (`a` and `a/b`), is left out.
 */
export function assignKeys(names: readonly string[], what: string): KeyAssignment {
  const keys = new Map<string, string>();
  const notes: string[] = [];
  const taken = new Set<string>();
  const directories = new Set<string>();
  for (const name of names) {
    const key = mlflowKey(name);
    const parents = key.split('/').slice(0, -1).map((_, i, all) => all.slice(0, i + 1).join('/'));
    const clash = taken.has(key) || directories.has(key) || parents.some((parent) => taken.has(parent));
    if (clash) {
      notes.push(`${what} ${JSON.stringify(name)} left out: its MLflow name ${JSON.stringify(key)} clashes with another ${what}`);
      continue;
    }
    if (key !== name) notes.push(`${what} ${JSON.stringify(name)} written as ${JSON.stringify(key)} (MLflow names allow letters, digits, _ - . space and /)`);
    keys.set(name, key);
    taken.add(key);
    for (const parent of parents) directories.add(parent);
  }
  return { keys, notes };
}

/**
 * An mlship alias as a registered-model alias MLflow accepts: `_validate_model_alias_name` allows
 * letters, digits, `_` and `-` (so `.` becomes `_`), and `_validate_model_alias_name_reserved`
 * keeps `latest` and `v<digits>` for itself (those gain an `mlship-` prefix).
 */
export function mlflowAlias(alias: string): string {
  const name = alias.replace(/[^A-Za-z0-9_-]/g, '_');
  return /^(latest|v\d+)$/i.test(name) ? `mlship-${name}` : name;
}

/** Cuts a value to MLflow's limit, as `_validate_length_limit(…, truncate=True)` does when logging. */
export function truncated(value: string, limit: number): { value: string; cut: boolean } {
  return value.length <= limit ? { value, cut: false } : { value: value.slice(0, limit), cut: true };
}

/** One line of a metric file: `<timestamp ms> <value> <step>` (FileStore._log_run_metric). */
export function metricLine(timestamp: number, value: number): string {
  return `${timestamp} ${value} 0\n`;
}

export function experimentMeta(e: { id: string; name: string; artifactLocation: string; now: number }): YamlMapping {
  return { artifact_location: e.artifactLocation, creation_time: e.now, experiment_id: e.id, last_update_time: e.now, lifecycle_stage: 'active', name: e.name };
}

export interface RunMetaInput {
  readonly runId: string;
  readonly runName: string;
  readonly experimentId: string;
  readonly artifactUri: string;
  readonly userId: string;
  readonly status: number;
  readonly startTime: number;
  readonly endTime: number;
}

/** A run's meta.yaml as FileStore.create_run writes it (`_make_persisted_run_info_dict`). */
export function runMeta(r: RunMetaInput): YamlMapping {
  return {
    artifact_uri: r.artifactUri,
    deleted_time: null,
    end_time: r.endTime,
    entry_point_name: '',
    experiment_id: r.experimentId,
    lifecycle_stage: 'active',
    run_id: r.runId,
    run_name: r.runName,
    // MLflow 1.x reads runs by run_uuid; later versions ignore it.
    run_uuid: r.runId,
    source_name: '',
    source_type: 4,
    source_version: '',
    start_time: r.startTime,
    status: r.status,
    tags: [],
    user_id: r.userId,
  };
}

export function registeredModelMeta(m: { name: string; description: string; now: number }): YamlMapping {
  return { creation_timestamp: m.now, deployment_job_id: null, deployment_job_state: null, description: m.description, last_updated_timestamp: m.now, name: m.name };
}

export interface ModelVersionMetaInput {
  readonly name: string;
  readonly version: number;
  readonly runId: string;
  readonly source: string;
  readonly description: string;
  readonly userId: string;
  readonly createdAt: number;
}

/**
 * A model version's meta.yaml as FileStore.create_model_version writes it, READY in no stage.
 * No `model_id`: for one, MLflow looks up a logged model on every read (and finds none).
 */
export function modelVersionMeta(v: ModelVersionMetaInput): YamlMapping {
  return {
    creation_timestamp: v.createdAt,
    current_stage: 'None',
    deployment_job_state: null,
    description: v.description,
    last_updated_timestamp: v.createdAt,
    name: v.name,
    run_id: v.runId,
    run_link: null,
    source: v.source,
    status: 'READY',
    status_message: null,
    storage_location: v.source,
    user_id: v.userId,
    version: v.version,
  };
}

/**
 * MLflow version numbers for model versions, in order of first appearance: those an earlier export
 * numbered keep their number; new ones follow the highest number in use (next_version: max + 1).
 */
export function numberVersions(ordered: readonly string[], existing: ReadonlyMap<string, number>, highest: number): Map<string, number> {
  const numbers = new Map(existing);
  let next = Math.max(highest, 0);
  for (const version of ordered) if (!numbers.has(version)) numbers.set(version, ++next);
  return numbers;
}

export type YamlValue = string | number | boolean | null | readonly YamlValue[] | YamlMapping;
export interface YamlMapping {
  readonly [key: string]: YamlValue;
}

/**
 * YAML that MLflow's loader (PyYAML's safe loader, YAML 1.1) reads back as exactly these values:
 * keys sorted as MLflow's dumper sorts them, every string double-quoted so that YAML 1.1 never
 * reads `yes`, `1:30` or `2024-01-01` as something else, and only integers (a YAML 1.1 float
 * needs a dot: `1e-7` would come back as a string).
 */
export function mlflowYaml(mapping: YamlMapping): string {
  return `${mappingLines(mapping, '').join('\n')}\n`;
}

function mappingLines(mapping: YamlMapping, indent: string): string[] {
  const lines: string[] = [];
  for (const key of Object.keys(mapping).sort()) {
    const value = mapping[key]!;
    const name = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : quoted(key);
    if (isNested(value)) {
      lines.push(`${indent}${name}:`, ...(Array.isArray(value) ? sequenceLines(value, indent) : mappingLines(value as YamlMapping, `${indent}  `)));
    } else {
      lines.push(`${indent}${name}: ${scalar(value)}`);
    }
  }
  return lines;
}

function sequenceLines(items: readonly YamlValue[], indent: string): string[] {
  return items.flatMap((item) => {
    if (!isNested(item)) return [`${indent}- ${scalar(item)}`];
    const inner = Array.isArray(item) ? sequenceLines(item, `${indent}  `) : mappingLines(item as YamlMapping, `${indent}  `);
    return [`${indent}- ${inner[0]!.trimStart()}`, ...inner.slice(1)];
  });
}

function isNested(value: YamlValue): boolean {
  if (Array.isArray(value)) return value.length > 0;
  return value !== null && typeof value === 'object' && Object.keys(value).length > 0;
}

function scalar(value: YamlValue): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return '[]';
  if (typeof value === 'object') return '{}';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`MLflow YAML holds integers only, got ${value}`);
    return String(value);
  }
  return quoted(value);
}

/**
 * A double-quoted YAML scalar. JSON's escapes are YAML's (JSON.stringify already escapes lone
 * surrogates); on top, the characters PyYAML refuses in a stream (DEL, C1 controls, U+FFFE, U+FFFF)
 * or folds as line breaks (U+0085, U+2028, U+2029), and a byte-order mark, are escaped.
 */
function quoted(text: string): string {
  return JSON.stringify(text).replace(/[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
