import { loadConfig } from '../../config/load.js';
import { ConfigurationError, describeError } from '../../errors.js';
import { LABELS } from '../../domain/deploy/service-spec.js';
import { shortVersion, type DeploymentRecord } from '../../domain/registry/records.js';
import type { Registry } from '../../domain/registry/registry.js';
import { connectSwarm, environmentSettings, type EnvironmentSettings } from '../../services/environment.js';
import { openProjectRegistry } from '../../services/registry.js';
import type { CommandContext, CommandDefinition, CommandResult, OptionValues } from '../command.js';

/** What serves one environment, read from its engine and joined with the registry's ledger. */
interface EnvironmentStatus {
  readonly environment: string;
  readonly service: string;
  readonly url: string;
  /** `serving`, `absent` (no service), `unreachable` (the engine did not answer). */
  readonly state: 'serving' | 'absent' | 'unreachable';
  readonly replicas: { readonly running: number; readonly desired: number } | null;
  readonly digest: string | null;
  /** How the ledger knows the digest: `recorded`, or `unknown` (someone deployed around mlship). */
  readonly known: 'recorded' | 'unknown' | null;
  readonly modelVersion: string | null;
  readonly dataVersion: string | null;
  readonly gitSha: string | null;
  readonly metrics: Readonly<Record<string, number>> | null;
  readonly deployedBy: string | null;
  readonly deployedAt: string | null;
  readonly how: string | null;
  readonly previousDigest: string | null;
  readonly update: string | null;
  readonly error?: string;
}

export const status: CommandDefinition = {
  words: ['status'],
  description: 'What serves where: every environment read from its engine (replicas, digest, update in progress or rolled back), joined with the ledger (model, data, commit, metrics, who and when).',
  options: {
    env: { type: 'string', value: 'NAME', description: 'Only this environment.' },
  },
  outputs: {
    environments: 'JSON list, per environment: service, replicas running/desired, digest (unknown when no ledger entry has it), model and data versions, git sha, metrics, deployed by/when, previous digest, update state.',
  },
  run: (options, context) => runStatus(options, context),
};

async function runStatus(options: OptionValues, context: CommandContext): Promise<CommandResult> {
  const loaded = loadConfig(context.configFile, context.configDisplay);
  const names = typeof options.env === 'string' ? [options.env] : Object.keys(loaded.config.environments ?? {});
  if (names.length === 0) throw new ConfigurationError('mlship.yml has no environments section: nothing to show');
  const { registry } = await openProjectRegistry(context);
  const statuses: EnvironmentStatus[] = [];
  for (const name of names) statuses.push(await statusOf(environmentSettings(loaded, name, context.env), registry, context));
  for (const s of statuses) {
    context.reporter.info(
      `${s.environment.padEnd(12)} ${s.state === 'serving' ? `${s.replicas!.running}/${s.replicas!.desired} running ${s.digest ? shortVersion(s.digest) : '?'}${s.known === 'unknown' ? ' (UNKNOWN to the ledger)' : ''} model ${s.modelVersion ? shortVersion(s.modelVersion) : '?'}` : s.state}` +
        `${s.deployedBy ? ` by ${s.deployedBy} ${s.deployedAt}` : ''}${s.update ? ` [${s.update}]` : ''}${s.error ? ` (${s.error})` : ''}`,
    );
  }
  return { outputs: { environments: statuses }, summary: table(statuses) };
}

async function statusOf(settings: EnvironmentSettings, registry: Registry, context: CommandContext): Promise<EnvironmentStatus> {
  const empty = { replicas: null, digest: null, known: null, modelVersion: null, dataVersion: null, gitSha: null, metrics: null, deployedBy: null, deployedAt: null, how: null, previousDigest: null, update: null };
  const base = { environment: settings.name, service: settings.service, url: settings.url };
  let live;
  try {
    const engine = await connectSwarm(settings, context.env);
    const service = await engine.service(settings.service);
    if (!service) return { ...base, state: 'absent', ...empty };
    const tasks = await engine.tasks(service.id);
    live = { service, running: tasks.filter((t) => t.desiredState === 'running' && t.state === 'running').length };
  } catch (error) {
    return { ...base, state: 'unreachable', ...empty, error: describeError(error) };
  }
  const { service } = live;
  const desired = 'Replicated' in service.spec.Mode ? service.spec.Mode.Replicated.Replicas : live.running;
  const record = service.digest ? await recordOf(registry, settings.name, service.digest) : undefined;
  const model = record ? await registry.model(record.modelVersion) : undefined;
  const update = service.updateState === undefined || service.updateState === 'completed' ? null : `${service.updateState.replace('_', ' ')}${service.updateMessage ? `: ${service.updateMessage}` : ''}`;
  return {
    ...base,
    state: 'serving',
    replicas: { running: live.running, desired },
    digest: service.digest ?? null,
    known: record ? 'recorded' : 'unknown',
    modelVersion: record?.modelVersion ?? service.labels[LABELS.modelVersion] ?? null,
    dataVersion: record?.dataVersion ?? service.labels[LABELS.dataVersion] ?? null,
    gitSha: record?.gitSha ?? service.labels[LABELS.gitSha] ?? null,
    metrics: model?.metrics ?? null,
    deployedBy: record?.by ?? null,
    deployedAt: record?.finishedAt ?? null,
    how: record ? `${record.kind ?? 'deployment'}${record.fromEnvironment ? ` from ${record.fromEnvironment}` : ''} ${record.id}` : null,
    previousDigest: record?.previousDigest ?? service.previousDigest ?? null,
    update,
  };
}

/** The newest ledger record that put this digest on the environment successfully. */
async function recordOf(registry: Registry, environment: string, digest: string): Promise<DeploymentRecord | undefined> {
  return (await registry.deploymentsOf(environment)).find((r) => r.digest === digest && (r.outcome === 'deployed' || r.outcome === 'promoted' || (r.kind === 'rollback' && r.outcome === 'rolled_back')));
}

function table(statuses: readonly EnvironmentStatus[]): string {
  const rows = statuses.map((s) => {
    if (s.state !== 'serving') return `| ${s.environment} | ${s.state}${s.error ? ` (${s.error})` : ''} | | | | | |`;
    const metrics = s.metrics ? Object.entries(s.metrics).slice(0, 3).map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`).join(', ') : '';
    return `| ${s.environment} | ${s.replicas!.running}/${s.replicas!.desired} | \`${s.digest ? shortVersion(s.digest) : '?'}\`${s.known === 'unknown' ? ' ⚠️ **unknown**' : ''} | \`${s.modelVersion ? shortVersion(s.modelVersion) : '?'}\` | ${metrics} | ${s.deployedBy ? `${s.how} by ${s.deployedBy}, ${s.deployedAt}` : '—'} | ${s.update ?? 'stable'} |`;
  });
  return ['### mlship status', '', '| Environment | Replicas | Image | Model | Metrics | Deployed | Update |', '| --- | --- | --- | --- | --- | --- | --- |', ...rows, ''].join('\n');
}
