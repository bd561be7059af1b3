import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { dockerClient, registryRequest, requireDockerEnvironment } from '../infra/docker-environment.js';
import { git, makeTrainingProject, TRAIN_CONFIG } from '../helpers/git-project.js';
import { writeTree, type Project } from '../helpers/project.js';

const environment = requireDockerEnvironment(inject('dockerEnvironment'));
const docker = dockerClient(environment.dockerHost);
const MANIFEST_TYPES = 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json';

beforeAll(() => {
  process.env.DOCKER_HOST = environment.dockerHost;
});

/** Dependencies first, model last: a new model rebuilds only the last layers. */
const DOCKERFILE = 'FROM debian:bookworm-slim\nRUN echo "serving dependencies" > /deps.txt\nCOPY model/ /srv/model/\nCMD ["cat", "/srv/model/weights.json"]\n';

async function imageProject(repository: string, imageExtra = ''): Promise<Project> {
  const project = await makeTrainingProject({ files: { Dockerfile: DOCKERFILE, '.dockerignore': 'data/\n.mlship/\n' } });
  writeFileSync(
    path.join(project.root, 'mlship.yml'),
    TRAIN_CONFIG(`file://${project.store}`, `evaluate:\n  gates:\n    - { metric: train.auc, min: 0.5 }\n    - { metric: auc, min: 0.1 }\nimage:\n  repository: ${repository}\n${imageExtra}`),
  );
  git(project.root, 'commit', '-qam', 'image');
  const trained = await project.run('train');
  if (trained.error) throw trained.error;
  return project;
}

describe('mlship build (real engine, real registries)', () => {
  it('builds an image labelled with its lineage and pushes it; the registry reports the same digest', async () => {
    const repository = `${environment.registry.address}/churn-${process.pid}`;
    const project = await imageProject(repository);
    const run = await project.run('build', '--push');
    expect(run.error).toBeUndefined();
    const outputs = run.result!.outputs as { image: string; digest: string; tags: string[]; labels: Record<string, string> };
    const model = JSON.parse(readFileSync(path.join(project.root, '.mlship/registry/runs', `${(await project.run('train')).result!.outputs['run-id']}.json`), 'utf8')) as { modelVersion: string; dataVersion: string };
    expect(outputs.tags).toEqual([model.modelVersion.slice(7, 19), `sha-${git(project.root, 'rev-parse', 'HEAD').trim().slice(0, 7)}`]);
    expect(outputs.image).toBe(`${repository}@${outputs.digest}`);

    const inspected = await docker.getImage(`${repository}:${outputs.tags[0]}`).inspect();
    expect(inspected.Config.Labels).toMatchObject({
      'mlship.model-version': model.modelVersion,
      'mlship.data-version': model.dataVersion,
      'org.opencontainers.image.revision': git(project.root, 'rev-parse', 'HEAD').trim(),
      'mlship.metric.train.auc': '0.52',
    });
    // A metric evaluate computes from the predictions is a label too, with evaluate's own value.
    const evaluated = await project.run('evaluate');
    expect(inspected.Config.Labels['mlship.metric.auc']).toBe(String((evaluated.result!.outputs.metrics as Record<string, number>).auc));
    // The registry's own API: both tags, one digest, the one the push reported.
    const name = repository.slice(environment.registry.address.length + 1);
    const list = await registryRequest(environment.registry, `/v2/${name}/tags/list`);
    expect(((await list.json()) as { tags: string[] }).tags.sort()).toEqual([...outputs.tags].sort());
    for (const tag of outputs.tags) {
      const manifest = await registryRequest(environment.registry, `/v2/${name}/manifests/${tag}`, { accept: MANIFEST_TYPES });
      expect(manifest.headers.get('docker-content-digest')).toBe(outputs.digest);
    }
    // The labels, read back from the registry itself: the manifest names the config blob that holds them.
    const manifest = (await (await registryRequest(environment.registry, `/v2/${name}/manifests/${outputs.tags[0]}`, { accept: MANIFEST_TYPES })).json()) as { config: { digest: string } };
    const config = (await (await registryRequest(environment.registry, `/v2/${name}/blobs/${manifest.config.digest}`)).json()) as { config: { Labels: Record<string, string> } };
    expect(config.config.Labels).toEqual(outputs.labels);
    // And the registry of models records the image on its model version.
    const record = JSON.parse(readFileSync(path.join(project.root, '.mlship/registry/models', `${model.modelVersion.slice(7)}.json`), 'utf8')) as { images: { digest: string }[] };
    expect(record.images.map((i) => i.digest)).toEqual([outputs.digest]);
  });

  it('reuses every dependency layer when only the model changed', async () => {
    const repository = `${environment.registry.address}/cache-${process.pid}`;
    const project = await imageProject(repository);
    const first = await project.run('build');
    expect(first.error).toBeUndefined();
    writeTree(project.root, { 'params.yaml': 'scale: 9\n' });
    git(project.root, 'commit', '-qam', 'new model');
    await project.run('train');
    const second = await project.run('build');
    expect(second.error).toBeUndefined();
    // FROM, RUN (dependencies), COPY model, CMD: the dependency layer is reused; the model's is new.
    expect(second.reporter.text()).toMatch(/built sha256:[0-9a-f]+: 1 of 4 steps from the layer cache/);
  });

  it('pushes with credentials from the environment, and never prints the password when they are refused', async () => {
    const repository = `${environment.authRegistry.address}/private-${process.pid}`;
    const project = await imageProject(repository, `  username: ${environment.authRegistry.username}\n  password_env: TEST_REGISTRY_PASSWORD\n`);
    process.env.TEST_REGISTRY_PASSWORD = environment.authRegistry.password;
    const ok = await project.run('build', '--push');
    expect(ok.error).toBeUndefined();
    expect(ok.reporter.secrets).toContain(environment.authRegistry.password);
    process.env.TEST_REGISTRY_PASSWORD = 'wrong-password-not-to-be-printed';
    const refused = await project.run('build', '--push');
    expect(refused.exitCode).toBe(ExitCode.Infrastructure);
    expect(refused.error?.message).toContain('the registry refused the credentials of user');
    expect(refused.error?.message).not.toContain('wrong-password-not-to-be-printed');
    expect(refused.reporter.text()).not.toContain('wrong-password-not-to-be-printed');
    delete process.env.TEST_REGISTRY_PASSWORD;
  });

  it('a failing build step: exit 1, naming the step and its output', async () => {
    const project = await imageProject(`${environment.registry.address}/broken-${process.pid}`);
    writeTree(project.root, { Dockerfile: 'FROM debian:bookworm-slim\nRUN echo "about to break" && exit 3\n' });
    git(project.root, 'commit', '-qam', 'broken');
    await project.run('train');
    const run = await project.run('build');
    expect(run.exitCode).toBe(ExitCode.CheckFailed);
    expect(run.error?.message).toContain('the image build failed at step 2 of 2 (RUN echo "about to break" && exit 3)');
    expect(run.error?.message).toContain('about to break');
  });

  it.each([
    ['a missing Dockerfile', { dockerfile: 'serving/Dockerfile' }, ExitCode.Usage, 'no Dockerfile at'],
    ['an unknown tag placeholder', { tags: '[ "{model}" ]' }, ExitCode.Usage, 'unknown placeholder {model}'],
  ])('%s: exit %s, by name', async (_name, extra, code, message) => {
    const lines = Object.entries(extra).map(([k, v]) => `  ${k}: ${v}\n`).join('');
    const project = await imageProject(`${environment.registry.address}/bad-${process.pid}`, lines);
    const run = await project.run('build');
    expect(run.exitCode).toBe(code);
    expect(run.error?.message).toContain(message);
  });

  it('an unreachable engine: exit 3, naming the host it tried', async () => {
    const project = await imageProject(`${environment.registry.address}/nohost-${process.pid}`);
    const saved = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = 'unix:///var/run/no-such-docker.sock';
    try {
      const run = await project.run('build');
      expect(run.exitCode).toBe(ExitCode.Infrastructure);
      expect(run.error?.message).toContain('the Docker Engine at unix:///var/run/no-such-docker.sock does not answer');
    } finally {
      process.env.DOCKER_HOST = saved;
    }
  });
});

describe('mlship build, bundled', () => {
  it('runs from dist/cli.js (the bundle loads the Docker client only for build)', async () => {
    const { spawn } = await import('node:child_process');
    const { CLI, nodeBinary } = await import('../helpers/bundle.js');
    const repository = `${environment.registry.address}/bundled-${process.pid}`;
    const project = await imageProject(repository);
    const result = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(nodeBinary(), [CLI, 'build', '--push', '--json'], { cwd: project.root, env: { ...process.env, DOCKER_HOST: environment.dockerHost } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
    expect(result.status, result.stderr).toBe(0);
    const outputs = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(Object.keys(outputs).sort()).toEqual(['digest', 'image', 'labels', 'tags']);
    expect(outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe('mlship build on a fresh machine', () => {
  it('pulls the image that serves now and reuses its dependency layers', async () => {
    const repository = `${environment.registry.address}/fresh-${process.pid}`;
    const project = await imageProject(repository);
    // A dependency layer no other image in the engine has: only the pulled image can supply it.
    const unique = `${process.pid}-${Date.now()}`;
    writeTree(project.root, { Dockerfile: DOCKERFILE.replace('"serving dependencies"', `"dependencies ${unique}"`) });
    git(project.root, 'commit', '-qam', 'unique dependencies');
    await project.run('train');
    const first = await project.run('build', '--push');
    expect(first.error).toBeUndefined();
    const modelVersion = (first.result!.outputs.labels as Record<string, string>)['mlship.model-version']!;
    await project.run('registry', 'alias', 'set', 'production', modelVersion);
    // A fresh runner: none of the repository's images (nor their build cache) are in the engine.
    for (const image of await docker.listImages({ filters: JSON.stringify({ reference: [repository] }) })) {
      await docker.getImage(image.Id).remove({ force: true });
    }
    writeTree(project.root, { 'params.yaml': 'scale: 7\n' });
    git(project.root, 'commit', '-qam', 'next model');
    await project.run('train');
    const second = await project.run('build');
    expect(second.error).toBeUndefined();
    expect(second.reporter.text()).toContain(`Pulling ${repository}@${first.result!.outputs.digest as string} as the layer cache`);
    expect(second.reporter.text()).toMatch(/1 of 4 steps from the layer cache/);
  });
});

describe('mlship build: lineage that never disagrees', () => {
  it('a build without --push records nothing in the registry', async () => {
    const project = await imageProject(`${environment.registry.address}/local-${process.pid}`);
    const run = await project.run('build');
    expect(run.error).toBeUndefined();
    const modelVersion = (run.result!.outputs.labels as Record<string, string>)['mlship.model-version']!;
    const record = JSON.parse(readFileSync(path.join(project.root, '.mlship/registry/models', `${modelVersion.slice(7)}.json`), 'utf8')) as { images?: unknown[] };
    expect(record.images ?? []).toEqual([]);
  });

  it('the CLI and the action label the same commit alike, so they make the same image', async () => {
    const repository = `${environment.registry.address}/same-${process.pid}`;
    const project = await imageProject(repository);
    git(project.root, 'remote', 'add', 'origin', 'https://x-access-token:ghs_notARealToken123@github.com/acme/churn.git');
    const fromCli = await project.run('build');
    expect(fromCli.error).toBeUndefined();
    const { runAction } = await import('../helpers/actions-runner.js');
    const fromAction = runAction(
      { command: 'build' },
      { workspace: project.root, env: { DOCKER_HOST: environment.dockerHost, GITHUB_REPOSITORY: 'acme/churn', GITHUB_SERVER_URL: 'https://github.com', GITHUB_SHA: git(project.root, 'rev-parse', 'HEAD').trim() } },
    );
    expect(fromAction.status, fromAction.stderr + fromAction.stdout).toBe(0);
    const cliLabels = fromCli.result!.outputs.labels as Record<string, string>;
    expect(JSON.parse(fromAction.outputs.labels!)).toEqual(cliLabels);
    expect(cliLabels['org.opencontainers.image.source']).toBe('https://github.com/acme/churn');
    const ids = await Promise.all((fromCli.result!.outputs.tags as string[]).map(async (tag) => (await docker.getImage(`${repository}:${tag}`).inspect()).Id));
    expect(new Set(ids).size).toBe(1);
    expect(fromAction.stdout).toContain('reusing image');
  });

  it('a rebuild of the same commit gives the same digest, even on a fresh machine whose layer cache is gone', async () => {
    const repository = `${environment.registry.address}/rebuild-${process.pid}`;
    const project = await imageProject(repository);
    const first = await project.run('build', '--push');
    expect(first.error).toBeUndefined();
    // A fresh runner: nothing of the repository in the engine, so RUN steps would run again and
    // make new layers (new file times): a different digest, unless the built image is reused.
    for (const image of await docker.listImages({ filters: JSON.stringify({ reference: [repository] }) })) {
      await docker.getImage(image.Id).remove({ force: true });
    }
    const again = await project.run('build', '--push');
    expect(again.error).toBeUndefined();
    expect(again.result!.outputs.digest).toBe(first.result!.outputs.digest);
    expect(again.reporter.text()).toContain('built from the same build key');
  });
});
