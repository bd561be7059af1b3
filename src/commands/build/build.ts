import { readFileSync } from 'node:fs';
import path from 'node:path';
import { requireSection } from '../../config/load.js';
import { ConfigurationError, describeError } from '../../errors.js';
import type { Registry } from '../../domain/registry/registry.js';
import type Docker from 'dockerode';
import { formatBytes, type Reporter } from '../../adapters/runtime/reporter.js';
import { sha256Hex } from '../../domain/data/manifest.js';
import { shortVersion } from '../../domain/registry/records.js';
import { canonicalJson } from '../../domain/train/run-key.js';
import type { RegistryAuth } from '../../adapters/docker/engine.js';
import { DEFAULT_TAG_TEMPLATES, NamingError, checkRepository, imageLabels, renderTags } from '../../domain/image/naming.js';
import { WORKSPACE_LOCK_OPTIONS, type CommandContext, type CommandDefinition, type CommandResult } from '../command.js';
import { resolveRunIdentity } from '../../services/run-identity.js';
import { restoreRecordedOutputs } from '../../services/outputs.js';
import { predictionMetrics } from '../../services/scoring.js';
import { optionalRegistryAuth, registryAuth } from '../../services/registry-auth.js';

export const build: CommandDefinition = {
  words: ['build'],
  description: "Build the serving image of this commit's model through the Docker Engine API, tagged and labelled with its lineage; --push to push it.",
  options: {
    push: { type: 'boolean', description: 'Push every tag (also when image.push is true in mlship.yml).' },
    ...WORKSPACE_LOCK_OPTIONS,
  },
  locksWorkspace: true,
  outputs: {
    image: 'The image reference: repository@digest when pushed, else repository:tag.',
    digest: 'The digest the registry reported for the pushed image (empty when not pushed).',
    tags: 'JSON list of the tags given to the image.',
    labels: 'JSON object of the labels on the image (OCI and mlship lineage).',
  },
  primaryOutput: 'image',
  run: (options, context) => runBuild(options.push === true, context),
};

async function runBuild(pushFlag: boolean, context: CommandContext): Promise<CommandResult> {
  const { reporter } = context;
  const identity = await resolveRunIdentity(context, { allowDirtyData: false, command: 'mlship build' });
  const { loaded, root, registry, store, state, outputs } = identity;
  const image = requireSection(loaded, 'image', 'mlship build');
  const where = (key: string): string => loaded.where(['image', key]);
  try {
    checkRepository(image.repository);
  } catch (error) {
    if (error instanceof NamingError) throw new ConfigurationError(`${where('repository')}: ${error.message}`);
    throw error;
  }
  // The Docker client (dockerode, ssh2) is large: only `mlship build` loads it.
  const { checkDockerfile, contextDigest, contextFiles } = await import('../../adapters/docker/build-context.js');
  const { buildImage, checkEngine, connectEngine, engineAddress, engineDeadlines, findImageByLabel, pullImage, pushImage, tagImage } = await import('../../adapters/docker/engine.js');
  const contextDir = path.resolve(root, image.context ?? '.');
  const dockerfile = image.dockerfile ?? 'Dockerfile';
  checkDockerfile(contextDir, dockerfile, where('dockerfile'));

  // The image carries this commit's model: the run that trained it must exist.
  const run = await registry.runForKey(identity.key);
  if (!run?.modelVersion) {
    throw new ConfigurationError(`no successful \`mlship train\` run for this commit's code, data, params and command in ${registry.location}; run mlship train first`);
  }
  const values = { modelVersion: run.modelVersion, dataVersion: run.dataVersion, gitSha: identity.git.sha, runId: run.id, ref: identity.git.ref };
  let tags: string[];
  try {
    tags = renderTags(image.tags ?? DEFAULT_TAG_TEMPLATES, values);
  } catch (error) {
    if (error instanceof NamingError) throw new ConfigurationError(`${where('tags')}: ${error.message}`);
    throw error;
  }
  // The build context must hold the recorded model, byte for byte, whatever is on disk now.
  await restoreRecordedOutputs(state, outputs, run.outputs, store, (output) => reporter.info(`restoring ${output.path} from ${store.location}`));

  // Every gated metric becomes a label: the training command's, and those evaluate computes from
  // the run's predictions (the very numbers its report shows).
  const gated = new Set((loaded.config.evaluate?.gates ?? []).map((g) => g.metric));
  const predictions = outputs.find((o) => o.role === 'predictions');
  const computed = predictions && run.outputs.predictions && [...gated].some((m) => !(m in run.metrics))
    ? predictionMetrics(readFileSync(path.join(root, predictions.path), 'utf8'), predictions.path, loaded.config.evaluate).metrics
    : {};
  const metrics = Object.fromEntries(Object.entries({ ...run.metrics, ...computed }).filter(([name]) => gated.has(name)));
  // The commit's time, not the clock's (like SOURCE_DATE_EPOCH): rebuilding the same commit gives
  // the same image config, so a re-run after a failed push pushes the very same digest. The source
  // is the repository's web address from git, not from the runner: the CLI and the action agree.
  const created = identity.git.committedAt ?? new Date().toISOString();
  // Labels travel with the image wherever it is pulled: nothing secret may be in them.
  const labels = context.secrets.maskDeep(imageLabels({ ...values, source: identity.git.source, created, metrics }));

  const address = engineAddress(context.env.DOCKER_HOST);
  const docker = connectEngine(context.env.DOCKER_HOST, context.env);
  const engineVersion = await checkEngine(docker, address);
  reporter.info(`Docker Engine ${engineVersion} at ${address}`);
  const deadlines = engineDeadlines(context.env);
  const transfer = { stallMs: deadlines.transferStallMs, signal: context.signal };
  const references = tags.map((tag) => `${image.repository}:${tag}`);
  const pushing = pushFlag || image.push === true;
  // Credentials are needed to push, and perhaps to pull the cache; a missing password fails a push only.
  const auth = pushing ? registryAuth(image, context) : optionalRegistryAuth(image, context);

  // The build key names everything the image is made of. An image already made from the same key
  // is that image: reusing it (rather than rebuilding against whatever cache there is now) keeps
  // the digest of a commit the same, whatever happened to the layer cache since.
  const buildArgs = image.build_args ?? {};
  const sent = contextFiles(contextDir, dockerfile);
  if (sent.some((file) => file.startsWith('.git/'))) {
    reporter.warning(`the build context sends .git/ into the image build: add .git to ${path.join(path.relative(root, contextDir) || '.', '.dockerignore')} (it changes with every fetch, so images of the same commit differ)`);
  }
  const buildKey = `sha256:${sha256Hex(canonicalJson({ v: 1, context: contextDigest(contextDir, sent), dockerfile, target: image.target ?? null, buildArgs, labels }))}`;
  const keyedLabels = { ...labels, [BUILD_KEY_LABEL]: buildKey };
  const built = await reusableImage(buildKey, run.modelVersion, image.repository, { docker, registry, auth, transfer, reporter, findImageByLabel, pullImage });
  let result: { imageId: string; cachedSteps: number; steps: number; reused: boolean };
  if (built) {
    await tagImage(docker, built, references);
    result = { imageId: built, cachedSteps: 0, steps: 0, reused: true };
    reporter.info(`reusing image ${built}: it was built from the same build key ${shortVersion(buildKey)} (same context, Dockerfile, arguments and labels)`);
  } else {
    const local = (await docker.listImages({ filters: JSON.stringify({ reference: [image.repository] }) })).flatMap((i) => i.RepoTags ?? []);
    // On a fresh machine (a CI runner) nothing is local: pull the image that serves now, so its
    // dependency layers are reused. Best effort: without it the build is slower, not wrong.
    const remote = await previousPushedImage(registry, image.repository);
    if (remote && local.length === 0) {
      try {
        await reporter.group(`Pulling ${remote} as the layer cache`, () => pullImage(docker, remote, auth, transfer));
        local.push(remote);
      } catch (error) {
        if (context.signal.aborted) throw error;
        reporter.warning(`could not pull ${remote} to reuse its layers (${describeError(error)}); building without it`);
      }
    }
    const made = await reporter.group(`Building ${references[0]}`, () =>
      buildImage(
        docker,
        { contextDir, dockerfile, target: image.target, buildArgs, labels: keyedLabels, tags: references, cacheFrom: local },
        (line) => reporter.info(line),
        { stallMs: deadlines.buildStallMs, signal: context.signal },
      ),
    );
    result = { ...made, reused: false };
    reporter.info(`built ${result.imageId}: ${result.cachedSteps} of ${result.steps} steps from the layer cache`);
  }

  let digest = '';
  if (pushing) {
    for (const tag of tags) {
      const layers = new Map<string, { current: number; total: number }>();
      let lastReport = 0;
      const pushed = await reporter.group(`Pushing ${image.repository}:${tag}`, () =>
        pushImage(docker, image.repository, tag, auth, (event) => {
          // Progress per layer, summed: a line at most every few seconds, so logs show movement.
          layers.set(event.id, { current: event.current, total: event.total });
          const now = Date.now();
          if (now - lastReport < 3000) return;
          lastReport = now;
          const done = [...layers.values()].reduce((n, l) => n + l.current, 0);
          const total = [...layers.values()].reduce((n, l) => n + l.total, 0);
          reporter.info(`pushing: ${formatBytes(done)} / ${formatBytes(total)} in ${layers.size} layers`);
        }, transfer),
      );
      digest = pushed.digest;
      reporter.info(`pushed ${image.repository}:${tag} ${pushed.digest}${pushed.size ? ` (manifest ${pushed.size} bytes)` : ''}`);
    }
  }
  // Only a pushed image is a fact others can use: a local build records nothing.
  if (pushing) {
    await registry.recordImage(run.modelVersion, { repository: image.repository, tags, digest, builtAt: new Date().toISOString(), gitSha: identity.git.sha, runId: run.id, buildKey });
  }
  const reference = digest ? `${image.repository}@${digest}` : references[0]!;
  const cacheLine = result.reused ? 'reused the image built from the same build key' : `${result.cachedSteps} of ${result.steps} steps from the layer cache`;
  return {
    outputs: { image: reference, digest, tags, labels: keyedLabels },
    summary: [
      `### mlship build`,
      '',
      `\`${reference}\` from model \`${shortVersion(run.modelVersion)}\` (run \`${run.id}\`), ${cacheLine}.`,
      '',
      `Tags: ${tags.map((t) => `\`${t}\``).join(', ')}${digest ? `; digest \`${digest}\`` : ' (not pushed)'}.`,
      '',
    ].join('\n'),
  };
}

/** The image of the model that serves now (production, else staging) in this repository, by digest. */
async function previousPushedImage(registry: Registry, repository: string): Promise<string | undefined> {
  for (const aliasName of ['production', 'staging']) {
    const alias = await registry.alias(aliasName);
    const model = alias ? await registry.model(alias.version) : undefined;
    const pushed = [...(model?.images ?? [])].reverse().find((i) => i.repository === repository && i.digest !== '');
    if (pushed) return `${repository}@${pushed.digest}`;
  }
  return undefined;
}

/** The label that carries an image's build key, so a local image can be found by it. */
const BUILD_KEY_LABEL = 'mlship.build-key';

/**
 * An image made from this build key before: a local one (labelled with the key), else the one this
 * model version's record says was pushed with it, pulled by digest. Undefined when there is none
 * (or it cannot be pulled any more): then the image is built.
 */
async function reusableImage(
  buildKey: string,
  modelVersion: string,
  repository: string,
  engine: {
    docker: Docker;
    registry: Registry;
    auth: RegistryAuth | undefined;
    transfer: { stallMs: number; signal: AbortSignal };
    reporter: Reporter;
    findImageByLabel: (docker: Docker, label: string, value: string) => Promise<string | undefined>;
    pullImage: (docker: Docker, reference: string, auth: RegistryAuth | undefined, limits: { stallMs: number; signal?: AbortSignal }) => Promise<void>;
  },
): Promise<string | undefined> {
  const local = await engine.findImageByLabel(engine.docker, BUILD_KEY_LABEL, buildKey);
  if (local) return local;
  const model = await engine.registry.model(modelVersion);
  const pushed = [...(model?.images ?? [])].reverse().find((i) => i.buildKey === buildKey && i.repository === repository && i.digest !== '');
  if (!pushed) return undefined;
  const reference = `${repository}@${pushed.digest}`;
  try {
    await engine.reporter.group(`Pulling ${reference}, built from the same build key`, () => engine.pullImage(engine.docker, reference, engine.auth, engine.transfer));
  } catch (error) {
    if (engine.transfer.signal.aborted) throw error;
    engine.reporter.warning(`could not pull ${reference} (${describeError(error)}); building it again`);
    return undefined;
  }
  return engine.findImageByLabel(engine.docker, BUILD_KEY_LABEL, buildKey);
}
