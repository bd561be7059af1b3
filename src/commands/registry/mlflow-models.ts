import path from 'node:path';
import { TEMPORARY_NAME, temporarySibling } from '../../adapters/fs/atomic.js';
import { MODELS_FOLDER, mlflowAlias, mlflowRunId, modelVersionMeta, numberVersions, registeredModelMeta, type YamlMapping } from '../../domain/registry/mlflow.js';
import { shortVersion, type RunRecord } from '../../domain/registry/records.js';
import type { Registry } from '../../domain/registry/registry.js';
import { artifactNames, runArtifactsUri, type ExportContext, type Ledger } from './mlflow-runs.js';

/** The tag that ties an MLflow model version to mlship's model version. */
const VERSION_TAG = 'mlship.model_version';
/** What `delete_model_version` leaves: the folder stays, in this stage. */
const DELETED_STAGE = 'Deleted_Internal';

export interface ModelsOutcome {
  /** Model versions in MLflow's registry for the project (not deleted there). */
  readonly versions: number;
  /** The registered model exists in the export. */
  readonly registered: boolean;
}

/**
 * The project's model versions as MLflow's model registry keeps them (model_registry/file_store.py):
 * a registered model named after the project, integer versions in order of first appearance, each
 * READY with its source at the run's model artifact, and mlship's aliases. Versions and aliases
 * MLflow changed or deleted stay as MLflow has them; a registered model deleted there is not revived.
 */
export async function exportModels(context: ExportContext, registry: Registry, project: string, runs: readonly RunRecord[], ledger: Ledger, now: number): Promise<ModelsOutcome> {
  const { tree, secrets } = context;
  const modelDir = `${MODELS_FOLDER}/${project}`;
  const producedBy = firstRuns(runs);
  if (!tree.exists(`${modelDir}/meta.yaml`)) {
    if (ledger.registeredModels.includes(project)) {
      context.note(`the registered model "${project}" was deleted in MLflow; the export leaves it deleted (move ${tree.path('mlship-export.json')} away to export it again)`);
      return { versions: 0, registered: false };
    }
    if (producedBy.size === 0) return { versions: 0, registered: false };
    const description = `Model versions trained by mlship for ${project}; the tag ${VERSION_TAG} holds mlship's version.`;
    tree.writeYaml(`${modelDir}/meta.yaml`, registeredModelMeta({ name: project, description, now }));
  }
  for (const leftover of tree.names(modelDir).filter((name) => TEMPORARY_NAME.test(name))) tree.remove(`${modelDir}/${leftover}`);

  const existing = existingVersions(context, modelDir);
  const numbers = numberVersions([...producedBy.keys()], new Map([...existing].map(([version, v]) => [version, v.number])), highestVersion(context, modelDir));
  let changed = false;
  for (const [version, run] of producedBy) {
    if (existing.has(version)) continue;
    const number = numbers.get(version)!;
    const model = await registry.model(version);
    const source = sourceRun(runs, model?.runId) ?? run;
    const artifact = artifactNames(source.outputs).get('model');
    const meta = modelVersionMeta({
      name: project,
      version: number,
      runId: mlflowRunId(source.id),
      source: `${runArtifactsUri(tree, context.experiment, mlflowRunId(source.id))}/${artifact ?? 'model'}`,
      description: secrets.mask(`mlship model version ${shortVersion(version)}, trained by run ${source.id}`),
      userId: secrets.mask(source.user),
      createdAt: Date.parse(model?.createdAt ?? source.finishedAt),
    });
    const tags = { [VERSION_TAG]: version, 'mlship.run_id': source.id, 'mlship.data_version': source.dataVersion };
    writeVersion(context, `${modelDir}/version-${number}`, meta, secrets.maskDeep(tags));
    changed = true;
  }

  const deleted = new Set([...existing].filter(([, v]) => v.stage === DELETED_STAGE).map(([version]) => version));
  changed = writeAliases(context, modelDir, await registry.aliases(), numbers, deleted) || changed;
  if (changed) touch(context, `${modelDir}/meta.yaml`, now);
  return { versions: [...numbers.keys()].filter((version) => !deleted.has(version)).length, registered: true };
}

/** Each model version with the first successful run that produced it, oldest first. */
function firstRuns(runs: readonly RunRecord[]): Map<string, RunRecord> {
  const first = new Map<string, RunRecord>();
  for (const run of runs) if (run.status === 'succeeded' && run.modelVersion && !first.has(run.modelVersion)) first.set(run.modelVersion, run);
  return first;
}

function sourceRun(runs: readonly RunRecord[], id: string | undefined): RunRecord | undefined {
  return id === undefined ? undefined : runs.find((run) => run.id === id);
}

/** Versions an earlier export wrote, by mlship model version: their number and MLflow stage. */
function existingVersions(context: ExportContext, modelDir: string): Map<string, { number: number; stage: unknown }> {
  const found = new Map<string, { number: number; stage: unknown }>();
  for (const name of context.tree.directories(modelDir)) {
    const number = /^version-(\d+)$/.exec(name)?.[1];
    const version = context.tree.readText(`${modelDir}/${name}/tags/${VERSION_TAG}`);
    if (number === undefined || version === undefined) continue;
    found.set(version, { number: Number(number), stage: context.tree.readYaml(`${modelDir}/${name}/meta.yaml`)?.current_stage });
  }
  return found;
}

function highestVersion(context: ExportContext, modelDir: string): number {
  return Math.max(0, ...context.tree.directories(modelDir).map((name) => Number(/^version-(\d+)$/.exec(name)?.[1] ?? 0)));
}

/**
 * A version folder appears whole: MLflow reads the meta.yaml of every `version-*` folder and fails
 * on one without, so it is written under a temporary name and moved in.
 */
function writeVersion(context: ExportContext, target: string, meta: YamlMapping, tags: Record<string, string>): void {
  const { tree } = context;
  const staging = `${path.posix.dirname(target)}/${path.basename(temporarySibling(tree.path(target)))}`;
  for (const [key, value] of Object.entries(tags)) tree.writeText(`${staging}/tags/${key}`, value);
  tree.writeYaml(`${staging}/meta.yaml`, meta);
  tree.rename(staging, target);
}

/**
 * mlship's aliases under MLflow's alias rules, each naming its version's number. mlship's aliases
 * are what is deployed, so they win over a move made in MLflow; aliases made in MLflow stay.
 */
function writeAliases(context: ExportContext, modelDir: string, aliases: readonly { alias: string; version: string }[], numbers: ReadonlyMap<string, number>, deleted: ReadonlySet<string>): boolean {
  const { tree } = context;
  const written = new Map<string, string>();
  let changed = false;
  for (const { alias, version } of aliases) {
    const name = mlflowAlias(alias);
    const number = numbers.get(version);
    if (number === undefined || deleted.has(version)) {
      context.note(`alias ${alias} → ${shortVersion(version)} left out: ${number === undefined ? 'no recorded run produced that model version' : `version ${number} was deleted in MLflow`}`);
      continue;
    }
    if (written.has(name)) {
      context.note(`alias ${alias} left out: its MLflow name "${name}" is taken by alias ${written.get(name)}`);
      continue;
    }
    if (name !== alias) context.note(`alias ${alias} written as "${name}" (MLflow aliases allow letters, digits, _ and -, and reserve latest and v<digits>)`);
    written.set(name, alias);
    const file = `${modelDir}/aliases/${name}`;
    if (tree.readText(file) !== String(number)) {
      tree.writeText(file, String(number));
      changed = true;
    }
  }
  return changed;
}

/** Marks the registered model updated, as MLflow does on every change, keeping the rest of its meta. */
function touch(context: ExportContext, file: string, now: number): void {
  const meta = context.tree.readYaml(file);
  if (meta) context.tree.writeYaml(file, { ...(meta as YamlMapping), last_updated_timestamp: now });
}
