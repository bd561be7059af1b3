import { availableParallelism } from 'node:os';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { createResampleKernel, RESAMPLE_METRICS, resampleChunk, skipResamples, type ResamplePlan, type ResampleView } from '../../domain/metrics/resample-kernel.js';

export interface ResampleRunOptions {
  /** Worker threads to use; default one per core. */
  readonly threads?: number | undefined;
  /** Called with the number of resamples each finished chunk held. */
  readonly onResamples?: ((count: number) => void) | undefined;
  readonly signal?: AbortSignal | undefined;
}

type Task = { kind: 'plan'; plan: ResamplePlan } | { kind: 'chunk'; id: number; state: Int32Array; count: number };
type Reply = { kind: 'done'; id: number; values: Float64Array } | { kind: 'error'; message: string; stack: string | undefined };

/**
 * The worker's body. It runs from its own source text, so it may use only globals and its
 * argument, the kernel's factory (itself self-contained, see resample-kernel.ts): one file serves
 * the tests (TypeScript) and the bundle alike, with no separate worker script to ship.
 */
function resampleWorkerMain(createKernel: typeof createResampleKernel): void {
  const { parentPort } = process.getBuiltinModule('node:worker_threads');
  if (!parentPort) return;
  const kernel = createKernel();
  let plan: ResamplePlan | undefined;
  parentPort.on('message', (task: Task) => {
    try {
      if (task.kind === 'plan') {
        plan = task.plan;
        return;
      }
      if (!plan) throw new Error('a chunk arrived before its plan');
      const values = new Float64Array(task.count * plan.views.length * 8);
      kernel.resampleChunk(plan, task.state, task.count, values);
      parentPort.postMessage({ kind: 'done', id: task.id, values }, [values.buffer]);
    } catch (error) {
      const err = error as { message?: string; stack?: string };
      parentPort.postMessage({ kind: 'error', message: String(err.message), stack: err.stack });
    }
  });
}

const WORKER_SOURCE = `(${resampleWorkerMain.toString()})(${createResampleKernel.toString()})`;

/**
 * Runs `resamples` resamples of a plan from the generator state `start` on `threads` threads (this
 * one and worker threads), in chunks, and returns every value as the kernel lays them out, exactly
 * as one thread running them all in order would. A chunk starts where the previous one ends in the
 * generator's stream. This thread hands each chunk to a free worker, then steps the generator over
 * it (skipResamples, a fraction of a chunk's cost); with no worker free it computes the chunk
 * itself, which leaves the generator where the next one starts.
 */
export async function resampleOnThreads(plan: ResamplePlan, start: Int32Array, resamples: number, options: ResampleRunOptions = {}): Promise<Float64Array> {
  const width = plan.views.length * RESAMPLE_METRICS.length;
  const values = new Float64Array(resamples * width);
  const threads = Math.max(1, Math.min(options.threads ?? availableParallelism(), resamples));
  // Several chunks per thread, so threads finish together and progress moves.
  const size = Math.max(1, Math.ceil(resamples / (threads * 8)));
  const chunks: { first: number; count: number }[] = [];
  for (let first = 0; first < resamples; first += size) chunks.push({ first, count: Math.min(size, resamples - first) });
  const { signal, onResamples } = options;
  signal?.throwIfAborted();

  const workers = Array.from({ length: Math.min(threads - 1, chunks.length - 1) }, () => new Worker(WORKER_SOURCE, { eval: true }));
  let failure: unknown;
  let wake: (() => void) | undefined;
  const onAbort = (): void => {
    failure ??= signal?.reason;
    wake?.();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const shared = workers.length > 0 ? sharedPlan(plan) : plan;
    const idle: Worker[] = [];
    let finished = 0;
    for (const worker of workers) {
      worker.postMessage({ kind: 'plan', plan: shared } satisfies Task);
      worker.on('message', (reply: Reply) => {
        if (reply.kind === 'error') {
          failure ??= Object.assign(new Error(reply.message), { stack: reply.stack });
        } else {
          const chunk = chunks[reply.id]!;
          values.set(reply.values, chunk.first * width);
          onResamples?.(chunk.count);
          finished += 1;
          idle.push(worker);
        }
        wake?.();
      });
      worker.on('error', (error) => {
        failure ??= error;
        wake?.();
      });
      idle.push(worker);
    }
    const state = start.slice();
    for (let id = 0; id < chunks.length; id += 1) {
      if (failure !== undefined) throw failure;
      const chunk = chunks[id]!;
      const worker = idle.pop();
      if (worker) {
        worker.postMessage({ kind: 'chunk', id, state: state.slice(), count: chunk.count } satisfies Task);
        skipResamples(state, chunk.count, plan.rows);
      } else {
        resampleChunk(plan, state, chunk.count, values.subarray(chunk.first * width, (chunk.first + chunk.count) * width));
        onResamples?.(chunk.count);
        finished += 1;
      }
      await nextTurn(); // replies and an abort come in between chunks
    }
    while (finished < chunks.length && failure === undefined) {
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
    if (failure !== undefined) throw failure;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
  return values;
}

/** The plan with its arrays in shared memory: every worker reads the one copy (ten million rows make hundreds of MB per view). */
function sharedPlan(plan: ResamplePlan): ResamplePlan {
  const share = <T extends Uint8Array | Uint32Array | Float64Array>(array: T): T => {
    const copy = new (array.constructor as new (buffer: SharedArrayBuffer) => T)(new SharedArrayBuffer(array.byteLength));
    copy.set(array);
    return copy;
  };
  const views = plan.views.map(
    (view): ResampleView => ({
      ...view,
      order: share(view.order),
      labels: share(view.labels),
      groupEnds: share(view.groupEnds),
      predictedPositive: view.predictedPositive,
      logLossTerms: view.logLossTerms && share(view.logLossTerms),
      brierTerms: view.brierTerms && share(view.brierTerms),
    }),
  );
  return { ...plan, views };
}
