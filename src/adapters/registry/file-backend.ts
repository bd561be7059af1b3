import { closeSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { InfrastructureError, describeError, errnoCode } from '../../errors.js';
import { writeFileAtomic } from '../fs/atomic.js';
import type { RegistryBackend, RegistryTransaction } from '../../domain/registry/backend.js';
import { StagedChanges } from '../../domain/registry/staged-changes.js';

/** A lock older than this was left by a killed writer (no registry change takes this long). */
const STALE_LOCK_MS = 60_000;
const LOCK_WAIT_MS = 30_000;

/**
 * The registry as files in a directory. Writers take a lock file (O_EXCL) so concurrent
 * processes on one machine or a shared file system apply their changes one at a time; each file
 * is replaced atomically (temp file + rename), and a change's writes are applied in the order it
 * made them, records before the indexes that point at them.
 */
export class FileRegistryBackend implements RegistryBackend {
  readonly location: string;

  constructor(private readonly root: string) {
    this.location = `file://${root}`;
  }

  async read(file: string): Promise<string | undefined> {
    try {
      return readFileSync(this.resolve(file), 'utf8');
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return undefined;
      throw this.unusable(error);
    }
  }

  async list(directory: string): Promise<string[]> {
    try {
      return readdirSync(this.resolve(directory)).filter((name) => !name.startsWith('.')).sort();
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return [];
      throw this.unusable(error);
    }
  }

  async update(_message: string, change: (tx: RegistryTransaction) => Promise<void>): Promise<void> {
    const release = await this.lock();
    try {
      const staged = new StagedChanges((files) => Promise.all(files.map((file) => this.read(file))), (directory) => this.list(directory));
      await change(staged.transaction());
      try {
        for (const [file, content] of await staged.changedFiles()) writeFileAtomic(this.resolve(file), content);
      } catch (error) {
        throw this.unusable(error);
      }
    } finally {
      release();
    }
  }

  private resolve(file: string): string {
    const clean = path.posix.normalize(file);
    if (clean.startsWith('../') || path.posix.isAbsolute(clean)) throw new Error(`registry path escapes the registry: ${file}`);
    return path.join(this.root, ...clean.split('/'));
  }

  private async lock(): Promise<() => void> {
    const lockFile = path.join(this.root, '.lock');
    const deadline = Date.now() + LOCK_WAIT_MS;
    let wait = 5;
    for (;;) {
      try {
        writeFileAtomic(path.join(this.root, '.keep'), '');
        const fd = openSync(lockFile, 'wx');
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        return () => rmSync(lockFile, { force: true });
      } catch (error) {
        if (errnoCode(error) !== 'EEXIST') throw this.unusable(error);
      }
      const age = Date.now() - (statSync(lockFile, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > STALE_LOCK_MS) rmSync(lockFile, { force: true });
      else if (Date.now() > deadline) {
        throw new InfrastructureError(`registry ${this.location} stayed locked for ${LOCK_WAIT_MS / 1000} s by another writer (${lockFile})`);
      } else {
        await sleep(wait + Math.random() * wait);
        wait = Math.min(wait * 2, 200);
      }
    }
  }

  private unusable(error: unknown): InfrastructureError {
    return new InfrastructureError(`registry ${this.location} is not usable: ${describeError(error)}`, { cause: error });
  }
}
