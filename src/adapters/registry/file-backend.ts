import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { InfrastructureError, describeError, errnoCode } from '../../errors.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { LockBusyError, acquireFileLock, describeHolder, type FileLock } from '../fs/file-lock.js';
import type { RegistryBackend, RegistryTransaction } from '../../domain/registry/backend.js';
import { StagedChanges, checkRegistryDirectory } from '../../domain/registry/staged-changes.js';

const LOCK_WAIT_MS = 30_000;
/** The change being applied: which staged file goes where. Its appearance (one rename) is the commit point. */
const JOURNAL = '.journal';
const STAGING = '.staging';

/** Where a change stands, for tests that stop a writer there: staged (not yet committed), committed, applying (partly moved). */
export type CommitStep = 'staged' | 'committed' | 'applying';

export interface FileRegistryOptions {
  /** For tests: awaited at each step of a change, so a test can stop (kill) a writer there. */
  readonly onCommitStep?: (step: CommitStep) => Promise<void> | void;
}

interface Journal {
  readonly id: string;
  /** Registry path → the staged file (under .staging/<id>/) holding its new content. */
  readonly files: ReadonlyMap<string, string>;
}

/**
 * The registry as files in a directory. Writers take the registry's lock (src/adapters/fs/file-lock.ts)
 * so concurrent processes on one machine or a shared file system apply their changes one at a time.
 * A change is all-or-nothing through a journal: every new file content is staged under `.staging/`,
 * then `.journal` (staged → target) appears with one rename (the commit point), then the files are
 * renamed into place and the journal removed. Readers consult a journal they find, so they see
 * every file of a committed change or none; the next writer finishes a journal a killed writer
 * left (roll forward) and removes staging it never committed.
 */
export class FileRegistryBackend implements RegistryBackend {
  readonly location: string;

  constructor(
    private readonly root: string,
    private readonly options: FileRegistryOptions = {},
  ) {
    this.location = `file://${root}`;
  }

  async read(file: string): Promise<string | undefined> {
    try {
      const staged = this.readJournal()?.files.get(file);
      if (staged !== undefined) {
        const content = readIfPresent(staged);
        if (content !== undefined) return content;
        // Already moved into place by the writer (or a roll forward): the target has it.
      }
      return readIfPresent(this.resolve(file));
    } catch (error) {
      throw this.unusable(error);
    }
  }

  async list(directory: string): Promise<string[]> {
    try {
      const dir = checkRegistryDirectory(directory);
      // The journal first: a change it lists that is fully moved by the time of the readdir is in the directory.
      const pending = [...(this.readJournal()?.files.keys() ?? [])];
      const names = new Set<string>();
      try {
        for (const name of readdirSync(this.resolveDirectory(dir))) if (!name.startsWith('.')) names.add(name);
      } catch (error) {
        if (errnoCode(error) !== 'ENOENT' && errnoCode(error) !== 'ENOTDIR') throw error;
      }
      const prefix = dir === '' ? '' : `${dir}/`;
      for (const file of pending) if (file.startsWith(prefix)) names.add(file.slice(prefix.length).split('/')[0]!);
      return [...names].sort();
    } catch (error) {
      throw this.unusable(error);
    }
  }

  async update(message: string, change: (tx: RegistryTransaction) => Promise<void>): Promise<void> {
    const lock = await this.lock(message);
    try {
      await this.finishInterruptedChange();
      const staged = new StagedChanges((files) => Promise.all(files.map((file) => this.read(file))), (directory) => this.list(directory));
      await change(staged.transaction());
      const files = await staged.changedFiles();
      if (files.size > 0) await this.commit(files);
    } finally {
      lock.release();
    }
  }

  /** Stages every file, commits the journal with one rename, then moves the files into place. */
  private async commit(files: ReadonlyMap<string, string>): Promise<void> {
    const id = randomBytes(6).toString('hex');
    const stagingDirectory = path.join(this.root, STAGING, id);
    const journal: Journal = { id, files: new Map([...files.keys()].map((file, i) => [file, path.join(stagingDirectory, String(i))])) };
    try {
      for (const file of files.keys()) this.resolve(file); // a bad path fails before anything is staged
      mkdirSync(stagingDirectory, { recursive: true });
      for (const [file, content] of files) writeDurably(journal.files.get(file)!, content);
      fsyncDirectory(stagingDirectory);
    } catch (error) {
      rmSync(stagingDirectory, { recursive: true, force: true });
      throw this.unusable(error);
    }
    await this.options.onCommitStep?.('staged');
    try {
      const entries = [...files.keys()].map((file, i) => ({ path: file, staged: String(i) }));
      writeFileAtomic(path.join(this.root, JOURNAL), `${JSON.stringify({ id, files: entries })}\n`);
      fsyncDirectory(this.root);
    } catch (error) {
      rmSync(stagingDirectory, { recursive: true, force: true });
      throw this.unusable(error);
    }
    await this.options.onCommitStep?.('committed');
    try {
      await this.apply(journal, { recovering: false });
    } catch (error) {
      // Committed: readers already see the change through the journal, and the next writer finishes it.
      throw this.unusable(error);
    }
  }

  /**
   * Moves a committed journal's staged files into place, then removes it. Safe to repeat after a
   * kill at any point: a staged file that is gone was moved already.
   */
  private async apply(journal: Journal, options: { recovering: boolean }): Promise<void> {
    const directories = new Set<string>();
    let moved = 0;
    for (const [file, staged] of journal.files) {
      const target = this.resolve(file);
      mkdirSync(path.dirname(target), { recursive: true });
      try {
        renameSync(staged, target);
      } catch (error) {
        if (errnoCode(error) !== 'ENOENT') throw error;
      }
      directories.add(path.dirname(target));
      if (++moved === 1 && !options.recovering) await this.options.onCommitStep?.('applying');
    }
    for (const directory of directories) fsyncDirectory(directory);
    rmSync(path.join(this.root, JOURNAL), { force: true });
    // Under the lock, the only staging there is: this change's.
    rmSync(path.join(this.root, STAGING), { recursive: true, force: true });
  }

  /** Under the lock: rolls forward the journal of a killed writer, and drops staging that was never committed. */
  private async finishInterruptedChange(): Promise<void> {
    try {
      const journal = this.readJournal();
      if (journal) await this.apply(journal, { recovering: true });
      rmSync(path.join(this.root, STAGING), { recursive: true, force: true });
    } catch (error) {
      throw this.unusable(error);
    }
  }

  private readJournal(): Journal | undefined {
    const file = path.join(this.root, JOURNAL);
    const text = readIfPresent(file);
    if (text === undefined) return undefined;
    try {
      const value = JSON.parse(text) as { id: unknown; files: unknown };
      if (typeof value.id !== 'string' || !/^[0-9a-f]+$/.test(value.id) || !Array.isArray(value.files)) throw new Error('unexpected shape');
      const staging = path.join(this.root, STAGING, value.id);
      const files = new Map<string, string>();
      for (const entry of value.files as { path: unknown; staged: unknown }[]) {
        if (typeof entry.path !== 'string' || typeof entry.staged !== 'string' || !/^\d+$/.test(entry.staged)) throw new Error('unexpected entry');
        files.set(entry.path, path.join(staging, entry.staged));
      }
      return { id: value.id, files };
    } catch (error) {
      throw new InfrastructureError(`registry ${this.location}: the journal ${file} is damaged (${describeError(error)}); it was not written by mlship`);
    }
  }

  private resolve(file: string): string {
    const clean = path.posix.normalize(file);
    if (clean.startsWith('../') || path.posix.isAbsolute(clean)) throw new Error(`registry path escapes the registry: ${file}`);
    return path.join(this.root, ...clean.split('/'));
  }

  private resolveDirectory(directory: string): string {
    return directory === '' ? this.root : this.resolve(directory);
  }

  private async lock(message: string): Promise<FileLock> {
    try {
      return await acquireFileLock(path.join(this.root, '.lock'), { command: `mlship registry update "${message}"`, waitMs: LOCK_WAIT_MS });
    } catch (error) {
      if (error instanceof LockBusyError) {
        throw new InfrastructureError(`registry ${this.location} stayed locked for ${LOCK_WAIT_MS / 1000} s by ${describeHolder(error.holder)} (${error.file})`);
      }
      throw error;
    }
  }

  private unusable(error: unknown): InfrastructureError {
    if (error instanceof InfrastructureError) return error;
    return new InfrastructureError(`registry ${this.location} is not usable: ${describeError(error)}`, { cause: error });
  }
}

function readIfPresent(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return undefined;
    throw error;
  }
}

function writeDurably(file: string, content: string): void {
  const fd = openSync(file, 'wx', 0o644);
  try {
    writeSync(fd, Buffer.from(content, 'utf8'));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes renames in a directory survive a power cut; where directories cannot be synced (some platforms), skipped. */
function fsyncDirectory(directory: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(directory, 'r');
    fsyncSync(fd);
  } catch (error) {
    if (!['EISDIR', 'EINVAL', 'EPERM', 'EBADF'].includes(errnoCode(error) ?? '')) throw error;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
