import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigurationError } from '../../errors.js';
import { Registry } from '../../domain/registry/registry.js';
import { FileRegistryBackend } from './file-backend.js';
import type { SecretMasker } from '../../domain/secrets.js';

export const DEFAULT_REGISTRY_DIRECTORY = '.mlship/registry';
export const DEFAULT_REGISTRY_BRANCH = 'mlship-registry';

/**
 * Opens the registry named by `registry.store`: `git` (an orphan branch of the repository's
 * origin), `file:///path`, or a path relative to the repository. Default: `.mlship/registry`.
 */
export async function openRegistry(
  config: { store: string; branch?: string | undefined } | undefined,
  root: string,
  where: string,
  options: { readonly secrets?: SecretMasker; readonly env?: Readonly<Record<string, string | undefined>> } = {},
): Promise<Registry> {
  const store = config?.store ?? DEFAULT_REGISTRY_DIRECTORY;
  const redact = <T>(record: T): T => options.secrets?.maskDeep(record) ?? record;
  if (store === 'git') {
    const { GitRegistryBackend } = await import('./git/git-backend.js');
    return new Registry(new GitRegistryBackend({ repository: root, branch: config?.branch ?? DEFAULT_REGISTRY_BRANCH, ...(options.env ? { env: options.env } : {}) }), redact);
  }
  if (config?.branch !== undefined) throw new ConfigurationError(`${where}: "branch" applies only to store: git`);
  if (store.startsWith('file://')) {
    try {
      return new Registry(new FileRegistryBackend(fileURLToPath(store)), redact);
    } catch (error) {
      throw new ConfigurationError(`${where}: ${JSON.stringify(store)} is not a valid file URL (expected file:///absolute/path)`, { cause: error });
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(store)) {
    throw new ConfigurationError(`${where}: unsupported registry ${JSON.stringify(store)} (expected git, file:///path or a relative path)`);
  }
  return new Registry(new FileRegistryBackend(path.resolve(root, store)), redact);
}
