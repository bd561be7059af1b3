import type { Hex } from './manifest.js';

/** A file mlship.lock wants at `repoPath`. */
export interface WantedFile {
  readonly repoPath: string;
  readonly hash: Hex;
  readonly size: number;
}

/** A file found on disk under a tracked path. */
export interface LocalFile {
  readonly repoPath: string;
  readonly hash: Hex;
}

export interface PullPlan<L extends LocalFile> {
  /** Wanted files that are absent or hold other content. */
  readonly toWrite: readonly WantedFile[];
  /** Local files mlship.lock does not list. */
  readonly toRemove: readonly L[];
  /** Local files whose content the pull replaces or removes: each must be safe in the store (or --force). */
  readonly atRisk: readonly L[];
  /**
   * Entries the scan skips (a nested .git, mlship temp files) inside a directory that stands where
   * the lock wants a file: removing that directory would delete them, so the pull must not.
   */
  readonly keptInTheWay: readonly { readonly wantedFile: string; readonly entry: string }[];
}

/** What a pull must change to make the files on disk match mlship.lock. Pure: the checks and the I/O come after. */
export function planPull<L extends LocalFile>(
  wanted: ReadonlyMap<string, WantedFile>,
  local: readonly L[],
  skipped: readonly string[],
): PullPlan<L> {
  const localByPath = new Map(local.map((f) => [f.repoPath, f]));
  const toWrite = [...wanted.values()].filter((w) => localByPath.get(w.repoPath)?.hash !== w.hash);
  const toRemove = local.filter((f) => !wanted.has(f.repoPath));
  const overwritten = toWrite.map((w) => localByPath.get(w.repoPath)).filter((f): f is L => f !== undefined);
  const keptInTheWay: { wantedFile: string; entry: string }[] = [];
  for (const entry of skipped) {
    const wantedFile = ancestorsOf(entry).find((a) => wanted.has(a));
    if (wantedFile !== undefined) keptInTheWay.push({ wantedFile, entry });
  }
  return { toWrite, toRemove, atRisk: [...overwritten, ...toRemove], keptInTheWay };
}

/** `a/b/c` → `['a', 'a/b']`. */
export function ancestorsOf(repoPath: string): string[] {
  const parts = repoPath.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}
