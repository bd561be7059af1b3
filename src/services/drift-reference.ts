import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileAtCommit } from '../adapters/git/file-at-commit.js';
import { openRegistry } from '../adapters/registry/open-registry.js';
import { openStore } from '../adapters/store/open-store.js';
import { formatOf } from '../adapters/tabular/read-table.js';
import { ManifestCache, StateDirectory } from '../adapters/fs/workspace.js';
import type { LoadedConfig } from '../config/load.js';
import { ConfigurationError } from '../errors.js';
import { LOCK_FILE_NAME, parseLock } from '../domain/data/lockfile.js';
import type { DataSnapshot, Hex } from '../domain/data/manifest.js';
import { shortVersion } from '../domain/registry/records.js';
import type { CommandContext } from '../commands/command.js';
import { directoryEntries, fileMatches, restoreFile } from './objects.js';
import { readLock } from './data-project.js';

export interface ReferenceData {
  readonly files: readonly string[];
  readonly label: string;
  readonly display: (file: string) => string;
}

const PRODUCTION = 'production';

/**
 * The default reference: the data the model serving production was trained on. Its data version
 * comes from the registry; the files it holds from mlship.lock (when the lock is at that version)
 * or from mlship.lock as committed at the training run's commit. When `current` lies under one of
 * its tracked paths, that path is the reference (the same file, as it was); otherwise every data
 * file of that version. A file the workspace holds unchanged is read in place; the others are
 * downloaded, verified, into .mlship/drift/reference (by content hash): the workspace is never
 * written.
 */
export async function productionReference(loaded: LoadedConfig, context: CommandContext, current: string | undefined): Promise<ReferenceData> {
  const registry = await openRegistry(loaded.config.registry, loaded.root, loaded.where(['registry', 'store']), { secrets: context.secrets, env: context.env });
  const noReference = `set drift.reference or pass --reference FILE|DIR`;
  const alias = await registry.alias(PRODUCTION);
  if (!alias) throw new ConfigurationError(`no reference data: the registry ${registry.location} has no "${PRODUCTION}" alias yet; ${noReference}`);
  const model = await registry.model(alias.version);
  if (!model) throw new ConfigurationError(`no reference data: the registry ${registry.location} has no record of model version ${alias.version} (production); ${noReference}`);
  const run = await registry.run(alias.runId ?? model.runId);
  const snapshot = await snapshotOf(model.dataVersion, loaded.root, run?.git.sha, context.env);
  if (!snapshot) {
    throw new ConfigurationError(
      `no reference data: production's data version ${shortVersion(model.dataVersion)} is neither in mlship.lock nor in mlship.lock at its training commit${run ? ` ${run.git.sha.slice(0, 12)}` : ''}; ${noReference}`,
    );
  }
  if (!loaded.config.data) throw new ConfigurationError(`${path.basename(loaded.file)}: production's data is in the data store, and there is no data section to say where; ${noReference}`);
  const store = await openStore(loaded.config.data.store, loaded.root, loaded.where(['data', 'store']), context.env);
  const currentPath = current?.split(path.sep).join('/').replace(/\/+$/, '');
  const under = snapshot.paths.filter((p) => currentPath !== undefined && (currentPath === p.path || currentPath.startsWith(`${p.path}/`)));
  const tracked = under.length > 0 ? under : snapshot.paths;
  const manifests = new ManifestCache(new StateDirectory(loaded.root));
  const wanted: { repoPath: string; hash: Hex; size: number }[] = [];
  for (const t of tracked) {
    if (t.type === 'file') wanted.push({ repoPath: t.path, hash: t.hash, size: t.size });
    else for (const e of await directoryEntries(t, manifests, store)) wanted.push({ repoPath: `${t.path}/${e.path}`, hash: e.hash, size: e.size });
  }
  const data = wanted.filter((w) => formatOf(w.repoPath)).sort((a, b) => a.repoPath.localeCompare(b.repoPath));
  if (data.length === 0) throw new ConfigurationError(`no reference data: production's data version ${shortVersion(model.dataVersion)} holds no CSV, JSONL or Parquet file; ${noReference}`);

  const names = new Map<string, string>();
  const files: string[] = [];
  const scratch = path.join(loaded.root, '.mlship', 'drift', 'reference');
  for (const w of data) {
    const inWorkspace = path.join(loaded.root, w.repoPath);
    let file = inWorkspace;
    if (!(existsSync(inWorkspace) && (await fileMatches(inWorkspace, w.hash, context.signal)))) {
      file = path.join(scratch, `${w.hash}${path.extname(w.repoPath)}`);
      if (!(existsSync(file) && (await fileMatches(file, w.hash, context.signal)))) {
        context.reporter.info(`downloading ${w.repoPath} of production's data version ${shortVersion(model.dataVersion)} from ${store.location}`);
        await restoreFile(store, w.hash, w.size, w.repoPath, file);
      }
    }
    names.set(file, `${w.repoPath} (production data)`);
    files.push(file);
  }
  return {
    files,
    label: `production's data (${shortVersion(model.dataVersion)}: ${data.map((d) => d.repoPath).join(', ')})`,
    display: (file) => names.get(file) ?? file,
  };
}

async function snapshotOf(version: string, root: string, commit: string | undefined, env: Readonly<Record<string, string | undefined>>): Promise<DataSnapshot | undefined> {
  const lock = readLock(path.join(root, LOCK_FILE_NAME));
  if (lock.data?.version === version) return lock.data;
  if (!commit) return undefined;
  const text = await fileAtCommit(root, commit, LOCK_FILE_NAME, env);
  if (text === undefined) return undefined;
  try {
    const committed = parseLock(text);
    return committed.data?.version === version ? committed.data : undefined;
  } catch {
    return undefined;
  }
}
