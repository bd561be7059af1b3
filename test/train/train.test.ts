import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { git, makeTrainingProject, TRAIN_CONFIG } from '../helpers/git-project.js';
import { storeObjects, writeTree } from '../helpers/project.js';

function registryFiles(root: string, directory: string): string[] {
  const full = path.join(root, '.mlship/registry', directory);
  return existsSync(full) ? readdirSync(full) : [];
}

function readRun(root: string, id: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(root, '.mlship/registry/runs', `${id}.json`), 'utf8')) as Record<string, unknown>;
}

describe('mlship train', () => {
  it('trains, records the run with its lineage, and stores the outputs by content', async () => {
    const project = await makeTrainingProject();
    const run = await project.run('train');
    expect(run.error).toBeUndefined();
    const outputs = run.result!.outputs;
    expect(outputs['cache-hit']).toBe(false);
    expect(outputs['model-version']).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(outputs.metrics).toEqual({ 'train.rows': 4, 'train.auc': 0.52, loss: 0.25 });
    const record = readRun(project.root, outputs['run-id'] as string);
    const lock = readFileSync(path.join(project.root, 'mlship.lock'), 'utf8');
    expect(record).toMatchObject({
      status: 'succeeded',
      project: 'churn',
      command: 'python3 train.py',
      params: { scale: 2 },
      modelVersion: outputs['model-version'],
      git: { sha: git(project.root, 'rev-parse', 'HEAD').trim(), dirty: false, tree: git(project.root, 'rev-parse', 'HEAD^{tree}').trim() },
    });
    expect(lock).toContain(record.dataVersion as string);
    expect(record.logTail).toContain('trained on 4 rows');
    // The command saw its run id and data version.
    const env = JSON.parse(readFileSync(path.join(project.root, 'model/env.json'), 'utf8')) as Record<string, string>;
    expect(env).toEqual({ MLSHIP_RUN_ID: outputs['run-id'], MLSHIP_DATA_VERSION: record.dataVersion, MLSHIP_RUN_KEY: record.key });
    // Model files, its manifest, metrics and predictions are in the store, by hash.
    const stored = storeObjects(project.store);
    const recordOutputs = record.outputs as Record<string, { hash: string }>;
    for (const output of Object.values(recordOutputs)) expect(stored.has(output.hash.slice(7))).toBe(true);
    expect(registryFiles(project.root, 'models')).toEqual([`${(outputs['model-version'] as string).slice(7)}.json`]);
    expect(run.result!.summary).toContain('| Cache hit | no |');
  });

  it('reuses an identical run: the second train is a cache hit that restores the outputs', async () => {
    const project = await makeTrainingProject();
    const first = await project.run('train');
    rmSync(path.join(project.root, 'model'), { recursive: true });
    rmSync(path.join(project.root, 'metrics.json'));
    const second = await project.run('train');
    expect(second.error).toBeUndefined();
    expect(second.result!.outputs).toEqual({ ...first.result!.outputs, 'cache-hit': true });
    expect(second.reporter.text()).toContain('cache hit');
    expect(existsSync(path.join(project.root, 'model/weights.json'))).toBe(true);
    expect(JSON.parse(readFileSync(path.join(project.root, 'metrics.json'), 'utf8'))).toMatchObject({ loss: 0.25 });
    expect(second.reporter.text()).toContain('restoring model from');
    expect(second.reporter.text()).not.toContain('restoring predictions.csv'); // still on disk as recorded
    const third = await project.run('train');
    expect(third.result!.outputs['cache-hit']).toBe(true);
    expect(third.reporter.text()).not.toContain('restoring ');
    expect(registryFiles(project.root, 'runs')).toHaveLength(1);
    const forced = await project.run('train', '--force');
    expect(forced.result!.outputs['cache-hit']).toBe(false);
    expect(forced.result!.outputs['run-id']).not.toBe(first.result!.outputs['run-id']);
  });

  it('trains again when a param, the data, the command or uncommitted code changes', async () => {
    const project = await makeTrainingProject();
    const keys = new Set<string>();
    const trainOnce = async (...argv: string[]): Promise<void> => {
      const run = await project.run('train', ...argv);
      expect(run.error).toBeUndefined();
      expect(run.result!.outputs['cache-hit']).toBe(false);
      keys.add(readRun(project.root, run.result!.outputs['run-id'] as string).key as string);
    };
    await trainOnce();
    writeTree(project.root, { 'params.yaml': 'scale: 3\n' });
    await trainOnce(); // an uncommitted change to a tracked file: new key, and the run says dirty
    git(project.root, 'commit', '-qam', 'scale 3');
    // Committed, the same content is the same code: the run trained on the dirty tree is reused.
    expect((await project.run('train')).result!.outputs['cache-hit']).toBe(true);
    writeTree(project.root, { 'params.yaml': 'scale: 4\n' });
    git(project.root, 'commit', '-qam', 'scale 4');
    await trainOnce();
    writeTree(project.root, { 'data/train.csv': 'x,y,label\n1,2,0\n3,4,1\n9,9,1\n' });
    const refused = await project.run('train');
    expect(refused.exitCode).toBe(ExitCode.Usage);
    expect(refused.error?.message).toContain('the data on disk differs from mlship.lock: data/train.csv (modified)');
    await project.run('data', 'snapshot');
    await trainOnce();
    expect(keys.size).toBe(4);
  });

  it('records a dirty run as dirty and never reuses it for the clean commit', async () => {
    const project = await makeTrainingProject();
    writeTree(project.root, { 'train.py': `${readFileSync(path.join(project.root, 'train.py'), 'utf8')}\n# tweak\n` });
    const dirty = await project.run('train');
    const record = readRun(project.root, dirty.result!.outputs['run-id'] as string);
    expect(record.git).toMatchObject({ dirty: true });
    expect((record.git as { dirtyHash?: string }).dirtyHash).toMatch(/^[0-9a-f]{64}$/);
    git(project.root, 'checkout', '--', 'train.py');
    const clean = await project.run('train');
    expect(clean.result!.outputs['cache-hit']).toBe(false);
  });

  it('trains on changed data with --allow-dirty-data and records the data as it is', async () => {
    const project = await makeTrainingProject();
    const lockVersion = readFileSync(path.join(project.root, 'mlship.lock'), 'utf8').match(/version: (sha256:[0-9a-f]+)/)![1];
    writeTree(project.root, { 'data/extra.csv': 'new' });
    const run = await project.run('train', '--allow-dirty-data');
    expect(run.error).toBeUndefined();
    const record = readRun(project.root, run.result!.outputs['run-id'] as string);
    expect(record.dataVersion).not.toBe(lockVersion);
    expect(run.reporter.warnings().join('\n')).toContain('the data on disk differs from mlship.lock (1 changes): using data version');
  });
});

describe('mlship train failures', () => {
  it('a failing command: exit 1, its last 50 lines in the error, the run recorded as failed', async () => {
    const project = await makeTrainingProject({
      files: { 'fail.sh': 'for i in $(seq 1 80); do echo "line $i"; done\necho "boom" >&2\nexit 7\n' },
    });
    writeTree(project.root, { 'mlship.yml': readFileSync(path.join(project.root, 'mlship.yml'), 'utf8').replace('python3 train.py', 'sh fail.sh') });
    const run = await project.run('train');
    expect(run.exitCode).toBe(ExitCode.CheckFailed);
    expect(run.error?.message).toContain('the training command exited with code 7');
    expect(run.error?.message).toContain('line 80\nboom');
    expect(run.error?.message).not.toContain('line 30\n');
    const [id] = registryFiles(project.root, 'runs');
    const record = readRun(project.root, id!.replace('.json', ''));
    expect(record).toMatchObject({ status: 'failed', failure: 'the training command exited with code 7' });
    expect(record.logTail).toHaveLength(50);
    expect(registryFiles(project.root, 'run-keys')).toEqual([]);
  });

  it.each([
    ['metrics not written', `import os\nos.makedirs("model")\nopen("model/m","w").write("m")\n`, 'metrics output "metrics.json" (mlship.yml:9:37 train.outputs.metrics) was not written by the training command'],
    ['metrics not JSON', `import os\nos.makedirs("model")\nopen("model/m","w").write("m")\nopen("metrics.json","w").write("auc=0.9")\n`, 'metrics file "metrics.json": is not valid JSON'],
    ['a non-numeric metric', `import os, json\nos.makedirs("model")\nopen("model/m","w").write("m")\njson.dump({"test": {"auc": "high"}}, open("metrics.json","w"))\n`, 'metrics file "metrics.json": "test.auc" is the string "high"; every metric must be a finite number'],
    ['a NaN metric', `import os, json\nos.makedirs("model")\nopen("model/m","w").write("m")\njson.dump({"loss": float("nan")}, open("metrics.json","w"))\n`, '"loss" is NaN; every metric must be a finite number'],
    ['no model', `import json\njson.dump({"auc": 0.9}, open("metrics.json","w"))\n`, 'model output "model" (mlship.yml:9:21 train.outputs.model) was not written by the training command'],
    ['an empty model', `import os, json\nos.makedirs("model")\nopen("model/m","w").write("")\njson.dump({"auc": 0.9}, open("metrics.json","w"))\n`, 'model output "model" is empty'],
  ])('%s: exit 2 naming what is wrong, run recorded as failed', async (_name, script, message) => {
    const project = await makeTrainingProject({ files: { 'train.py': script } });
    const run = await project.run('train');
    expect(run.error?.message).toContain(message);
    expect(run.exitCode).toBe(ExitCode.Usage);
    const [id] = registryFiles(project.root, 'runs');
    expect(readRun(project.root, id!.replace('.json', ''))).toMatchObject({ status: 'failed' });
    expect(registryFiles(project.root, 'run-keys')).toEqual([]);
  });

  it('a model that still changes after the command exited is a failure, not a record', async () => {
    // The command leaves a process behind that keeps appending to the model for two seconds.
    const script = `import json, os, subprocess\nos.makedirs("model")\nopen("model/m", "w").write("m")\njson.dump({"auc": 0.9}, open("metrics.json", "w"))\nopen("predictions.csv", "w").write("label,score\\n1,0.9\\n0,0.1\\n")\nsubprocess.Popen(["sh", "-c", "for i in $(seq 1 400); do echo x >> model/m; sleep 0.005; done"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)\n`;
    const project = await makeTrainingProject({ files: { 'train.py': script } });
    const run = await project.run('train');
    expect(run.error?.message).toContain('model output "model" changed while mlship was recording the run');
    const [id] = registryFiles(project.root, 'runs');
    expect(readRun(project.root, id!.replace('.json', ''))).toMatchObject({ status: 'failed' });
    expect(registryFiles(project.root, 'run-keys')).toEqual([]);
    expect(registryFiles(project.root, 'models')).toEqual([]);
  });

  it('keeps no log lines with train.log_tail: 0, and masks credentials in the lines it keeps', async () => {
    const secret = 'tok-8f2a9c77e1d04b6b';
    const script = `import json, os\nprint("using", os.environ["MY_API_TOKEN"])\nos.makedirs("model")\nopen("model/m", "w").write("m")\njson.dump({"auc": 0.9}, open("metrics.json", "w"))\nopen("predictions.csv", "w").write("label,score\\n1,0.9\\n")\n`;
    const project = await makeTrainingProject({ files: { 'train.py': script } });
    process.env.MY_API_TOKEN = secret;
    try {
      const masked = await project.run('train');
      expect(masked.error).toBeUndefined();
      const record = readFileSync(path.join(project.root, '.mlship/registry/runs', `${masked.result!.outputs['run-id'] as string}.json`), 'utf8');
      expect(record).toContain('using ***');
      expect(record).not.toContain(secret);
      writeTree(project.root, { 'mlship.yml': readFileSync(path.join(project.root, 'mlship.yml'), 'utf8').replace('command: python3 train.py', 'command: python3 train.py\n  log_tail: 0') });
      const silent = await project.run('train', '--force');
      expect(readRun(project.root, silent.result!.outputs['run-id'] as string).logTail).toEqual([]);
    } finally {
      delete process.env.MY_API_TOKEN;
    }
  });

  it('an invalid params file: exit 2 before anything runs', async () => {
    const project = await makeTrainingProject({ files: { 'params.yaml': '- just\n- a list\n' } });
    const run = await project.run('train');
    expect(run.exitCode).toBe(ExitCode.Usage);
    expect(run.error?.message).toContain('params file "params.yaml": expected a mapping');
    expect(registryFiles(project.root, 'runs')).toEqual([]);
  });

  it('a store that cannot be written: exit 3, and the run is not recorded as succeeded', async () => {
    const project = await makeTrainingProject();
    writeFileSync(path.join(project.root, 'blocker'), 'a file where the store directory should be');
    writeTree(project.root, { 'mlship.yml': TRAIN_CONFIG(`file://${project.root}/blocker/store`) });
    git(project.root, 'commit', '-qam', 'store moved');
    const run = await project.run('train');
    expect(run.exitCode).toBe(ExitCode.Infrastructure);
    expect(run.error?.message).toContain('is not usable');
    const [id] = registryFiles(project.root, 'runs');
    expect(readRun(project.root, id!.replace('.json', ''))).toMatchObject({ status: 'failed' });
    expect(registryFiles(project.root, 'run-keys')).toEqual([]);
    expect(registryFiles(project.root, 'models')).toEqual([]);
  });

  it('refuses outputs that overlap the data or mlship\'s files', async () => {
    const project = await makeTrainingProject();
    writeTree(project.root, { 'mlship.yml': TRAIN_CONFIG(`file://${project.store}`).replace('model: model', 'model: data/model') });
    const run = await project.run('train');
    expect(run.exitCode).toBe(ExitCode.Usage);
    expect(run.error?.message).toContain('"data/model" overlaps the data path "data"');
  });

  it('needs a git repository to identify the code', async () => {
    const project = await makeTrainingProject();
    rmSync(path.join(project.root, '.git'), { recursive: true });
    const run = await project.run('train');
    expect(run.exitCode).toBe(ExitCode.Usage);
    expect(run.error?.message).toContain('is not a git repository');
  });
});
