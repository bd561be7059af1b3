import path from 'node:path';
import { loadConfig, requireSection, type LoadedConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { ConfigurationError } from '../errors.js';
import { ManifestCache, StateDirectory, declaredPaths, requireLockData, snapshotWorkspace } from '../adapters/fs/workspace.js';
import { GitCodeIdentity, type CodeScope } from '../adapters/git/code-identity.js';
import { openRegistry } from '../adapters/registry/open-registry.js';
import { openStore } from '../adapters/store/open-store.js';
import type { BlobStore } from '../adapters/store/blob-store.js';
import { LOCK_FILE_NAME } from '../domain/data/lockfile.js';
import { diffSnapshots } from '../domain/data/manifest.js';
import type { GitIdentity } from '../domain/registry/records.js';
import type { Registry } from '../domain/registry/registry.js';
import { runKey } from '../domain/train/run-key.js';
import type { CommandContext } from '../commands/command.js';
import { readLock } from './data-project.js';
import { outputPaths, readParams, type OutputPath } from './outputs.js';

/** What identifies a training run before it runs: its code, data, params and command, and where it goes. */
export interface RunIdentity {
  readonly loaded: LoadedConfig;
  readonly config: NonNullable<Config['train']>;
  readonly root: string;
  readonly state: StateDirectory;
  readonly outputs: readonly OutputPath[];
  readonly git: GitIdentity;
  readonly params: Record<string, unknown>;
  /** Each param as the params file wrote it, nested names joined by dots. */
  readonly paramText: Record<string, string>;
  readonly dataVersion: string;
  readonly key: string;
  readonly store: BlobStore;
  readonly registry: Registry;
}

/**
 * Works out the run key of the current checkout, as `train` records it and `evaluate` looks it up.
 * The data on disk must match mlship.lock (the lineage would lie otherwise) unless allowed.
 */
export async function resolveRunIdentity(
  context: CommandContext,
  options: {
    allowDirtyData: boolean;
    command: string;
    /**
     * `lock`: take the data version from mlship.lock without reading the data (deploy and promote
     * only look a run up; they need neither the data nor its hashing). Default `disk`.
     */
    data?: 'disk' | 'lock';
  },
): Promise<RunIdentity> {
  const { reporter } = context;
  const loaded = loadConfig(context.configFile, context.configDisplay);
  const config = requireSection(loaded, 'train', options.command);
  const data = requireSection(loaded, 'data', options.command);
  const root = loaded.root;
  const state = new StateDirectory(root);
  const outputs = outputPaths(config.outputs, data.paths, loaded.where);
  const locked = requireLockData(readLock(path.join(root, LOCK_FILE_NAME)).data, LOCK_FILE_NAME);

  // A declared path that is missing is an error, not "matches the lock": the run would record data it never saw.
  const workspace =
    options.data === 'lock'
      ? undefined
      : await reporter.group('Checking data against mlship.lock', () => snapshotWorkspace(state, declaredPaths(data.paths, loaded.where), { reporter }));
  const manifests = new ManifestCache(state);
  const drift = workspace ? diffSnapshots(locked.paths, workspace.snapshot.paths, (p) => manifests.get(p.hash)) : [];
  if (drift.length > 0 && !options.allowDirtyData) {
    const names = drift.slice(0, 10).map((c) => `${c.path} (${c.change})`).join(', ');
    throw new ConfigurationError(
      `the data on disk differs from mlship.lock: ${names}${drift.length > 10 ? `, and ${drift.length - 10} more` : ''}; ` +
        'run `mlship data snapshot` and commit mlship.lock, or `mlship data pull`, or pass --allow-dirty-data',
    );
  }
  const dataVersion = workspace && drift.length > 0 ? workspace.snapshot.version : locked.version;
  if (drift.length > 0) reporter.warning(`the data on disk differs from mlship.lock (${drift.length} changes): using data version ${dataVersion}`);

  const scope = codeScope(loaded, outputs, data.paths);
  const git = await new GitCodeIdentity(context.env).identify(root, scope);
  const { values: params, text: paramText } = readParams(root, config.params, loaded.where(['train', 'params']));
  const key = runKey({ code: git.code!, config: trainingConfig(config, data.paths), dataVersion, params, command: config.command });
  const store = await openStore(data.store, root, loaded.where(['data', 'store']));
  const registry = await openRegistry(loaded.config.registry, root, loaded.where(['registry', 'store']), { secrets: context.secrets, env: context.env });
  return { loaded, config, root, state, outputs, git, params, paramText, dataVersion, key, store, registry };
}

/** Never code, whatever train.include says: documentation, workflows, and what mlship hashes on its own. */
export const DEFAULT_CODE_IGNORES = ['*.md', '.github/'] as const;

/**
 * The files the run key hashes: train.include (default: all) minus the default ignores, train.ignore,
 * mlship.yml (its training sections are hashed on their own), mlship.lock (the data version is),
 * and the data and output paths (data by version; outputs are what training makes, not what it reads).
 */
export function codeScope(loaded: LoadedConfig, outputs: readonly OutputPath[], dataPaths: readonly string[]): CodeScope {
  const anchored = (file: string): string => `/${file.replace(/^\.\//, '').replace(/\/+$/, '')}`;
  const config = path.relative(loaded.root, loaded.file).split(path.sep).join('/');
  return {
    include: loaded.config.train?.include ?? [],
    ignore: [
      ...DEFAULT_CODE_IGNORES,
      anchored(config),
      anchored(LOCK_FILE_NAME),
      ...dataPaths.map(anchored),
      ...outputs.map((o) => anchored(o.path)),
      ...(loaded.config.train?.ignore ?? []),
    ],
  };
}

/** The parts of mlship.yml that change what training produces: the train section (not how much log it keeps) and the data paths. */
function trainingConfig(train: NonNullable<Config['train']>, dataPaths: readonly string[]): unknown {
  const { log_tail: _logTail, ...rest } = train;
  return { train: rest, data: { paths: [...dataPaths] } };
}
