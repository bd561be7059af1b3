import { randomBytes } from 'node:crypto';
import type { Reporter } from '../adapters/runtime/reporter.js';
import type { RegistryAuth } from '../adapters/docker/engine.js';
import type { ServiceState, SwarmEngine } from '../adapters/docker/swarm.js';
import { ModelEndpoint } from '../adapters/http/model-endpoint.js';
import { LABELS } from '../domain/deploy/service-spec.js';
import { newRunId, type DeploymentOutcome, type DeploymentRecord } from '../domain/registry/records.js';
import { actor, workflowRunUrl } from './registry.js';
import { analyse, type VersionStats } from '../domain/rollout/analysis.js';
import type { SmokeCase } from '../domain/smoke/cases.js';
import { judgeSmoke, type CaseAnswer, type SmokeJudgement, type SmokeThresholds } from '../domain/smoke/checks.js';
import { candidateLineage, candidateServiceSpec, type Candidate } from './candidate.js';
import type { EnvironmentSettings } from './environment.js';
import { ensureEdge, watchRollout, type RolloutResult } from './rollout.js';
import type { AnalysisSettings } from './smoke-settings.js';
import { readAnswer, sendCases } from './smoke-load.js';

/** How a promotion (or a rollback) ended. */
export type PromotionOutcome = 'promoted' | 'rolled_back' | 'failed';

/** One line of the rollout's timeline, for the job summary. */
export interface TimelineEntry {
  readonly atMs: number;
  readonly event: string;
}

export interface FinalSmokeSettings {
  readonly requests: number;
  readonly concurrency: number;
  readonly timeoutMs: number;
  readonly deadlineMs: number;
  readonly thresholds: SmokeThresholds;
}

export interface PromotionPlan {
  readonly engine: SwarmEngine;
  readonly settings: EnvironmentSettings;
  readonly candidate: Candidate;
  readonly auth: RegistryAuth | undefined;
  readonly cases: readonly SmokeCase[];
  readonly analysis: AnalysisSettings;
  readonly finalSmoke: FinalSmokeSettings;
  readonly reporter: Reporter;
  readonly signal: AbortSignal;
}

export interface PromotionResult {
  readonly outcome: PromotionOutcome;
  /** Why it was rolled back or failed, quoted. */
  readonly breach?: string | undefined;
  readonly previous: { readonly digest: string | null; readonly modelVersion: string | null };
  /** What serves when it ended. */
  readonly serving: { readonly digest: string | null; readonly modelVersion: string | null };
  readonly unchanged: boolean;
  /** The update was already under way (a promotion killed earlier): this one attached to it. */
  readonly attached: boolean;
  /** The rollback itself did not verify: what serves is neither the candidate nor the previous version for sure. */
  readonly rollbackUnverified?: boolean;
  readonly timeline: readonly TimelineEntry[];
  readonly versions: readonly VersionStats[];
  readonly finalSmoke?: SmokeJudgement | undefined;
  readonly elapsedMs: number;
}

/**
 * A promotion: a rolling update of the environment's service to the candidate, analysed while it
 * rolls, verified by a full smoke test at the end, and rolled back — and the rollback verified —
 * when anything breaches. The service is never left without a healthy version when it had one.
 */
export async function promoteService(plan: PromotionPlan): Promise<PromotionResult> {
  const { engine, settings, candidate, reporter, signal } = plan;
  const started = Date.now();
  const timeline: TimelineEntry[] = [];
  const note = (event: string): void => {
    timeline.push({ atMs: Date.now() - started, event });
  };
  const { network } = await ensureEdge(engine, settings, reporter, signal);
  const current = await engine.service(settings.service);
  const spec = candidateServiceSpec(settings, candidate, network);
  const attached = current !== undefined && current.digest === candidate.digest && current.updateState === 'updating';
  const unchanged = current !== undefined && current.digest === candidate.digest && !attached && current.updateState !== 'rollback_completed';
  // When attaching to an update under way, "previous" is what it replaces, not the candidate itself.
  const previous = current
    ? attached || unchanged
      ? { digest: current.previousDigest ?? null, modelVersion: current.previousSpec?.Labels?.[LABELS.modelVersion] ?? null }
      : { digest: current.digest ?? null, modelVersion: current.labels[LABELS.modelVersion] ?? null }
    : { digest: null, modelVersion: null };
  if (attached) {
    reporter.info(`${settings.service} is already being updated to ${candidate.image}: attaching to that update`);
    note('attached to the update already under way');
  } else if (unchanged) {
    reporter.info(`${settings.service} already runs ${candidate.image}: verifying it`);
    note('already serving the candidate: verifying');
  } else if (current) {
    await engine.updateService(current.id, current.version, spec, plan.auth);
    note(`rolling update started: ${shortDigest(current.digest)} → ${shortDigest(candidate.digest)}, ${settings.replicas} tasks, ${settings.rollout.parallelism} at a time`);
  } else {
    await engine.createService(spec, plan.auth);
    note(`service created with ${settings.replicas} tasks of ${shortDigest(candidate.digest)}`);
  }

  // Analysis: every interval a sample of the cases through the edge, judged per version.
  const answers: CaseAnswer[] = [];
  const sampler = new ModelEndpoint(settings.url, { timeoutMs: plan.finalSmoke.timeoutMs, connections: 2, signal });
  let nextSample = 0;
  let nextCase = 0;
  let versions: readonly VersionStats[] = [];
  let replacedSeen = -1;
  const check = async (observation: Parameters<NonNullable<Parameters<typeof watchRollout>[0]['check']>>[0]): Promise<string | undefined> => {
    const replaced = observation.tasks.filter((t) => t.desiredState === 'running' && t.state === 'running' && t.digest === candidate.digest).length;
    if (replaced !== replacedSeen) {
      if (replacedSeen >= 0 || replaced > 0) note(`${replaced} of ${settings.replicas} tasks run the candidate`);
      replacedSeen = replaced;
    }
    if (Date.now() < nextSample || plan.cases.length === 0) return undefined;
    nextSample = Date.now() + plan.analysis.intervalMs;
    const batch = await Promise.all(
      Array.from({ length: plan.analysis.cases }, () => {
        const caseIndex = nextCase++ % plan.cases.length;
        return sampler.predict([plan.cases[caseIndex]!.input]).then((answer) => readAnswer(caseIndex, answer));
      }),
    );
    answers.push(...batch);
    const analysis = analyse(plan.cases, answers, candidate, plan.analysis.thresholds, plan.analysis.minSamples);
    versions = analysis.versions;
    note(`analysis: ${versions.map((v) => `${shortDigest(v.version)} ${v.answers} answers, ${v.errors} errors${v.accuracy !== undefined ? `, accuracy ${v.accuracy.toFixed(3)}` : ''}${v.p95Ms !== undefined ? `, p95 ${v.p95Ms.toFixed(1)} ms` : ''}`).join('; ')} → ${analysis.verdict.kind}`);
    return analysis.verdict.kind === 'failed' ? analysis.verdict.reason : undefined;
  };
  let rollout: RolloutResult;
  try {
    rollout = await watchRollout({
      engine,
      settings,
      candidateDigest: candidate.digest,
      candidateModelVersion: candidate.modelVersion,
      probeRows: plan.cases.length > 0 ? [plan.cases[0]!.input] : [],
      reporter,
      signal,
      check,
    });
  } finally {
    sampler.close();
  }
  const finish = (outcome: PromotionOutcome, extra: Partial<PromotionResult>, serving: ServiceState | undefined): PromotionResult => ({
    outcome,
    previous,
    serving: { digest: serving?.digest ?? null, modelVersion: serving?.labels[LABELS.modelVersion] ?? null },
    unchanged,
    attached,
    timeline,
    versions,
    elapsedMs: Date.now() - started,
    ...extra,
  });

  let breach: string | undefined;
  if (rollout.verdict.kind === 'converged') {
    note(`converged: ${rollout.verdict.message}`);
    const final = await finalSmoke(plan);
    note(`final smoke ${final.passed ? 'passed' : 'failed'}: ${final.checks.filter((c) => c.verdict !== 'reported').map((c) => `${c.check} ${c.verdict}`).join(', ')}`);
    if (final.passed) {
      note('promoted');
      return finish('promoted', { finalSmoke: final }, rollout.service);
    }
    breach = `the final smoke test failed: ${final.checks.filter((c) => c.verdict === 'fail').map((c) => `${c.check}: ${c.observed}`).join('; ')}`;
    return rollBack(plan, breach, previous, note, (outcome, extra, serving) => finish(outcome, { ...extra, finalSmoke: final }, serving));
  }
  breach = rollout.verdict.message;
  note(`${rollout.breached ? 'analysis breach' : rollout.verdict.kind.replace('_', ' ')}: ${breach}`);
  return rollBack(plan, breach, previous, note, finish);
}

/**
 * Back to the previous version, whoever started it: asks Swarm to roll back (unless it already
 * does), then verifies that every task runs the previous digest, healthy, and that the edge
 * answers as the previous version. A rollback that does not verify is `failed`, with what serves.
 */
async function rollBack(
  plan: PromotionPlan,
  breach: string,
  previous: PromotionResult['previous'],
  note: (event: string) => void,
  finish: (outcome: PromotionOutcome, extra: Partial<PromotionResult>, serving: ServiceState | undefined) => PromotionResult,
): Promise<PromotionResult> {
  const { engine, settings, reporter, signal } = plan;
  if (previous.digest === null || previous.modelVersion === null) {
    note('no previous version to roll back to');
    return finish('failed', { breach: `${breach}; there is no previous version of ${settings.service} to roll back to` }, await engine.service(settings.service));
  }
  const service = await engine.service(settings.service);
  if (!service) return finish('failed', { breach: `${breach}; the service ${settings.service} is gone` }, undefined);
  if (!['rollback_started', 'rollback_completed', 'rollback_paused'].includes(service.updateState ?? '')) {
    reporter.warning(`rolling ${settings.service} back to ${previous.digest}: ${breach}`);
    note(`rollback started by mlship to ${shortDigest(previous.digest)}`);
    await engine.updateService(service.id, service.version, service.previousSpec ?? service.spec, plan.auth, { rollback: true });
  } else {
    note(`Swarm rolls back to ${shortDigest(previous.digest)}`);
  }
  const verified = await watchRollout({
    engine,
    settings,
    candidateDigest: previous.digest,
    candidateModelVersion: previous.modelVersion,
    probeRows: plan.cases.length > 0 ? [plan.cases[0]!.input] : [],
    reporter,
    signal,
    expecting: 'rollback',
  });
  if (verified.verdict.kind === 'converged') {
    note(`rollback verified: every task runs ${shortDigest(previous.digest)} and the edge answers as ${shortDigest(previous.modelVersion)}`);
    return finish('rolled_back', { breach }, verified.service);
  }
  note(`rollback not verified: ${verified.verdict.message}`);
  return finish('failed', { breach: `${breach}; then the rollback did not verify: ${verified.verdict.message}`, rollbackUnverified: true }, verified.service);
}

async function finalSmoke(plan: PromotionPlan): Promise<SmokeJudgement> {
  const load = await plan.reporter.group(`Final smoke test: ${plan.finalSmoke.requests} requests through the edge`, () =>
    sendCases({ url: plan.settings.url, cases: plan.cases, requests: plan.finalSmoke.requests, concurrency: plan.finalSmoke.concurrency, timeoutMs: plan.finalSmoke.timeoutMs, deadlineMs: plan.finalSmoke.deadlineMs, signal: plan.signal }),
  );
  return judgeSmoke(plan.cases, load.answers, plan.finalSmoke.thresholds, { modelVersion: plan.candidate.modelVersion, digest: plan.candidate.digest });
}

function shortDigest(version: string | null | undefined): string {
  return version ? version.replace(/^sha256:/, '').slice(0, 12) : 'nothing';
}

/** How long the rollout took beside what its settings alone imply: mlship's overhead, for the summary. */
export function configuredRolloutMs(settings: EnvironmentSettings): number {
  const steps = Math.ceil(settings.replicas / settings.rollout.parallelism);
  return steps * (settings.rollout.monitorMs + settings.rollout.delayMs);
}

/**
 * The ledger's record of a promotion or a rollback: the candidate, what it replaced, how it ended
 * and the rollout's timeline. Only what differs between the two is passed in.
 */
export function promotionRecord(input: {
  readonly kind: 'promotion' | 'rollback';
  readonly settings: EnvironmentSettings;
  readonly candidate: Candidate;
  readonly result: PromotionResult;
  readonly outcome: DeploymentOutcome;
  readonly message: string;
  readonly breach: string | undefined;
  readonly started: Date;
  readonly finished: Date;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly fromEnvironment?: string | undefined;
  readonly smoke?: DeploymentRecord['smoke'];
}): DeploymentRecord {
  const { settings, candidate, result } = input;
  return {
    schema: 1,
    id: newRunId(input.started, randomBytes(3).toString('hex')),
    kind: input.kind,
    ...(input.fromEnvironment ? { fromEnvironment: input.fromEnvironment } : {}),
    ...(input.smoke ? { smoke: input.smoke } : {}),
    environment: settings.name,
    service: settings.service,
    engine: settings.dockerHost ?? 'the local engine',
    ...candidateLineage(candidate),
    previousDigest: result.previous.digest,
    previousModelVersion: result.previous.modelVersion,
    outcome: input.outcome,
    message: input.message,
    breach: input.breach,
    unchanged: result.unchanged,
    timeline: result.timeline,
    by: actor(input.env),
    startedAt: input.started.toISOString(),
    finishedAt: input.finished.toISOString(),
    durationSeconds: (input.finished.getTime() - input.started.getTime()) / 1000,
    runUrl: workflowRunUrl(input.env),
  };
}
