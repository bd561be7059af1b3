import { setTimeout as sleep } from 'node:timers/promises';
import type { Reporter } from '../adapters/runtime/reporter.js';
import type { ServiceState, SwarmEngine } from '../adapters/docker/swarm.js';
import { ModelEndpoint } from '../adapters/http/model-endpoint.js';
import { assess, type Observation, type ObservedEdge, type ObservedTask, type Verdict } from '../domain/deploy/assess.js';
import {
  LABELS,
  edgeConfigName,
  edgeNginxConfig,
  edgeChanges,
  edgeServiceSpec,
  networkName,
} from '../domain/deploy/service-spec.js';
import { formatDuration } from '../domain/duration.js';
import { ConfigurationError, InfrastructureError, InterruptedError } from '../errors.js';
import type { EnvironmentSettings } from './environment.js';

/** How often the engine and the edge are asked how the rollout goes: often enough that mlship adds little to Swarm's own time. */
const POLL_MS = 250;
/** A request through the edge: a rollout's probe must not hang on one slow answer. */
const PROBE_TIMEOUT_MS = 5000;
/** The edge is one nginx per node: it starts in seconds, or something is wrong (a taken port). */
const EDGE_READY_MS = 90_000;

/**
 * The environment's network and edge, created or brought up to date: the overlay network the model
 * tasks join, the nginx.conf as a content-named Swarm config, and the global nginx service that
 * publishes the environment's port in host mode. Waits until every edge task runs; a port already
 * taken on the host is a configuration error naming it.
 */
export async function ensureEdge(engine: SwarmEngine, settings: EnvironmentSettings, reporter: Reporter, signal: AbortSignal): Promise<{ network: string }> {
  const labels = { [LABELS.project]: settings.project, [LABELS.environment]: settings.name };
  const network = networkName(settings.project, settings.name);
  await engine.ensureNetwork(network, labels);
  const content = edgeNginxConfig({ service: settings.service, containerPort: settings.containerPort });
  const config = await engine.ensureConfig(edgeConfigName(settings.service, content), content, { ...labels, [LABELS.role]: 'edge-config' });
  const spec = edgeServiceSpec({
    project: settings.project,
    environment: settings.name,
    service: settings.service,
    image: settings.edgeImage,
    network,
    publishedPort: settings.port,
    containerPort: settings.containerPort,
    config,
  });
  const current = await engine.service(spec.Name);
  if (!current) {
    reporter.info(`creating the edge ${spec.Name} (${settings.edgeImage}) on port ${settings.port}`);
    await engine.createService(spec, undefined);
  } else if (edgeChanges(current.spec, spec).length > 0) {
    reporter.info(`updating the edge ${spec.Name}: ${edgeChanges(current.spec, spec).join(', ')}`);
    await engine.updateService(current.id, current.version, spec, undefined);
  }
  await awaitEdge(engine, spec.Name, settings, signal);
  await engine.removeUnusedConfigs({ ...labels, [LABELS.role]: 'edge-config' }, config.name);
  return { network };
}

async function awaitEdge(engine: SwarmEngine, name: string, settings: EnvironmentSettings, signal: AbortSignal): Promise<void> {
  const started = Date.now();
  for (;;) {
    const service = await engine.service(name);
    if (!service) throw new InfrastructureError(`the edge service ${name} disappeared from ${engine.address}`);
    const tasks = await engine.tasks(service.id);
    const running = tasks.filter((t) => t.desiredState === 'running' && t.state === 'running');
    const failing = tasks.filter((t) => ['failed', 'rejected'].includes(t.state)).sort((a, b) => (b.timestamp ?? '').localeCompare(a.timestamp ?? ''));
    const portTaken = failing.find((t) => /address already in use|port is already allocated|bind/i.test(`${t.error ?? ''} ${t.message ?? ''}`));
    if (portTaken) {
      throw new ConfigurationError(
        `${settings.where('port')}: port ${settings.port} is already taken on the engine's host (${portTaken.error ?? portTaken.message}); free it or choose another port`,
      );
    }
    if (running.length > 0 && service.updateState !== 'updating') return;
    if (Date.now() - started > EDGE_READY_MS) {
      const why = failing[0] ? `: ${failing[0].error ?? failing[0].message}` : '';
      throw new InfrastructureError(`the edge ${name} did not start on ${engine.address} within ${EDGE_READY_MS / 1000} s${why}`);
    }
    await pause(POLL_MS, signal);
  }
}

export interface RolloutWatch {
  readonly engine: SwarmEngine;
  readonly settings: EnvironmentSettings;
  readonly candidateDigest: string;
  readonly candidateModelVersion: string;
  /** A request body row for the edge probe (a smoke case); empty rows when there is none. */
  readonly probeRows: readonly unknown[];
  readonly reporter: Reporter;
  readonly signal: AbortSignal;
  /**
   * Called on every poll with what was observed: a reason stops the watch as `failed` (an analysis
   * breach); the watch itself never acts on the service.
   */
  readonly check?: (observation: Observation, verdict: Verdict) => Promise<string | undefined>;
  /** How long the engine may fail to answer (restarting) before the watch gives up on it. */
  readonly engineOutageMs?: number;
  /** Watching a rollback to the "candidate" (the previous version), not an update. */
  readonly expecting?: 'update' | 'rollback';
}

export interface RolloutResult {
  readonly verdict: Verdict;
  readonly elapsedMs: number;
  /** What serves when the watch ends. */
  readonly service: ServiceState | undefined;
  /** The watch ended because `check` found a breach. */
  readonly breached: boolean;
}

/** Enough requests per poll that round-robin DNS shows every task of a small service a few times. */
function probesPerPoll(replicas: number): number {
  return Math.min(12, 2 * replicas + 2);
}

/** An engine that restarts (a daemon upgrade, a crash) comes back within this; a rollout survives it. */
const DEFAULT_ENGINE_OUTAGE_MS = 120_000;

/**
 * Watches a service until the rollout is decided: polls the service and its tasks, asks the edge
 * which model answers, and hands the observation to `assess`. Progress is reported whenever it
 * changes. The watch never acts on the service; callers decide what a verdict means.
 */
export async function watchRollout(watch: RolloutWatch): Promise<RolloutResult> {
  const { engine, settings, reporter, signal } = watch;
  const started = Date.now();
  const edge = new ModelEndpoint(settings.url, { timeoutMs: PROBE_TIMEOUT_MS, connections: 2, signal });
  let last = '';
  let outageSince: number | undefined;
  try {
    for (;;) {
      let observed: { service: ServiceState; tasks: ObservedTask[] };
      try {
        observed = await observeService(engine, settings.service);
        if (outageSince !== undefined) reporter.info(`the engine at ${engine.address} answers again`);
        outageSince = undefined;
      } catch (error) {
        // The engine may be restarting: Swarm keeps its state and resumes; so does the watch.
        if (!(error instanceof InfrastructureError) || signal.aborted) throw error;
        outageSince ??= Date.now();
        if (Date.now() - outageSince > (watch.engineOutageMs ?? DEFAULT_ENGINE_OUTAGE_MS)) throw error;
        if (last !== 'outage') reporter.warning(`the engine does not answer (${error.message}); waiting for it`);
        last = 'outage';
        await pause(POLL_MS * 4, signal);
        continue;
      }
      const elapsedMs = Date.now() - started;
      const observation: Observation = {
        replicas: settings.replicas,
        candidateDigest: watch.candidateDigest,
        candidateModelVersion: watch.candidateModelVersion,
        updateState: observed.service.updateState,
        updateMessage: observed.service.updateMessage,
        tasks: observed.tasks,
        edge: await probe(edge, watch.probeRows, probesPerPoll(settings.replicas)),
        elapsedMs,
        timeoutMs: settings.rollout.timeoutMs,
        expecting: watch.expecting,
      };
      const verdict = assess(observation);
      if (verdict.message !== last) {
        reporter.info(`[${formatDuration(elapsedMs)}] ${verdict.message}`);
        last = verdict.message;
      }
      const breach = watch.check ? await watch.check(observation, verdict) : undefined;
      if (breach !== undefined) return { verdict: { kind: 'failed', message: breach }, elapsedMs, service: observed.service, breached: true };
      if (verdict.kind !== 'progressing') return { verdict, elapsedMs, service: await engine.service(settings.service), breached: false };
      await pause(POLL_MS, signal);
    }
  } finally {
    edge.close();
  }
}

async function observeService(engine: SwarmEngine, name: string): Promise<{ service: ServiceState; tasks: ObservedTask[] }> {
  const service = await engine.service(name);
  if (!service) throw new ConfigurationError(`the service ${name} disappeared from ${engine.address} during the rollout (removed by someone?)`);
  return { service, tasks: await engine.tasks(service.id) };
}

/**
 * Asks the edge several times: with round-robin DNS behind it, one answer says little; every
 * answer of a round must come from the candidate before the edge counts as serving it.
 */
async function probe(edge: ModelEndpoint, rows: readonly unknown[], times: number): Promise<ObservedEdge> {
  const answers = await Promise.all(Array.from({ length: times }, () => edge.predict(rows)));
  const failed = answers.find((a) => a.status !== 200);
  if (failed) return failed.status === 0 ? { error: failed.error } : { error: `HTTP ${failed.status}`, modelVersion: failed.modelVersion, digest: failed.digest };
  const first = answers[0]!;
  const others = answers.filter((a) => a.modelVersion !== first.modelVersion || a.digest !== first.digest).length;
  return { modelVersion: first.modelVersion, digest: first.digest, ...(others > 0 ? { others } : {}) };
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    throw new InterruptedError('interrupted while waiting for the rollout; it goes on in Swarm (run the command again to see how it ends)');
  }
}
