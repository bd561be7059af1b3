import { copyFile, mkdir, mkdtemp, rename, rm, rmdir, lstat } from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { temporarySibling } from '../../adapters/fs/atomic.js';
import { snapshotWorkspace, type LocatedFile } from '../../adapters/fs/workspace.js';
import { formatBytes } from '../../adapters/runtime/reporter.js';
import { ConfigurationError, errnoCode } from '../../errors.js';
import type { Hex } from '../../domain/data/manifest.js';
import { WORKSPACE_LOCK_OPTIONS, type CommandDefinition } from '../command.js';
import { DATA_VERSION_OUTPUT } from './common.js';
import { openLockedData } from '../../services/data-project.js';
import { shortVersion } from '../../domain/registry/records.js';
import { directoryEntries, downloadVerified } from '../../services/objects.js';

const DOWNLOAD_CONCURRENCY = 8;

interface Wanted {
  readonly repoPath: string;
  readonly hash: Hex;
  readonly size: number;
}

export const dataPull: CommandDefinition = {
  words: ['data', 'pull'],
  description: 'Restore the exact data tree of mlship.lock from the store, verifying every byte.',
  options: {
    force: { type: 'boolean', description: 'Overwrite or delete local changes that are not saved in the store.' },
    ...WORKSPACE_LOCK_OPTIONS,
  },
  locksWorkspace: true,
  outputs: {
    ...DATA_VERSION_OUTPUT,
    'downloaded-objects': 'Number of objects downloaded.',
    'downloaded-bytes': 'Bytes downloaded.',
    'restored-files': 'Number of files written to match mlship.lock.',
    'removed-files': 'Number of files removed because mlship.lock does not list them.',
  },
  async run(options, context) {
    const { project, locked, store, manifests: manifestCache } = await openLockedData(context, 'mlship data pull');
    const { reporter } = context;
    const root = project.loaded.root;

    const wanted = new Map<string, Wanted>();
    for (const tracked of locked.paths) {
      if (tracked.type === 'file') {
        wanted.set(tracked.path, { repoPath: tracked.path, hash: tracked.hash, size: tracked.size });
        continue;
      }
      for (const e of await directoryEntries(tracked, manifestCache, store)) {
        const repoPath = `${tracked.path}/${e.path}`;
        wanted.set(repoPath, { repoPath, hash: e.hash, size: e.size });
      }
    }

    // What is on disk now under the locked paths (unchanged files come from the stat cache).
    const lockedAsDeclared = locked.paths.map((p, i) => ({ path: p.path, where: `mlship.lock data.paths[${i}]` }));
    const local = await snapshotWorkspace(project.state, lockedAsDeclared, { allowMissing: true, reporter });
    const localFiles = new Map<string, LocatedFile>();
    for (const files of local.files.values()) for (const f of files) localFiles.set(f.repoPath, f);
    const localType = new Map(local.snapshot.paths.map((p) => [p.path, p.type]));

    const toWrite = [...wanted.values()].filter((w) => localFiles.get(w.repoPath)?.hash !== w.hash);
    const toRemove = [...localFiles.values()].filter((f) => !wanted.has(f.repoPath));
    const trackedRootOf = (f: LocatedFile): string =>
      path.join(root, f.path === '' ? f.repoPath : f.repoPath.slice(0, f.repoPath.length - f.path.length - 1));
    const replaced = locked.paths.filter((p) => localType.has(p.path) && localType.get(p.path) !== p.type);

    // Local content about to be overwritten or deleted must be recoverable from the store, or --force.
    const atRisk = [...toWrite.map((w) => localFiles.get(w.repoPath)).filter((f): f is LocatedFile => f !== undefined), ...toRemove];
    if (atRisk.length > 0 && !options.force) {
      const unsaved = new Set(await store.missing(atRisk.map((f) => f.hash)));
      const lost = atRisk.filter((f) => unsaved.has(f.hash)).sort((a, b) => a.repoPath.localeCompare(b.repoPath));
      if (lost.length > 0) {
        const names = lost.slice(0, 10).map((f) => f.repoPath).join(', ');
        throw new ConfigurationError(
          `pull would overwrite or delete ${lost.length} locally modified files that are not in the store (${names}${lost.length > 10 ? ', …' : ''}); ` +
            'run `mlship data snapshot` and `mlship data push` to keep them, or pass --force to discard them',
        );
      }
    }

    // Download every needed object into a staging directory first: if one is missing or corrupt,
    // the workspace is left exactly as it was.
    const uniqueObjects = new Map<Hex, Wanted>();
    for (const w of toWrite) if (!uniqueObjects.has(w.hash)) uniqueObjects.set(w.hash, w);
    const totalBytes = [...uniqueObjects.values()].reduce((n, w) => n + w.size, 0);
    project.state.ensure();
    await mkdir(project.state.path('tmp'), { recursive: true });
    const staging = await mkdtemp(project.state.path('tmp', 'pull-'));
    try {
      if (uniqueObjects.size > 0) {
        await reporter.group(`Downloading from ${store.location}`, async () => {
          const progress = reporter.progress('downloading', totalBytes, 'bytes');
          const limit = pLimit(DOWNLOAD_CONCURRENCY);
          try {
            await Promise.all(
              [...uniqueObjects.values()].map((w) =>
                limit(() =>
                  downloadVerified(store, w.hash, w.size, w.repoPath, path.join(staging, w.hash), (n) => progress.advance(n)).catch((error: unknown) => {
                    limit.clearQueue();
                    throw error;
                  }),
                ),
              ),
            );
          } finally {
            progress.done();
          }
        });
      }

      // Everything verified: now change the workspace.
      for (const p of replaced) await rm(path.join(root, p.path), { recursive: true, force: true });
      for (const f of toRemove) {
        await rm(f.absolute, { force: true });
        await pruneEmptyParents(path.dirname(f.absolute), trackedRootOf(f));
      }
      const remainingUses = new Map<Hex, number>();
      for (const w of toWrite) remainingUses.set(w.hash, (remainingUses.get(w.hash) ?? 0) + 1);
      for (const w of toWrite) {
        const target = path.join(root, w.repoPath);
        await prepareParent(target, root);
        const staged = path.join(staging, w.hash);
        const uses = remainingUses.get(w.hash)! - 1;
        remainingUses.set(w.hash, uses);
        await placeFile(staged, target, uses > 0);
      }
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
    const summaryLine =
      `restored ${toWrite.length} files (${uniqueObjects.size} objects, ${formatBytes(totalBytes)} downloaded)` +
      (toRemove.length > 0 ? `, removed ${toRemove.length} files not in mlship.lock` : '');
    reporter.info(`data version ${locked.version}: ${toWrite.length === 0 && toRemove.length === 0 ? 'already up to date' : summaryLine}`);
    return {
      outputs: {
        'data-version': locked.version,
        'downloaded-objects': uniqueObjects.size,
        'downloaded-bytes': totalBytes,
        'restored-files': toWrite.length,
        'removed-files': toRemove.length,
      },
      summary: `### mlship data pull\n\nData version \`${shortVersion(locked.version)}\` from \`${store.location}\`: ${summaryLine}.\n`,
    };
  },
};

/** Moves (or, when the same content is needed again, copies) a staged object into place atomically. */
async function placeFile(staged: string, target: string, keepStaged: boolean): Promise<void> {
  const temporary = temporarySibling(target);
  if (keepStaged) {
    await copyFile(staged, temporary);
  } else {
    try {
      await rename(staged, temporary);
    } catch (error) {
      if (errnoCode(error) !== 'EXDEV') throw error;
      await copyFile(staged, temporary);
    }
  }
  await rename(temporary, target);
}

/** Makes the target's directory exist, replacing a file that stands where a directory must be. */
async function prepareParent(target: string, root: string): Promise<void> {
  const parent = path.dirname(target);
  try {
    await mkdir(parent, { recursive: true });
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST' && errnoCode(error) !== 'ENOTDIR') throw error;
    let blocker = parent;
    while (blocker !== root && blocker.startsWith(root)) {
      const info = await lstat(blocker).catch(() => undefined);
      if (info && !info.isDirectory()) {
        await rm(blocker, { force: true });
        break;
      }
      blocker = path.dirname(blocker);
    }
    await mkdir(parent, { recursive: true });
  }
}

/** Removes directories emptied by a pull, up to (not including) the tracked directory itself. */
async function pruneEmptyParents(directory: string, trackedRoot: string): Promise<void> {
  let current = directory;
  while (current !== trackedRoot && current.startsWith(trackedRoot + path.sep)) {
    try {
      await rmdir(current);
    } catch {
      return; // not empty (or gone): stop here
    }
    current = path.dirname(current);
  }
}
