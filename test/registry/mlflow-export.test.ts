import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ExitCode } from '../../src/errors.js';
import { mlflowRunId } from '../../src/domain/registry/mlflow.js';
import { makeTrainingProject } from '../helpers/git-project.js';
import { REPO_ROOT } from '../helpers/bundle.js';
import { runIn, storeObjects, temporaryDirectory, writeTree } from '../helpers/project.js';

const READER = path.join(REPO_ROOT, 'test/fixtures/mlflow/file_store_reader.py');

interface StoreView {
  experiments: Record<string, { name: string; lifecycle_stage: string; deleted: boolean; tags: Record<string, string> }>;
  runs: Record<
    string,
    {
      info: { run_name: string; status: string; lifecycle_stage: string; experiment_id: string; user_id: string };
      params: Record<string, string>;
      metrics: Record<string, number>;
      tags: Record<string, string>;
      artifacts: string[];
    }
  >;
  registered_models: Record<
    string,
    {
      versions: Record<string, { run_id: string; source: string; source_exists: boolean; status: string; current_stage: string; tags: Record<string, string> }>;
      aliases: Record<string, string>;
    }
  >;
}

/** The store as MLflow's file stores load it (test/fixtures/mlflow/file_store_reader.py, PyYAML). */
function readAsMlflow(mlruns: string): { view?: StoreView; problems: string[] } {
  const reader = spawnSync('python3', [READER, mlruns], { encoding: 'utf8' });
  if (reader.status !== 0 && reader.status !== 1) throw new Error(`the reader failed (needs python3 with PyYAML, Debian: python3-yaml): ${reader.stderr}`);
  const out = JSON.parse(reader.stdout) as StoreView & { problems?: string[] };
  return reader.status === 0 ? { view: out, problems: [] } : { problems: out.problems ?? [] };
}

function loadAsMlflow(mlruns: string): StoreView {
  const { view, problems } = readAsMlflow(mlruns);
  expect(problems).toEqual([]);
  return view!;
}

/** Edits a meta.yaml the way MLflow's FileStore rewrites it (overwrite_yaml). */
function editMeta(file: string, change: Record<string, unknown>): void {
  writeFileSync(file, stringify({ ...(parse(readFileSync(file, 'utf8')) as object), ...change }));
}

describe('registry export --mlflow', () => {
  it("writes a store MLflow's file stores read back: runs with params as written, metrics, tags and outputs, and the model registry", async () => {
    const project = await makeTrainingProject({ files: { 'params.yaml': 'scale: 2.0\nlr: 1.0\nnested: { depth: 3 }\nlayers: [64, 0.50]\n' } });
    const first = await project.run('train');
    writeTree(project.root, { 'params.yaml': 'scale: 3.0\nlr: 1.0\nnested: { depth: 3 }\nlayers: [64, 0.50]\n' });
    const second = await project.run('train');
    const [v1, v2] = [first, second].map((r) => r.result!.outputs['model-version'] as string);
    const [run1, run2] = [first, second].map((r) => r.result!.outputs['run-id'] as string);
    expect(v1).not.toBe(v2);
    await project.run('registry', 'alias', 'set', 'production', v1!);
    await project.run('registry', 'alias', 'set', 'latest', v2!);
    await project.run('registry', 'alias', 'set', 'canary.eu', v2!);

    const exported = await project.run('registry', 'export', '--mlflow', 'mlruns');
    expect(exported.error).toBeUndefined();
    expect(exported.result!.outputs).toEqual({ 'exported-runs': 2, 'experiment-id': '1', 'deleted-runs': 0, 'incomplete-runs': [], 'model-versions': 2 });

    const mlruns = path.join(project.root, 'mlruns');
    const store = loadAsMlflow(mlruns);
    expect(store.experiments['0']).toMatchObject({ name: 'Default', lifecycle_stage: 'active' });
    expect(store.experiments['1']).toMatchObject({ name: 'churn', lifecycle_stage: 'active' });
    const r1 = store.runs[mlflowRunId(run1!)]!;
    const r2 = store.runs[mlflowRunId(run2!)]!;
    expect(r1.info).toMatchObject({ run_name: run1, status: 'FINISHED', lifecycle_stage: 'active', experiment_id: '1' });
    expect(r1.params).toEqual({ scale: '2.0', lr: '1.0', 'nested.depth': '3', layers: '[64, 0.50]' });
    expect(r2.params.scale).toBe('3.0');
    expect(r1.metrics).toEqual({ 'train.auc': 0.52, 'train.rows': 4, loss: 0.25 });
    expect(r2.tags).toMatchObject({ 'mlflow.runName': run2, 'mlship.run_id': run2, 'mlship.model_version': v2 });
    expect(r2.artifacts).toEqual(['metrics.json', 'mlship-run.json', 'model/env.json', 'model/weights.json', 'predictions.csv']);
    const artifacts = path.join(mlruns, '1', mlflowRunId(run2!), 'artifacts');
    for (const file of ['model/weights.json', 'metrics.json', 'predictions.csv']) {
      expect(readFileSync(path.join(artifacts, file), 'utf8')).toBe(readFileSync(path.join(project.root, file), 'utf8'));
    }
    expect(JSON.parse(readFileSync(path.join(artifacts, 'mlship-run.json'), 'utf8'))).toMatchObject({ id: run2, modelVersion: v2 });

    const model = store.registered_models.churn!;
    expect(model.versions['1']).toMatchObject({ run_id: mlflowRunId(run1!), status: 'READY', current_stage: 'None', source_exists: true, tags: { 'mlship.model_version': v1 } });
    expect(model.versions['1']!.source).toBe(`file://${path.join(mlruns, '1', mlflowRunId(run1!), 'artifacts', 'model')}`);
    expect(model.versions['2']).toMatchObject({ run_id: mlflowRunId(run2!), tags: { 'mlship.model_version': v2 } });
    expect(model.aliases).toEqual({ production: '1', 'mlship-latest': '2', canary_eu: '2' });
    expect(exported.reporter.text()).toContain('alias latest written as "mlship-latest"');
  });

  it('exporting again keeps what was changed in MLflow: deletions, renames, notes, its own aliases', async () => {
    const project = await makeTrainingProject();
    const first = await project.run('train');
    writeTree(project.root, { 'params.yaml': 'scale: 3\n' });
    const second = await project.run('train');
    const [run1, run2] = [first, second].map((r) => r.result!.outputs['run-id'] as string);
    await project.run('registry', 'alias', 'set', 'staging', second.result!.outputs['model-version'] as string);
    await project.run('registry', 'export', '--mlflow', 'mlruns');
    const mlruns = path.join(project.root, 'mlruns');
    const dir1 = path.join(mlruns, '1', mlflowRunId(run1!));
    const dir2 = path.join(mlruns, '1', mlflowRunId(run2!));
    const model = path.join(mlruns, 'models', 'churn');

    // What MLflow's FileStore writes for delete_run, rename (set_tag mlflow.runName), a note,
    // delete_model_version (stage Deleted_Internal, its aliases removed) and set_registered_model_alias.
    editMeta(path.join(dir1, 'meta.yaml'), { lifecycle_stage: 'deleted', deleted_time: 1_800_000_000_000 });
    editMeta(path.join(dir2, 'meta.yaml'), { run_name: 'renamed in mlflow' });
    writeFileSync(path.join(dir2, 'tags', 'mlflow.runName'), 'renamed in mlflow');
    writeFileSync(path.join(dir2, 'tags', 'mlflow.note.content'), 'looks good');
    editMeta(path.join(model, 'version-2', 'meta.yaml'), { current_stage: 'Deleted_Internal' });
    unlinkSync(path.join(model, 'aliases', 'staging'));
    writeFileSync(path.join(model, 'aliases', 'champion'), '1');

    writeTree(project.root, { 'params.yaml': 'scale: 4\n' });
    const third = await project.run('train');
    const run3 = third.result!.outputs['run-id'] as string;
    await project.run('registry', 'alias', 'set', 'production', third.result!.outputs['model-version'] as string);
    const again = await project.run('registry', 'export', '--mlflow', 'mlruns');
    expect(again.result!.outputs).toMatchObject({ 'exported-runs': 2, 'experiment-id': '1', 'deleted-runs': 1, 'model-versions': 2 });

    const store = loadAsMlflow(mlruns);
    expect(Object.keys(store.experiments).sort()).toEqual(['0', '1']);
    expect(store.runs[mlflowRunId(run1!)]!.info.lifecycle_stage).toBe('deleted');
    expect(store.runs[mlflowRunId(run2!)]!.info.run_name).toBe('renamed in mlflow');
    expect(store.runs[mlflowRunId(run2!)]!.tags).toMatchObject({ 'mlflow.runName': 'renamed in mlflow', 'mlflow.note.content': 'looks good' });
    expect(store.runs[mlflowRunId(run3)]!.info.status).toBe('FINISHED');
    const versions = store.registered_models.churn!.versions;
    expect(versions['2']!.current_stage).toBe('Deleted_Internal');
    expect(versions['3']).toMatchObject({ run_id: mlflowRunId(run3), tags: { 'mlship.model_version': third.result!.outputs['model-version'] } });
    expect(store.registered_models.churn!.aliases).toEqual({ champion: '1', production: '3' });
    expect(again.reporter.text()).toContain('alias staging');

    // `mlflow gc` removes a deleted run for good: it stays gone.
    rmSync(dir1, { recursive: true });
    const afterGc = await project.run('registry', 'export', '--mlflow', 'mlruns');
    expect(afterGc.result!.outputs['deleted-runs']).toBe(1);
    expect(readdirSync(path.join(mlruns, '1'))).not.toContain(mlflowRunId(run1!));
    loadAsMlflow(mlruns);
  });

  it('exports a run whose outputs are missing from the store, naming what is missing', async () => {
    const project = await makeTrainingProject();
    const trained = await project.run('train');
    const runId = trained.result!.outputs['run-id'] as string;
    const modelHash = (trained.result!.outputs['model-version'] as string).replace('sha256:', '');
    rmSync(storeObjects(project.store).get(modelHash)!);

    const exported = await project.run('registry', 'export', '--mlflow', 'mlruns');
    expect(exported.error).toBeUndefined();
    expect(exported.result!.outputs).toMatchObject({ 'exported-runs': 1, 'incomplete-runs': [runId] });
    expect(exported.reporter.text()).toMatch(new RegExp(`run ${runId}: model output "model" is not in the export: object sha256:${modelHash} .* is missing from the store`));
    const store = loadAsMlflow(path.join(project.root, 'mlruns'));
    expect(store.runs[mlflowRunId(runId)]!.artifacts).toEqual(['metrics.json', 'mlship-run.json', 'predictions.csv']);
    expect(store.registered_models.churn!.versions['1']!.source_exists).toBe(false);
  });

  it('exports a failed run as FAILED, with why it failed', async () => {
    const project = await makeTrainingProject({ files: { 'train.py': 'import sys\nprint("no data")\nsys.exit(3)\n' } });
    const failed = await project.run('train');
    expect(failed.exitCode).toBe(ExitCode.CheckFailed);
    const exported = await project.run('registry', 'export', '--mlflow', 'mlruns');
    expect(exported.result!.outputs).toMatchObject({ 'exported-runs': 1, 'model-versions': 0 });
    const store = loadAsMlflow(path.join(project.root, 'mlruns'));
    const run = Object.values(store.runs)[0]!;
    expect(run.info.status).toBe('FAILED');
    expect(run.tags['mlship.failure']).toBe('the training command exited with code 3');
    expect(run.artifacts).toEqual(['mlship-run.json']);
    expect(store.registered_models).toEqual({});
  });

  it('writes no secret: params, tags, run records and metadata are masked', async () => {
    const token = 'ghs_exportsecretvalue987654';
    const project = await makeTrainingProject({ files: { 'params.yaml': `scale: 2\nendpoint: "https://user:${token}@example.test/x"\n` } });
    await runIn(project.root, ['train'], { githubToken: token });
    const exported = await runIn(project.root, ['registry', 'export', '--mlflow', 'mlruns'], { githubToken: token });
    expect(exported.error).toBeUndefined();
    const mlruns = path.join(project.root, 'mlruns');
    const files = (readdirSync(mlruns, { recursive: true }) as string[]).map((f) => path.join(mlruns, f)).filter((f) => statSync(f).isFile());
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) expect(readFileSync(file, 'utf8')).not.toContain(token);
    const store = loadAsMlflow(mlruns);
    expect(Object.values(store.runs)[0]!.params.endpoint).toBe('https://user:***@example.test/x');
  });

  it('creates the Default experiment only in a new store, and refuses to revive an experiment deleted in MLflow', async () => {
    const project = await makeTrainingProject();
    await project.run('train');
    const mlruns = path.join(project.root, 'mlruns');
    // A store MLflow already made, without a Default experiment of ours to add.
    mkdirSync(path.join(mlruns, '5'), { recursive: true });
    writeFileSync(path.join(mlruns, '5', 'meta.yaml'), stringify({ artifact_location: `file://${mlruns}/5`, experiment_id: '5', lifecycle_stage: 'active', name: 'other' }));
    const exported = await project.run('registry', 'export', '--mlflow', 'mlruns');
    expect(exported.result!.outputs['experiment-id']).toBe('6');
    expect(readdirSync(mlruns)).not.toContain('0');

    editMeta(path.join(mlruns, '6', 'meta.yaml'), { lifecycle_stage: 'deleted' });
    renameSync(path.join(mlruns, '6'), path.join(mlruns, '.trash', '6'));
    const refused = await project.run('registry', 'export', '--mlflow', 'mlruns');
    expect(refused.exitCode).toBe(ExitCode.Usage);
    expect(refused.error?.message).toContain('the MLflow experiment "churn" (id 6)');
    expect(refused.error?.message).toContain('was deleted in MLflow; restore it (mlflow experiments restore --experiment-id 6)');
  });
});

describe('the MLflow file-store reader used above', () => {
  const experiment = (id: string, name: string): string => `artifact_location: file:///x\nexperiment_id: "${id}"\nlifecycle_stage: active\nname: ${name}\n`;
  const run = 'artifact_uri: file:///nowhere\nend_time: 2\nexperiment_id: "1"\nlifecycle_stage: active\nrun_id: r\nstart_time: 1\nstatus: 3\nuser_id: u\n';
  const version = 'creation_timestamp: 1\ncurrent_stage: None\nname: m\nversion: 1\n';
  /** A small store as MLflow writes it; each case below breaks one rule. */
  const valid = (): Record<string, string> => ({
    '0/meta.yaml': experiment('0', 'Default'),
    '1/meta.yaml': experiment('1', 'x'),
    '1/r/meta.yaml': run,
    '1/r/params/lr': '1.0',
    '1/r/metrics/auc': '1 0.5 0\n',
    'models/m/meta.yaml': 'name: m\n',
    'models/m/version-1/meta.yaml': version,
    'models/m/aliases/production': '1',
  });
  const broken: Record<string, (files: Record<string, string>) => void> = {
    'no Default experiment': (files) => delete files['0/meta.yaml'],
    'a param name MLflow refuses': (files) => (files['1/r/params/bad*name'] = '1'),
    'a metric line of four fields': (files) => (files['1/r/metrics/auc'] = '1 0.5 0 x\n'),
    'a run status as text': (files) => (files['1/r/meta.yaml'] = run.replace('status: 3', 'status: FINISHED')),
    'a user id that YAML 1.1 reads as a boolean': (files) => (files['1/r/meta.yaml'] = run.replace('user_id: u', 'user_id: no')),
    'a run without meta.yaml': (files) => delete files['1/r/meta.yaml'],
    'a version number as text': (files) => (files['models/m/version-1/meta.yaml'] = version.replace('version: 1', 'version: "1"')),
    'a reserved alias': (files) => (files['models/m/aliases/latest'] = '1'),
    'an alias with a newline after its version': (files) => (files['models/m/aliases/production'] = '1\n'),
  };

  it('reads a store as MLflow writes it', () => {
    const root = temporaryDirectory();
    writeTree(root, valid());
    const store = loadAsMlflow(root);
    expect(store.runs.r).toMatchObject({ params: { lr: '1.0' }, metrics: { auc: 0.5 }, info: { status: 'FINISHED' } });
    expect(store.registered_models.m!.aliases).toEqual({ production: '1' });
  });

  it.each(Object.entries(broken))('refuses a store with %s', (_, breakIt) => {
    const root = temporaryDirectory();
    const files = valid();
    breakIt(files);
    writeTree(root, files);
    mkdirSync(path.join(root, '1', 'r'), { recursive: true });
    expect(readAsMlflow(root).problems).not.toEqual([]);
  });
});
