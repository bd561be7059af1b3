import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { git, makeTrainingProject, TRAIN_CONFIG } from '../helpers/git-project.js';
import { writeTree, type Project } from '../helpers/project.js';

/** Trains and returns whether it was a cache hit (failing the test on any error). */
async function trainHit(project: Project): Promise<boolean> {
  const run = await project.run('train');
  expect(run.error).toBeUndefined();
  return run.result!.outputs['cache-hit'] as boolean;
}

function edit(project: Project, file: string, change: (text: string) => string): void {
  writeTree(project.root, { [file]: change(readFileSync(path.join(project.root, file), 'utf8')) });
}

const GATES = `evaluate:\n  gates:\n    - { metric: loss, max: 0.5 }\n`;

describe('the run key covers what training depends on, not every file', () => {
  it.each([
    ['a gate in mlship.yml', (p: Project) => edit(p, 'mlship.yml', (t) => t.replace('max: 0.5', 'max: 0.3'))],
    ['the README', (p: Project) => writeTree(p.root, { 'README.md': '# churn\n\nNotes.\n' })],
    ['a workflow', (p: Project) => writeTree(p.root, { '.github/workflows/ci.yml': 'on: push\n' })],
    ['the data store location', (p: Project) => edit(p, 'mlship.yml', (t) => t.replace(/store: .*/, `store: file://${p.store}-elsewhere`))],
    ['a file that train.ignore names', (p: Project) => writeTree(p.root, { 'notebooks/explore.ipynb': '{}' })],
    ['how many log lines are kept', (p: Project) => edit(p, 'mlship.yml', (t) => t.replace('command: python3 train.py', 'command: python3 train.py\n  log_tail: 10'))],
  ])('editing %s, committed or not, reuses the run, and evaluate finds it', async (_name, change) => {
    const project = await makeTrainingProject({
      config: TRAIN_CONFIG('PLACEHOLDER', GATES).replace('  outputs:', '  ignore: [notebooks/]\n  outputs:'),
      files: { 'notebooks/explore.ipynb': '{"cells": []}' },
    });
    edit(project, 'mlship.yml', (t) => t.replace('PLACEHOLDER', `file://${project.store}`));
    git(project.root, 'commit', '-qam', 'store');
    expect(await trainHit(project)).toBe(false);
    change(project);
    expect(await trainHit(project)).toBe(true);
    const evaluated = await project.run('evaluate');
    expect(evaluated.error?.message ?? '').not.toContain('no successful');
    git(project.root, 'add', '-A');
    git(project.root, 'commit', '-qm', 'edit');
    expect(await trainHit(project)).toBe(true);
  });

  it.each([
    ['the training script', (p: Project) => edit(p, 'train.py', (t) => `${t}\n# tweak\n`)],
    ['a new helper module, not yet committed', (p: Project) => writeTree(p.root, { 'features.py': 'SCALE = 2\n' })],
    ['the training command', (p: Project) => edit(p, 'mlship.yml', (t) => t.replace('python3 train.py', 'python3 -B train.py'))],
    ['an output path', (p: Project) => edit(p, 'mlship.yml', (t) => t.replace('metrics: metrics.json', 'metrics: scores.json').replace('/metrics.json', '/scores.json'))],
  ])('editing %s trains again', async (_name, change) => {
    const project = await makeTrainingProject({ files: { '.gitignore': '/data/\n/model/\n/metrics.json\n/scores.json\n/predictions.csv\n.mlship/\n' } });
    expect(await trainHit(project)).toBe(false);
    change(project);
    if (readFileSync(path.join(project.root, 'mlship.yml'), 'utf8').includes('scores.json')) {
      edit(project, 'train.py', (t) => t.replace('open("metrics.json", "w")', 'open("scores.json", "w")'));
    }
    expect(await trainHit(project)).toBe(false);
  });

  it('training on a dirty tree and committing it afterwards keeps the key: the same content is the same code', async () => {
    const project = await makeTrainingProject();
    edit(project, 'train.py', (t) => `${t}\n# tuned\n`);
    writeTree(project.root, { 'features.py': 'SCALE = 2\n' });
    const dirty = await project.run('train');
    expect(dirty.result!.outputs['cache-hit']).toBe(false);
    git(project.root, 'add', '-A');
    git(project.root, 'commit', '-qm', 'tuned');
    const committed = await project.run('train');
    expect(committed.result!.outputs).toEqual({ ...dirty.result!.outputs, 'cache-hit': true });
  });

  it('train.include limits the code to the files named; other untracked files do not count', async () => {
    const project = await makeTrainingProject({ config: TRAIN_CONFIG('PLACEHOLDER').replace('  outputs:', '  include: ["*.py", params.yaml]\n  outputs:') });
    edit(project, 'mlship.yml', (t) => t.replace('PLACEHOLDER', `file://${project.store}`));
    git(project.root, 'commit', '-qam', 'store');
    expect(await trainHit(project)).toBe(false);
    writeTree(project.root, { 'scratch.txt': 'notes' });
    expect(await trainHit(project)).toBe(true);
    writeTree(project.root, { 'util.py': 'X = 1\n' });
    expect(await trainHit(project)).toBe(false);
  });

  it('a declared data path that is missing is an error naming it, not "matches the lock"', async () => {
    const project = await makeTrainingProject();
    writeTree(project.root, { 'mlship.yml': readFileSync(path.join(project.root, 'mlship.yml'), 'utf8').replace('paths: [data]', 'paths: [data, extra]') });
    const run = await project.run('train');
    expect(run.exitCode).toBe(ExitCode.Usage);
    expect(run.error?.message).toMatch(/data\.paths\[1\]: "extra" does not exist/);
  });
});
