import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../config/load.js';
import { CheckFailedError, ConfigurationError, InfrastructureError } from '../../errors.js';
import { formatDuration, parseDuration } from '../../domain/duration.js';
import { newRunId, shortVersion, type DeploymentOutcome, type DeploymentRecord, type SmokeRecord } from '../../domain/registry/records.js';
import type { Registry } from '../../domain/registry/registry.js';
import { candidateFromImage, readSmokeCases, withLineage, type Candidate } from '../../services/candidate.js';
import { lockEnvironment } from '../../services/environment-lock.js';
import { connectSwarm, environmentSettings, type EnvironmentSettings } from '../../services/environment.js';
import { configuredRolloutMs, promoteService, promotionRecord, type PromotionResult } from '../../services/promotion.js';
import { optionalRegistryAuth } from '../../services/registry-auth.js';
import { actor, openProjectRegistry, workflowRunUrl } from '../../services/registry.js';
import { analysisSettings, smokeLoad, smokeThresholds } from '../../services/smoke-settings.js';
import type { CommandContext, CommandDefinition, CommandResult, OptionValues } from '../command.js';

const DEFAULT_WAIT_MS = 10 * 60_000;

export const promote: CommandDefinition = {
  words: ['promote'],
  description: 'Promote what serves one environment (with a passing smoke test) to another with a rolling update, analysed as it rolls, rolled back and verified on any breach.',
  options: {
    from: { type: 'string', value: 'ENV', description: 'The environment whose deployment to promote (it needs a passing smoke test).' },
    to: { type: 'string', value: 'ENV', description: 'The environment to promote to (production).' },
    image: { type: 'string', value: 'REPO@DIGEST', description: 'Promote this image directly instead of what serves --from (recorded as such).' },
    'skip-smoke-check': { type: 'boolean', description: 'Promote without a passing smoke test of the --from deployment (recorded).' },
    wait: { type: 'string', value: 'DURATION', description: 'When another promotion or rollback holds --to, wait up to this long (default 10m).' },
  },
  outputs: {
    outcome: 'promoted, rolled_back or failed.',
    digest: 'The digest of the image promoted.',
    'previous-digest': 'The digest that served before.',
    'model-version': 'The model version that serves when it ended.',
    'duration-s': 'Seconds from the start to the verified outcome.',
    breach: 'Why it was rolled back or failed, quoted (empty when promoted).',
  },
  primaryOutput: 'outcome',
  run: (options, context) => runPromote(options, context),
};

async function runPromote(options: OptionValues, context: CommandContext): Promise<CommandResult> {
  const { reporter } = context;
  const started = new Date();
  const loaded = loadConfig(context.configFile, context.configDisplay);
  const to = environmentSettings(loaded, stringOption(options.to), context.env, '--to');
  const from = typeof options.from === 'string' ? environmentSettings(loaded, options.from, context.env, '--from') : undefined;
  const image = stringOption(options.image);
  if (!from && !image) throw new ConfigurationError('mlship promote needs --from ENV (what serves there is promoted) or --image REPO@DIGEST');
  if (from && image) throw new ConfigurationError('pass --from or --image, not both');
  if (from?.name === to.name) throw new ConfigurationError(`--from and --to are both ${to.name}`);
  const waitMs = typeof options.wait === 'string' ? waitOption(options.wait) : DEFAULT_WAIT_MS;
  const { registry } = await openProjectRegistry(context);
  const source = from ? await candidateFrom(from, registry, options['skip-smoke-check'] === true, context) : await direct(image!, context);

  const cases = readSmokeCases(loaded);
  if (!cases) throw new ConfigurationError('mlship promote analyses the rollout with the smoke cases: add a "smoke" section (smoke.cases) to mlship.yml');
  const lock = await lockEnvironment(registry, to.name, { by: actor(context.env), command: `mlship promote to ${to.name}`, runUrl: workflowRunUrl(context.env) }, { waitMs, signal: context.signal, reporter });
  let result: PromotionResult;
  let candidate: Candidate;
  try {
    const engine = await reporter.group(`Connecting to the Swarm manager of ${to.name}`, () => connectSwarm(to, context.env));
    const named = source.candidate;
    const auth = loaded.config.image && named.repository === loaded.config.image.repository ? optionalRegistryAuth(loaded.config.image, context) : undefined;
    if ((await engine.registryDigest(named.image, auth)) === undefined) throw new ConfigurationError(`${named.image} is not in its registry`);
    candidate = await withLineage(named, engine, auth, context);
    reporter.info(`promoting ${candidate.image} (model ${shortVersion(candidate.modelVersion)}) to ${to.name}${from ? ` from ${from.name}` : ' directly'}`);
    result = await reporter.group(`Rolling ${to.service} to ${shortVersion(candidate.digest)} (${to.replicas} tasks, ${to.rollout.parallelism} at a time)`, () =>
      promoteService({ engine, settings: to, candidate, auth, cases: cases.cases, analysis: analysisSettings(loaded, to.name), finalSmoke: { ...smokeLoad(loaded), thresholds: smokeThresholds(loaded) }, reporter, signal: context.signal }),
    );
  } finally {
    await lock.release();
  }

  const finished = new Date();
  const outcome: DeploymentOutcome = result.outcome;
  const record = promotionRecord({
    kind: 'promotion',
    settings: to,
    candidate,
    result,
    outcome,
    message: result.outcome === 'promoted' ? `promoted in ${formatDuration(result.elapsedMs)}` : (result.breach ?? result.outcome),
    breach: result.breach,
    started,
    finished,
    env: context.env,
    fromEnvironment: from?.name,
    smoke: source.smoke,
  });
  await registry.recordDeployment(record, to.url);
  if (result.finalSmoke) await registry.recordSmoke(finalSmokeRecord(record, result, cases.file, to));
  const seconds = record.durationSeconds;
  reporter.info(`${outcome}: ${to.name} serves ${result.serving.digest ? shortVersion(result.serving.digest) : 'nothing'} (promotion ${record.id}, ${formatDuration(seconds * 1000)})`);
  const failure = outcome === 'promoted' ? undefined : `promotion to ${to.name} ${outcome.replace('_', ' ')}: ${result.breach ?? ''}`;
  return {
    outputs: {
      outcome,
      digest: candidate.digest,
      'previous-digest': result.previous.digest ?? '',
      'model-version': result.serving.modelVersion ?? '',
      'duration-s': Number(seconds.toFixed(1)),
      breach: result.breach ?? '',
    },
    summary: summary(record, result, to),
    // A rollback that did not verify is the world failing (exit 3); any other unsuccessful promotion is a check that failed (exit 1).
    ...(failure === undefined ? {} : result.rollbackUnverified ? { error: new InfrastructureError(`${failure}; ${to.name} now serves ${result.serving.digest ?? 'nothing verified'}`) } : { failure }),
  };
}

/** What serves --from, by digest, with a passing smoke test of that very deployment. */
async function candidateFrom(from: EnvironmentSettings, registry: Registry, skipSmoke: boolean, context: CommandContext): Promise<{ candidate: Candidate; smoke: DeploymentRecord['smoke'] }> {
  const pointer = await registry.environment(from.name);
  if (!pointer) throw new CheckFailedError(`nothing was deployed to ${from.name} by mlship (the registry ${registry.location} has no deployment there): run mlship deploy --env ${from.name} first`);
  const deployment = await registry.deployment(pointer.deploymentId);
  // What the registry says must be what runs: someone may have deployed around mlship.
  const engine = await connectSwarm(from, context.env);
  const live = await engine.service(from.service);
  if (live?.digest !== pointer.digest) {
    throw new CheckFailedError(`${from.name} does not serve what mlship deployed there (${shortVersion(pointer.digest)}): ${live ? `the service runs ${live.digest ?? 'an image without a digest'}` : `the service ${from.service} does not exist`}; deploy again before promoting`);
  }
  const passed = [...(await registry.smokeRecords(pointer.deploymentId))].reverse().find((s) => s.passed);
  if (!passed && !skipSmoke) {
    throw new CheckFailedError(`deployment ${pointer.deploymentId} of ${from.name} has no passing smoke test: run mlship smoke --env ${from.name}, or pass --skip-smoke-check (it is recorded)`);
  }
  if (!passed) context.reporter.warning(`promoting without a passing smoke test of ${from.name} (--skip-smoke-check): recorded in the ledger`);
  const [repository] = pointer.image.split('@') as [string];
  return {
    candidate: { image: pointer.image, repository, digest: pointer.digest, modelVersion: pointer.modelVersion, dataVersion: deployment?.dataVersion, runId: deployment?.runId, gitSha: deployment?.gitSha },
    smoke: passed ? { id: passed.id } : { skipped: true },
  };
}

async function direct(image: string, context: CommandContext): Promise<{ candidate: Partial<Candidate> & Pick<Candidate, 'image' | 'repository' | 'digest'>; smoke: DeploymentRecord['smoke'] }> {
  const { candidate } = await candidateFromImage(image, context);
  context.reporter.warning(`promoting ${image} directly, not from an environment: recorded in the ledger`);
  return { candidate, smoke: { skipped: true } };
}

function finalSmokeRecord(record: DeploymentRecord, result: PromotionResult, file: string, to: EnvironmentSettings): SmokeRecord {
  const smoke = result.finalSmoke!;
  return {
    schema: 1,
    id: newRunId(new Date(), randomBytes(3).toString('hex')),
    deploymentId: record.id,
    environment: to.name,
    url: to.url,
    passed: smoke.passed,
    cases: { file, sha256: '', count: 0 },
    checks: smoke.checks,
    by: record.by,
    at: record.finishedAt,
    runUrl: record.runUrl,
  };
}

function summary(record: DeploymentRecord, result: PromotionResult, to: EnvironmentSettings): string {
  const icon = record.outcome === 'promoted' ? '✅' : '❌';
  const configured = configuredRolloutMs(to);
  return [
    `### ${icon} mlship promote: ${to.name} ${record.outcome.replace('_', ' ')}`,
    '',
    record.breach ? `**Breach:** ${record.breach}\n` : '',
    '| | |',
    '| --- | --- |',
    `| Candidate | \`${record.image}\` (model \`${shortVersion(record.modelVersion)}\`)${record.fromEnvironment ? ` from ${record.fromEnvironment}` : ' (direct)'} |`,
    `| Previous | ${record.previousDigest ? `\`${shortVersion(record.previousDigest)}\`` : 'none'} |`,
    `| Serving now | ${result.serving.digest ? `\`${shortVersion(result.serving.digest)}\`` : 'nothing'} |`,
    `| Smoke test relied on | ${record.smoke?.id ? `\`${record.smoke.id}\`` : 'none (skipped, recorded)'} |`,
    `| Duration | ${formatDuration(record.durationSeconds * 1000)} (the rollout's configured delays and monitors: ${formatDuration(configured)}) |`,
    `| Promotion | \`${record.id}\` by ${record.by} |`,
    '',
    '<details><summary>Timeline</summary>',
    '',
    ...result.timeline.map((t) => `- \`${formatDuration(t.atMs).padStart(8)}\` ${t.event}`),
    '',
    '</details>',
    '',
  ].join('\n');
}

function stringOption(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function waitOption(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new ConfigurationError(`--wait ${JSON.stringify(text)}: expected a duration such as 30s, 5m or 1h`);
  return ms;
}
