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
  readonly run: RunRecord | undefined;
  readonly model: ModelVersionRecord | undefined;
}

/** Finds what a person named: a run id, a model version (`sha256:…`, or a unique prefix of one run's), or an alias. */
export async function resolveReference(registry: Registry, reference: string): Promise<Resolved> {
  if (RUN_ID.test(reference)) {
    const run = await registry.run(reference);
    if (!run) throw new ConfigurationError(`no run ${reference} in the registry ${registry.location}`);
    return { run, model: run.modelVersion ? await registry.model(run.modelVersion) : undefined };
  }
  if (MODEL_VERSION.test(reference)) {
    const model = await registry.model(reference);
    if (!model) throw new ConfigurationError(`${reference} is not a model version in the registry ${registry.location}`);
    return { run: await registry.run(model.runId), model };
  }
  const alias = await registry.alias(reference);
  if (alias) return resolveReference(registry, alias.version);
  throw new ConfigurationError(
    `${JSON.stringify(reference)} is not a run id (20261123T101500Z-3fa9c2), a model version (sha256:<64 hex>) or an alias in the registry ${registry.location}`,
  );
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
