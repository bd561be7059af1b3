import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseYaml, stringify } from 'yaml';
import { writeFileAtomic } from '../../adapters/fs/atomic.js';
import { ConfigurationError } from '../../errors.js';
import type { RunRecord } from '../../domain/registry/records.js';
import type { CommandDefinition } from '../command.js';
import { openProjectRegistry } from '../../services/registry.js';

/** MLflow's run status codes (RunStatus enum): FINISHED and FAILED. */
const MLFLOW_FINISHED = 3;
const MLFLOW_FAILED = 4;

export const registryExport: CommandDefinition = {
  words: ['registry', 'export'],
  description: "Write every recorded run in MLflow's file-store layout, so a team can open them in MLflow.",
  options: {
    mlflow: { type: 'string', value: 'DIR', description: 'The mlruns directory to write (created or updated).' },
  },
  outputs: {
    'exported-runs': 'Number of runs written.',
    'experiment-id': 'The MLflow experiment the runs are in (named after the project).',
  },
  async run(options, context) {
    if (typeof options.mlflow !== 'string') throw new ConfigurationError('registry export needs --mlflow DIR (the only export format)');
    const { loaded, registry } = await openProjectRegistry(context);
    const mlruns = path.resolve(path.dirname(context.configFile), options.mlflow);
    const experimentId = experimentFor(mlruns, loaded.config.name);
    const experimentDir = path.join(mlruns, experimentId);
    const now = Date.now();
    if (!existsSync(path.join(experimentDir, 'meta.yaml'))) {
      writeYaml(path.join(experimentDir, 'meta.yaml'), {
        artifact_location: pathToFileURL(experimentDir).href,
        creation_time: now,
        experiment_id: experimentId,
        last_update_time: now,
        lifecycle_stage: 'active',
        name: loaded.config.name,
      });
    }
    let exported = 0;
    for (const id of await registry.runIds()) {
      const run = await registry.run(id);
      if (!run) continue;
      writeRun(experimentDir, experimentId, run);
      exported += 1;
    }
    context.reporter.info(`exported ${exported} runs to ${mlruns} (experiment ${experimentId} "${loaded.config.name}"); open with: mlflow ui --backend-store-uri ${pathToFileURL(mlruns).href}`);
    return {
      outputs: { 'exported-runs': exported, 'experiment-id': experimentId },
      summary: `### mlship registry export\n\n${exported} runs written to \`${options.mlflow}\` (MLflow experiment ${experimentId}).\n`,
    };
  },
};

/** The id of the experiment with this name, or the next free one (0 is MLflow's Default). */
function experimentFor(mlruns: string, name: string): string {
  const ids = existsSync(mlruns) ? readdirSync(mlruns).filter((d) => /^\d+$/.test(d)) : [];
  for (const id of ids) {
    const meta = path.join(mlruns, id, 'meta.yaml');
    if (existsSync(meta) && (parseYaml(readFileSync(meta, 'utf8')) as { name?: string } | null)?.name === name) return id;
  }
  return String(Math.max(0, ...ids.map(Number)) + 1);
}

/** MLflow run ids are 32 hex digits; derive one from ours so re-exporting updates the same run. */
export function mlflowRunId(runId: string): string {
  return createHash('sha256').update(runId).digest('hex').slice(0, 32);
}

function writeRun(experimentDir: string, experimentId: string, run: RunRecord): void {
  const runUuid = mlflowRunId(run.id);
  const dir = path.join(experimentDir, runUuid);
  const start = Date.parse(run.startedAt);
  const end = Date.parse(run.finishedAt);
  writeYaml(path.join(dir, 'meta.yaml'), {
    artifact_uri: pathToFileURL(path.join(dir, 'artifacts')).href,
    end_time: end,
    entry_point_name: '',
    experiment_id: experimentId,
    lifecycle_stage: 'active',
    run_id: runUuid,
    run_name: run.id,
    run_uuid: runUuid,
    source_name: '',
    source_type: 4,
    source_version: run.git.sha,
    start_time: start,
    status: run.status === 'succeeded' ? MLFLOW_FINISHED : MLFLOW_FAILED,
    tags: [],
    user_id: run.user,
  });
  for (const [key, value] of Object.entries(run.metrics)) writeFileAtomic(path.join(dir, 'metrics', safeKey(key)), `${end} ${value} 0\n`);
  for (const [key, value] of Object.entries(flattenParams(run.params))) writeFileAtomic(path.join(dir, 'params', safeKey(key)), value);
  const tags: Record<string, string> = {
    'mlflow.runName': run.id,
    'mlflow.user': run.user,
    'mlflow.source.git.commit': run.git.sha,
    'mlflow.source.git.branch': run.git.ref,
    'mlship.run_key': run.key,
    'mlship.data_version': run.dataVersion,
    'mlship.command': run.command,
    'mlship.git_dirty': String(run.git.dirty),
    ...(run.modelVersion ? { 'mlship.model_version': run.modelVersion } : {}),
    ...(run.failure ? { 'mlship.failure': run.failure } : {}),
  };
  for (const [key, value] of Object.entries(tags)) writeFileAtomic(path.join(dir, 'tags', key), value);
  writeFileAtomic(path.join(dir, 'artifacts', 'mlship-run.json'), `${JSON.stringify(run, null, 2)}\n`);
}

/** Params as MLflow keeps them: one string per dotted key. */
export function flattenParams(params: Readonly<Record<string, unknown>>, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (value && typeof value === 'object' && !Array.isArray(value)) Object.assign(out, flattenParams(value as Record<string, unknown>, name));
    else out[name] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return out;
}

/** Metric and param names become file names: keep MLflow's allowed characters, nothing that escapes the directory. */
function safeKey(key: string): string {
  return key.replace(/[^A-Za-z0-9_\-. /]/g, '_').replace(/\.\.+/g, '_').replace(/^\/+/, '');
}

function writeYaml(file: string, value: Record<string, unknown>): void {
  writeFileAtomic(file, stringify(value));
}
