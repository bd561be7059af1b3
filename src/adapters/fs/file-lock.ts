import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, linkSync, mkdirSync, openSync, readFileSync, readlinkSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { InfrastructureError, describeError, errnoCode } from '../../errors.js';
import { temporarySibling } from './atomic.js';

/*
 * One exclusive lock between processes, on one machine or on a shared file system: the workspace
 * lock (one writer per workspace) and the file registry's writer lock both use it.
 *
 * Why not a library such as proper-lockfile: its stale-lock takeover is "see it is stale, remove
 * it, create a new one", so two processes that both saw the same stale lock can both end up
 * holding it: the slower one removes the lock the faster one just created (node-proper-lockfile
 * issue #121, npm/lockfile issue #4). It also does not record who holds a lock, which is what a
 * user needs to be told. So:
 *
 * - The lock file is created whole or not at all: its record (a random token, pid, host, command,
 *   start time) is written to a temporary file that is then hard-linked to the lock's name. link()
 *   fails when the name exists, like an O_EXCL create (and it is the create that is atomic on NFS
 *   too), and nobody ever reads a half-written lock.
 * - The holder touches the file's mtime every few seconds (heartbeat).
 * - A lock is stale when its holder is gone: on this machine (same host name and pid namespace)
 *   when its pid is dead or now belongs to a newer process; on another machine when its heartbeat
 *   is older than the stale threshold. (A holder on another host that stalls past the threshold
 *   can lose its lock; no lock on a shared file system can prevent that without fencing.)
 * - Nobody ever removes another process's fresh lock. A stale lock is removed only inside a
 *   takeover section for that very lock instance (`<lock>.takeover-<token>`, created like the lock):
 *   inside it the lock is read again and removed only if it still has the stale token and is still
 *   stale. While the lock holds that token nothing else can remove it (every removal happens in
 *   that section) and nothing can replace it, so the check and the removal cannot be split by a
 *   fresh lock. Release removes the own lock in the same section, after checking the token.
 * - A process killed inside a section leaves its section file behind; the next one in line judges
 *   it stale like a lock and uses `<section>-<its token>` instead, a name only successors of that
 *   dead holder use, so no section file ever needs a check-then-remove either. Section files are
 *   deleted once the lock no longer holds their token (which is for good: tokens are never reused).
 */

/** Who holds a lock: what the lock file records. */
export interface LockRecord {
  readonly token: string;
  readonly pid: number;
  readonly host: string;
  /** The holder's pid namespace (Linux): containers can share a host name but not their pids. */
  readonly pidNamespace?: string;
  /** When the holder's process started, in the kernel's clock ticks (Linux): a reused pid has another. */
  readonly processStart?: string;
  /** What holds it, for people: `mlship train`. */
  readonly command: string;
  /** When it was taken (ISO 8601). */
  readonly since: string;
}

export interface LockOptions {
  /** What takes the lock, as the holder is described to whoever finds it locked. */
  readonly command: string;
  /** How long to wait for a held lock; 0 (the default) tries once. */
  readonly waitMs?: number;
  /** A holder on another host whose heartbeat is older than this is presumed dead. */
  readonly staleAfterMs?: number;
  /** How often the holder touches the lock; default a sixth of the stale threshold. */
  readonly heartbeatMs?: number;
  /** Stops waiting: the promise rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Called when the heartbeat finds the lock is no longer this holder's (taken over as stale). */
  readonly onLost?: (holder: LockRecord | undefined) => void;
  /** For tests: runs after a lock was judged stale, before it is taken over (to open the race window). */
  readonly beforeTakeover?: (stale: LockRecord | undefined) => Promise<void> | void;
}

export interface FileLock {
  readonly file: string;
  readonly record: LockRecord;
  /** Removes the lock if it is still this holder's; never throws (a lock left behind is stale once the process ends). */
  release(): void;
}

/** The lock is held by someone else (after waiting, when asked to wait). */
export class LockBusyError extends InfrastructureError {
  constructor(
    readonly file: string,
    readonly holder: LockRecord | undefined,
  ) {
    super(`${file} is locked by ${describeHolder(holder)}`);
  }
}

export const DEFAULT_STALE_AFTER_MS = 60_000;
const MAX_POLL_MS = 250;
/** Nested section files appear only when a process dies inside a section of microseconds; this many means something else is wrong. */
const MAX_SECTION_DEPTH = 8;

/** Takes the lock at `file`, waiting up to `waitMs` for its holder; fails with LockBusyError naming the holder. */
export async function acquireFileLock(file: string, options: LockOptions): Promise<FileLock> {
  const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  const deadline = Date.now() + (options.waitMs ?? 0);
  let pause = 10;
  try {
    mkdirSync(path.dirname(file), { recursive: true });
  } catch (error) {
    throw cannotLock(file, error);
  }
  for (;;) {
    options.signal?.throwIfAborted();
    const record = newRecord(options.command);
    let holder: Observed;
    try {
      if (createExclusive(file, record)) return new HeldFileLock(file, record, staleAfterMs, options.heartbeatMs ?? staleAfterMs / 6, options.onLost);
      holder = observe(file);
      if (holder.kind === 'absent') continue; // released in between: try again at once
      if (isStale(holder, staleAfterMs)) {
        await options.beforeTakeover?.(holder.record);
        const stale = holder;
        const entered = inTakeoverSection(file, stale.key, options.command, staleAfterMs, () => {
          const now = observe(file);
          if (now.kind === 'present' && now.key === stale.key && isStale(now, staleAfterMs)) unlinkSync(file);
        });
        if (entered) continue;
      }
    } catch (error) {
      throw cannotLock(file, error);
    }
    if (Date.now() >= deadline) throw new LockBusyError(file, holder.record);
    await pauseFor(Math.min(pause, Math.max(1, deadline - Date.now())), options.signal);
    pause = Math.min(pause * 2, MAX_POLL_MS);
  }
}

/** `"mlship train" (pid 1234 on host ci-7, since 12:00:01Z)`, for messages. */
export function describeHolder(holder: LockRecord | undefined, now = new Date()): string {
  if (!holder) return 'a process that left an unreadable lock file';
  return `"${holder.command}" (pid ${holder.pid} on host ${holder.host}, since ${clockTime(holder.since, now)})`;
}

class HeldFileLock implements FileLock {
  private readonly heartbeat: NodeJS.Timeout;
  private released = false;
  private readonly releaseAtExit = (): void => this.release();

  constructor(
    readonly file: string,
    readonly record: LockRecord,
    private readonly staleAfterMs: number,
    heartbeatMs: number,
    private readonly onLost: ((holder: LockRecord | undefined) => void) | undefined,
  ) {
    this.heartbeat = setInterval(() => this.beat(), heartbeatMs);
    this.heartbeat.unref();
    // A second Ctrl-C ends the process at once: the lock goes with it rather than waiting to be found stale.
    process.once('exit', this.releaseAtExit);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    clearInterval(this.heartbeat);
    process.removeListener('exit', this.releaseAtExit);
    try {
      // A live process in the section is judging this lock (sections last microseconds): try again shortly.
      for (let attempt = 0; attempt < 50; attempt++) {
        const entered = inTakeoverSection(this.file, this.record.token, this.record.command, this.staleAfterMs, () => {
          if (observe(this.file).key === this.record.token) unlinkSync(this.file);
        });
        if (entered) return;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2); // release is synchronous (it also runs at exit)
      }
    } catch {
      // Left behind, the lock names this process, which makes it stale as soon as the process ends.
    }
  }

  private beat(): void {
    let current: Observed;
    try {
      current = observe(this.file);
      if (current.key === this.record.token) {
        const now = new Date();
        utimesSync(this.file, now, now);
        return;
      }
    } catch {
      return; // a file system hiccup: the next beat tries again
    }
    clearInterval(this.heartbeat);
    this.onLost?.(current.kind === 'present' ? current.record : undefined);
  }
}

type Observed =
  | { readonly kind: 'absent'; readonly key?: undefined; readonly record?: undefined }
  | {
      readonly kind: 'present';
      /** What tells this lock instance from any other: its token, or the hash of an unreadable file's bytes. */
      readonly key: string;
      readonly record: LockRecord | undefined;
      readonly mtimeMs: number;
    };

/** Reads a lock file's record and mtime from one open file, so both belong to the same lock. */
function observe(file: string): Observed {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return { kind: 'absent' };
    throw error;
  }
  try {
    const mtimeMs = fstatSync(fd).mtimeMs;
    const raw = readFileSync(fd, 'utf8');
    const record = parseRecord(raw);
    const key = record?.token ?? `x${createHash('sha256').update(raw).digest('hex').slice(0, 16)}`;
    return { kind: 'present', key, record, mtimeMs };
  } finally {
    closeSync(fd);
  }
}

function parseRecord(raw: string): LockRecord | undefined {
  try {
    const value = JSON.parse(raw) as Partial<LockRecord>;
    const valid =
      typeof value.token === 'string' &&
      /^[0-9a-f]{16}$/.test(value.token) &&
      Number.isInteger(value.pid) &&
      typeof value.host === 'string' &&
      typeof value.command === 'string' &&
      typeof value.since === 'string';
    return valid ? (value as LockRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the holder is gone: by its pid on this machine, by its heartbeat elsewhere (or when the file is unreadable). */
function isStale(lock: Observed & { kind: 'present' }, staleAfterMs: number): boolean {
  const { record } = lock;
  if (record && onThisMachine(record)) return !processAlive(record.pid, record.processStart);
  return Date.now() - lock.mtimeMs > staleAfterMs;
}

/**
 * Runs `action` as the only process acting on the lock instance `key` (across processes and hosts);
 * returns false without running it when a live process is in that section.
 */
function inTakeoverSection(file: string, key: string, command: string, staleAfterMs: number, action: () => void): boolean {
  const deadHolders: string[] = [];
  let name = `${file}.takeover-${key}`;
  for (let attempt = 0; ; attempt++) {
    if (deadHolders.length > MAX_SECTION_DEPTH || attempt > 100) {
      throw new InfrastructureError(
        `the lock ${file} cannot be taken over: processes were killed while taking it over (${name}); remove ${file}.takeover-* if no mlship command is running`,
      );
    }
    const mine = newRecord(`${command} (taking over ${path.basename(file)})`);
    if (createExclusive(name, mine)) {
      try {
        action();
      } finally {
        removeIfMine(name, mine.token);
      }
      // The lock no longer has `key`, for good: every section for it is now a no-op, so the dead holders' files can go.
      if (observe(file).key !== key) for (const dead of deadHolders.reverse()) rmSync(dead, { force: true });
      return true;
    }
    const holder = observe(name);
    if (holder.kind === 'absent') continue;
    if (!isStale(holder, staleAfterMs)) return false;
    deadHolders.push(name);
    name = `${name}-${holder.key}`;
  }
}

/**
 * Creates `file` holding `record` unless it exists: written in full to a temporary file, then
 * hard-linked into place (link fails when the name exists).
 */
function createExclusive(file: string, record: LockRecord): boolean {
  const temporary = temporarySibling(file);
  writeFileSync(temporary, `${JSON.stringify(record)}\n`, { flag: 'wx' });
  try {
    linkSync(temporary, file);
    return true;
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return false;
    // Over NFS a link can succeed and still report an error (its reply was lost): the file says.
    if (observe(file).key === record.token) return true;
    throw error;
  } finally {
    rmSync(temporary, { force: true });
  }
}

function removeIfMine(file: string, token: string): void {
  if (observe(file).key === token) rmSync(file, { force: true });
}

function newRecord(command: string): LockRecord {
  const namespace = pidNamespace();
  const start = processStartOf(process.pid);
  return {
    token: randomBytes(8).toString('hex'),
    pid: process.pid,
    host: hostname(),
    ...(namespace === undefined ? {} : { pidNamespace: namespace }),
    ...(start === undefined ? {} : { processStart: start }),
    command,
    since: new Date().toISOString(),
  };
}

function onThisMachine(record: LockRecord): boolean {
  return record.host === hostname() && record.pidNamespace === pidNamespace();
}

let ownPidNamespace: string | undefined | null = null;
function pidNamespace(): string | undefined {
  if (ownPidNamespace === null) {
    try {
      ownPidNamespace = readlinkSync('/proc/self/ns/pid');
    } catch {
      ownPidNamespace = undefined;
    }
  }
  return ownPidNamespace;
}

function processAlive(pid: number, start: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if (errnoCode(error) === 'ESRCH') return false;
    // EPERM: alive, owned by another user.
  }
  if (start === undefined) return true;
  const current = processStartOf(pid);
  return current === undefined || current === start;
}

/** Field 22 of /proc/<pid>/stat (start time since boot); undefined where there is no /proc. */
function processStartOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces: count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

async function pauseFor(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(ms * (0.5 + Math.random() / 2), undefined, signal ? { signal } : {});
  } catch (error) {
    throw signal?.reason ?? error;
  }
}

/** `12:00:01Z` today, `2026-07-01 12:00:01Z` another day (UTC, like the CI logs). */
function clockTime(iso: string, now: Date): string {
  const time = new Date(iso);
  if (Number.isNaN(time.getTime())) return iso;
  const text = time.toISOString();
  const clock = `${text.slice(11, 19)}Z`;
  return text.slice(0, 10) === now.toISOString().slice(0, 10) ? clock : `${text.slice(0, 10)} ${clock}`;
}

function cannotLock(file: string, error: unknown): unknown {
  if (error instanceof InfrastructureError) return error;
  return new InfrastructureError(`cannot take the lock ${file}: ${describeError(error)}`, { cause: error });
}
