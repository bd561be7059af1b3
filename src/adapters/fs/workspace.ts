import { existsSync, lstatSync, mkdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigurationError, errnoCode } from '../../errors.js';
import {
  ManifestError,
  parseDirectoryManifest,
  sha256Hex,
  snapshotOf,
  trackDirectory,
  trackFile,
  type DataSnapshot,
  type FileEntry,
  type Hex,
  type TrackedPath,
} from '../../domain/data/manifest.js';
import type { Reporter } from '../runtime/reporter.js';
import { writeFileAtomic } from './atomic.js';
import { HashPool, HashReadError } from './hash-pool.js';
import { normaliseDeclaredPaths, readFailure, scanDeclaredPaths, type DeclaredPath, type ScannedFile, type ScannedPath } from './scan.js';
import { StatCache } from './stat-cache.js';

/** mlship's local state inside a repository; never committed (it ignores itself). */
export class StateDirectory {
  readonly directory: string;

  constructor(readonly root: string) {
    this.directory = path.join(root, '.mlship');
  }

  path(...parts: string[]): string {
    return path.join(this.directory, ...parts);
  }

  /** Creates `.mlship/` with a `.gitignore` of `*`, so nothing in it is ever committed by accident. */
  ensure(): void {
    mkdirSync(this.directory, { recursive: true });
    const ignore = this.path('.gitignore');
    if (!existsSync(ignore)) writeFileSync(ignore, '# mlship local state: caches and the default store\n*\n');
  }
}

/** Directory manifests by hash, kept locally so status can say which file in a directory changed. */
export class ManifestCache {
  constructor(private readonly state: StateDirectory) {}

  get(hash: Hex): FileEntry[] | undefined {
    const text = this.text(hash);
    if (text === undefined) return undefined;
    try {
      return parseDirectoryManifest(text);
    } catch (error) {
      if (!(error instanceof ManifestError)) throw error;
      throw new ConfigurationError(`the directory manifest sha256:${hash} cannot be used: ${error.message}`, { cause: error });
    }
  }

  /** The manifest's text, when it is here and still hashes to its name. */
  text(hash: Hex): string | undefined {
    try {
      const text = readFileSync(this.state.path('cache', 'manifests', hash), 'utf8');
      return sha256Hex(text) === hash ? text : undefined;
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return undefined;
      throw error;
    }
  }

  put(hash: Hex, text: string): void {
    const file = this.state.path('cache', 'manifests', hash);
    if (!existsSync(file)) writeFileAtomic(file, text);
  }
}

export interface LocatedFile extends FileEntry {
  /** Where the bytes are on disk now. */
  readonly absolute: string;
  readonly repoPath: string;
}

export interface WorkspaceSnapshot {
  readonly snapshot: DataSnapshot;
  /** Every file of each tracked path, with its hash and location. */
  readonly files: ReadonlyMap<string, readonly LocatedFile[]>;
  /** Manifest text of each tracked directory, by hash. */
  readonly manifests: ReadonlyMap<Hex, string>;
  /** Declared paths that do not exist (only with `allowMissing`; otherwise they are an error). */
  readonly missing: readonly DeclaredPath[];
  /** Entries the scan left out on purpose (nested .git, mlship temp files), by repository path. */
  readonly skipped: readonly string[];
  readonly hashedFiles: number;
  readonly hashedBytes: number;
}

export interface SnapshotOptions {
  /** Skip declared paths that do not exist instead of failing (status, pull). */
  readonly allowMissing?: boolean;
  /** Log and show progress (the CLI's and the action's reporter); absent for quiet internal use. */
  readonly reporter?: Reporter;
}

/**
 * Hashes the declared data as it is on disk now: unchanged files come from the stat cache, the
 * rest are read on all cores. Nothing outside `.mlship/` is written.
 */
export async function snapshotWorkspace(
  state: StateDirectory,
  declared: readonly DeclaredPath[],
  options: SnapshotOptions = {},
): Promise<WorkspaceSnapshot> {
  state.ensure();
  const cache = StatCache.load(state.path('cache', 'stat-cache.json'));
  // With nothing cached every file will be read: start the workers now, so their start-up
  // (tens of milliseconds each) overlaps the scan instead of following it.
  const pool = new HashPool();
  try {
    if (cache.size === 0) pool.start();
    const scanned = scanDeclaredPaths(state.root, declared, { allowMissing: options.allowMissing ?? false });
    const allFiles = scanned.flatMap((p) => p.files);
    const known = allFiles.map((f) => cache.lookup(f));
    const toHash = allFiles.filter((_, i) => known[i] === undefined);
    const totalBytes = toHash.reduce((sum, f) => sum + f.stat.size, 0);

    const hashedAt = BigInt(Date.now()) * 1_000_000n;
    const progress = toHash.length === 0 ? undefined : options.reporter?.progress('hashing', totalBytes, 'bytes');
    let results;
    try {
      results = await pool.hash(
        toHash.map((f) => ({ absolute: f.absolute, size: f.stat.size, display: f.repoPath })),
        (bytes) => progress?.advance(bytes),
      );
    } catch (error) {
      if (error instanceof HashReadError) throw readFailure(error.display, Object.assign(new Error(error.message), { code: error.code }));
      throw error;
    } finally {
      progress?.done();
    }
    const hashes = new Map<ScannedFile, { hash: Hex; size: number }>();
    allFiles.forEach((f, i) => {
      const hash = known[i];
      if (hash !== undefined) hashes.set(f, { hash, size: f.stat.size });
    });
    let hashedBytes = 0;
    toHash.forEach((f, i) => {
      const result = results[i]!;
      hashes.set(f, { hash: result.hash, size: result.bytes });
      hashedBytes += result.bytes;
      // A file that grew or shrank while being read is not remembered: its next stat will differ.
      if (result.bytes === result.stat.size) cache.remember(f.repoPath, result.stat, result.hash, hashedAt);
    });
    const normalised = normaliseDeclaredPaths(declared);
    cache.prune(normalised.map((d) => d.path), new Set(allFiles.map((f) => f.repoPath)));
    cache.save();

    const manifestCache = new ManifestCache(state);
    const manifests = new Map<Hex, string>();
    const files = new Map<string, LocatedFile[]>();
    const tracked: TrackedPath[] = scanned.map((p) => {
      const located = p.files.map((f): LocatedFile => {
        const { hash, size } = hashes.get(f)!;
        return { path: f.relative, hash, size, absolute: f.absolute, repoPath: f.repoPath };
      });
      files.set(p.path, located);
      return trackedPathOf(p, located, manifests, manifestCache);
    });
    const found = new Set(scanned.map((p) => p.path));
    return {
      snapshot: snapshotOf(tracked),
      files,
      manifests,
      missing: normalised.filter((d) => !found.has(d.path)),
      skipped: scanned.flatMap((p) => p.skipped),
      hashedFiles: toHash.length,
      hashedBytes,
    };
  } finally {
    await pool.close();
  }
}

function trackedPathOf(
  scanned: ScannedPath,
  located: readonly LocatedFile[],
  manifests: Map<Hex, string>,
  manifestCache: ManifestCache,
): TrackedPath {
  if (scanned.type === 'file') {
    const only = located[0]!;
    return trackFile(scanned.path, only.hash, only.size);
  }
  const { tracked, manifest } = trackDirectory(
    scanned.path,
    located.map((f) => ({ path: f.path, hash: f.hash, size: f.size })),
  );
  manifests.set(tracked.hash, manifest);
  manifestCache.put(tracked.hash, manifest);
  return tracked;
}

/** The declared paths of the config with their positions, ready for scanning. */
export function declaredPaths(paths: readonly string[], where: (p: (string | number)[]) => string): DeclaredPath[] {
  return paths.map((p, i) => ({ path: p, where: where(['data', 'paths', i]) }));
}

export function requireLockData<T>(data: T | undefined, lockFile: string): T {
  if (data === undefined) {
    throw new ConfigurationError(`${lockFile} has no data section yet; run \`mlship data snapshot\` first`);
  }
  return data;
}

/** What stands in the way of writing or deleting through a parent directory. */
export type ParentObstacle =
  /** A symlink to a directory: anything done through it happens to its target. */
  | { readonly kind: 'symlink'; readonly at: string; readonly target: string }
  /** A file (or a symlink to one) where a directory must be. */
  | { readonly kind: 'file'; readonly at: string };

/**
 * Looks at the directories between the repository root and the paths a pull writes or deletes,
 * each once, without following symlinks: a pull never acts through a symlinked directory.
 */
export class ParentChecker {
  private readonly seen = new Map<string, ParentObstacle | 'directory' | 'absent'>();

  constructor(private readonly root: string) {}

  /** The first parent of `repoPath` that is not a plain directory, or undefined (parents absent count as fine). */
  obstacleAbove(repoPath: string): ParentObstacle | undefined {
    const parts = repoPath.split('/');
    for (let i = 1; i < parts.length; i += 1) {
      const state = this.inspect(parts.slice(0, i).join('/'));
      if (state === 'absent') return undefined;
      if (state !== 'directory') return state;
    }
    return undefined;
  }

  private inspect(repoPath: string): ParentObstacle | 'directory' | 'absent' {
    let state = this.seen.get(repoPath);
    if (state !== undefined) return state;
    const absolute = path.join(this.root, repoPath);
    const info = lstatSync(absolute, { throwIfNoEntry: false });
    if (info === undefined) state = 'absent';
    else if (info.isDirectory()) state = 'directory';
    else if (info.isSymbolicLink() && statSync(absolute, { throwIfNoEntry: false })?.isDirectory()) {
      state = { kind: 'symlink', at: repoPath, target: realpathSync(absolute) };
    } else state = { kind: 'file', at: repoPath };
    this.seen.set(repoPath, state);
    return state;
  }
}
