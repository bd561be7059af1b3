import { copyFile, lstat, mkdir, readdir, rename, rm, rmdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { temporarySibling } from '../../adapters/fs/atomic.js';
import { isSkippedName } from '../../adapters/fs/scan.js';
import { ParentChecker, snapshotWorkspace, type LocatedFile, type ManifestCache } from '../../adapters/fs/workspace.js';
import { formatBytes, type Reporter } from '../../adapters/runtime/reporter.js';
import type { BlobStore } from '../../adapters/store/blob-store.js';
import { ConfigurationError, errnoCode } from '../../errors.js';
import type { DataSnapshot, Hex } from '../../domain/data/manifest.js';
import { planPull, type PullPlan, type WantedFile } from '../../domain/data/pull-plan.js';
import { WORKSPACE_LOCK_OPTIONS, type CommandDefinition } from '../command.js';
import { DATA_VERSION_OUTPUT } from './common.js';
import { PullStaging } from './staging.js';
import { openLockedData } from '../../services/data-project.js';
import { shortVersion } from '../../domain/registry/records.js';
import { directoryEntries, forEachConcurrently, interruptedTransfer } from '../../services/objects.js';

const DOWNLOAD_CONCURRENCY = 8;

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
    const { project, locked, store, manifests } = await openLockedData(context, 'mlship data pull');
    const { reporter, signal } = context;
    const root = project.loaded.root;

    const wanted = await lockedFiles(locked, manifests, store);
    // What is on disk now under the locked paths (unchanged files come from the stat cache).
    const lockedAsDeclared = locked.paths.map((p, i) => ({ path: p.path, where: `mlship.lock data.paths[${i}]` }));
    const local = await snapshotWorkspace(project.state, lockedAsDeclared, { allowMissing: true, reporter });
    const plan = planPull(wanted, [...local.files.values()].flat(), local.skipped);

    refuseUnsafeChanges(plan, root);
    const discarded = await unsavedLocalFiles(plan, store, signal);
    if (discarded.length > 0 && !options.force) {
      throw new ConfigurationError(
        `pull would overwrite or delete ${discarded.length} locally modified files that are not in the store (${names(discarded)}); ` +
          'run `mlship data snapshot` and `mlship data push` to keep them, or pass --force to discard them',
      );
    }
    if (discarded.length > 0) reporter.warning(`--force: discarding ${discarded.length} local files that are not in the store: ${names(discarded, 20)}`);

    // Every needed object is downloaded and verified before the workspace changes: a missing or
    // corrupt object, or an interruption, leaves it exactly as it was.
    const staging = new PullStaging(project.state);
    const fetched = await stageObjects(plan.toWrite, staging, store, reporter, signal);
    if (signal.aborted) throw interruptedTransfer(signal, `downloaded all ${fetched.objects} objects, but nothing in the workspace was changed`);

    await changeWorkspace(plan, root, staging);
    await staging.clear();

    const summaryLine =
      `restored ${plan.toWrite.length} files (${fetched.objects} objects, ${formatBytes(fetched.downloadedBytes)} downloaded` +
      (fetched.reused > 0 ? `, ${fetched.reused} kept from an interrupted pull` : '') +
      ')' +
      (plan.toRemove.length > 0 ? `, removed ${plan.toRemove.length} files not in mlship.lock` : '') +
      (discarded.length > 0 ? `, discarded ${discarded.length} local changes (--force)` : '');
    const upToDate = plan.toWrite.length === 0 && plan.toRemove.length === 0;
    reporter.info(`data version ${locked.version}: ${upToDate ? 'already up to date' : summaryLine}`);
    return {
      outputs: {
        'data-version': locked.version,
        'downloaded-objects': fetched.downloaded,
        'downloaded-bytes': fetched.downloadedBytes,
        'restored-files': plan.toWrite.length,
        'removed-files': plan.toRemove.length,
      },
      summary:
        `### mlship data pull\n\nData version \`${shortVersion(locked.version)}\` from \`${store.location}\`: ${summaryLine}.\n` +
        (discarded.length > 0 ? `\nDiscarded with --force (not in the store): ${names(discarded, 50)}\n` : ''),
    };
  },
};

/** Every file mlship.lock lists, by repository path (directory listings come from their manifests). */
async function lockedFiles(locked: DataSnapshot, manifests: ManifestCache, store: BlobStore): Promise<Map<string, WantedFile>> {
  const wanted = new Map<string, WantedFile>();
  for (const tracked of locked.paths) {
    if (tracked.type === 'file') {
      wanted.set(tracked.path, { repoPath: tracked.path, hash: tracked.hash, size: tracked.size });
      continue;
    }
    for (const e of await directoryEntries(tracked, manifests, store)) {
      const repoPath = `${tracked.path}/${e.path}`;
      wanted.set(repoPath, { repoPath, hash: e.hash, size: e.size });
    }
  }
  return wanted;
}

function names(files: readonly { repoPath: string }[], limit = 10): string {
  const sorted = files.map((f) => f.repoPath).sort();
  return sorted.slice(0, limit).join(', ') + (sorted.length > limit ? `, … (${sorted.length - limit} more)` : '');
}

/**
 * A pull writes and deletes only what it tracks, only where it tracks it. Refused, whatever
 * --force says: acting through a symlinked directory (that changes its target), replacing a file
 * mlship does not track, and deleting what the scan skips (a nested .git, mlship temp files).
 */
function refuseUnsafeChanges(plan: PullPlan<LocatedFile>, root: string): void {
  const checker = new ParentChecker(root);
  const removed = new Set(plan.toRemove.map((f) => f.repoPath));
  const problems = new Map<string, string>();
  for (const target of [...plan.toWrite.map((w) => w.repoPath), ...removed]) {
    const obstacle = checker.obstacleAbove(target);
    if (obstacle === undefined || problems.has(obstacle.at)) continue;
    if (obstacle.kind === 'symlink') {
      const through = path.join(obstacle.target, target.slice(obstacle.at.length + 1));
      problems.set(obstacle.at, `"${obstacle.at}" is a symlink to the directory ${obstacle.target}: writing or deleting "${target}" through it would change ${through}`);
    } else if (!removed.has(obstacle.at)) {
      problems.set(obstacle.at, `"${obstacle.at}" is a file mlship does not track, where "${target}" needs a directory`);
    }
  }
  for (const { entry, wantedFile } of plan.keptInTheWay) {
    if (!problems.has(entry)) problems.set(entry, `"${entry}" stands where mlship.lock has the file "${wantedFile}", and mlship never deletes what it does not track`);
  }
  if (problems.size === 0) return;
  throw new ConfigurationError(
    `pull refused, nothing was changed: ${[...problems.values()].join('; ')}. ` +
      'Replace symlinked directories with real ones and move untracked files out of the way, then run again (--force does not override this).',
  );
}

/** Local files the pull would overwrite or delete whose content the store does not have. */
async function unsavedLocalFiles(plan: PullPlan<LocatedFile>, store: BlobStore, signal: AbortSignal): Promise<LocatedFile[]> {
  if (plan.atRisk.length === 0) return [];
  const unsaved = new Set(await store.missing(plan.atRisk.map((f) => f.hash), signal));
  return plan.atRisk.filter((f) => unsaved.has(f.hash));
}

interface Fetched {
  /** Distinct objects the files to write need. */
  readonly objects: number;
  readonly downloaded: number;
  readonly downloadedBytes: number;
  /** Found verified in the staging area, left by an interrupted pull. */
  readonly reused: number;
}

/** Makes the staging area hold every object the files to write need; interrupted, says how far it got. */
async function stageObjects(toWrite: readonly WantedFile[], staging: PullStaging, store: BlobStore, reporter: Reporter, signal: AbortSignal): Promise<Fetched> {
  const needed = new Map<Hex, WantedFile>();
  for (const w of toWrite) if (!needed.has(w.hash)) needed.set(w.hash, w);
  await staging.open();
  const staged = needed.size === 0 ? new Set<Hex>() : await staging.intact(needed.keys(), signal);
  const toDownload = [...needed.values()].filter((w) => !staged.has(w.hash));
  const totalBytes = toDownload.reduce((n, w) => n + w.size, 0);
  let downloaded = 0;
  let downloadedBytes = 0;
  if (toDownload.length > 0) {
    const { interrupted } = await reporter.group(`Downloading from ${store.location}`, async () => {
      const progress = reporter.progress('downloading', totalBytes, 'bytes');
      try {
        return await forEachConcurrently(toDownload, DOWNLOAD_CONCURRENCY, signal, async (w, stop) => {
          await staging.download(store, w, stop, (n) => progress.advance(n));
          downloaded += 1;
          downloadedBytes += w.size;
        });
      } finally {
        progress.done();
      }
    });
    if (interrupted) {
      throw interruptedTransfer(
        signal,
        `downloaded ${staged.size + downloaded} of ${needed.size} objects (${formatBytes(downloadedBytes)} of ${formatBytes(totalBytes)} this time); ` +
          'nothing in the workspace was changed, and what was downloaded is kept in .mlship/pull',
      );
    }
  }
  return { objects: needed.size, downloaded, downloadedBytes, reused: staged.size };
}

/**
 * Everything is verified and checked: now change the workspace. Not interruptible: it only
 * renames and removes, and stopping half-way would leave a tree that matches no version.
 */
async function changeWorkspace(plan: PullPlan<LocatedFile>, root: string, staging: PullStaging): Promise<void> {
  for (const f of plan.toRemove) {
    await rm(f.absolute); // a file or a symlink to one, never followed; not recursive
    await pruneEmptyParents(path.dirname(f.absolute), trackedRootOf(f, root));
  }
  const remainingUses = new Map<Hex, number>();
  for (const w of plan.toWrite) remainingUses.set(w.hash, (remainingUses.get(w.hash) ?? 0) + 1);
  for (const w of plan.toWrite) {
    const target = path.join(root, w.repoPath);
    await mkdir(path.dirname(target), { recursive: true });
    await removeEmptyDirectory(target, w.repoPath);
    const uses = remainingUses.get(w.hash)! - 1;
    remainingUses.set(w.hash, uses);
    await placeFile(staging.objectPath(w.hash), target, uses > 0);
  }
}

function trackedRootOf(f: LocatedFile, root: string): string {
  return path.join(root, f.path === '' ? f.repoPath : f.repoPath.slice(0, f.repoPath.length - f.path.length - 1));
}

/** Moves (or, when the same content is needed again, copies) a staged object into place atomically. */
async function placeFile(staged: string, target: string, keepStaged: boolean): Promise<void> {
  const temporary = temporarySibling(target);
  try {
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
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * Where the lock has a file and a directory stands, that directory's files are already removed
 * (they were not in the lock) and its skipped entries were refused; what is left is empty
 * directories and symlinks, removed without following them.
 */
async function removeEmptyDirectory(absolute: string, repoPath: string): Promise<void> {
  const info = await lstat(absolute).catch(() => undefined);
  if (!info?.isDirectory()) return;
  for (const entry of await readdir(absolute, { withFileTypes: true })) {
    const child = path.join(absolute, entry.name);
    if (isSkippedName(entry.name)) throw new ConfigurationError(`"${repoPath}/${entry.name}" stands where mlship.lock has the file "${repoPath}", and mlship never deletes what it does not track`);
    if (entry.isDirectory()) await removeEmptyDirectory(child, `${repoPath}/${entry.name}`);
    else if (entry.isSymbolicLink()) await unlink(child);
    else throw new ConfigurationError(`"${repoPath}/${entry.name}" appeared during the pull, where mlship.lock has the file "${repoPath}"; move it away and run again`);
  }
  await rmdir(absolute);
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
