import { describe, expect, it } from 'vitest';
import { assess, type Observation, type ObservedTask } from '../../src/domain/deploy/assess.js';

const NEW = `sha256:${'a'.repeat(64)}`;
const OLD = `sha256:${'b'.repeat(64)}`;
const MODEL = `sha256:${'c'.repeat(64)}`;

const task = (digest: string, state: string, extra: Partial<ObservedTask> = {}): ObservedTask => ({ id: Math.random().toString(36).slice(2), digest, state, desiredState: 'running', ...extra });

function observe(extra: Partial<Observation>): Observation {
  return { replicas: 2, candidateDigest: NEW, candidateModelVersion: MODEL, tasks: [], elapsedMs: 1000, timeoutMs: 60_000, ...extra };
}

describe('assess: the verdict on what was observed', () => {
  it.each<[string, Partial<Observation>, string, string]>([
    ['every task on the candidate, update completed, the edge answers as the candidate', { updateState: 'completed', tasks: [task(NEW, 'running'), task(NEW, 'running')], edge: { modelVersion: MODEL } }, 'converged', '2 of 2 tasks running the candidate, healthy; the edge answers as cccccccccccc'],
    ['a new service (no update status) that converged', { tasks: [task(NEW, 'running'), task(NEW, 'running')], edge: { modelVersion: MODEL } }, 'converged', '2 of 2'],
    ['tasks converged, but the edge still answers as the old model', { updateState: 'completed', tasks: [task(NEW, 'running'), task(NEW, 'running')], edge: { modelVersion: `sha256:${'d'.repeat(64)}` } }, 'progressing', 'the edge answers as dddddddddddd'],
    ['the edge answers with another image of the same model version', { tasks: [task(NEW, 'running'), task(NEW, 'running')], edge: { modelVersion: MODEL, digest: OLD } }, 'progressing', 'from image bbbbbbbbbbbb'],
    ['the edge does not answer', { tasks: [task(NEW, 'running'), task(NEW, 'running')], edge: { error: 'ECONNREFUSED' } }, 'progressing', 'does not answer (ECONNREFUSED)'],
    ['half-way through the update', { updateState: 'updating', tasks: [task(NEW, 'running'), task(OLD, 'running')] }, 'progressing', '1 of 2 tasks running the candidate, 1 still on the previous image (update updating)'],
    ['all tasks new but one still starting', { updateState: 'updating', tasks: [task(NEW, 'running'), task(NEW, 'starting')] }, 'progressing', '1 of 2 tasks running the candidate (update updating)'],
    ['a task of the candidate failed, quoted', { updateState: 'updating', tasks: [task(OLD, 'running'), task(OLD, 'running'), task(NEW, 'failed', { desiredState: 'shutdown', error: 'task: non-zero exit (3)', message: 'started', timestamp: '2026-12-01T00:00:02Z' })] }, 'progressing', 'a task of the candidate ended failed (task: non-zero exit (3): started)'],
    ['Swarm rolled back', { updateState: 'rollback_completed', updateMessage: 'rollback completed', tasks: [task(OLD, 'running'), task(OLD, 'running'), task(NEW, 'failed', { desiredState: 'shutdown', error: 'task: non-zero exit (1)' })] }, 'rolled_back', 'Swarm rolled the update back: rollback completed; a task of the candidate ended failed (task: non-zero exit (1))'],
    ['Swarm is rolling back', { updateState: 'rollback_started', tasks: [task(OLD, 'running')] }, 'rolled_back', 'Swarm rolled the update back'],
    ['the update paused', { updateState: 'paused', updateMessage: 'update paused due to failure or early termination of task x', tasks: [] }, 'failed', 'Swarm paused the update: update paused due to failure'],
    ['the timeout passed', { elapsedMs: 61_000, tasks: [task(NEW, 'starting'), task(NEW, 'starting')] }, 'timed_out', 'not converged after 60 s: 0 of 2 tasks running the candidate'],
    ['converged at the last moment is still converged', { elapsedMs: 61_000, tasks: [task(NEW, 'running'), task(NEW, 'running')], edge: { modelVersion: MODEL } }, 'converged', '2 of 2'],
    ['one task too few', { tasks: [task(NEW, 'running')], edge: { modelVersion: MODEL } }, 'progressing', '1 of 2'],
    ['watching a rollback: Swarm rolling back is the way there', { expecting: 'rollback', updateState: 'rollback_started', tasks: [task(NEW, 'running'), task(OLD, 'running')] }, 'progressing', '1 of 2 tasks running the image restored, 1 still on the rolled-back image (update rollback_started)'],
    ['watching a rollback: a task of the restored image that failed is quoted', { expecting: 'rollback', updateState: 'rollback_started', tasks: [task(OLD, 'running'), task(NEW, 'failed', { desiredState: 'shutdown', error: 'task: non-zero exit (1)' })] }, 'progressing', 'a task of the image restored ended failed (task: non-zero exit (1))'],
    ['watching a rollback: rolled back, verified through the edge', { expecting: 'rollback', updateState: 'rollback_completed', tasks: [task(NEW, 'running'), task(NEW, 'running')], edge: { modelVersion: MODEL } }, 'converged', '2 of 2'],
    ['watching a rollback that Swarm paused', { expecting: 'rollback', updateState: 'rollback_paused', updateMessage: 'rollback paused', tasks: [] }, 'failed', 'Swarm paused the rollback'],
    ['an old task that Swarm is stopping still runs, and so still serves', { updateState: 'completed', tasks: [task(NEW, 'running'), task(NEW, 'running'), task(OLD, 'running', { desiredState: 'shutdown' })], edge: { modelVersion: MODEL } }, 'progressing', '1 still on the previous image'],
    ['the edge still answers as another version now and then', { tasks: [task(NEW, 'running'), task(NEW, 'running')], edge: { modelVersion: MODEL, others: 2 } }, 'progressing', 'still answers as another version 2 times in its rotation'],
    ['a task of another image still running while the update says completed', { updateState: 'completed', tasks: [task(NEW, 'running'), task(NEW, 'running'), task(OLD, 'running')], edge: { modelVersion: MODEL } }, 'progressing', '1 still on the previous image'],
  ])('%s → %s', (_name, observation, kind, message) => {
    const verdict = assess(observe(observation));
    expect(verdict.kind).toBe(kind);
    expect(verdict.message).toContain(message);
  });

  it('watching a rollback, says nothing of the restored image\'s tasks that the update shut down', () => {
    const shutDown = task(NEW, 'shutdown', { desiredState: 'shutdown', message: 'shutdown' });
    const verdict = assess(observe({ expecting: 'rollback', updateState: 'rollback_started', tasks: [task(NEW, 'running'), task(OLD, 'running'), shutDown] }));
    expect(verdict.message).toBe('1 of 2 tasks running the image restored, 1 still on the rolled-back image (update rollback_started)');
  });
});
