import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Hex } from '../../domain/data/manifest.js';

export interface HashJob {
  readonly absolute: string;
  /** Size seen when scanned; only used to balance work. */
  readonly size: number;
  /** How to name the file in errors. */
  readonly display: string;
}

/** What the worker saw of the open file: the stat cache's key for the hash. */
export interface FileStat {
  readonly size: number;
  readonly mtimeNs: bigint;
  readonly ino: bigint;
}

export interface HashResult {
  readonly hash: Hex;
  /** Bytes actually read. */
  readonly bytes: number;
  /** fstat of the descriptor before reading: the file as it was hashed. */
  readonly stat: FileStat;
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
const BATCH_FILES = 128;

type WorkerMessage =
  | { kind: 'progress'; bytes: number }
  | { kind: 'done'; task: number; results: [Hex, number, string, string][]; bytes: number }
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
    const results: [string, number, string, string][] = [];
    let current = '';
    try {
      for (const file of task.files) {
        current = file;
        // O_NONBLOCK: opening a named pipe must fail fast, never wait for a writer.
        const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
        try {
          const info = fs.fstatSync(fd, { bigint: true });
          if (!info.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTREG' });
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
          results.push([hash.digest('hex'), size, String(info.mtimeNs), String(info.ino)]);
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
 * sha256 on worker threads, one per core. Workers can be started before the work is known, so
 * their start-up overlaps the directory scan; `hash` hands out tasks largest first, so the cores
 * finish together, and returns results in input order.
 */
export class HashPool {
  private workers: Worker[] = [];

  constructor(private readonly threads = availableParallelism()) {}

  /** Starts the workers now (idempotent). */
  start(count = this.threads): void {
    while (this.workers.length < count) {
      const worker = new Worker(`(${hashWorkerMain.toString()})()`, { eval: true });
      worker.unref();
      this.workers.push(worker);
    }
  }

  async hash(jobs: readonly HashJob[], onBytes: (bytes: number) => void = () => {}): Promise<HashResult[]> {
    if (jobs.length === 0) return [];
    const tasks = planTasks(jobs);
    this.start(Math.max(1, Math.min(this.threads, tasks.length)));
    const workers = this.workers.slice(0, Math.min(this.workers.length, tasks.length));
    const results: HashResult[] = new Array<HashResult>(jobs.length);
    await new Promise<void>((resolve, reject) => {
      let next = 0;
      let finished = 0;
      let settled = false;
      const cleanups: (() => void)[] = [];
      const settle = (error?: Error): void => {
        if (settled) return;
        settled = true;
        for (const cleanup of cleanups) cleanup();
        if (error) reject(error);
        else resolve();
      };
      const dispatch = (worker: Worker): void => {
        const task = tasks[next];
        if (task === undefined) return;
        next += 1;
        worker.postMessage({ id: next - 1, files: task.map((i) => jobs[i]!.absolute) });
      };
      for (const worker of workers) {
        const onMessage = (message: WorkerMessage): void => {
          if (settled) return;
          if (message.kind === 'progress') return onBytes(message.bytes);
          if (message.kind === 'error') {
            const job = tasks[message.task]!.map((i) => jobs[i]!).find((j) => j.absolute === message.file);
            return settle(new HashReadError(job?.display ?? message.file, message.code, message.message));
          }
          onBytes(message.bytes);
          tasks[message.task]!.forEach((jobIndex, k) => {
            const [hash, bytes, mtimeNs, ino] = message.results[k]!;
            results[jobIndex] = { hash, bytes, stat: { size: bytes, mtimeNs: BigInt(mtimeNs), ino: BigInt(ino) } };
          });
          finished += 1;
          if (finished === tasks.length) settle();
          else dispatch(worker);
        };
        const onError = (error: Error): void => settle(error);
        worker.on('message', onMessage);
        worker.on('error', onError);
        cleanups.push(() => {
          worker.off('message', onMessage);
          worker.off('error', onError);
        });
        dispatch(worker);
      }
    });
    return results;
  }

  /** Stops the workers; a failed task may still be running, so this does not wait for it. */
  async close(): Promise<void> {
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((w) => w.terminate()));
  }
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
