/**
 * mlship deploy and smoke on a real single-node Swarm: services behind a global nginx edge on a
 * host-mode port (the routing mesh is not used), images from the test registry by digest, and the
 * same over an ssh:// Docker host.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { FileRegistryBackend } from '../../src/adapters/registry/file-backend.js';
import { Registry } from '../../src/domain/registry/registry.js';
import { ExitCode } from '../../src/errors.js';
import { dockerClient, pushImage, requireDockerEnvironment, startStandaloneEngine } from '../infra/docker-environment.js';
import { deployProject, echoVariant, removeProjectResources, type DeployProject } from '../helpers/swarm-project.js';
import { git, makeTrainingProject } from '../helpers/git-project.js';
import { runIn, writeTree } from '../helpers/project.js';
import { CLI, nodeBinary } from '../helpers/bundle.js';
import { recordingEngineProxy, tlsEngineFront } from '../helpers/engine-fronts.js';

const environment = requireDockerEnvironment(inject('dockerEnvironment'));
const docker = dockerClient(environment.dockerHost);
const GOOD = `sha256:${'1'.repeat(64)}`;
const WRONG = `sha256:${'2'.repeat(64)}`;
const SICK = `sha256:${'3'.repeat(64)}`;
const CRASH = `sha256:${'4'.repeat(64)}`;
const projects: string[] = [];
const images: Record<string, string> = {};

beforeAll(async () => {
  process.env.DOCKER_HOST = environment.dockerHost;
  const base = environment.echoModelImage.tag;
  const registry = environment.registry.address;
  const suffix = process.pid;
  images.good = await echoVariant(docker, { base, registry, name: `echo-good-${suffix}`, modelVersion: GOOD });
  images.wrong = await echoVariant(docker, { base, registry, name: `echo-inverted-${suffix}`, modelVersion: WRONG, env: { INVERT: '1' } });
  images.sick = await echoVariant(docker, { base, registry, name: `echo-sick-${suffix}`, modelVersion: SICK, env: { FAIL_HEALTH: '1' } });
  images.crash = await echoVariant(docker, { base, registry, name: `echo-crash-${suffix}`, modelVersion: CRASH, cmd: ['sh', '-c', 'echo "cannot load the model" >&2; exit 3'] });
}, 600_000);

// Each test's services go when it ends: dozens of idle replicas, each health-checked, would slow
// every later test on two cores (and an engine restart would restart them all).
afterEach(async () => {
  for (const name of projects.splice(0)) await removeProjectResources(docker, name);
});

async function project(options: Partial<Parameters<typeof deployProject>[0]> = {}, files: Record<string, string> = {}): Promise<DeployProject> {
  const created = await deployProject({ edgeImage: environment.edgeImage.registryReference, ...options }, files);
  projects.push(created.name);
  return created;
}

/** A file's content inside a running container, read through the engine's exec API. */
async function readInContainer(containerId: string, file: string): Promise<string> {
  const exec = await docker.getContainer(containerId).exec({ Cmd: ['cat', file], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const { PassThrough } = await import('node:stream');
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  docker.modem.demuxStream(stream, stdout, new PassThrough());
  await new Promise((resolve) => stream.on('end', resolve));
  return Buffer.concat(chunks).toString('utf8').trim();
}

function registryOf(p: DeployProject): Registry {
  return new Registry(new FileRegistryBackend(path.join(p.root, '.mlship/registry')));
}

describe('mlship deploy and smoke (real Swarm)', () => {
  it("deploys this commit's image to staging behind the edge, smoke passes, and deploying it again only verifies", async () => {
    const repository = `${environment.registry.address}/commit-${process.pid}`;
    const trained = await makeTrainingProject({ files: { Dockerfile: `FROM ${environment.echoModelImage.tag}\nCOPY model/ /srv/model/\n`, '.dockerignore': 'data/\n' } });
    const staging = await project({ extra: `image:\n  repository: ${repository}\n` });
    // The deployment settings and cases, in the trained repository.
    const config = readFileSync(path.join(staging.root, 'mlship.yml'), 'utf8').split('\n');
    const deploySections = config.slice(config.indexOf('environments:')).join('\n');
    writeTree(trained.root, {
      'mlship.yml': `${readFileSync(path.join(trained.root, 'mlship.yml'), 'utf8').replace('name: churn', `name: ${staging.name}`)}${deploySections}`,
      'smoke.jsonl': readFileSync(path.join(staging.root, 'smoke.jsonl'), 'utf8'),
    });
    git(trained.root, 'add', '-A');
    git(trained.root, 'commit', '-qm', 'deploy settings');
    expect((await trained.run('train')).error).toBeUndefined();
    const built = await trained.run('build', '--push');
    expect(built.error).toBeUndefined();

    const deployed = await trained.run('deploy', '--env', 'staging');
    expect(deployed.error, deployed.reporter.text()).toBeUndefined();
    const outputs = deployed.result!.outputs;
    expect(outputs).toMatchObject({ outcome: 'deployed', digest: built.result!.outputs.digest, 'previous-digest': '', replicas: 1, url: `http://127.0.0.1:${staging.port}` });
    const modelVersion = outputs['model-version'] as string;
    expect(modelVersion).toMatch(/^sha256:/);
    expect(deployed.reporter.text()).toMatch(/the edge answers as [0-9a-f]{12}/);
    // The edge opens a connection per request: it reuses TIME_WAIT ports from a wide range.
    const edgeContainer = (await docker.listContainers({ filters: { label: [`mlship.project=${staging.name}`, 'mlship.role=edge'] } }))[0]!;
    expect(await readInContainer(edgeContainer.Id, '/proc/sys/net/ipv4/tcp_tw_reuse')).toBe('1');
    expect((await readInContainer(edgeContainer.Id, '/proc/sys/net/ipv4/ip_local_port_range')).split(/\s+/)).toEqual(['1024', '65535']);
    const registry = new Registry(new FileRegistryBackend(path.join(trained.root, '.mlship/registry')));
    expect((await registry.alias('staging'))?.version).toBe(modelVersion);
    expect(await registry.environment('staging')).toMatchObject({ digest: outputs.digest, modelVersion, url: outputs.url });

    const smoked = await trained.run('smoke', '--env', 'staging');
    expect(smoked.error, smoked.reporter.text()).toBeUndefined();
    expect(smoked.result!.outputs).toMatchObject({ passed: true, accuracy: 1, errors: 0 });
    expect(smoked.result!.outputs['max-skew']).toBeLessThanOrEqual(1e-12);

    const again = await trained.run('deploy', '--env', 'staging');
    expect(again.error).toBeUndefined();
    expect(again.result!.outputs).toMatchObject({ outcome: 'deployed', 'previous-digest': outputs.digest });
    expect(again.reporter.text()).toContain('already runs');
    const ledger = await registry.ledger();
    expect(ledger.map((e) => e.kind)).toEqual(['deployment', 'smoke', 'deployment']);
    expect(ledger[2]!.summary).toContain('already serving');

    // The same as workflow steps run them: outputs in GITHUB_OUTPUT, the report in the job summary.
    const { runActionAsync } = await import('../helpers/actions-runner.js');
    const step = { workspace: trained.root, env: { DOCKER_HOST: environment.dockerHost } };
    const deployStep = await runActionAsync({ command: 'deploy --env staging' }, step);
    expect(deployStep.status, deployStep.stderr + deployStep.stdout).toBe(0);
    expect(deployStep.outputs).toMatchObject({ outcome: 'deployed', digest: outputs.digest, 'model-version': modelVersion, 'previous-digest': outputs.digest, replicas: '1', url: outputs.url });
    const smokeStep = await runActionAsync({ command: 'smoke --env staging' }, step);
    expect(smokeStep.status, smokeStep.stderr + smokeStep.stdout).toBe(0);
    expect(smokeStep.outputs).toMatchObject({ passed: 'true', accuracy: '1', errors: '0' });
    for (const name of ['p50-ms', 'p95-ms', 'p99-ms', 'max-skew']) expect(Number(smokeStep.outputs[name]), name).toBeGreaterThanOrEqual(0);
    expect(smokeStep.summary).toContain('1.0000 on 24 labelled cases');
    await removeProjectResources(docker, staging.name);
  });

  it('a wrong model (scores inverted) deploys, and its smoke test fails with exit 1', async () => {
    const staging = await project();
    // From a workflow run: the record says who and links the run.
    const actions = { GITHUB_ACTOR: 'octocat', GITHUB_SERVER_URL: 'https://github.example', GITHUB_REPOSITORY: 'acme/churn', GITHUB_RUN_ID: '42', GITHUB_RUN_ATTEMPT: '2' };
    const deployed = await runIn(staging.root, ['deploy', '--env', 'staging', '--image', images.wrong!], { env: actions });
    expect(deployed.error, deployed.reporter.text()).toBeUndefined();
    expect(deployed.result!.outputs['model-version']).toBe(WRONG);
    const record = await registryOf(staging).deployment((await registryOf(staging).environment('staging'))!.deploymentId);
    expect(record).toMatchObject({
      environment: 'staging',
      service: staging.service,
      image: images.wrong,
      digest: images.wrong!.split('@')[1],
      modelVersion: WRONG,
      previousDigest: null,
      outcome: 'deployed',
      unchanged: false,
      by: 'octocat',
      runUrl: 'https://github.example/acme/churn/actions/runs/42/attempts/2',
    });
    expect(Date.parse(record!.finishedAt)).toBeGreaterThanOrEqual(Date.parse(record!.startedAt));
    const smoked = await staging.run('smoke', '--env', 'staging');
    expect(smoked.exitCode).toBe(ExitCode.CheckFailed);
    expect(smoked.result!.failure).toMatch(/accuracy: 0\.\d+ on 24 labelled cases/);
    expect((await registryOf(staging).smokeRecords((await registryOf(staging).environment('staging'))!.deploymentId))[0]).toMatchObject({ passed: false });
  });

  it('an image whose health never passes: rolled back or timed out, exit 1, the alias unmoved and the previous model still serving', async () => {
    const staging = await project({ timeout: '60s' });
    expect((await staging.run('deploy', '--env', 'staging', '--image', images.good!)).error).toBeUndefined();
    const sick = await staging.run('deploy', '--env', 'staging', '--image', images.sick!);
    expect(sick.exitCode).toBe(ExitCode.CheckFailed);
    expect(['rolled_back', 'timed_out']).toContain(sick.result!.outputs.outcome);
    expect(sick.result!.outputs['model-version']).toBe(GOOD);
    expect(sick.result!.failure).toMatch(/deployment to staging (rolled back|timed out)/);
    const registry = registryOf(staging);
    expect((await registry.alias('staging'))?.version).toBe(GOOD);
    expect((await registry.environment('staging'))?.modelVersion).toBe(GOOD);
    const smoked = await staging.run('smoke', '--env', 'staging');
    expect(smoked.error, smoked.reporter.text()).toBeUndefined();
  });

  it('an image that exits at start: the deployment fails with exit 1, quoting the task error', async () => {
    const staging = await project({ timeout: '30s' });
    const crashed = await staging.run('deploy', '--env', 'staging', '--image', images.crash!);
    expect(crashed.exitCode).toBe(ExitCode.CheckFailed);
    expect(crashed.result!.failure).toContain('non-zero exit (3)');
    expect(await registryOf(staging).alias('staging')).toBeUndefined();
  });

  // This engine pulls from a registry it once used credentials for even without them, so a task
  // that starts proves nothing about the credentials: the proxy shows what mlship handed Swarm.
  it.skipIf(!environment.dockerHost.startsWith('unix://'))(
    'an image in a registry with basic auth: refused by name without the password; with it, Swarm gets the credentials on create and on update, and the password is nowhere mlship writes',
    async () => {
      const { address, username, password } = environment.authRegistry;
      const repository = `${address}/echo-private-${process.pid}`;
      const pushed: string[] = [];
      for (const [tag, image] of [['good', images.good!], ['inverted', images.wrong!]] as const) {
        await docker.getImage(image).tag({ repo: repository, tag });
        pushed.push(`${repository}@${(await pushImage(docker, repository, tag, { username, password, serveraddress: address })).digest}`);
      }
      const proxy = await recordingEngineProxy(new URL(environment.dockerHost).pathname);
      try {
        const staging = await project({ dockerHost: proxy.dockerHost, extra: `image:\n  repository: ${repository}\n  username: ${username}\n  password_env: PRIVATE_REGISTRY_PASSWORD\n` });

        const refused = await staging.run('deploy', '--env', 'staging', '--image', pushed[0]!);
        expect(refused.exitCode, refused.error?.message).toBe(ExitCode.Usage);
        expect(refused.error?.message).toContain(`the registry refused to show ${pushed[0]}`);
        expect(refused.error?.message).toContain('image.password_env');
        expect(refused.reporter.text()).toContain('the environment variable PRIVATE_REGISTRY_PASSWORD (image.password_env) holds no password: going on without registry credentials');

        process.env.PRIVATE_REGISTRY_PASSWORD = password;
        try {
          const outputs = [];
          for (const image of pushed) {
            const deployed = await staging.run('deploy', '--env', 'staging', '--image', image);
            expect(deployed.error, deployed.reporter.text()).toBeUndefined();
            outputs.push(deployed.result!.outputs);
            for (const text of [deployed.reporter.text(), deployed.result!.summary ?? '']) expect(text).not.toContain(password);
          }
          expect(outputs.map((o) => [o.outcome, o['model-version']])).toEqual([['deployed', GOOD], ['deployed', WRONG]]);
          // The model service gets the credentials it pulls with, on create and on update; the edge,
          // whose image is from another registry, gets none.
          const specs = proxy.requests.filter((request) => request.service !== undefined);
          const edgeName = `${staging.service}-edge`;
          expect(specs.filter((request) => request.service === staging.service).map((request) => request.registryAuth)).toEqual([
            { username, password, serveraddress: address },
            { username, password, serveraddress: address },
          ]);
          expect(specs.filter((request) => request.service === edgeName).map((request) => request.registryAuth)).toEqual([undefined]);
          expect(JSON.stringify(await registryOf(staging).ledger())).not.toContain(password);
          expect(JSON.stringify(await docker.getService(staging.service).inspect())).not.toContain(password);
        } finally {
          delete process.env.PRIVATE_REGISTRY_PASSWORD;
        }
      } finally {
        await proxy.close();
      }
    },
  );

  it.skipIf(!environment.dockerHost.startsWith('unix://'))(
    "deploys over tcp:// with mutual TLS, its certificates from DOCKER_CERT_PATH; none there is exit 2 naming the file, a certificate the engine's CA did not sign exit 3",
    async () => {
      const front = await tlsEngineFront(new URL(environment.dockerHost).pathname);
      const saved = { DOCKER_TLS_VERIFY: process.env.DOCKER_TLS_VERIFY, DOCKER_CERT_PATH: process.env.DOCKER_CERT_PATH };
      try {
        const staging = await project({ dockerHost: front.dockerHost });
        process.env.DOCKER_TLS_VERIFY = '1';
        process.env.DOCKER_CERT_PATH = front.certPath;
        const deployed = await staging.run('deploy', '--env', 'staging', '--image', images.good!);
        expect(deployed.error, deployed.reporter.text()).toBeUndefined();
        expect(deployed.result!.outputs).toMatchObject({ outcome: 'deployed', 'model-version': GOOD, url: `http://127.0.0.1:${staging.port}` });

        process.env.DOCKER_CERT_PATH = path.join(staging.root, 'no-certs');
        const uncertified = await staging.run('deploy', '--env', 'staging', '--image', images.good!);
        expect(uncertified.exitCode).toBe(ExitCode.Usage);
        expect(uncertified.error?.message).toContain(`${path.join(staging.root, 'no-certs', 'ca.pem')} cannot be read`);

        process.env.DOCKER_CERT_PATH = front.strangerCertPath;
        const stranger = await staging.run('deploy', '--env', 'staging', '--image', images.good!);
        expect(stranger.exitCode, stranger.error?.message).toBe(ExitCode.Infrastructure);
        expect(stranger.error?.message).toContain(`the Docker Engine at ${front.dockerHost} does not answer`);
        expect(stranger.error?.message).toContain('check cert.pem and key.pem in DOCKER_CERT_PATH');
      } finally {
        for (const [name, value] of Object.entries(saved)) {
          if (value === undefined) delete process.env[name];
          else process.env[name] = value;
        }
        await front.close();
      }
    },
  );

  it('deploys the same over an ssh:// Docker host, trusting its host key through known_hosts', async () => {
    const staging = await project({ dockerHost: environment.ssh.dockerHost });
    const env = { MLSHIP_SSH_KEY: environment.ssh.privateKeyPath, MLSHIP_SSH_KNOWN_HOSTS: environment.ssh.knownHostsPath };
    Object.assign(process.env, env);
    try {
      const deployed = await staging.run('deploy', '--env', 'staging', '--image', images.good!);
      expect(deployed.error, deployed.reporter.text()).toBeUndefined();
      expect(deployed.result!.outputs.outcome).toBe('deployed');
      expect(deployed.reporter.text()).toContain(`Connecting to the Swarm manager of staging`);
      const verified = await staging.run('deploy', '--env', 'staging', '--image', images.good!);
      expect(verified.error).toBeUndefined();
      expect(verified.reporter.text()).toContain('already runs');
      // The bundled CLI over ssh: one ssh connection for the command, which ends with its last
      // request (the connection does not hold the process), and no Node deprecation in the log.
      const status = spawnSync(nodeBinary(), [CLI, 'status', '--env', 'staging'], { cwd: staging.root, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
      expect(status.status, status.stderr).toBe(0);
      expect(`${status.stdout}${status.stderr}`).toContain(images.good!.split('@')[1]!.slice(7, 19));
      expect(status.stderr).not.toMatch(/DeprecationWarning|DEP0\d+/);
      // A host whose key is not the one known_hosts holds for it: refused before any request.
      const impostor = path.join(staging.root, 'known_hosts_other');
      const otherKey = readFileSync(`${environment.ssh.unauthorizedKeyPath}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
      writeFileSync(impostor, `[127.0.0.1]:${environment.ssh.port} ${otherKey}\n`);
      process.env.MLSHIP_SSH_KNOWN_HOSTS = impostor;
      const spoofed = await staging.run('deploy', '--env', 'staging', '--image', images.good!);
      expect(spoofed.exitCode).toBe(ExitCode.Infrastructure);
      expect(spoofed.error?.message).toContain(environment.ssh.dockerHost);
      expect(spoofed.error?.message).toMatch(/verification failed/i);
      process.env.MLSHIP_SSH_KNOWN_HOSTS = environment.ssh.knownHostsPath;
      process.env.MLSHIP_SSH_KEY = environment.ssh.unauthorizedKeyPath;
      const denied = await staging.run('deploy', '--env', 'staging', '--image', images.good!);
      expect(denied.exitCode).toBe(ExitCode.Infrastructure);
      expect(denied.error?.message).toContain(environment.ssh.dockerHost);
      expect(denied.error?.message).toMatch(/authentication/i);
    } finally {
      delete process.env.MLSHIP_SSH_KEY;
      delete process.env.MLSHIP_SSH_KNOWN_HOSTS;
    }
  });
});

describe('mlship deploy refuses, by name', () => {
  it('a port already taken on the host: exit 2 naming it', async () => {
    const staging = await project();
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(staging.port, '0.0.0.0', resolve));
    try {
      const run = await staging.run('deploy', '--env', 'staging', '--image', images.good!);
      expect(run.exitCode).toBe(ExitCode.Usage);
      expect(run.error?.message).toContain(`port ${staging.port} is already taken on the engine's host`);
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });

  it.each([
    ['an unknown environment', ['--env', 'prod'], ExitCode.Usage, 'mlship.yml has no environment "prod" (it has staging)'],
    ['a digest the registry does not have', ['--env', 'staging', '--image', `127.0.0.1:1/none@sha256:${'0'.repeat(64)}`], ExitCode.Infrastructure, '127.0.0.1:1/none'],
    ['an image that is not by digest', ['--env', 'staging', '--image', 'nginx:latest'], ExitCode.Usage, 'expected an image by digest'],
  ])('%s', async (_name, args, code, message) => {
    const staging = await project();
    const run = await staging.run('deploy', ...args);
    expect(run.exitCode).toBe(code);
    expect(run.error?.message).toContain(message);
  });

  it('a digest missing from a registry that answers: exit 2', async () => {
    const staging = await project();
    const run = await staging.run('deploy', '--env', 'staging', '--image', `${environment.registry.address}/nothing-${process.pid}@sha256:${'0'.repeat(64)}`);
    expect(run.exitCode).toBe(ExitCode.Usage);
    expect(run.error?.message).toContain('is not in its registry');
  });

  it('an engine that does not answer: exit 3 naming it', async () => {
    const staging = await project({ dockerHost: 'unix:///var/run/no-such-engine.sock' });
    const run = await staging.run('deploy', '--env', 'staging', '--image', images.good!);
    expect(run.exitCode).toBe(ExitCode.Infrastructure);
    expect(run.error?.message).toContain('the Docker Engine at unix:///var/run/no-such-engine.sock does not answer');
  });

  it.skipIf(process.getuid?.() !== 0)('an engine that is no Swarm manager: exit 3 saying to run docker swarm init', async () => {
    // The test engine's containers hang off docker0: starting another engine must not take it away.
    const bridge = '/sys/class/net/docker0';
    const bridged = existsSync(bridge);
    const engine = await startStandaloneEngine();
    try {
      const staging = await project({ dockerHost: engine.dockerHost });
      const run = await staging.run('deploy', '--env', 'staging', '--image', images.good!);
      expect(run.exitCode, run.error?.message).toBe(ExitCode.Infrastructure);
      expect(run.error?.message).toContain(`the Docker Engine at ${engine.dockerHost} is not a Swarm manager (swarm state: inactive)`);
      expect(run.error?.message).toContain('run `docker swarm init` on it');
      expect(await registryOf(staging).ledger()).toEqual([]);
    } finally {
      await engine.stop();
    }
    if (bridged) expect(existsSync(bridge)).toBe(true);
  });

  it('no image built for this commit: exit 2, saying what to run', async () => {
    const trained = await makeTrainingProject();
    writeTree(trained.root, { 'mlship.yml': `${(await import('node:fs')).readFileSync(path.join(trained.root, 'mlship.yml'), 'utf8')}environments:\n  staging: { target: swarm, service: x, port: 18081 }\n` });
    git(trained.root, 'commit', '-qam', 'env');
    await trained.run('train');
    const run = await trained.run('deploy', '--env', 'staging');
    expect(run.exitCode).toBe(ExitCode.Usage);
    expect(run.error?.message).toContain('run `mlship build --push` first');
  });
});
