import { userInfo } from 'node:os';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { ConfigurationError } from '../errors.js';
import { openRegistry } from '../adapters/registry/open-registry.js';
import { MODEL_VERSION, RUN_ID, type ModelVersionRecord, type RunRecord } from '../domain/registry/records.js';
import type { Registry } from '../domain/registry/registry.js';
import type { CommandContext } from '../commands/command.js';

export async function openProjectRegistry(context: CommandContext): Promise<{ loaded: LoadedConfig; registry: Registry }> {
  const loaded = loadConfig(context.configFile, context.configDisplay);
  const registry = await openRegistry(loaded.config.registry, loaded.root, loaded.where(['registry', 'store']), { secrets: context.secrets, env: context.env });
  return { loaded, registry };
}

export interface Resolved {
  /** The run the reference names: the run itself, or for a model version or alias, the run it points at. */
  readonly run: RunRecord | undefined;
  readonly model: ModelVersionRecord | undefined;
  /** How the reference was read, for messages: `run …`, `model version …`, `alias production`. */
  readonly via: string;
}

/** A model version written in full, or shortened (`sha256:1a2b3c4d5e6f`, `1a2b3c4d5e6f`, at least 6 hex digits). */
const VERSION_PREFIX = /^(sha256:)?([0-9a-f]{6,64})$/;

/**
 * Finds what a person named, in every form mlship prints: a run id, a model version (`sha256:…`,
 * or a unique prefix such as `registry list` shows, with or without `sha256:`), or an alias.
 */
export async function resolveReference(registry: Registry, reference: string): Promise<Resolved> {
  if (RUN_ID.test(reference)) {
    const run = await registry.run(reference);
    if (!run) throw new ConfigurationError(`no run ${reference} in the registry ${registry.location}`);
    return { run, model: run.modelVersion ? await registry.model(run.modelVersion) : undefined, via: `run ${reference}` };
  }
  const alias = await registry.alias(reference);
  if (alias) {
    const model = await registry.model(alias.version);
    const runId = alias.runId ?? (await registry.modelRuns(alias.version))[0];
    return { run: runId ? await registry.run(runId) : undefined, model, via: `alias ${reference}` };
  }
  const prefix = VERSION_PREFIX.exec(reference)?.[2];
  if (prefix !== undefined) {
    const version = MODEL_VERSION.test(`sha256:${prefix}`) ? `sha256:${prefix}` : await uniqueVersion(registry, prefix, reference);
    const model = await registry.model(version);
    if (!model) throw new ConfigurationError(`${reference} is not a model version in the registry ${registry.location}`);
    const [newest] = await registry.modelRuns(version);
    return { run: await registry.run(newest ?? model.runId), model, via: `model version ${version}` };
  }
  throw new ConfigurationError(
    `${JSON.stringify(reference)} is not a run id (20261123T101500Z-3fa9c2), a model version (sha256:<hex>, or its first 12 digits) or an alias in the registry ${registry.location}`,
  );
}

async function uniqueVersion(registry: Registry, prefix: string, reference: string): Promise<string> {
  const matches = (await registry.modelVersions()).filter((version) => version.startsWith(`sha256:${prefix}`));
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw new ConfigurationError(`no model version starts with ${reference} in the registry ${registry.location}`);
  throw new ConfigurationError(`${reference} is ambiguous: ${matches.length} model versions start with it (${matches.slice(0, 5).join(', ')}); give more digits`);
}

/** Who is acting, for the alias history: the Actions actor, else the local user. */
export function actor(env: Readonly<Record<string, string | undefined>>): string {
  if (env.GITHUB_ACTOR) return env.GITHUB_ACTOR;
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** The workflow run that acts, when in GitHub Actions: the ledger links to it. */
export function workflowRunUrl(env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (!env.GITHUB_REPOSITORY || !env.GITHUB_RUN_ID) return undefined;
  return `${env.GITHUB_SERVER_URL ?? 'https://github.com'}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}${env.GITHUB_RUN_ATTEMPT ? `/attempts/${env.GITHUB_RUN_ATTEMPT}` : ''}`;
}
