import { readFileSync } from 'node:fs';
import type { Hex } from '../../domain/data/manifest.js';
import { writeFileAtomic } from './atomic.js';
import type { FileStat } from './hash-pool.js';
import type { ScannedFile } from './scan.js';

interface Entry {
  size: number;
  mtimeNs: string;
  ino: string;
  hash: Hex;
}

/**
 * Remembers the hash of each file by (size, mtime in ns, inode), so an unchanged file is never
 * read twice. A file modified within `RACY_WINDOW_NS` of being hashed is not remembered: a write
 * in the same clock tick could leave mtime unchanged (git's "racy clean" problem).
 */
export class StatCache {
  static readonly RACY_WINDOW_NS = 2_000_000_000n;
  private readonly entries: Map<string, Entry>;
  private dirty = false;

  private constructor(
    private readonly file: string,
    entries: Map<string, Entry>,
  ) {
    this.entries = entries;
  }

  /** Loads the cache; a missing or unreadable cache is simply empty (it is only an optimisation). */
  static load(file: string): StatCache {
    try {
      const raw = JSON.parse(readFileSync(file, 'utf8')) as { version?: number; entries?: Record<string, Entry> };
      if (raw.version === 1 && raw.entries) return new StatCache(file, new Map(Object.entries(raw.entries)));
    } catch {
      // fall through: start empty
    }
    return new StatCache(file, new Map());
  }

  get size(): number {
    return this.entries.size;
  }

  lookup(file: ScannedFile): Hex | undefined {
    const entry = this.entries.get(file.repoPath);
    const stat = file.stat;
    if (!entry) return undefined;
    if (entry.size !== stat.size || entry.mtimeNs !== String(stat.mtimeNs) || entry.ino !== String(stat.ino)) return undefined;
    return entry.hash;
  }

  remember(repoPath: string, stat: FileStat, hash: Hex, hashedAtNs: bigint): void {
    if (hashedAtNs - stat.mtimeNs < StatCache.RACY_WINDOW_NS) return;
    this.entries.set(repoPath, { size: stat.size, mtimeNs: String(stat.mtimeNs), ino: String(stat.ino), hash });
    this.dirty = true;
  }

  /**
   * Drops the entries under `scope` (the paths just scanned) whose files are gone, so the cache
   * does not grow forever. Entries outside the scope belong to other scans (data, outputs) and stay.
   */
  prune(scope: readonly string[], present: ReadonlySet<string>): void {
    for (const key of this.entries.keys()) {
      if (present.has(key)) continue;
      if (scope.some((root) => key === root || key.startsWith(`${root}/`))) {
        this.entries.delete(key);
        this.dirty = true;
      }
    }
  }

  save(): void {
    if (!this.dirty) return;
    writeFileAtomic(this.file, JSON.stringify({ version: 1, entries: Object.fromEntries(this.entries) }));
    this.dirty = false;
  }
}
