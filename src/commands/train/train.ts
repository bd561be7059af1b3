import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { CheckFailedError, ConfigurationError, InterruptedError, describeError } from '../../errors.js';
import { snapshotWorkspace, type StateDirectory, type WorkspaceSnapshot } from '../../adapters/fs/workspace.js';
import { runShell } from '../../adapters/process/shell.js';
import type { BlobStore } from '../../adapters/store/blob-store.js';
import { formatBytes, type Reporter } from '../../adapters/runtime/reporter.js';
import type { TrackedPath } from '../../domain/data/manifest.js';
import { newRunId, shortVersion, type StoredOutput, type ModelVersionRecord, type RunRecord } from '../../domain/registry/records.js';
import type { Registry } from '../../domain/registry/registry.js';
import { canonicalJson } from '../../domain/train/run-key.js';
import { WORKSPACE_LOCK_OPTIONS, type CommandContext, type CommandDefinition, type CommandResult } from '../command.js';
import { MODEL_VERSION_OUTPUT } from '../outputs.js';
import { uploadAll, type Upload } from '../../services/objects.js';
import { resolveRunIdentity, type RunIdentity } from '../../services/run-identity.js';
import { clearOutputs, readMetricsFile, restoreRecordedOutputs, storedOutput, type OutputPath } from '../../services/outputs.js';
import { DEFAULT_LOG_TAIL } from '../../services/resolved-config.js';

export const train: CommandDefinition = {
  words: ['train'],
  description: 'Run train.command, record the run, and reuse an identical earlier run instead of training again.',
  options: {
    force: { type: 'boolean', description: 'Train even when a run with the same code, data, params and command is recorded.' },
    'allow-dirty-data': { type: 'boolean', description: 'Train although the data on disk differs from mlship.lock (the run records the data as it is).' },
    ...WORKSPACE_LOCK_OPTIONS,
  },
  locksWorkspace: true,
  outputs: {
    'run-id': 'Id of the run (for a cache hit, of the earlier run that is reused).',
    ...MODEL_VERSION_OUTPUT,
    'cache-hit': 'true when an identical earlier run was reused instead of training.',
    metrics: 'JSON object of the run\'s metrics (nested keys flattened with dots).',
  },
  primaryOutput: 'model-version',
  run: (options, context) => runTrain(options.force === true, options['allow-dirty-data'] === true, context),
};

async function runTrain(force: boolean, allowDirtyData: boolean, context: CommandContext): Promise<CommandResult> {
  const { reporter } = context;
  const identity = await resolveRunIdentity(context, { allowDirtyData, command: 'mlship train' });
  const { loaded, config, root, state, outputs, git, params, paramText, dataVersion, key, store, registry } = identity;

  if (!force) {
    const previous = await registry.runForKey(key);
    if (previous?.status === 'succeeded') {
      await reporter.group(`Cache hit: reusing run ${previous.id}`, () =>
        restoreRecordedOutputs(state, outputs, previous.outputs, store, (output) => reporter.info(`restoring ${output.path} from ${store.location}`)),
      );
      reporter.info(`cache hit: run ${previous.id} trained this code, data, params and command already; model ${previous.modelVersion}`);
      return resultOf(previous, true, registry);
    }
  }

  const runId = newRunId(new Date(), randomBytes(3).toString('hex'));
  const startedAt = new Date();
  const modelOutput = outputs.find((o) => o.role === 'model')!;
  await clearOutputs(root, outputs);
  // What the training command is told; in a container it gets only these, not the host's environment.
  const mlshipEnv: Record<string, string> = {
    MLSHIP_RUN_ID: runId,
    MLSHIP_RUN_KEY: key,
    MLSHIP_DATA_VERSION: dataVersion,
    MLSHIP_OUTPUT_DIR: path.join(root, modelOutput.path.includes('/') ? path.posix.dirname(modelOutput.path) : '.'),
    MLSHIP_PARAMS: canonicalJson(params),
    ...(config.params ? { MLSHIP_PARAMS_FILE: path.join(root, config.params) } : {}),
    ...Object.fromEntries(outputs.map((o) => [`MLSHIP_${o.role.toUpperCase()}_PATH`, path.join(root, o.path)])),
  };
  const tailLines = config.log_tail ?? DEFAULT_LOG_TAIL;
  const shell = config.container
    ? await trainInContainer(config.container, config.command, identity, mlshipEnv, context)
    : await reporter.group(`Training: ${config.command}`, () =>
        runShell(config.command, {
          cwd: root,
          env: { ...definedOnly(context.env), ...mlshipEnv },
          onLine: (line) => reporter.info(line),
          tailLines,
          signal: context.signal,
        }),
      );
  const base = {
    schema: 1 as const,
    id: runId,
    key,
    project: loaded.config.name,
    startedAt: startedAt.toISOString(),
    command: config.command,
    git,
    dataVersion,
    params,
    paramText,
    host: hostname(),
    user: context.env.GITHUB_ACTOR ?? safeUser(),
    logTail: shell.tail,
  };
  const finish = (): { finishedAt: string; durationSeconds: number } => {
    const finishedAt = new Date();
    return { finishedAt: finishedAt.toISOString(), durationSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000 };
  };
  const recordFailure = async (failure: string): Promise<void> => {
    const failed: RunRecord = { ...base, ...finish(), status: 'failed', failure, metrics: {}, outputs: {} };
    await registry.recordRun(failed).catch((error: unknown) => reporter.warning(`the failed run could not be recorded: ${describeError(error)}`));
  };

  if (shell.interrupted) {
    await recordFailure('interrupted');
    throw new InterruptedError(`training was interrupted and stopped (run ${runId}, recorded as failed)`);
  }
  if (shell.exitCode !== 0) {
    const failure = `the training command exited with code ${shell.exitCode}`;
    await recordFailure(failure);
    throw new CheckFailedError(`${failure} (run ${runId})${shell.tail.length > 0 ? `; its last ${shell.tail.length} lines:\n${shell.tail.join('\n')}` : ''}`);
  }

  let metrics: Record<string, number>;
  let hashed: WorkspaceSnapshot;
  try {
    hashed = await snapshotWorkspace(state, outputs, { allowMissing: true });
    const found = hashed.snapshot.paths;
    const written = (output: OutputPath): TrackedPath => {
      const tracked = found.find((p) => p.path === output.path);
      if (!tracked) throw new ConfigurationError(`${output.role} output "${output.path}" (${output.where}) was not written by the training command`);
      return tracked;
    };
    if (written(modelOutput).size === 0) throw new ConfigurationError(`model output "${modelOutput.path}" is empty`);
    const metricsOutput = outputs.find((o) => o.role === 'metrics')!;
    written(metricsOutput);
    metrics = readMetricsFile(root, metricsOutput);
    for (const output of outputs) written(output);
  } catch (error) {
    await recordFailure(describeError(error));
    throw error;
  }

  const stored = Object.fromEntries(
    outputs.map((o) => [o.role, storedOutput(hashed.snapshot.paths.find((p) => p.path === o.path)!)]),
  ) as Record<OutputPath['role'], ReturnType<typeof storedOutput>>;
  // The record must name the bytes this run produced: an output that changed after it was hashed
  // (a process the command left running, another tool) makes the run a failure, not a record.
  const failIfChanged = async (): Promise<void> => {
    const changed = await changedSince(state, outputs, stored);
    if (changed.length === 0) return;
    const failure = `${changed.join(', ')} changed while mlship was recording the run (something still writes to it after the training command exited)`;
    await recordFailure(failure);
    throw new CheckFailedError(`${failure}; run ${runId} is recorded as failed`);
  };
  try {
    await saveOutputs(store, hashed, reporter);
  } catch (error) {
    await failIfChanged();
    await recordFailure(`outputs could not be saved to ${store.location}: ${describeError(error)}`);
    throw error;
  }
  await failIfChanged();

  const modelVersion = stored.model.hash;
  const run: RunRecord = { ...base, ...finish(), status: 'succeeded', metrics, modelVersion, outputs: stored };
  const modelRecord: ModelVersionRecord = {
    schema: 1,
    version: modelVersion,
    runId,
    createdAt: run.finishedAt,
    dataVersion,
    gitSha: git.sha,
    metrics,
    model: stored.model,
  };
  await registry.recordRun(run, modelRecord);
  reporter.info(`run ${runId} succeeded in ${run.durationSeconds.toFixed(1)} s: model ${modelVersion} (${formatBytes(stored.model.size)})`);
  return resultOf(run, false, registry);
}

/**
 * Trains inside the image environment: builds the Dockerfile target (the layer cache makes a
 * rebuild cheap), then runs the command in a container with the workspace mounted at the same
 * path, as the calling user, so training and serving share one environment.
 */
async function trainInContainer(
  container: { dockerfile?: string | undefined; target?: string | undefined },
  command: string,
  identity: RunIdentity,
  env: Record<string, string>,
  context: CommandContext,
): Promise<{ exitCode: number; tail: readonly string[]; interrupted: boolean }> {
  const { reporter } = context;
  const { checkDockerfile } = await import('../../adapters/docker/build-context.js');
  const { buildImage, checkEngine, connectEngine, engineAddress } = await import('../../adapters/docker/engine.js');
  const { runInContainer } = await import('../../adapters/docker/run-container.js');
  const dockerfile = container.dockerfile ?? 'Dockerfile';
  checkDockerfile(identity.root, dockerfile, identity.loaded.where(['train', 'container', 'dockerfile']));
  const address = engineAddress(context.env.DOCKER_HOST);
  const docker = connectEngine(context.env.DOCKER_HOST);
  await checkEngine(docker, address);
  const image = `mlship-train/${identity.loaded.config.name}:${identity.key.slice(7, 19)}`;
  await reporter.group(`Building the training image ${image}${container.target ? ` (target ${container.target})` : ''}`, () =>
    buildImage(docker, { contextDir: identity.root, dockerfile, target: container.target, buildArgs: {}, labels: {}, tags: [image], cacheFrom: [] }, (line) => reporter.info(line)),
  );
  const ran = await reporter.group(`Training in ${image}: ${command}`, () =>
    runInContainer(docker, { image, command, workspace: identity.root, env, tailLines: identity.config.log_tail ?? DEFAULT_LOG_TAIL }, (line) => reporter.info(line)),
  );
  return { ...ran, interrupted: false };
}

/** Outputs whose content on disk no longer matches what was hashed and stored. */
async function changedSince(state: StateDirectory, outputs: readonly OutputPath[], stored: Readonly<Record<string, StoredOutput>>): Promise<string[]> {
  const now = await snapshotWorkspace(state, outputs, { allowMissing: true });
  const current = new Map(now.snapshot.paths.map((p) => [p.path, `sha256:${p.hash}`]));
  return outputs.filter((o) => current.get(o.path) !== stored[o.role]?.hash).map((o) => `${o.role} output "${o.path}"`);
}

/** Uploads the outputs' files and directory manifests that the store lacks. */
async function saveOutputs(store: BlobStore, hashed: WorkspaceSnapshot, reporter: Reporter): Promise<void> {
  const uploads = new Map<string, Upload>();
  for (const files of hashed.files.values()) {
    for (const f of files) uploads.set(f.hash, { hash: f.hash, size: f.size, display: f.repoPath, open: () => createReadStream(f.absolute) });
  }
  for (const [hash, text] of hashed.manifests) {
    uploads.set(hash, { hash, size: Buffer.byteLength(text), display: 'output manifest', open: () => Readable.from([Buffer.from(text)]) });
  }
  const missing = new Set(await store.missing([...uploads.keys()]));
  // Files before manifests: a manifest in the store means its files are there too.
  const ordered = [...uploads.values()].filter((u) => missing.has(u.hash) && !hashed.manifests.has(u.hash));
  ordered.push(...[...uploads.values()].filter((u) => missing.has(u.hash) && hashed.manifests.has(u.hash)));
  await uploadAll(store, ordered, reporter);
}

function resultOf(run: RunRecord, cacheHit: boolean, registry: Registry): CommandResult {
  const metricRows = Object.entries(run.metrics)
    .map(([name, value]) => `| ${name} | ${Number.isInteger(value) ? value : value.toPrecision(6)} |`)
    .join('\n');
  const summary = [
    `### mlship train${cacheHit ? ': cache hit' : ''}`,
    '',
    cacheHit ? `Reused run \`${run.id}\`: the same code, data, params and command were trained before.` : `Run \`${run.id}\` succeeded in ${run.durationSeconds.toFixed(1)} s.`,
    '',
    '| Lineage | |',
    '| --- | --- |',
    `| Model version | \`${shortVersion(run.modelVersion ?? '')}\` |`,
    `| Data version | \`${shortVersion(run.dataVersion)}\` |`,
    `| Code | \`${run.git.sha.slice(0, 12)}\` on ${run.git.ref}${run.git.dirty ? ' (with uncommitted changes)' : ''} |`,
    `| Run key | \`${shortVersion(run.key)}\` |`,
    `| Cache hit | ${cacheHit ? 'yes' : 'no'} |`,
    `| Registry | ${registry.location} |`,
    '',
    '| Metric | Value |',
    '| --- | --- |',
    metricRows,
    '',
  ].join('\n');
  return {
    outputs: { 'run-id': run.id, 'model-version': run.modelVersion ?? '', 'cache-hit': cacheHit, metrics: run.metrics },
    summary,
  };
}

function definedOnly(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
