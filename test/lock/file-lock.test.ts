import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LockBusyError, acquireFileLock, type FileLock, type LockRecord } from '../../src/adapters/fs/file-lock.js';
import { InterruptedError } from '../../src/errors.js';
import { temporaryDirectory } from '../helpers/project.js';
import { startWorker, until } from './spawn-worker.js';

function pidNamespace(): string | undefined {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return undefined;
  }
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid!;
}

/** Writes a lock file as another process would have left it. */
function plantLock(file: string, fields: Partial<LockRecord> = {}, mtime?: Date): LockRecord {
  const namespace = pidNamespace();
  const record: LockRecord = {
    token: randomBytes(8).toString('hex'),
    pid: deadPid(),
    host: hostname(),
    ...(namespace === undefined ? {} : { pidNamespace: namespace }),
    command: 'mlship train',
    since: new Date().toISOString(),
    ...fields,
  };
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(record)}\n`);
  if (mtime) utimesSync(file, mtime, mtime);
  return record;
}

function lockToken(file: string): string | undefined {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as LockRecord).token : undefined;
}

async function busyHolder(attempt: Promise<FileLock>): Promise<LockRecord | undefined> {
  const error = await attempt.then(
    (lock) => {
      lock.release();
      return new Error('the lock was taken');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LockBusyError);
  return (error as LockBusyError).holder;
}

const hourAgo = (): Date => new Date(Date.now() - 3600_000);

describe('file lock', () => {
  it('records who holds it, refuses a second taker naming the holder, and is free again after release', async () => {
    const file = path.join(temporaryDirectory(), 'state', 'workspace.lock');
    const lock = await acquireFileLock(file, { command: 'mlship train' });
    const record = JSON.parse(readFileSync(file, 'utf8')) as LockRecord;
    expect(record).toMatchObject({ token: lock.record.token, pid: process.pid, host: hostname(), command: 'mlship train' });
    expect(Date.parse(record.since)).not.toBeNaN();

    const holder = await busyHolder(acquireFileLock(file, { command: 'mlship data pull' }));
    expect(holder).toMatchObject({ token: lock.record.token, pid: process.pid, command: 'mlship train' });
    const error = await acquireFileLock(file, { command: 'x' }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(new RegExp(`is locked by "mlship train" \\(pid ${process.pid} on host ${hostname()}, since \\d\\d:\\d\\d:\\d\\dZ\\)`));

    lock.release();
    expect(existsSync(file)).toBe(false);
    (await acquireFileLock(file, { command: 'again' })).release();
  });

  it('waits for the holder when asked to, and stops waiting when the signal aborts', async () => {
    const file = path.join(temporaryDirectory(), 'lock');
    const first = await acquireFileLock(file, { command: 'first' });
    const order: string[] = [];
    const second = acquireFileLock(file, { command: 'second', waitMs: 60_000 }).then((lock) => {
      order.push('second acquired');
      return lock;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    order.push('first released');
    first.release();
    (await second).release();
    expect(order).toEqual(['first released', 'second acquired']);

    const holder = await acquireFileLock(file, { command: 'holder' });
    const controller = new AbortController();
    const waiting = acquireFileLock(file, { command: 'waiter', waitMs: 60_000, signal: controller.signal });
    const reason = new InterruptedError('interrupted by SIGINT');
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    holder.release();
  });

  it('never removes a lock that is not its own on release', async () => {
    const file = path.join(temporaryDirectory(), 'lock');
    const lock = await acquireFileLock(file, { command: 'mine' });
    const other = plantLock(file, { pid: process.pid }); // as if taken over and re-taken by another holder
    lock.release();
    expect(lockToken(file)).toBe(other.token);
  });

  it('takes over a lock whose holder died on this machine, and one whose pid now belongs to a newer process', async () => {
    const file = path.join(temporaryDirectory(), 'lock');
    const dead = plantLock(file);
    const lock = await acquireFileLock(file, { command: 'next' });
    expect(lock.record.token).not.toBe(dead.token);
    lock.release();

    if (existsSync('/proc/self/stat')) {
      plantLock(file, { pid: process.pid, processStart: '1' }); // this pid, but a process that started at boot
      (await acquireFileLock(file, { command: 'after pid reuse' })).release();
    }
  });

  it('judges a holder on another host by its heartbeat: fresh is held, older than the threshold is stale', async () => {
    const file = path.join(temporaryDirectory(), 'lock');
    const remote = plantLock(file, { host: 'build-agent-7', pid: 4242 });
    expect(await busyHolder(acquireFileLock(file, { command: 'here', staleAfterMs: 60_000 }))).toMatchObject({ host: 'build-agent-7', pid: 4242 });

    utimesSync(file, hourAgo(), hourAgo());
    const lock = await acquireFileLock(file, { command: 'here', staleAfterMs: 60_000 });
    expect(lock.record.token).not.toBe(remote.token);
    lock.release();
  });

  it('keeps its heartbeat going while held, and reports a lock it lost', async () => {
    const file = path.join(temporaryDirectory(), 'lock');
    const lost: (LockRecord | undefined)[] = [];
    const lock = await acquireFileLock(file, { command: 'holder', heartbeatMs: 10, onLost: (holder) => lost.push(holder) });
    utimesSync(file, hourAgo(), hourAgo());
    await until(() => Date.now() - statSync(file).mtimeMs < 600_000, 'the heartbeat to touch the lock');

    const thief = plantLock(file, { host: 'elsewhere' });
    await until(() => lost.length > 0, 'the holder to notice the lost lock');
    expect(lost[0]?.token).toBe(thief.token);
    lock.release();
    expect(lockToken(file)).toBe(thief.token);
  });

  it('never removes a fresh lock taken between its staleness check and its takeover', async () => {
    const file = path.join(temporaryDirectory(), 'lock');
    const stale = plantLock(file);
    let other: FileLock | undefined;
    // A judges the lock stale, then stalls; meanwhile B takes over the same stale lock and holds a fresh one.
    const holder = await busyHolder(
      acquireFileLock(file, {
        command: 'A',
        beforeTakeover: async (seen) => {
          expect(seen?.token).toBe(stale.token);
          other = await acquireFileLock(file, { command: 'B' });
        },
      }),
    );
    expect(other).toBeDefined();
    expect(holder?.token).toBe(other!.record.token);
    expect(lockToken(file)).toBe(other!.record.token);
    other!.release();
  });

  it('lets exactly one of two takers that judged the same lock stale have it', async () => {
    const file = path.join(temporaryDirectory(), 'lock');
    plantLock(file);
    let arrived = 0;
    let releaseBoth!: () => void;
    const bothJudged = new Promise<void>((resolve) => (releaseBoth = resolve));
    const beforeTakeover = async (): Promise<void> => {
      if (++arrived === 2) releaseBoth();
      await bothJudged;
    };
    const outcomes = await Promise.allSettled([
      acquireFileLock(file, { command: 'A', beforeTakeover }),
      acquireFileLock(file, { command: 'B', beforeTakeover }),
    ]);
    const winners = outcomes.filter((o): o is PromiseFulfilledResult<FileLock> => o.status === 'fulfilled');
    expect(winners).toHaveLength(1);
    expect(outcomes.find((o) => o.status === 'rejected')).toMatchObject({ reason: expect.any(LockBusyError) });
    expect(lockToken(file)).toBe(winners[0]!.value.record.token);
    winners[0]!.value.release();
  });

  it('steps around a takeover left half-done by a killed process, and cleans up after it', async () => {
    const directory = temporaryDirectory();
    const file = path.join(directory, 'lock');
    const stale = plantLock(file);
    plantLock(`${file}.takeover-${stale.token}`, { command: 'killed while taking over' });
    const lock = await acquireFileLock(file, { command: 'next' });
    lock.release();
    expect(readdirSync(directory)).toEqual([]);
  });

  it('leaves a stale lock alone while a live process is taking it over', async () => {
    const file = path.join(temporaryDirectory(), 'lock');
    const stale = plantLock(file);
    plantLock(`${file}.takeover-${stale.token}`, { pid: process.pid, command: 'taking over' });
    expect((await busyHolder(acquireFileLock(file, { command: 'next' })))?.token).toBe(stale.token);
    expect(lockToken(file)).toBe(stale.token);
  });

  it('treats an unreadable lock file as held until it is older than the stale threshold', async () => {
    const file = path.join(temporaryDirectory(), 'lock');
    writeFileSync(file, '12345\n'); // not a lock this code writes
    const error = await acquireFileLock(file, { command: 'x' }).catch((e: unknown) => e);
    expect((error as Error).message).toContain('a process that left an unreadable lock file');
    utimesSync(file, hourAgo(), hourAgo());
    (await acquireFileLock(file, { command: 'x' })).release();
  });
});

describe('file lock across processes', () => {
  it('is free for the next process when its holder is killed (SIGKILL)', async () => {
    const directory = temporaryDirectory();
    const file = path.join(directory, 'lock');
    const ready = path.join(directory, 'ready');
    const holder = await startWorker('hold', file, ready);
    await until(() => existsSync(ready), 'the holder to take the lock');
    expect((await busyHolder(acquireFileLock(file, { command: 'next' })))?.pid).toBe(holder.child.pid);
    holder.child.kill('SIGKILL');
    expect((await holder.exited).signal).toBe('SIGKILL');
    expect(existsSync(file)).toBe(true); // left behind, and stale
    (await acquireFileLock(file, { command: 'next' })).release();
  });

  it('never lets two of many contending processes into the critical section, through stale locks of killed holders', async () => {
    const directory = temporaryDirectory();
    const file = path.join(directory, 'lock');
    writeFileSync(path.join(directory, 'log'), '');
    plantLock(file);
    const rounds = 15;
    // Three finish their rounds; three are killed holding the lock after a few rounds, and every waiter then sees a stale lock.
    const dying = [2, 5, 8];
    const workers = await Promise.all([
      ...Array.from({ length: 3 }, () => startWorker('contend', file, directory, String(rounds))),
      ...dying.map((round) => startWorker('contend', file, directory, String(rounds), String(round))),
    ]);
    const exits = await Promise.all(workers.map((worker) => worker.exited));
    expect(exits.map((e) => e.signal ?? e.code)).toEqual([0, 0, 0, 'SIGKILL', 'SIGKILL', 'SIGKILL']);
    const log = readFileSync(path.join(directory, 'log'), 'utf8').trimEnd().split('\n');
    expect(log.filter((line) => line.startsWith('OVERLAP'))).toEqual([]);
    expect(log).toHaveLength(3 * rounds + dying.reduce((sum, round) => sum + round + 1, 0));
    // When the last process to run was one of the killed ones, its lock is left: stale, so free to take.
    (await acquireFileLock(file, { command: 'after all' })).release();
    expect(readdirSync(directory).sort()).toEqual(['log']);
  }, 120_000);
});
