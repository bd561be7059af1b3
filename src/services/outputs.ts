import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigurationError, errnoCode } from '../errors.js';
import { normaliseDeclaredPaths, type DeclaredPath } from '../adapters/fs/scan.js';
import { parseDirectoryManifest, type TrackedPath } from '../domain/data/manifest.js';
import { MetricsError, flattenMetrics, parseMetricsJson } from '../domain/train/metrics.js';
import { paramTexts } from '../domain/train/params.js';
import type { StoredOutput } from '../domain/registry/records.js';
import type { BlobStore } from '../adapters/store/blob-store.js';
import { downloadText, restoreFile } from './objects.js';
import { snapshotWorkspace, type StateDirectory } from '../adapters/fs/workspace.js';

export type OutputRole = 'model' | 'metrics' | 'predictions' | 'smoke';

export interface OutputPath extends DeclaredPath {
  readonly role: OutputRole;
}

/**
 * The configured outputs, checked before anything runs: each must be a distinct path inside the
 * repository that is neither data nor mlship's own files, because train deletes them before it runs.
 */
export function outputPaths(
  outputs: { model: string; metrics: string; predictions?: string | undefined; smoke?: string | undefined },
  dataPaths: readonly string[],
  where: (p: (string | number)[]) => string,
): OutputPath[] {
  const declared = (['model', 'metrics', 'predictions', 'smoke'] as const)
    .filter((role) => outputs[role] !== undefined)
    .map((role) => ({ role, path: outputs[role]!, where: where(['train', 'outputs', role]) }));
  const normalised = normaliseDeclaredPaths(declared);
  const data = normaliseDeclaredPaths(dataPaths.map((p) => ({ path: p, where: '' })));
  return normalised.map((output, i) => {
    const protectedPath = ['mlship.yml', 'mlship.lock'].find((f) => output.path === f || f.startsWith(`${output.path}/`));
    if (protectedPath) throw new ConfigurationError(`${output.where}: "${output.path}" would overwrite ${protectedPath}; outputs are deleted before each run`);
    const clash = data.find((d) => d.path === output.path || d.path.startsWith(`${output.path}/`) || output.path.startsWith(`${d.path}/`));
    if (clash) throw new ConfigurationError(`${output.where}: "${output.path}" overlaps the data path "${clash.path}"; outputs are deleted before each run`);
    return { ...output, role: declared[i]!.role };
  });
}

/** Removes the outputs of an earlier run, so a stale file can never pass for this run's. */
export async function clearOutputs(root: string, outputs: readonly OutputPath[]): Promise<void> {
  for (const output of outputs) await rm(path.join(root, output.path), { recursive: true, force: true });
}

export function readMetricsFile(root: string, output: OutputPath): Record<string, number> {
  let text: string;
  try {
    text = readFileSync(path.join(root, output.path), 'utf8');
  } catch (error) {
    const reason = errnoCode(error) === 'ENOENT' ? 'was not written' : errnoCode(error) === 'EISDIR' ? 'is a directory, expected a JSON file' : String(error);
    throw new ConfigurationError(`metrics file "${output.path}" (${output.where}) ${reason}`);
  }
  try {
    return flattenMetrics(parseMetricsJson(text));
  } catch (error) {
    const reason = error instanceof MetricsError ? error.message : `is not valid JSON (${(error as Error).message})`;
    throw new ConfigurationError(`metrics file "${output.path}": ${reason}`);
  }
}

/** Params from the file in `train.params` (YAML or JSON), which must be a mapping; `text` keeps each as written. */
export function readParams(root: string, file: string | undefined, where: string): { values: Record<string, unknown>; text: Record<string, string> } {
  if (file === undefined) return { values: {}, text: {} };
  let text: string;
  try {
    text = readFileSync(path.join(root, file), 'utf8');
  } catch (error) {
    throw new ConfigurationError(`${where}: params file "${file}" ${errnoCode(error) === 'ENOENT' ? 'does not exist' : `cannot be read (${String(error)})`}`);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (error) {
    throw new ConfigurationError(`params file "${file}" is not valid YAML or JSON: ${(error as Error).message.split('\n')[0]}`);
  }
  if (value === null || value === undefined) return { values: {}, text: {} };
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigurationError(`params file "${file}": expected a mapping of names to values`);
  return { values: value as Record<string, unknown>, text: paramTexts(text) };
}

export function storedOutput(tracked: TrackedPath): StoredOutput {
  return { path: tracked.path, type: tracked.type, hash: `sha256:${tracked.hash}`, size: tracked.size, files: tracked.files };
}

/**
 * Makes the workspace hold a run's recorded outputs: those already on disk as recorded (the usual
 * case on a laptop) are left alone, the rest come from the store, verified.
 */
export async function restoreRecordedOutputs(
  state: StateDirectory,
  outputs: readonly OutputPath[],
  recorded: Readonly<Record<string, StoredOutput | undefined>>,
  store: BlobStore,
  onRestore: (output: StoredOutput) => void,
): Promise<void> {
  const local = await snapshotWorkspace(state, outputs, { allowMissing: true });
  const onDisk = new Map(local.snapshot.paths.map((p) => [p.path, `sha256:${p.hash}`]));
  for (const output of Object.values(recorded)) {
    if (!output || onDisk.get(output.path) === output.hash) continue;
    onRestore(output);
    await restoreOutput(store, state.root, output);
  }
}

/** Puts a recorded output back in the workspace from the store, verified (a cache hit). */
export async function restoreOutput(store: BlobStore, root: string, output: StoredOutput): Promise<void> {
  const hash = output.hash.replace(/^sha256:/, '');
  const target = path.join(root, output.path);
  if (output.type === 'file') {
    await restoreFile(store, hash, output.size, output.path, target);
    return;
  }
  const entries = parseDirectoryManifest(await downloadText(store, hash, `manifest of ${output.path}`));
  await rm(target, { recursive: true, force: true });
  for (const entry of entries) await restoreFile(store, entry.hash, entry.size, `${output.path}/${entry.path}`, path.join(target, entry.path));
}
