import { lstatSync, readdirSync, realpathSync, statSync, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { ConfigurationError, InfrastructureError, errnoCode, describeError } from '../../errors.js';
import { TEMPORARY_NAME } from './atomic.js';
import type { FileStat } from './hash-pool.js';
import { UNTRACKED_NAMES } from '../../domain/data/manifest.js';

/** One regular file found under a tracked path. */
export interface ScannedFile {
  /** POSIX path relative to the tracked path ('' when the tracked path is the file itself). */
  readonly relative: string;
  /** POSIX path relative to the repository; the stat cache key. */
  readonly repoPath: string;
  readonly absolute: string;
  /** What the stat cache needs to trust a remembered hash. */
  readonly stat: FileStat;
}

export interface ScanOptions {
  /** Skip declared paths that do not exist instead of failing. */
  readonly allowMissing?: boolean;
}

export interface ScannedPath {
  readonly path: string;
  readonly type: 'file' | 'directory';
  readonly files: readonly ScannedFile[];
  /** Entries left out on purpose (a nested .git, mlship temp files), by repository path: never tracked, never deleted. */
  readonly skipped: readonly string[];
}

export interface DeclaredPath {
  readonly path: string;
  /** Where the path is declared, for error messages (`mlship.yml:4:12 data.paths[0]`). */
  readonly where: string;
}

/** Directory names never tracked inside a data directory: VCS and mlship's own state. */
export const SKIPPED_NAMES = UNTRACKED_NAMES;

/** Whether the scan leaves this directory entry out: version control, mlship's state, an mlship temp file. */
export function isSkippedName(name: string): boolean {
  return SKIPPED_NAMES.has(name) || TEMPORARY_NAME.test(name);
}

/** Normalises a declared path to POSIX form relative to the root; refuses escapes and overlaps. */
export function normaliseDeclaredPaths(declared: readonly DeclaredPath[]): DeclaredPath[] {
  const normalised = declared.map((d) => {
    const clean = path.posix.normalize(d.path.replaceAll('\\', '/')).replace(/\/+$/, '');
    if (clean === '.' || clean === '') {
      throw new ConfigurationError(`${d.where}: "${d.path}" is the whole repository; declare the data files or directories themselves`);
    }
    if (clean === '..' || clean.startsWith('../')) {
      throw new ConfigurationError(`${d.where}: "${d.path}" is outside the repository; data must live inside it`);
    }
    if (clean.split('/').some((part) => SKIPPED_NAMES.has(part))) {
      throw new ConfigurationError(`${d.where}: "${d.path}" is inside .git or .mlship, which mlship never tracks`);
    }
    return { path: clean, where: d.where };
  });
  for (const a of normalised) {
    for (const b of normalised) {
      if (a === b) continue;
      if (a.path === b.path) throw new ConfigurationError(`${b.where}: "${b.path}" is declared twice (also at ${a.where})`);
      if (b.path.startsWith(`${a.path}/`)) {
        throw new ConfigurationError(`${b.where}: "${b.path}" is inside "${a.path}" (${a.where}); declare each file once`);
      }
    }
  }
  return normalised;
}

/**
 * Finds every regular file under the declared paths. Refuses, by name: missing paths, symlinks
 * that lead outside the repository, special files, and names mlship cannot record.
 */
export function scanDeclaredPaths(root: string, declared: readonly DeclaredPath[], options: ScanOptions = {}): ScannedPath[] {
  const realRoot = realpathSync(root);
  const paths = normaliseDeclaredPaths(declared);
  const present = options.allowMissing ? paths.filter((d) => existsOrLink(path.join(root, d.path))) : paths;
  return present.map((d) => scanOne(root, realRoot, d));
}

function existsOrLink(absolute: string): boolean {
  try {
    lstatSync(absolute);
    return true;
  } catch {
    return false;
  }
}

function scanOne(root: string, realRoot: string, declared: DeclaredPath): ScannedPath {
  const absolute = path.join(root, declared.path);
  const info = lstatOrExplain(absolute, declared);
  const target = followInsideRepo(absolute, info, realRoot, declared.path, declared.where);
  if (target.isFile()) {
    return { path: declared.path, type: 'file', files: [fileOf('', declared.path, absolute, target)], skipped: [] };
  }
  if (target.isDirectory()) {
    const files: ScannedFile[] = [];
    const skipped: string[] = [];
    const walker = { realRoot, trackedPath: declared.path, where: declared.where, out: files, skipped };
    walk(walker, absolute, '', new Set([realpathSync(absolute)]));
    return { path: declared.path, type: 'directory', files, skipped };
  }
  throw new ConfigurationError(`${declared.where}: "${declared.path}" is ${kindOf(target)}; only regular files and directories can be tracked`);
}

interface Walker {
  readonly realRoot: string;
  readonly trackedPath: string;
  readonly where: string;
  readonly out: ScannedFile[];
  readonly skipped: string[];
}

function walk(walker: Walker, directory: string, relative: string, visited: Set<string>): void {
  const { trackedPath, where } = walker;
  let entries;
  try {
    entries = readdirSync(directory, { withFileTypes: true });
  } catch (error) {
    throw readFailure(`${trackedPath}/${relative}`.replace(/\/$/, ''), error, where);
  }
  for (const entry of entries) {
    const childRelative = relative === '' ? entry.name : `${relative}/${entry.name}`;
    const repoPath = `${trackedPath}/${childRelative}`;
    if (isSkippedName(entry.name)) {
      walker.skipped.push(repoPath);
      continue;
    }
    if (/[\n\r]/.test(entry.name)) {
      throw new ConfigurationError(`${where}: ${JSON.stringify(repoPath)} has a line break in its name, which mlship cannot record; rename it`);
    }
    const absolute = path.join(directory, entry.name);
    const info = lstatOrExplain(absolute, { path: repoPath, where });
    const target = followInsideRepo(absolute, info, walker.realRoot, repoPath, where);
    if (target.isFile()) walker.out.push(fileOf(childRelative, repoPath, absolute, target));
    else if (target.isDirectory()) {
      const real = realpathSync(absolute);
      if (visited.has(real)) throw new ConfigurationError(`${where}: "${repoPath}" is a symlink loop`);
      visited.add(real);
      walk(walker, absolute, childRelative, visited);
      visited.delete(real);
    } else {
      throw new ConfigurationError(`${where}: "${repoPath}" is ${kindOf(target)}; only regular files and directories can be tracked`);
    }
  }
}

function fileOf(relative: string, repoPath: string, absolute: string, info: BigIntStats): ScannedFile {
  return { relative, repoPath, absolute, stat: { size: Number(info.size), mtimeNs: info.mtimeNs, ino: info.ino } };
}

function lstatOrExplain(absolute: string, declared: DeclaredPath): BigIntStats {
  try {
    return lstatSync(absolute, { bigint: true });
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') {
      throw new ConfigurationError(`${declared.where}: "${declared.path}" does not exist`);
    }
    throw readFailure(declared.path, error, declared.where);
  }
}

/** A symlink is followed only while it stays inside the repository; its target is what is tracked. */
function followInsideRepo(absolute: string, info: BigIntStats, realRoot: string, repoPath: string, where: string): BigIntStats {
  if (!info.isSymbolicLink()) return info;
  let real: string;
  try {
    real = realpathSync(absolute);
  } catch {
    throw new ConfigurationError(`${where}: "${repoPath}" is a broken symlink`);
  }
  if (real !== realRoot && !real.startsWith(realRoot + path.sep)) {
    throw new ConfigurationError(`${where}: "${repoPath}" is a symlink to ${real}, outside the repository; copy the data in instead`);
  }
  return statSync(absolute, { bigint: true });
}

function kindOf(info: BigIntStats): string {
  if (info.isFIFO()) return 'a named pipe';
  if (info.isSocket()) return 'a socket';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

export function readFailure(repoPath: string, error: unknown, where?: string): Error {
  const code = errnoCode(error);
  const prefix = where ? `${where}: ` : '';
  if (code === 'EACCES' || code === 'EPERM') {
    return new ConfigurationError(`${prefix}"${repoPath}" cannot be read (permission denied)`, { cause: error });
  }
  if (code === 'ENOENT') {
    return new ConfigurationError(`${prefix}"${repoPath}" disappeared while mlship was reading it`, { cause: error });
  }
  if (code === 'ENOTREG' || code === 'ENXIO') {
    return new ConfigurationError(`${prefix}"${repoPath}" is not a regular file; only regular files and directories can be tracked`, { cause: error });
  }
  return new InfrastructureError(`${prefix}"${repoPath}" could not be read: ${describeError(error)}`, { cause: error });
}
