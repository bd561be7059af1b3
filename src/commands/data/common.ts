import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, requireSection, type LoadedConfig } from '../../config/load.js';
import type { DataConfig } from '../../config/schema.js';
import { ConfigurationError, errnoCode } from '../../errors.js';
import { LOCK_FILE_NAME, LockFileError, emptyLock, parseLock, type LockFile } from '../../domain/data/lockfile.js';
import type { Change, DataSnapshot } from '../../domain/data/manifest.js';
import { ManifestCache, StateDirectory, declaredPaths, requireLockData } from '../../adapters/fs/workspace.js';
import type { DeclaredPath } from '../../adapters/fs/scan.js';
import { openStore } from '../../adapters/store/open-store.js';
import type { BlobStore } from '../../adapters/store/blob-store.js';
import type { CommandContext } from '../command.js';
import type { Reporter } from '../../adapters/runtime/reporter.js';

/** Outputs several data commands share, described once so action.yml and help agree. */
export const DATA_VERSION_OUTPUT = {
  'data-version': 'Version of the data set (sha256 of the manifest of every declared path).',
} as const;
export const CHANGED_OUTPUT = {
  changed: 'true when the data version differs from the one mlship.lock held before.',
} as const;

/** What every data command starts from: the config's data section, the lock, the state directory. */
export interface DataProject {
  readonly loaded: LoadedConfig;
  readonly data: DataConfig;
  readonly state: StateDirectory;
  readonly declared: readonly DeclaredPath[];
  readonly lockFile: string;
  readonly lock: LockFile;
}

export function openDataProject(context: CommandContext, command: string): DataProject {
  const loaded = loadConfig(context.configFile, context.configDisplay);
  const data = requireSection(loaded, 'data', command);
  const lockFile = path.join(loaded.root, LOCK_FILE_NAME);
  return {
    loaded,
    data,
    state: new StateDirectory(loaded.root),
    declared: declaredPaths(data.paths, loaded.where),
    lockFile,
    lock: readLock(lockFile),
  };
}

export function readLock(lockFile: string): LockFile {
  let text: string;
  try {
    text = readFileSync(lockFile, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return emptyLock();
    throw new ConfigurationError(`${lockFile}: cannot be read: ${String(error)}`);
  }
  try {
    return parseLock(text);
  } catch (error) {
    if (error instanceof LockFileError) throw new ConfigurationError(`${path.basename(lockFile)}: ${error.message}`);
    throw error;
  }
}

export function storeOf(project: DataProject): Promise<BlobStore> {
  return openStore(project.data.store, project.loaded.root, project.loaded.where(['data', 'store']));
}

/** For commands that move the locked data: the project, its lock's data section, and the store. */
export async function openLockedData(
  context: CommandContext,
  command: string,
): Promise<{ project: DataProject; locked: DataSnapshot; store: BlobStore; manifests: ManifestCache }> {
  const project = openDataProject(context, command);
  const locked = requireLockData(project.lock.data, LOCK_FILE_NAME);
  return { project, locked, store: await storeOf(project), manifests: new ManifestCache(project.state) };
}

export function changeLists(changes: readonly Change[]): { added: string[]; modified: string[]; deleted: string[] } {
  const pick = (kind: Change['change']): string[] => changes.filter((c) => c.change === kind).map((c) => c.path);
  return { added: pick('added'), modified: pick('modified'), deleted: pick('deleted') };
}

/** Lists changes for people, a line each up to `limit`; the outputs and summary have them all. */
export function reportChanges(reporter: Reporter, changes: readonly Change[], limit = 20): void {
  for (const c of changes.slice(0, limit)) reporter.info(`  ${c.change.padEnd(8)} ${c.path}`);
  if (changes.length > limit) {
    const { added, modified, deleted } = changeLists(changes);
    reporter.info(`  … ${changes.length - limit} more (${added.length} added, ${modified.length} modified, ${deleted.length} deleted in all)`);
  }
}

/** A markdown list of changes for the job summary, collapsed when long. */
export function changesMarkdown(changes: readonly Change[], limit = 200): string {
  if (changes.length === 0) return 'No changes.\n';
  const marks = { added: '➕ added', modified: '✏️ modified', deleted: '➖ deleted' } as const;
  const rows = changes.slice(0, limit).map((c) => `| \`${c.path}\` | ${marks[c.change]} |`);
  if (changes.length > limit) rows.push(`| … | ${changes.length - limit} more |`);
  const table = `| Path | Change |\n| --- | --- |\n${rows.join('\n')}\n`;
  return changes.length > 20 ? `<details><summary>${changes.length} changes</summary>\n\n${table}\n</details>\n` : table;
}

export function shortVersion(version: string): string {
  return version.replace(/^sha256:/, '').slice(0, 12);
}
