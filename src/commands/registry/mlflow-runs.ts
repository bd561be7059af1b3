import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigurationError } from '../../errors.js';
import { TEMPORARY_NAME, temporarySibling } from '../../adapters/fs/atomic.js';
import type { MlflowFileTree } from '../../adapters/mlflow/file-tree.js';
import type { BlobStore } from '../../adapters/store/blob-store.js';
import {
  MAX_PARAM_VALUE_LENGTH,
  MAX_TAG_VALUE_LENGTH,
  MODELS_FOLDER,
  RUN_STATUS,
  TRASH_FOLDER,
  assignKeys,
  experimentMeta,
  metricLine,
  mlflowRunId,
  runMeta,
  truncated,
} from '../../domain/registry/mlflow.js';
import type { RunRecord, StoredOutput } from '../../domain/registry/records.js';
import type { SecretMasker } from '../../domain/secrets.js';
import { flattenParamValues } from '../../domain/train/params.js';
import { BadObjectError } from '../../services/objects.js';
import { restoreOutput } from '../../services/outputs.js';

/**
 * What mlship remembers of its exports into a store, beside MLflow's files (MLflow reads only the
 * directories of its root): which runs and registered models it wrote, so that one MLflow deleted
 * for good (`mlflow gc`, delete registered model) is not written again.
 */
export interface Ledger {
  readonly schema: 1;
  readonly experiments: Record<string, { readonly project: string; readonly runs: readonly string[] }>;
  readonly registeredModels: readonly string[];
}

const LEDGER = 'mlship-export.json';

export function readLedger(tree: MlflowFileTree): Ledger {
  const text = tree.readText(LEDGER);
  if (text === undefined) return { schema: 1, experiments: {}, registeredModels: [] };
  try {
    const ledger = JSON.parse(text) as Ledger;
    return { schema: 1, experiments: ledger.experiments ?? {}, registeredModels: ledger.registeredModels ?? [] };
  } catch {
    throw new ConfigurationError(`${tree.path(LEDGER)} is not mlship's export ledger (not JSON); move it away to export again`);
  }
}

export function writeLedger(tree: MlflowFileTree, ledger: Ledger, experiment: Experiment, project: string, runs: readonly RunRecord[], registered: boolean): void {
  const previous = ledger.experiments[experiment.id]?.runs ?? [];
  const present = runs.map((run) => mlflowRunId(run.id)).filter((id) => previous.includes(id) || tree.exists(`${experiment.id}/${id}/meta.yaml`));
  const updated: Ledger = {
    schema: 1,
    experiments: { ...ledger.experiments, [experiment.id]: { project, runs: [...new Set([...previous, ...present])].sort() } },
    registeredModels: registered ? [...new Set([...ledger.registeredModels, project])].sort() : ledger.registeredModels,
  };
  tree.writeText(LEDGER, `${JSON.stringify(updated, null, 2)}\n`);
}

export interface Experiment {
  readonly id: string;
  readonly name: string;
  /** Absolute directory under which each run keeps `<run-id>/artifacts`. */
  readonly artifactRoot: string;
  /** MLflow run ids this experiment held after earlier exports. */
  readonly exportedRuns: ReadonlySet<string>;
}

export interface ExportContext {
  readonly tree: MlflowFileTree;
  readonly experiment: Experiment;
  readonly secrets: SecretMasker;
  /** Records a note for the person (printed once as a warning, listed in the summary). */
  readonly note: (text: string) => void;
  readonly store: () => Promise<BlobStore>;
}

/**
 * The project's experiment: the one an earlier export wrote (even if renamed in MLflow since), else
 * the active one with the project's name, else a new one. One deleted in MLflow is not revived.
 */
export function projectExperiment(tree: MlflowFileTree, project: string, ledger: Ledger, now: number): Experiment {
  const active = experimentIds(tree, '');
  const trashed = experimentIds(tree, TRASH_FOLDER);
  const known = Object.entries(ledger.experiments).filter(([, entry]) => entry.project === project).map(([id]) => id);
  const byName = (ids: readonly string[], folder: string): string | undefined => ids.find((id) => tree.readYaml(`${folder}${id}/meta.yaml`)?.name === project);
  const deleted = known.find((id) => trashed.includes(id) && !active.includes(id)) ?? byName(trashed, `${TRASH_FOLDER}/`);
  const id = known.find((id) => active.includes(id)) ?? byName(active, '');
  if (id === undefined && deleted !== undefined) {
    throw new ConfigurationError(
      `the MLflow experiment "${project}" (id ${deleted}) in ${tree.root} was deleted in MLflow; restore it (mlflow experiments restore --experiment-id ${deleted}) ` +
        `or delete it for good (mlflow gc --experiment-ids ${deleted}) before exporting again`,
    );
  }
  if (id !== undefined) {
    const meta = tree.readYaml(`${id}/meta.yaml`) ?? {};
    return { id, name: String(meta.name), artifactRoot: artifactRoot(tree, id, meta.artifact_location), exportedRuns: new Set(ledger.experiments[id]?.runs ?? []) };
  }
  const created = nextExperimentId([...active, ...trashed]);
  tree.writeYaml(`${created}/meta.yaml`, experimentMeta({ id: created, name: project, artifactLocation: tree.uri(created), now }));
  return { id: created, name: project, artifactRoot: tree.path(created), exportedRuns: new Set() };
}

function experimentIds(tree: MlflowFileTree, folder: string): string[] {
  return tree.directories(folder).filter((name) => name !== TRASH_FOLDER && name !== MODELS_FOLDER && tree.exists(`${folder ? `${folder}/` : ''}${name}/meta.yaml`));
}

/** One more than the highest numeric experiment id, active or deleted (MLflow's own may exceed 2^53). */
function nextExperimentId(ids: readonly string[]): string {
  const highest = ids.filter((id) => /^\d+$/.test(id)).reduce((max, id) => (BigInt(id) > max ? BigInt(id) : max), 0n);
  return String(highest + 1n);
}

function artifactRoot(tree: MlflowFileTree, id: string, location: unknown): string {
  if (typeof location === 'string' && location.startsWith('file:')) return fileURLToPath(location);
  if (typeof location === 'string' && location.startsWith('/')) return location;
  throw new ConfigurationError(
    `the MLflow experiment ${id} in ${tree.root} keeps its artifacts at ${JSON.stringify(location)}; mlship copies artifacts only to a local directory (file:)`,
  );
}

export type RunOutcome = 'written' | 'kept' | 'incomplete' | 'deleted';

/**
 * Writes one run as MLflow's FileStore lays it out. A run already there keeps what MLflow holds
 * (renames, tags, notes, a deletion): only what it lacks is added. meta.yaml comes last, because
 * MLflow skips a run directory without one: a run is never seen half-written.
 */
export async function exportRun(context: ExportContext, run: RunRecord): Promise<RunOutcome> {
  const { tree, experiment, secrets } = context;
  const id = mlflowRunId(run.id);
  const dir = `${experiment.id}/${id}`;
  const meta = tree.readYaml(`${dir}/meta.yaml`);
  if (meta?.lifecycle_stage === 'deleted') return 'deleted';
  if (meta === undefined && experiment.exportedRuns.has(id)) return 'deleted';

  const missing = await copyOutputs(context, run, fileURLToPath(runArtifactsUri(tree, experiment, id)));
  const writeIfAbsent = (relative: string, text: string): void => {
    if (!tree.exists(relative)) tree.writeText(relative, text);
  };
  const note = (text: string): void => context.note(`run ${run.id}: ${text}`);

  const params = secrets.maskDeep(run.paramText ?? flattenParamValues(run.params));
  const paramKeys = assignKeys(Object.keys(params), 'param');
  paramKeys.notes.forEach(note);
  for (const [name, key] of paramKeys.keys) {
    const value = truncated(params[name]!, MAX_PARAM_VALUE_LENGTH);
    if (value.cut) note(`param ${key} cut to MLflow's ${MAX_PARAM_VALUE_LENGTH} characters`);
    writeIfAbsent(`${dir}/params/${key}`, value.value);
  }
  const end = Date.parse(run.finishedAt);
  const metricKeys = assignKeys(Object.keys(run.metrics).map((name) => secrets.mask(name)), 'metric');
  metricKeys.notes.forEach(note);
  for (const [name, value] of Object.entries(run.metrics)) {
    const key = metricKeys.keys.get(secrets.mask(name));
    if (key !== undefined) writeIfAbsent(`${dir}/metrics/${key}`, metricLine(end, value));
  }
  for (const [key, text] of Object.entries(runTags(run))) {
    const value = truncated(secrets.mask(text), MAX_TAG_VALUE_LENGTH);
    if (value.cut) note(`tag ${key} cut to MLflow's ${MAX_TAG_VALUE_LENGTH} characters`);
    writeIfAbsent(`${dir}/tags/${key}`, value.value);
  }
  if (meta === undefined) {
    tree.writeYaml(
      `${dir}/meta.yaml`,
      runMeta({
        runId: id,
        runName: secrets.mask(run.id),
        experimentId: experiment.id,
        artifactUri: runArtifactsUri(tree, experiment, id),
        userId: secrets.mask(run.user),
        status: run.status === 'succeeded' ? RUN_STATUS.FINISHED : RUN_STATUS.FAILED,
        startTime: Date.parse(run.startedAt),
        endTime: end,
      }),
    );
  }
  if (missing) return 'incomplete';
  return meta === undefined ? 'written' : 'kept';
}

/**
 * Where a run's artifacts are: the artifact_uri of its meta.yaml once written (list_artifacts looks
 * there), else under its experiment's artifact location (FileStore._get_artifact_dir).
 */
export function runArtifactsUri(tree: MlflowFileTree, experiment: Experiment, mlflowId: string): string {
  const recorded = tree.readYaml(`${experiment.id}/${mlflowId}/meta.yaml`)?.artifact_uri;
  if (typeof recorded === 'string' && recorded.startsWith('file:')) return recorded;
  return pathToFileURL(path.join(experiment.artifactRoot, mlflowId, 'artifacts')).href;
}

function runTags(run: RunRecord): Record<string, string> {
  return {
    'mlflow.runName': run.id,
    'mlflow.user': run.user,
    'mlflow.source.git.commit': run.git.sha,
    'mlflow.source.git.branch': run.git.ref,
    'mlship.run_id': run.id,
    'mlship.run_key': run.key,
    'mlship.data_version': run.dataVersion,
    'mlship.command': run.command,
    'mlship.git_dirty': String(run.git.dirty),
    ...(run.modelVersion ? { 'mlship.model_version': run.modelVersion } : {}),
    ...(run.failure ? { 'mlship.failure': run.failure } : {}),
  };
}

/** Where each output of a run goes under its artifacts: the output's own name, unless two share one. */
export function artifactNames(outputs: RunRecord['outputs']): Map<string, string> {
  const entries = Object.entries(outputs).filter((entry): entry is [string, StoredOutput] => entry[1] !== undefined);
  const base = (output: StoredOutput): string => path.posix.basename(output.path);
  return new Map(
    entries.map(([role, output]) => [role, entries.filter(([, other]) => base(other) === base(output)).length > 1 ? `${role}-${base(output)}` : base(output)]),
  );
}

/**
 * Copies the run's outputs (verified) and its record into its artifacts, each output whole or not
 * at all. An output whose objects the store lacks is left out with a note; true for `missing`.
 */
async function copyOutputs(context: ExportContext, run: RunRecord, artifacts: string): Promise<boolean> {
  const { tree, secrets } = context;
  const relative = path.relative(tree.root, artifacts).split(path.sep).join('/');
  for (const leftover of tree.names(relative).filter((name) => TEMPORARY_NAME.test(name))) tree.remove(`${relative}/${leftover}`);
  const record = `${relative}/mlship-run.json`;
  if (!tree.exists(record)) tree.writeText(record, `${JSON.stringify(secrets.maskDeep(run), null, 2)}\n`);

  let missing = false;
  for (const [role, name] of artifactNames(run.outputs)) {
    const output = run.outputs[role as keyof RunRecord['outputs']]!;
    const target = path.join(artifacts, name);
    if (tree.exists(`${relative}/${name}`)) continue;
    // Restored beside its place under a temporary name, then moved in: a directory appears whole.
    const staging = temporarySibling(target);
    try {
      await restoreOutput(await context.store(), path.dirname(staging), { ...output, path: path.basename(staging) });
      await rename(staging, target);
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      if (!(error instanceof BadObjectError)) throw error;
      missing = true;
      context.note(`run ${run.id}: ${role} output "${output.path}" is not in the export: ${error.message}`);
    }
  }
  return missing;
}
