import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, requireSection, type LoadedConfig } from '../config/load.js';
import type { DataConfig } from '../config/schema.js';
import { ConfigurationError, errnoCode } from '../errors.js';
import { LOCK_FILE_NAME, LockFileError, emptyLock, parseLock, type LockFile } from '../domain/data/lockfile.js';
import type { DataSnapshot } from '../domain/data/manifest.js';
import { ManifestCache, StateDirectory, declaredPaths, requireLockData } from '../adapters/fs/workspace.js';
import type { DeclaredPath } from '../adapters/fs/scan.js';
import { openStore } from '../adapters/store/open-store.js';
import type { BlobStore } from '../adapters/store/blob-store.js';
import type { CommandContext } from '../commands/command.js';

/** What every data command starts from: the config's data section, the lock, the state directory. */
export interface DataProject {
  readonly loaded: LoadedConfig;
  readonly data: DataConfig;
  readonly state: StateDirectory;
  readonly declared: readonly DeclaredPath[];
  readonly lockFile: string;
  readonly lock: LockFile;
  readonly env: Readonly<Record<string, string | undefined>>;
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
    env: context.env,
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
  return openStore(project.data.store, project.loaded.root, project.loaded.where(['data', 'store']), project.env);
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
