import path from 'node:path';
import { ConfigurationError } from '../../errors.js';
import { MlflowFileTree } from '../../adapters/mlflow/file-tree.js';
import type { BlobStore } from '../../adapters/store/blob-store.js';
import { openStore } from '../../adapters/store/open-store.js';
import { DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME, TRASH_FOLDER, experimentMeta } from '../../domain/registry/mlflow.js';
import type { RunRecord } from '../../domain/registry/records.js';
import type { Registry } from '../../domain/registry/registry.js';
import type { CommandDefinition } from '../command.js';
import { openProjectRegistry } from '../../services/registry.js';
import { exportModels } from './mlflow-models.js';
import { exportRun, projectExperiment, readLedger, writeLedger, type ExportContext } from './mlflow-runs.js';

export const registryExport: CommandDefinition = {
  words: ['registry', 'export'],
  description:
    "Write the registry as an MLflow file store that MLflow opens as its own: every run (params, metrics, tags, outputs as artifacts), and the model versions and aliases in MLflow's model registry.",
  options: {
    mlflow: {
      type: 'string',
      value: 'DIR',
      description: 'The MLflow file store (mlruns directory) to write: created, or updated keeping what was changed there in MLflow.',
    },
  },
  outputs: {
    'exported-runs': 'Number of runs written or brought up to date.',
    'experiment-id': 'The MLflow experiment the runs are in (named after the project).',
    'deleted-runs': 'Number of runs left out because they were deleted in MLflow (they stay deleted).',
    'incomplete-runs': 'JSON list of the runs exported without some of their outputs, because the objects are missing from the store.',
    'model-versions': 'Number of model versions in the MLflow model registry, under a registered model named after the project.',
  },
  async run(options, context) {
    if (typeof options.mlflow !== 'string') throw new ConfigurationError('registry export needs --mlflow DIR (the only export format)');
    const { loaded, registry } = await openProjectRegistry(context);
    const project = loaded.config.name;
    const tree = new MlflowFileTree(path.resolve(path.dirname(context.configFile), options.mlflow));
    if (tree.exists('') && !tree.isDirectory('')) throw new ConfigurationError(`--mlflow ${options.mlflow}: ${tree.root} is a file, expected an MLflow file store directory`);
    const now = Date.now();

    if (tree.isNew()) {
      tree.writeYaml(`${DEFAULT_EXPERIMENT_ID}/meta.yaml`, experimentMeta({ id: DEFAULT_EXPERIMENT_ID, name: DEFAULT_EXPERIMENT_NAME, artifactLocation: tree.uri(DEFAULT_EXPERIMENT_ID), now }));
    }
    tree.makeDirectory(TRASH_FOLDER);
    const ledger = readLedger(tree);
    const experiment = projectExperiment(tree, project, ledger, now);

    const runs = await oldestFirst(registry);
    const notes = new Set<string>();
    let store: Promise<BlobStore> | undefined;
    const exporting: ExportContext = {
      tree,
      experiment,
      secrets: context.secrets,
      note: (text) => notes.add(text),
      store: () => (store ??= openStore(loaded.config.data?.store, loaded.root, loaded.where(['data', 'store']))),
    };
    const exported: string[] = [];
    const deleted: string[] = [];
    const incomplete: string[] = [];
    for (const run of runs) {
      const outcome = await exportRun(exporting, run);
      if (outcome === 'deleted') deleted.push(run.id);
      else exported.push(run.id);
      if (outcome === 'incomplete') incomplete.push(run.id);
    }
    const models = await exportModels(exporting, registry, project, runs, ledger, now);
    writeLedger(tree, ledger, experiment, project, runs, models.registered);

    for (const note of notes) context.reporter.warning(note);
    context.reporter.info(
      `exported ${exported.length} runs to ${tree.root} (experiment ${experiment.id} "${experiment.name}")` +
        (deleted.length > 0 ? `; ${deleted.length} deleted in MLflow stay deleted` : '') +
        `; ${models.versions} model versions in the model registry as "${project}"`,
    );
    context.reporter.info(`open with: mlflow ui --backend-store-uri ${tree.uri('')}`);
    return {
      outputs: {
        'exported-runs': exported.length,
        'experiment-id': experiment.id,
        'deleted-runs': deleted.length,
        'incomplete-runs': incomplete,
        'model-versions': models.versions,
      },
      summary: summary(options.mlflow, experiment.id, exported.length, deleted.length, incomplete, models.versions, project, [...notes]),
    };
  },
};

/** Every recorded run, oldest first: model versions are numbered in the order runs first produced them. */
async function oldestFirst(registry: Registry): Promise<RunRecord[]> {
  const runs: RunRecord[] = [];
  for (const id of (await registry.runIds()).reverse()) {
    const run = await registry.run(id);
    if (run) runs.push(run);
  }
  return runs;
}

function summary(dir: string, experimentId: string, exported: number, deleted: number, incomplete: readonly string[], versions: number, project: string, notes: readonly string[]): string {
  const lines = [
    '### mlship registry export',
    '',
    `${exported} runs written to \`${dir}\` (MLflow experiment ${experimentId}); ${versions} model versions in MLflow's model registry as \`${project}\`.`,
  ];
  if (deleted > 0) lines.push('', `${deleted} runs deleted in MLflow stay deleted.`);
  if (incomplete.length > 0) lines.push('', `Exported without some outputs (objects missing from the store): ${incomplete.map((id) => `\`${id}\``).join(', ')}.`);
  if (notes.length > 0) lines.push('', ...notes.map((note) => `- ${note}`));
  return `${lines.join('\n')}\n`;
}
