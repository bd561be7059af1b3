import { createHash } from 'node:crypto';

/**
 * Data identity, pure. A tracked path is a file or a directory. A directory's hash is the sha256
 * of its manifest text: one line per file, `<sha256-hex> <size> <relative/path>`, sorted by the
 * path's UTF-8 bytes, so the same tree gives the same hash on every machine and `sha256sum` of a
 * stored manifest equals its key. The data version is the hash of the top-level manifest of all
 * tracked paths, which names each path's type too.
 */

export type Hex = string;

export interface FileEntry {
  /** POSIX path relative to the tracked directory (or the repository, at top level). */
  readonly path: string;
  readonly hash: Hex;
  readonly size: number;
}

export interface TrackedPath {
  /** POSIX path relative to the repository, as declared in `data.paths` (normalised). */
  readonly path: string;
  readonly type: 'file' | 'directory';
  /** Content hash of the file, or of the directory's manifest. */
  readonly hash: Hex;
  /** Total bytes of content. */
  readonly size: number;
  /** Number of files (1 for a file). */
  readonly files: number;
}

export interface DataSnapshot {
  readonly version: string;
  readonly paths: readonly TrackedPath[];
}

export const HASH_PREFIX = 'sha256:';

export function sha256Hex(content: string | Uint8Array): Hex {
  return createHash('sha256').update(content).digest('hex');
}

export function byPathBytes<T extends { path: string }>(a: T, b: T): number {
  return Buffer.compare(Buffer.from(a.path, 'utf8'), Buffer.from(b.path, 'utf8'));
}

export function directoryManifest(entries: readonly FileEntry[]): string {
  return [...entries]
    .sort(byPathBytes)
    .map((e) => `${e.hash} ${e.size} ${e.path}\n`)
    .join('');
}

/** A manifest (or a lock's path) that mlship cannot use as it is: malformed, or naming an unsafe path. */
export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestError';
  }
}

/** Names never tracked inside a data directory: version control and mlship's own state. */
export const UNTRACKED_NAMES: ReadonlySet<string> = new Set(['.git', '.mlship']);

/**
 * Why a relative POSIX path cannot name tracked data, or undefined when it can. A manifest or a
 * lock comes from a commit and the store: it must never make a pull write outside its directory
 * or into `.git` (hooks run code).
 */
export function unsafePathReason(relative: string): string | undefined {
  if (relative === '') return 'it is empty';
  if (relative.startsWith('/')) return 'it is absolute';
  if (/[\0\n\r]/.test(relative)) return 'it contains a line break or a NUL byte';
  const parts = relative.split('/');
  if (parts.some((part) => part === '' || part === '.' || part === '..')) return 'it has an empty, "." or ".." segment';
  const reserved = parts.find((part) => UNTRACKED_NAMES.has(part));
  if (reserved !== undefined) return `it is inside ${reserved}, which mlship never tracks`;
  return undefined;
}

/** Parses a stored manifest, refusing malformed lines, unsafe paths, and a file listed inside another file. */
export function parseDirectoryManifest(text: string): FileEntry[] {
  const entries: FileEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const match = /^([0-9a-f]{64}) (\d+) (.+)$/.exec(line);
    if (!match) throw new ManifestError(`malformed manifest line: ${JSON.stringify(line.slice(0, 120))}`);
    const entry = { hash: match[1]!, size: Number(match[2]), path: match[3]! };
    const unsafe = unsafePathReason(entry.path);
    if (unsafe !== undefined) throw new ManifestError(`the manifest lists ${JSON.stringify(entry.path)}, which cannot be a data file: ${unsafe}`);
    entries.push(entry);
  }
  const files = new Set<string>();
  for (const e of entries) {
    if (files.has(e.path)) throw new ManifestError(`the manifest lists ${JSON.stringify(e.path)} twice`);
    files.add(e.path);
  }
  for (const e of entries) {
    const parts = e.path.split('/');
    for (let i = 1; i < parts.length; i += 1) {
      const parent = parts.slice(0, i).join('/');
      if (files.has(parent)) throw new ManifestError(`the manifest lists ${JSON.stringify(e.path)} inside the file ${JSON.stringify(parent)}`);
    }
  }
  return entries;
}

export function trackDirectory(path: string, entries: readonly FileEntry[]): { tracked: TrackedPath; manifest: string } {
  const manifest = directoryManifest(entries);
  const size = entries.reduce((total, e) => total + e.size, 0);
  return { tracked: { path, type: 'directory', hash: sha256Hex(manifest), size, files: entries.length }, manifest };
}

export function trackFile(path: string, hash: Hex, size: number): TrackedPath {
  return { path, type: 'file', hash, size, files: 1 };
}

export function dataVersion(paths: readonly TrackedPath[]): string {
  const text = [...paths]
    .sort(byPathBytes)
    .map((p) => `${p.type} ${p.hash} ${p.size} ${p.path}\n`)
    .join('');
  return HASH_PREFIX + sha256Hex(text);
}

export function snapshotOf(paths: readonly TrackedPath[]): DataSnapshot {
  return { version: dataVersion(paths), paths: [...paths].sort(byPathBytes) };
}

/** `untracked`: the path is in the lock but `data.paths` no longer declares it (its files are not gone). */
export type ChangeKind = 'added' | 'modified' | 'deleted' | 'untracked';
export interface Change {
  readonly path: string;
  readonly change: ChangeKind;
}

export interface DiffOptions {
  /**
   * The paths declared now. A path of `before` that is not among them is reported once, as
   * `untracked`, rather than as deleted file by file. Without it every vanished path is deleted.
   */
  readonly declared?: ReadonlySet<string>;
}

/**
 * What changed from `before` to `after`, file by file. Directories are expanded through
 * `filesOf` when their manifests are known; otherwise the directory itself is reported.
 */
export function diffSnapshots(
  before: readonly TrackedPath[],
  after: readonly TrackedPath[],
  filesOf: (tracked: TrackedPath) => readonly FileEntry[] | undefined,
  options: DiffOptions = {},
): Change[] {
  const changes: Change[] = [];
  const beforeByPath = new Map(before.map((p) => [p.path, p]));
  const afterByPath = new Map(after.map((p) => [p.path, p]));
  const expand = (tracked: TrackedPath, change: ChangeKind): void => {
    const files = tracked.type === 'directory' ? filesOf(tracked) : undefined;
    if (files) for (const f of files) changes.push({ path: `${tracked.path}/${f.path}`, change });
    else changes.push({ path: tracked.path, change });
  };
  for (const [path, old] of beforeByPath) {
    const current = afterByPath.get(path);
    if (!current && options.declared && !options.declared.has(path)) changes.push({ path, change: 'untracked' });
    else if (!current) expand(old, 'deleted');
    else if (current.hash === old.hash && current.type === old.type) continue;
    else if (current.type === 'directory' && old.type === 'directory') {
      const oldFiles = filesOf(old);
      const newFiles = filesOf(current);
      if (!oldFiles || !newFiles) changes.push({ path, change: 'modified' });
      else changes.push(...diffFiles(oldFiles, newFiles).map((c) => ({ path: `${path}/${c.path}`, change: c.change })));
    } else changes.push({ path, change: 'modified' });
  }
  for (const [path, current] of afterByPath) if (!beforeByPath.has(path)) expand(current, 'added');
  return changes.sort(byPathBytes);
}

export function diffFiles(before: readonly FileEntry[], after: readonly FileEntry[]): Change[] {
  const old = new Map(before.map((f) => [f.path, f.hash]));
  const changes: Change[] = [];
  for (const f of after) {
    const previous = old.get(f.path);
    if (previous === undefined) changes.push({ path: f.path, change: 'added' });
    else if (previous !== f.hash) changes.push({ path: f.path, change: 'modified' });
    old.delete(f.path);
  }
  for (const path of old.keys()) changes.push({ path, change: 'deleted' });
  return changes.sort(byPathBytes);
}
