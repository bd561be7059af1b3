import { ModelEndpoint, type PredictAnswer } from '../adapters/http/model-endpoint.js';
import type { Progress } from '../adapters/runtime/reporter.js';
import type { SmokeCase } from '../domain/smoke/cases.js';
import type { CaseAnswer } from '../domain/smoke/checks.js';

export interface LoadPlan {
  readonly url: string;
  readonly cases: readonly SmokeCase[];
  /** Requests in all: the cases in order, again from the start when there are more requests than cases. */
  readonly requests: number;
  /** Keep-alive connections, each sending its next request when the last one answered. */
  readonly concurrency: number;
  readonly timeoutMs: number;
  /** No request starts after this: the whole smoke test is bounded. */
  readonly deadlineMs: number;
  readonly signal: AbortSignal;
  readonly progress?: Progress | undefined;
}

export interface LoadResult {
  readonly answers: readonly CaseAnswer[];
  /** Requests not sent because the deadline passed or the run was interrupted. */
  readonly unsent: number;
  readonly deadlinePassed: boolean;
  readonly elapsedMs: number;
}

/**
 * Sends the cases to a model endpoint, one row per request, over `concurrency` keep-alive
 * connections (closed-loop, like autocannon), and reads each answer as the serving contract says:
 * `{"scores": [s], "model_version": …}` with `X-Model-Version`.
 */
export async function sendCases(plan: LoadPlan): Promise<LoadResult> {
  const endpoint = new ModelEndpoint(plan.url, { timeoutMs: plan.timeoutMs, connections: plan.concurrency, signal: plan.signal });
  const started = Date.now();
  const answers: CaseAnswer[] = [];
  let next = 0;
  let deadlinePassed = false;
  const worker = async (): Promise<void> => {
    for (;;) {
      if (plan.signal.aborted) return;
      if (Date.now() - started > plan.deadlineMs) {
        deadlinePassed = true;
        return;
      }
      const index = next++;
      if (index >= plan.requests) return;
      const caseIndex = index % plan.cases.length;
      const answer = await endpoint.predict([plan.cases[caseIndex]!.input]);
      answers.push(readAnswer(caseIndex, answer));
      plan.progress?.advance(1);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(plan.concurrency, plan.requests) }, worker));
  } finally {
    endpoint.close();
    plan.progress?.done();
  }
  return { answers, unsent: plan.requests - answers.length, deadlinePassed, elapsedMs: Date.now() - started };
}

export function readAnswer(caseIndex: number, answer: PredictAnswer): CaseAnswer {
  const base = { caseIndex, status: answer.status, latencyMs: answer.latencyMs, digest: answer.digest };
  if (answer.status === 0) return { ...base, problem: `no answer: ${answer.error ?? 'unknown error'}` };
  if (answer.status !== 200) return { ...base, modelVersion: answer.modelVersion, problem: `HTTP ${answer.status}${bodyError(answer.body)}` };
  const body = answer.body as { scores?: unknown; model_version?: unknown } | undefined;
  if (answer.error || typeof body !== 'object' || body === null) return { ...base, modelVersion: answer.modelVersion, problem: answer.error ?? 'the answer is not a JSON object' };
  const modelVersion = answer.modelVersion ?? (typeof body.model_version === 'string' ? body.model_version : undefined);
  if (!Array.isArray(body.scores) || body.scores.length !== 1 || typeof body.scores[0] !== 'number' || !Number.isFinite(body.scores[0])) {
    return { ...base, modelVersion, problem: `expected {"scores": [<one number>]} for one row, got ${JSON.stringify(body).slice(0, 100)}` };
  }
  return { ...base, modelVersion, score: body.scores[0] };
}

function bodyError(body: unknown): string {
  if (typeof body !== 'object' || body === null) return '';
  const detail = (body as { error?: unknown; detail?: unknown }).error ?? (body as { detail?: unknown }).detail;
  return detail === undefined ? '' : `: ${JSON.stringify(detail).slice(0, 120)}`;
}
