import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { StateDirectory } from '../../adapters/fs/workspace.js';
import type { BlobStore } from '../../adapters/store/blob-store.js';
import type { Hex } from '../../domain/data/manifest.js';
import type { WantedFile } from '../../domain/data/pull-plan.js';
import { downloadVerified, fileMatches, forEachConcurrently } from '../../services/objects.js';

const OBJECT_NAME = /^[0-9a-f]{64}$/;
const PARTIAL_NAME = /^[0-9a-f]{64}\.(\d+)\.[0-9a-f]{12}\.partial$/;
const CHECK_CONCURRENCY = 4;

/**
 * Where a pull keeps the objects it downloaded and verified until it has all of them:
 * `.mlship/pull/<hash>`. It outlives an interrupted pull, so the next one downloads only the rest.
 * A download in progress is `<hash>.<pid>.<random>.partial`, renamed only once every byte matched.
 */
export class PullStaging {
  readonly directory: string;

  constructor(state: StateDirectory) {
    state.ensure();
    this.directory = state.path('pull');
  }

  objectPath(hash: Hex): string {
    return path.join(this.directory, hash);
  }

  /** Creates the area and removes partial downloads left by pulls that were killed. */
  async open(): Promise<void> {
    await mkdir(this.directory, { recursive: true });
    for (const name of await readdir(this.directory)) {
      const pid = PARTIAL_NAME.exec(name)?.[1];
      if (pid !== undefined && !isRunning(Number(pid))) await rm(path.join(this.directory, name), { force: true });
    }
  }

  /** Which of `hashes` are staged and still intact (re-hashed: they are about to become data); damaged ones are removed. */
  async intact(hashes: Iterable<Hex>, signal: AbortSignal): Promise<Set<Hex>> {
    const wanted = new Set(hashes);
    const present = (await readdir(this.directory)).filter((name) => OBJECT_NAME.test(name) && wanted.has(name));
    const good = new Set<Hex>();
    // Interrupted here, it returns what it checked: the download step then reports the interruption.
    await forEachConcurrently(present, CHECK_CONCURRENCY, signal, async (hash, stop) => {
      if (await fileMatches(this.objectPath(hash), hash, stop)) good.add(hash);
      else await rm(this.objectPath(hash), { force: true });
    });
    return good;
  }

  /** Downloads one object into the area, verified; nothing but a complete, matching object gets its name. */
  async download(store: BlobStore, wanted: WantedFile, signal: AbortSignal, onBytes: (bytes: number) => void): Promise<void> {
    const partial = path.join(this.directory, `${wanted.hash}.${process.pid}.${randomBytes(6).toString('hex')}.partial`);
    try {
      await downloadVerified(store, wanted.hash, wanted.size, wanted.repoPath, partial, onBytes, signal);
      await rename(partial, this.objectPath(wanted.hash));
    } finally {
      await rm(partial, { force: true });
    }
  }

  /** Empties the area once the workspace holds the data (what is left belongs to no pending pull). */
  async clear(): Promise<void> {
    await rm(this.directory, { recursive: true, force: true });
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
