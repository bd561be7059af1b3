/**
 * Is the rollout done, and did it work? A pure function from what was observed (the service, its
 * tasks, the edge's answer, the clock) to a verdict, like `kubectl rollout status`: the loop that
 * polls the engine lives in services/, this only judges. A rollout is `converged` only when every
 * running task runs the candidate digest, Swarm's update is `completed` (or there was none) and
 * the edge answers as the candidate; everything else is progress or a named failure.
 */

/** Swarm's UpdateStatus.State, absent when the service was created and never updated. */
export type UpdateState = 'updating' | 'paused' | 'completed' | 'rollback_started' | 'rollback_paused' | 'rollback_completed';

export interface ObservedTask {
  readonly id: string;
  readonly slot?: number | undefined;
  readonly nodeId?: string | undefined;
  /** The digest of the image the task runs. */
  readonly digest: string | undefined;
  /** Task state: new, pending, assigned, accepted, preparing, starting, running, complete, failed, shutdown, rejected, orphaned, remove. */
  readonly state: string;
  readonly desiredState: string;
  /** Swarm's message and the error, when there is one ("task: non-zero exit (1)", "No such image"…). */
  readonly message?: string | undefined;
  readonly error?: string | undefined;
  readonly timestamp?: string | undefined;
}

export interface ObservedEdge {
  /** The model version the edge's answers named (X-Model-Version), when they all named the same. */
  readonly modelVersion?: string | undefined;
  /** X-Image-Digest, when the server sends it. */
  readonly digest?: string | undefined;
  readonly error?: string | undefined;
  /** How many probes answered as something other than the rest (a stale task still in the edge's rotation). */
  readonly others?: number | undefined;
}

export interface Observation {
  readonly replicas: number;
  readonly candidateDigest: string;
  readonly candidateModelVersion: string;
  readonly updateState?: UpdateState | undefined;
  readonly updateMessage?: string | undefined;
  readonly tasks: readonly ObservedTask[];
  readonly edge?: ObservedEdge | undefined;
  readonly elapsedMs: number;
  readonly timeoutMs: number;
  /**
   * What the watch waits for: a forward update (default), or a rollback whose "candidate" is the
   * previous version — then Swarm's rollback states are the way there, not a failure.
   */
  readonly expecting?: 'update' | 'rollback' | undefined;
}

export type Verdict =
  | { readonly kind: 'progressing'; readonly message: string }
  | { readonly kind: 'converged'; readonly message: string }
  | { readonly kind: 'rolled_back'; readonly message: string }
  | { readonly kind: 'timed_out'; readonly message: string }
  | { readonly kind: 'failed'; readonly message: string };

export function assess(observation: Observation): Verdict {
  const { replicas, candidateDigest, tasks } = observation;
  const current = tasks.filter((t) => t.desiredState === 'running');
  const onCandidate = current.filter((t) => t.digest === candidateDigest);
  const running = onCandidate.filter((t) => t.state === 'running');
  const rollingBack = observation.expecting === 'rollback';
  // Watching a rollback, the awaited image is the one restored, and the one leaving the candidate.
  const awaited = rollingBack ? 'the image restored' : 'the candidate';
  const progress = `${running.length} of ${replicas} tasks running ${awaited}`;
  const problems = taskProblems(tasks, candidateDigest, rollingBack);

  if (rollingBack && observation.updateState === 'rollback_paused') {
    return { kind: 'failed', message: `Swarm paused the rollback${observation.updateMessage ? `: ${observation.updateMessage}` : ''}${problems ? `; ${problems}` : ''}` };
  }
  if (!rollingBack && (observation.updateState === 'rollback_completed' || observation.updateState === 'rollback_started' || observation.updateState === 'rollback_paused')) {
    const why = observation.updateMessage ? `: ${observation.updateMessage}` : '';
    return { kind: 'rolled_back', message: `Swarm rolled the update back${why}${problems ? `; ${problems}` : ''}` };
  }
  if (observation.updateState === 'paused') {
    return { kind: 'failed', message: `Swarm paused the update${observation.updateMessage ? `: ${observation.updateMessage}` : ''}${problems ? `; ${problems}` : ''}` };
  }
  // A task of another image that still runs serves requests, whatever Swarm wants of it next.
  const stale = tasks.filter((t) => t.digest !== candidateDigest && t.state === 'running');
  const settled = observation.updateState === undefined || observation.updateState === (rollingBack ? 'rollback_completed' : 'completed') || (rollingBack && observation.updateState === 'completed');
  if (settled && running.length === replicas && stale.length === 0) {
    const edge = observation.edge;
    if (edge?.modelVersion === observation.candidateModelVersion && (edge.digest === undefined || edge.digest === candidateDigest) && !edge.others) {
      return { kind: 'converged', message: `${progress}, healthy; the edge answers as ${short(observation.candidateModelVersion)}` };
    }
    const answer =
      edge === undefined
        ? 'has not been asked yet'
        : edge.error
          ? `does not answer (${edge.error})`
          : edge.others
            ? `still answers as another version ${edge.others === 1 ? 'once' : `${edge.others} times`} in its rotation`
            : `answers as ${short(edge.modelVersion ?? 'no model version')}${edge.digest && edge.digest !== candidateDigest ? ` from image ${short(edge.digest)}` : ''}`;
    return timedOutOr(observation, { kind: 'progressing', message: `${progress}, healthy; the edge ${answer}` });
  }
  const waiting = `${progress}${stale.length > 0 ? `, ${stale.length} still on ${rollingBack ? 'the rolled-back image' : 'the previous image'}` : ''}${observation.updateState ? ` (update ${observation.updateState})` : ''}`;
  return timedOutOr(observation, { kind: 'progressing', message: problems ? `${waiting}; ${problems}` : waiting });
}

function timedOutOr(observation: Observation, progressing: Verdict): Verdict {
  if (observation.elapsedMs < observation.timeoutMs) return progressing;
  return { kind: 'timed_out', message: `not converged after ${Math.round(observation.timeoutMs / 1000)} s: ${progressing.message}` };
}

/**
 * The latest error of candidate tasks that failed, quoted: why a new task does not come up. Watching
 * a rollback, the restored image's tasks that the update shut down are history, not a problem.
 */
function taskProblems(tasks: readonly ObservedTask[], candidateDigest: string, rollingBack: boolean): string {
  const ended = rollingBack ? ['failed', 'rejected', 'orphaned'] : ['failed', 'rejected', 'complete', 'shutdown', 'orphaned'];
  const failed = tasks
    .filter((t) => t.digest === candidateDigest && ended.includes(t.state) && (t.error || t.message))
    .sort((a, b) => (b.timestamp ?? '').localeCompare(a.timestamp ?? ''));
  const latest = failed[0];
  if (!latest) return '';
  const reason = [latest.error, latest.message].filter(Boolean).join(': ');
  return `${failed.length === 1 ? 'a task' : `${failed.length} tasks`} of ${rollingBack ? 'the image restored' : 'the candidate'} ended ${latest.state} (${reason})`;
}

function short(version: string): string {
  return version.replace(/^sha256:/, '').slice(0, 12);
}
