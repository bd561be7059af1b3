import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { Inputs } from '../../src/constants.js';
import { runAction } from '../helpers/actions-runner.js';
import { git, makeTrainingProject, TRAIN_CONFIG } from '../helpers/git-project.js';
import { runIn, temporaryDirectory } from '../helpers/project.js';

/** A training project whose registry is the mlship-registry branch of a bare origin. */
async function projectWithGitRegistry() {
  const project = await makeTrainingProject();
  const remote = path.join(temporaryDirectory('mlship-remote-'), 'team.git');
  git(path.dirname(remote), 'init', '-q', '--bare', remote);
  writeFileSync(path.join(project.root, 'mlship.yml'), TRAIN_CONFIG(`file://${project.store}`, 'registry:\n  store: git\n'));
  git(project.root, 'commit', '-qam', 'git registry');
  git(project.root, 'remote', 'add', 'origin', remote);
  git(project.root, 'push', '-q', 'origin', 'HEAD:main');
  return { project, remote };
}

describe('mlship train with the git registry', () => {
  it("records runs on the orphan branch, and a teammate's clone reuses them", async () => {
    const { project, remote } = await projectWithGitRegistry();
    expect((await project.run('data', 'push')).error).toBeUndefined();
    const first = await project.run('train');
    expect(first.error).toBeUndefined();
    const runId = first.result!.outputs['run-id'] as string;
    const files = git(remote, 'ls-tree', '-r', '--name-only', 'mlship-registry');
    expect(files).toContain(`runs/${runId}.json`);
    expect(() => git(remote, 'merge-base', 'main', 'mlship-registry')).toThrow(); // no shared history with the code

    const clone = temporaryDirectory('mlship-teammate-');
    git(path.dirname(clone), 'clone', '-q', remote, clone);
    // The teammate has the code and the lock; the data comes from the shared store.
    expect((await runIn(clone, ['data', 'pull'])).error).toBeUndefined();
    const second = await runIn(clone, ['train']);
    expect(second.error).toBeUndefined();
    expect(second.result!.outputs).toMatchObject({ 'run-id': runId, 'cache-hit': true, 'model-version': first.result!.outputs['model-version'] });
    expect(readFileSync(path.join(clone, 'model/weights.json'), 'utf8')).toBe(readFileSync(path.join(project.root, 'model/weights.json'), 'utf8'));
  });

  it('fails with exit 3 naming the remote when the registry cannot be reached', async () => {
    const { project, remote } = await projectWithGitRegistry();
    git(project.root, 'remote', 'set-url', 'origin', `${remote}-gone`);
    const run = await project.run('train');
    expect(run.exitCode).toBe(ExitCode.Infrastructure);
    expect(run.error?.message).toContain(`${remote}-gone`);
  });
});

describe('mlship train, as the action', () => {
  it('sets run-id, model-version, cache-hit and metrics, and writes the lineage to the job summary', async () => {
    const project = await makeTrainingProject();
    const first = runAction({ [Inputs.Command]: 'train' }, { workspace: project.root });
    expect(first.status, first.stdout).toBe(0);
    expect(first.stdout).toContain('::group::Training: python3 train.py');
    expect(first.outputs['cache-hit']).toBe('false');
    expect(JSON.parse(first.outputs.metrics!)).toEqual({ 'train.rows': 4, 'train.auc': 0.52, loss: 0.25 });
    expect(first.summary).toContain(`| Model version | \`${first.outputs['model-version']!.slice(7, 19)}\` |`);
    const second = runAction({ [Inputs.Command]: 'train' }, { workspace: project.root });
    expect(second.outputs).toMatchObject({ 'cache-hit': 'true', 'run-id': first.outputs['run-id'] });
    expect(second.summary).toContain('### mlship train: cache hit');
  });

  it('fails the step with exit 1 and the log tail in the summary when training fails', async () => {
    const project = await makeTrainingProject({ files: { 'train.py': 'print("about to fail")\nraise SystemExit(3)\n' } });
    const run = runAction({ [Inputs.Command]: 'train' }, { workspace: project.root });
    expect(run.status).toBe(1);
    expect(run.summary).toContain('the training command exited with code 3');
    expect(run.summary).toContain('about to fail');
  });
});
