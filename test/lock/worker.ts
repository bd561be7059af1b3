// A separate process for the lock and registry tests, bundled by test/lock/spawn-worker.ts.
// Each mode is one thing a real mlship process does: hold a lock, contend for it, update the registry.
import { appendFileSync, closeSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { acquireFileLock } from '../../src/adapters/fs/file-lock.js';
import { FileRegistryBackend, type CommitStep } from '../../src/adapters/registry/file-backend.js';

const [mode, ...args] = process.argv.slice(2);

/**
 * The critical section: claims `<dir>/inside` exclusively; finding it taken means another process
 * is inside at the same time (an overlap). Every entry is logged, overlaps as OVERLAP.
 */
async function criticalSection(dir: string, label: string): Promise<void> {
  const inside = path.join(dir, 'inside');
  let fd: number;
  try {
    fd = openSync(inside, 'wx');
  } catch {
    appendFileSync(path.join(dir, 'log'), `OVERLAP ${label}\n`);
    return;
  }
  writeSync(fd, label);
  closeSync(fd);
  appendFileSync(path.join(dir, 'log'), `${label}\n`);
  await sleep(Math.random() * 3);
  rmSync(inside);
}

async function forever(): Promise<never> {
  await new Promise(() => setInterval(() => {}, 1 << 30));
  throw new Error('unreachable');
}

switch (mode) {
  case 'contend': {
    // With `dieAt`, the process is killed holding the lock after that round: the others must take it over.
    const [lockFile, dir, rounds, dieAt] = args as [string, string, string, string | undefined];
    for (let i = 0; i < Number(rounds); i++) {
      const lock = await acquireFileLock(lockFile, { command: 'contend', waitMs: 120_000 });
      await criticalSection(dir, `${process.pid}-${i}`);
      if (i === Number(dieAt)) process.kill(process.pid, 'SIGKILL');
      lock.release();
    }
    break;
  }
  case 'hold': {
    const [lockFile, ready] = args as [string, string];
    await acquireFileLock(lockFile, { command: 'mlship hold' });
    writeFileSync(ready, String(process.pid));
    await forever();
    break;
  }
  case 'registry-contend': {
    // With `dieAt`, the process is killed in the middle of that round's change (after its critical section).
    const [root, dir, rounds, dieAt] = args as [string, string, string, string | undefined];
    const registry = new FileRegistryBackend(root);
    for (let i = 0; i < Number(rounds); i++) {
      const label = `${process.pid}-${i}`;
      await registry.update(label, async (tx) => {
        await criticalSection(dir, label);
        tx.append('shared.log', label);
        if (i === Number(dieAt)) process.kill(process.pid, 'SIGKILL');
      });
    }
    break;
  }
  case 'registry-write': {
    // One change of `count` files plus an index naming the generation; pauses for good at `pauseAt`.
    const [root, generation, count, pauseAt, marker] = args as [string, string, string, string | undefined, string | undefined];
    const registry = new FileRegistryBackend(root, {
      onCommitStep: async (step: CommitStep) => {
        if (step !== pauseAt) return;
        writeFileSync(marker!, step);
        await forever();
      },
    });
    await registry.update(`generation ${generation}`, async (tx) => {
      for (let i = 0; i < Number(count); i++) tx.write(`files/f-${String(i).padStart(5, '0')}`, `generation ${generation}\n`);
      tx.write('index/generation', `${generation}\n`);
      tx.append('history.log', `generation ${generation}`);
    });
    break;
  }
  case 'registry-generations': {
    // Generation after generation, each one change of every file plus the index that names it.
    const [root, count, generations] = args as [string, string, string];
    const registry = new FileRegistryBackend(root);
    for (let generation = 1; generation <= Number(generations); generation++) {
      await registry.update(`generation ${generation}`, async (tx) => {
        for (let i = 0; i < Number(count); i++) tx.write(`files/f-${String(i).padStart(5, '0')}`, `${generation}\n`);
        tx.write('index/generation', `${generation}\n`);
      });
    }
    break;
  }
  default:
    throw new Error(`unknown mode ${mode}`);
}
