import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigurationError, errnoCode } from '../../errors.js';
import {
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
    try {
      const text = readFileSync(this.state.path('cache', 'manifests', hash), 'utf8');
      return sha256Hex(text) === hash ? parseDirectoryManifest(text) : undefined;
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
    cache.prune(normaliseDeclaredPaths(declared).map((d) => d.path), new Set(allFiles.map((f) => f.repoPath)));
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
    return { snapshot: snapshotOf(tracked), files, manifests, hashedFiles: toHash.length, hashedBytes };
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
