import { availableParallelism } from 'node:os';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { createResampleKernel, RESAMPLE_METRICS, skipResamples, type ResamplePlan, type ResampleView } from '../../domain/metrics/resample-kernel.js';

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
 * Runs `resamples` resamples of a plan from the generator state `start` on worker threads, in
 * chunks, and returns every value as the kernel lays them out, exactly as one thread running them
 * all in order would. A chunk starts where the previous one ends in the generator's stream: this
 * thread finds those states by stepping the generator (skipResamples, a fraction of a chunk's
 * cost) while the workers compute, and hands chunks out as workers come free.
 */
export async function resampleOnThreads(plan: ResamplePlan, start: Int32Array, resamples: number, options: ResampleRunOptions = {}): Promise<Float64Array> {
  const width = plan.views.length * RESAMPLE_METRICS.length;
  const values = new Float64Array(resamples * width);
  const threads = Math.max(1, Math.min(options.threads ?? availableParallelism(), resamples));
  // Several chunks per thread, so threads finish together and progress moves.
  const size = Math.max(1, Math.ceil(resamples / (threads * 8)));
  const chunks: { first: number; count: number }[] = [];
  for (let first = 0; first < resamples; first += size) chunks.push({ first, count: Math.min(size, resamples - first) });
  const signal = options.signal;
  signal?.throwIfAborted();

  const workers = Array.from({ length: Math.min(threads, chunks.length) }, () => new Worker(WORKER_SOURCE, { eval: true }));
  try {
    const shared = sharedPlan(plan);
    for (const worker of workers) worker.postMessage({ kind: 'plan', plan: shared } satisfies Task);
    await new Promise<void>((resolve, reject) => {
      const state = start.slice();
      let stepped = 0; // chunks whose start state is known
      const starts: Int32Array[] = [];
      let next = 0;
      let finished = 0;
      let settled = false;
      const idle: Worker[] = [];
      const settle = (error?: unknown): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onAbort = (): void => settle(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      const dispatch = (): void => {
        while (!settled && idle.length > 0 && next < stepped) {
          const chunk = chunks[next]!;
          idle.pop()!.postMessage({ kind: 'chunk', id: next, state: starts[next]!, count: chunk.count } satisfies Task);
          next += 1;
        }
      };
      for (const worker of workers) {
        worker.on('message', (reply: Reply) => {
          if (settled) return;
          if (reply.kind === 'error') return settle(Object.assign(new Error(reply.message), { stack: reply.stack }));
          values.set(reply.values, chunks[reply.id]!.first * width);
          options.onResamples?.(chunks[reply.id]!.count);
          finished += 1;
          if (finished === chunks.length) return settle();
          idle.push(worker);
          dispatch();
        });
        worker.on('error', (error) => settle(error));
        idle.push(worker);
      }
      // Step the generator chunk by chunk, letting replies in between.
      void (async () => {
        while (!settled && stepped < chunks.length) {
          starts.push(state.slice());
          stepped += 1;
          dispatch();
          if (stepped < chunks.length) skipResamples(state, chunks[stepped - 1]!.count, plan.rows);
          await nextTurn();
        }
      })().catch(settle);
    });
  } finally {
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
