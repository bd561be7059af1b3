import { loadConfig } from '../../config/load.js';
import { CheckFailedError, ConfigurationError, InfrastructureError } from '../../errors.js';
import { formatDuration } from '../../domain/duration.js';
import { shortVersion, type DeploymentRecord } from '../../domain/registry/records.js';
import type { Registry } from '../../domain/registry/registry.js';
import { readSmokeCases, type Candidate } from '../../services/candidate.js';
import { lockEnvironment } from '../../services/environment-lock.js';
import { connectSwarm, environmentSettings, type EnvironmentSettings } from '../../services/environment.js';
import { promoteService, promotionRecord } from '../../services/promotion.js';
import { optionalRegistryAuth } from '../../services/registry-auth.js';
import { actor, openProjectRegistry, workflowRunUrl } from '../../services/registry.js';
import { analysisSettings, smokeLoad, smokeThresholds } from '../../services/smoke-settings.js';
import type { CommandContext, CommandDefinition, CommandResult, OptionValues } from '../command.js';

export const rollback: CommandDefinition = {
  words: ['rollback'],
  description: 'Put the previous promoted version of an environment (or the one named) back, with the same verification as a promotion.',
  options: {
    env: { type: 'string', value: 'NAME', description: 'The environment to roll back (production).' },
    to: { type: 'string', value: 'VERSION', description: 'The model version or image digest to go back to (default: the previous successful one in the ledger).' },
  },
  outputs: {
    outcome: 'rolled_back (the environment serves the version rolled back to), or failed.',
    digest: 'The digest rolled back to.',
    'previous-digest': 'The digest that served before.',
    'model-version': 'The model version that serves when it ended.',
    'duration-s': 'Seconds from the start to the verified outcome.',
  },
  primaryOutput: 'outcome',
  run: (options, context) => runRollback(options, context),
};

async function runRollback(options: OptionValues, context: CommandContext): Promise<CommandResult> {
  const { reporter } = context;
  const started = new Date();
  const loaded = loadConfig(context.configFile, context.configDisplay);
  const settings = environmentSettings(loaded, typeof options.env === 'string' ? options.env : undefined, context.env);
  const { registry } = await openProjectRegistry(context);
  const target = await rollbackTarget(registry, settings, typeof options.to === 'string' ? options.to : undefined);
  const cases = readSmokeCases(loaded);
  if (!cases) throw new ConfigurationError('mlship rollback verifies with the smoke cases: add a "smoke" section (smoke.cases) to mlship.yml');
  const candidate: Candidate = {
    image: target.image,
    repository: target.image.split('@')[0]!,
    digest: target.digest,
    modelVersion: target.modelVersion,
    dataVersion: target.dataVersion,
    runId: target.runId,
    gitSha: target.gitSha,
  };
  reporter.info(`rolling ${settings.name} back to ${candidate.image} (model ${shortVersion(candidate.modelVersion)}, ${target.kind ?? 'deployment'} ${target.id} of ${target.finishedAt})`);
  const lock = await lockEnvironment(registry, settings.name, { by: actor(context.env), command: `mlship rollback of ${settings.name}`, runUrl: workflowRunUrl(context.env) }, { waitMs: 10 * 60_000, signal: context.signal, reporter });
  let result;
  try {
    const engine = await connectSwarm(settings, context.env);
    const auth = loaded.config.image && candidate.repository === loaded.config.image.repository ? optionalRegistryAuth(loaded.config.image, context) : undefined;
    result = await reporter.group(`Rolling ${settings.service} back to ${shortVersion(candidate.digest)}`, () =>
      promoteService({
        engine,
        settings,
        candidate,
        auth,
        cases: cases.cases,
        analysis: analysisSettings(loaded, settings.name),
        finalSmoke: { ...smokeLoad(loaded), thresholds: smokeThresholds(loaded) },
        reporter,
        signal: context.signal,
      }),
    );
  } finally {
    await lock.release();
  }
  const finished = new Date();
  const succeeded = result.outcome === 'promoted';
  const record = promotionRecord({
    kind: 'rollback',
    settings,
    candidate,
    result,
    outcome: succeeded ? 'rolled_back' : 'failed',
    message: succeeded ? `rolled back to ${target.id}` : (result.breach ?? 'failed'),
    breach: succeeded ? undefined : result.breach,
    started,
    finished,
    env: context.env,
  });
  await registry.recordDeployment(record, settings.url);
  const serving = result.serving;
  reporter.info(`${record.outcome}: ${settings.name} serves ${serving.digest ? shortVersion(serving.digest) : 'nothing'} (${formatDuration(record.durationSeconds * 1000)})`);
  const failure = `rollback of ${settings.name} to ${shortVersion(candidate.digest)} failed: ${result.breach ?? ''}`;
  return {
    outputs: {
      outcome: record.outcome,
      digest: candidate.digest,
      'previous-digest': result.previous.digest ?? '',
      'model-version': serving.modelVersion ?? '',
      'duration-s': Number(record.durationSeconds.toFixed(1)),
    },
    summary: [
      `### ${succeeded ? '✅' : '❌'} mlship rollback: ${settings.name} ${succeeded ? `serves ${shortVersion(candidate.modelVersion)} again` : 'failed'}`,
      '',
      `From \`${shortVersion(result.previous.digest ?? '')}\` back to \`${candidate.image}\` (${target.kind ?? 'deployment'} \`${target.id}\`), in ${formatDuration(record.durationSeconds * 1000)}.`,
      ...(result.breach ? ['', `**Breach:** ${result.breach}`] : []),
      '',
      ...result.timeline.map((t) => `- \`${formatDuration(t.atMs)}\` ${t.event}`),
      '',
    ].join('\n'),
    ...(succeeded ? {} : result.rollbackUnverified ? { error: new InfrastructureError(failure) } : { failure }),
  };
}

/** The previous successful version of the environment in the ledger, or the one named (model version or digest, or a prefix). */
async function rollbackTarget(registry: Registry, settings: EnvironmentSettings, named: string | undefined): Promise<DeploymentRecord> {
  const history = (await registry.deploymentsOf(settings.name)).filter((r) => r.outcome === 'deployed' || r.outcome === 'promoted' || (r.kind === 'rollback' && r.outcome === 'rolled_back'));
  const current = await registry.environment(settings.name);
  if (named !== undefined) {
    const wanted = named.replace(/^sha256:/, '');
    const found = history.find((r) => r.modelVersion.replace(/^sha256:/, '').startsWith(wanted) || r.digest.replace(/^sha256:/, '').startsWith(wanted));
    if (!found) throw new ConfigurationError(`--to ${named}: ${settings.name} never served a model version or image starting with it (see mlship status, or the ledger)`);
    return found;
  }
  const earlier = history.find((r) => r.digest !== current?.digest);
  if (!earlier) {
    throw new CheckFailedError(`${settings.name} has no earlier successful version to roll back to${current ? ` (it has only ever served ${shortVersion(current.digest)})` : ' (nothing was ever deployed there by mlship)'}`);
  }
  return earlier;
}
