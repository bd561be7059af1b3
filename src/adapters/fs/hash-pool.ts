import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Hex } from '../../domain/data/manifest.js';

export interface HashJob {
  readonly absolute: string;
  /** Size seen when scanned; only used to balance work and report progress. */
  readonly size: number;
  /** How to name the file in errors. */
  readonly display: string;
}

export interface HashResult {
  readonly hash: Hex;
  /** Bytes actually read: differs from the scanned size when the file changed meanwhile. */
  readonly size: number;
}

export class HashReadError extends Error {
  constructor(
    readonly display: string,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** Files at or above this size get a task of their own; smaller ones are batched. */
const LARGE_FILE = 4 << 20;
const BATCH_BYTES = 8 << 20;
const BATCH_FILES = 256;

type WorkerMessage =
  | { kind: 'progress'; bytes: number }
  | { kind: 'done'; task: number; results: [Hex, number][]; bytes: number }
  | { kind: 'error'; task: number; file: string; code: string | undefined; message: string };

/**
 * The worker's body. It runs from its own source text (`toString`), so it may use only globals:
 * builtins come from `process.getBuiltinModule`. That keeps one file for tests (TypeScript) and
 * the bundle alike, with no separate worker script to ship.
 */
function hashWorkerMain(): void {
  const { parentPort } = process.getBuiltinModule('node:worker_threads');
  const fs = process.getBuiltinModule('node:fs');
  const { createHash } = process.getBuiltinModule('node:crypto');
  if (!parentPort) return;
  const buffer = Buffer.allocUnsafe(4 << 20);
  let unreported = 0;
  parentPort.on('message', (task: { id: number; files: string[] }) => {
    const results: [string, number][] = [];
    let current = '';
    try {
      for (const file of task.files) {
        current = file;
        const fd = fs.openSync(file, 'r');
        try {
          const hash = createHash('sha256');
          let size = 0;
          for (;;) {
            const n = fs.readSync(fd, buffer, 0, buffer.length, null);
            if (n === 0) break;
            hash.update(buffer.subarray(0, n));
            size += n;
            unreported += n;
            if (unreported >= 16 << 20) {
              parentPort.postMessage({ kind: 'progress', bytes: unreported });
              unreported = 0;
            }
          }
          results.push([hash.digest('hex'), size]);
        } finally {
          fs.closeSync(fd);
        }
      }
      parentPort.postMessage({ kind: 'done', task: task.id, results, bytes: unreported });
      unreported = 0;
    } catch (error) {
      const err = error as { code?: string; message?: string };
      parentPort.postMessage({ kind: 'error', task: task.id, file: current, code: err.code, message: String(err.message) });
    }
  });
}

/**
 * Hashes files with sha256 on worker threads, one per core, largest files first so the cores
 * finish together. `onBytes` reports progress. Results come back in input order.
 */
export async function hashFiles(
  jobs: readonly HashJob[],
  onBytes: (bytes: number) => void = () => {},
  threads = availableParallelism(),
): Promise<HashResult[]> {
  if (jobs.length === 0) return [];
  const tasks = planTasks(jobs);
  const results: HashResult[] = new Array<HashResult>(jobs.length);
  const workerCount = Math.max(1, Math.min(threads, tasks.length));
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let next = 0;
      let finished = 0;
      let failed = false;
      const fail = (error: Error): void => {
        if (failed) return;
        failed = true;
        reject(error);
      };
      const dispatch = (worker: Worker): void => {
        const task = tasks[next];
        if (task === undefined) return;
        next += 1;
        worker.postMessage({ id: next - 1, files: task.map((i) => jobs[i]!.absolute) });
      };
      for (let w = 0; w < workerCount; w += 1) {
        const worker = new Worker(`(${hashWorkerMain.toString()})()`, { eval: true });
        workers.push(worker);
        worker.on('message', (message: WorkerMessage) => {
          if (message.kind === 'progress') return onBytes(message.bytes);
          if (message.kind === 'error') {
            const job = tasks[message.task]!.map((i) => jobs[i]!).find((j) => j.absolute === message.file);
            return fail(new HashReadError(job?.display ?? message.file, message.code, message.message));
          }
          onBytes(message.bytes);
          tasks[message.task]!.forEach((jobIndex, k) => {
            const [hash, size] = message.results[k]!;
            results[jobIndex] = { hash, size };
          });
          finished += 1;
          if (finished === tasks.length) resolve();
          else dispatch(worker);
        });
        worker.on('error', fail);
        dispatch(worker);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}

/** Groups job indexes into tasks: large files alone, small ones in batches; biggest first. */
function planTasks(jobs: readonly HashJob[]): number[][] {
  const order = jobs.map((_, i) => i).sort((a, b) => jobs[b]!.size - jobs[a]!.size);
  const tasks: number[][] = [];
  let batch: number[] = [];
  let batchBytes = 0;
  for (const i of order) {
    const size = jobs[i]!.size;
    if (size >= LARGE_FILE) {
      tasks.push([i]);
      continue;
    }
    batch.push(i);
    batchBytes += size;
    if (batchBytes >= BATCH_BYTES || batch.length >= BATCH_FILES) {
      tasks.push(batch);
      batch = [];
      batchBytes = 0;
    }
  }
  if (batch.length > 0) tasks.push(batch);
  return tasks;
}
