import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { loadConfig } from '../../config/load.js';
import { ConfigurationError } from '../../errors.js';
import type { ServiceState } from '../../adapters/docker/swarm.js';
import { LABELS, digestOf, type ServiceSpec } from '../../domain/deploy/service-spec.js';
import type { Verdict } from '../../domain/deploy/assess.js';
import { formatDuration } from '../../domain/duration.js';
import { newRunId, shortVersion, type DeploymentOutcome, type DeploymentRecord } from '../../domain/registry/records.js';
import { candidateFromImage, candidateLineage, candidateOfThisCommit, candidateServiceSpec, readSmokeCases, withLineage } from '../../services/candidate.js';
import { connectSwarm, environmentSettings, type EnvironmentSettings } from '../../services/environment.js';
import { optionalRegistryAuth } from '../../services/registry-auth.js';
import { actor, workflowRunUrl } from '../../services/registry.js';
import { ensureEdge, watchRollout } from '../../services/rollout.js';
import type { CommandContext, CommandDefinition, CommandResult, OptionValues } from '../command.js';

export const deploy: CommandDefinition = {
  words: ['deploy'],
  description: "Deploy this commit's image (by digest) to an environment's Swarm service behind its edge, and wait until the edge answers as the new model.",
  options: {
    env: { type: 'string', value: 'NAME', description: 'The environment of mlship.yml to deploy to (staging, production…).' },
    image: { type: 'string', value: 'REPO@DIGEST', description: "Deploy this image (repository@sha256:…) instead of this commit's." },
  },
  outputs: {
    url: 'The URL of the environment\'s edge.',
    digest: 'The digest of the image deployed.',
    'model-version': 'The model version the environment serves after the deployment (the candidate when it succeeded).',
    'previous-digest': 'The digest that served before (empty for a first deployment).',
    outcome: 'deployed, rolled_back, timed_out or failed.',
    replicas: 'Tasks running the deployed image.',
  },
  primaryOutput: 'outcome',
  run: (options, context) => runDeploy(options, context),
};

async function runDeploy(options: OptionValues, context: CommandContext): Promise<CommandResult> {
  const { reporter } = context;
  const started = new Date();
  // The environment first: a wrong name is said before anything is read or asked.
  const settings = environmentSettings(loadConfig(context.configFile, context.configDisplay), typeof options.env === 'string' ? options.env : undefined, context.env);
  const named = typeof options.image === 'string' ? options.image : undefined;
  const resolved = named ? await candidateFromImage(named, context) : await candidateOfThisCommit(context, 'mlship deploy');
  const { registry, loaded } = resolved;
  const engine = await reporter.group(`Connecting to the Swarm manager of ${settings.name}`, () => connectSwarm(settings, context.env));
  const auth = loaded.config.image && resolved.candidate.repository === loaded.config.image.repository ? optionalRegistryAuth(loaded.config.image, context) : undefined;

  const present = await engine.registryDigest(resolved.candidate.image, auth);
  if (present === undefined) throw new ConfigurationError(`${resolved.candidate.image} is not in its registry: push it first (mlship build --push)`);
  const candidate = await withLineage(resolved.candidate, engine, auth, context);
  reporter.info(`candidate: ${candidate.image} (model ${shortVersion(candidate.modelVersion)}${candidate.runId ? `, run ${candidate.runId}` : ''})`);

  const probe = readSmokeCases(loaded);
  const { network } = await reporter.group(`Preparing the edge of ${settings.name} on port ${settings.port}`, () => ensureEdge(engine, settings, reporter, context.signal));
  const current = await engine.service(settings.service);
  const spec = candidateServiceSpec(settings, candidate, network);
  const unchanged = current !== undefined && sameDeployment(current, spec);
  const previous = { digest: current?.digest ?? null, modelVersion: current?.labels[LABELS.modelVersion] ?? null };
  await reporter.group(`${unchanged ? 'Verifying' : current ? 'Updating' : 'Creating'} ${settings.service}: ${settings.replicas} × ${candidate.image}`, async () => {
    if (unchanged) reporter.info(`${settings.service} already runs ${shortVersion(candidate.digest)}: verifying it`);
    else if (current) await engine.updateService(current.id, current.version, spec, auth);
    else await engine.createService(spec, auth);
  });

  const rollout = await reporter.group(`Waiting for ${settings.service} (timeout ${formatDuration(settings.rollout.timeoutMs)})`, () =>
    watchRollout({
      engine,
      settings,
      candidateDigest: candidate.digest,
      candidateModelVersion: candidate.modelVersion,
      probeRows: probe ? [probe.cases[0]!.input] : [],
      reporter,
      signal: context.signal,
    }),
  );
  const outcome = outcomeOf(rollout.verdict);
  const finished = new Date();
  const record: DeploymentRecord = {
    schema: 1,
    id: newRunId(started, randomBytes(3).toString('hex')),
    environment: settings.name,
    service: settings.service,
    engine: engine.address,
    ...candidateLineage(candidate),
    previousDigest: previous.digest,
    previousModelVersion: previous.modelVersion,
    outcome,
    message: rollout.verdict.message,
    unchanged,
    by: actor(context.env),
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationSeconds: (finished.getTime() - started.getTime()) / 1000,
    runUrl: workflowRunUrl(context.env),
  };
  await registry.recordDeployment(record, settings.url);
  const serving = outcome === 'deployed' ? candidate : { digest: rollout.service?.digest ?? previous.digest ?? '', modelVersion: rollout.service?.labels[LABELS.modelVersion] ?? previous.modelVersion ?? '' };
  reporter.info(`${outcome}: ${settings.name} serves ${serving.digest ? shortVersion(serving.digest) : 'nothing'} after ${formatDuration(finished.getTime() - started.getTime())} (deployment ${record.id})`);
  return {
    outputs: {
      url: settings.url,
      digest: candidate.digest,
      'model-version': serving.modelVersion,
      'previous-digest': previous.digest ?? '',
      outcome,
      replicas: settings.replicas,
    },
    summary: summary(record, settings, hostname()),
    ...(outcome === 'deployed' ? {} : { failure: `deployment to ${settings.name} ${outcome.replace('_', ' ')}: ${rollout.verdict.message}` }),
  };
}

/**
 * The service already runs what this deployment asks for: same image digest, environment, labels,
 * replicas and rollout settings. Swarm normalises the specs it returns (network ids, omitted zero
 * values), so the comparison is on the fields mlship sets, zeros filled in.
 */
function sameDeployment(current: ServiceState, wanted: ServiceSpec): boolean {
  const fields = (spec: ServiceSpec): string => {
    const update = spec.UpdateConfig;
    return JSON.stringify({
      env: [...(spec.TaskTemplate.ContainerSpec.Env ?? [])].sort(),
      labels: Object.entries(spec.Labels ?? {}).sort(),
      mode: spec.Mode,
      update: update ? [update.Parallelism ?? 0, update.Delay ?? 0, update.FailureAction, update.Monitor ?? 0, update.MaxFailureRatio ?? 0, update.Order] : null,
      stop: spec.TaskTemplate.ContainerSpec.StopGracePeriod ?? 0,
    });
  };
  return current.digest === digestOf(wanted.TaskTemplate.ContainerSpec.Image) && current.updateState !== 'rollback_completed' && fields(current.spec) === fields(wanted);
}

function outcomeOf(verdict: Verdict): DeploymentOutcome {
  switch (verdict.kind) {
    case 'converged':
      return 'deployed';
    case 'rolled_back':
      return 'rolled_back';
    case 'timed_out':
      return 'timed_out';
    default:
      return 'failed';
  }
}

function summary(record: DeploymentRecord, settings: EnvironmentSettings, host: string): string {
  const icon = record.outcome === 'deployed' ? '✅' : '❌';
  return [
    `### ${icon} mlship deploy: ${settings.name} ${record.outcome.replace('_', ' ')}`,
    '',
    record.message,
    '',
    '| | |',
    '| --- | --- |',
    `| Environment | ${settings.name} (\`${settings.service}\`, ${settings.replicas} ${settings.replicas === 1 ? 'replica' : 'replicas'}) |`,
    `| Edge | ${settings.url} |`,
    `| Image | \`${record.image}\`${record.unchanged ? ' (already serving: verified)' : ''} |`,
    `| Model version | \`${shortVersion(record.modelVersion)}\` |`,
    `| Previous image | ${record.previousDigest ? `\`${shortVersion(record.previousDigest)}\`` : 'none'} |`,
    `| Deployment | \`${record.id}\` by ${record.by} from ${host} in ${formatDuration(record.durationSeconds * 1000)} |`,
    '',
  ].join('\n');
}
