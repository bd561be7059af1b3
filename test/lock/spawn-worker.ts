import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { REPO_ROOT, nodeBinary } from '../helpers/bundle.js';

let bundled: Promise<string> | undefined;

/** test/lock/worker.ts bundled with the current sources, so other processes run the real lock and registry code. */
export function workerScript(): Promise<string> {
  bundled ??= (async () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'mlship-worker-'));
    process.once('exit', () => rmSync(directory, { recursive: true, force: true }));
    const outfile = path.join(directory, 'worker.mjs');
    await build({ absWorkingDir: REPO_ROOT, entryPoints: ['test/lock/worker.ts'], outfile, bundle: true, format: 'esm', platform: 'node', target: 'node24', logLevel: 'warning' });
    return outfile;
  })();
  return bundled;
}

export interface Worker {
  readonly child: ChildProcess;
  /** Resolves with the exit code (null when killed) and what the worker wrote on stderr. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

export async function startWorker(...args: string[]): Promise<Worker> {
  const child = spawn(nodeBinary(), [await workerScript(), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, exited };
}

/** Polls until `condition` holds (no timing is asserted: the deadline only stops a hung test). */
export async function until(condition: () => boolean, what: string, deadlineMs = 60_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
