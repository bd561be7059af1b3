import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { requireDockerEnvironment } from '../infra/docker-environment.js';
import { git, makeTrainingProject, TRAIN_CONFIG } from '../helpers/git-project.js';

const environment = requireDockerEnvironment(inject('dockerEnvironment'));
beforeAll(() => {
  process.env.DOCKER_HOST = environment.dockerHost;
});

const DOCKERFILE = 'FROM debian:bookworm-slim AS train\nRUN echo "inside the training image" > /etc/mlship-environment\n\nFROM train AS serve\nCMD ["true"]\n';
const TRAIN_SH = `set -e
mkdir -p model
{ cat /etc/mlship-environment; id -u; echo "$MLSHIP_RUN_ID"; echo "home=$HOME_ON_HOST"; } > model/env.txt
echo '{"auc": 0.9}' > metrics.json
printf 'label,score\\n1,0.9\\n0,0.1\\n' > predictions.csv
echo "trained in a container"
`;

async function containerProject(script = TRAIN_SH) {
  const project = await makeTrainingProject({ files: { Dockerfile: DOCKERFILE, 'train.sh': script, '.dockerignore': '.mlship/\n' } });
  writeFileSync(
    path.join(project.root, 'mlship.yml'),
    TRAIN_CONFIG(`file://${project.store}`).replace('command: python3 train.py', 'command: sh train.sh\n  container: { dockerfile: Dockerfile, target: train }'),
  );
  git(project.root, 'commit', '-qam', 'train in the image');
  return project;
}

describe('mlship train with train.container', () => {
  it('runs the command inside the Dockerfile target, as the calling user, with the workspace mounted', async () => {
    const project = await containerProject();
    process.env.HOME_ON_HOST = 'leaked';
    const run = await project.run('train');
    delete process.env.HOME_ON_HOST;
    expect(run.error).toBeUndefined();
    const [marker, uid, runId, leaked] = readFileSync(path.join(project.root, 'model/env.txt'), 'utf8').trim().split('\n');
    expect(marker).toBe('inside the training image');
    expect(Number(uid)).toBe(process.getuid!());
    expect(runId).toBe(run.result!.outputs['run-id']);
    expect(leaked).toBe('home='); // the host's environment stays on the host
    expect(statSync(path.join(project.root, 'model/env.txt')).uid).toBe(process.getuid!());
    expect(run.reporter.text()).toContain('trained in a container');
    expect(run.result!.outputs.metrics).toEqual({ auc: 0.9 });
  });

  it('a failing command in the container: exit 1 with its last lines', async () => {
    const project = await containerProject('echo "going down inside"\nexit 5\n');
    const run = await project.run('train');
    expect(run.exitCode).toBe(ExitCode.CheckFailed);
    expect(run.error?.message).toContain('the training command exited with code 5');
    expect(run.error?.message).toContain('going down inside');
  });
});
