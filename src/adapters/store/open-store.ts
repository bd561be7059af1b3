import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigurationError } from '../../errors.js';
import type { StoreConfig } from '../../config/schema.js';
import type { BlobStore } from './blob-store.js';
import { FileBlobStore } from './file-store.js';

/** Where data lives when `data.store` is not set: inside the repository's ignored state directory. */
export const DEFAULT_STORE_DIRECTORY = '.mlship/store';

/**
 * Opens the store named in config. `where` names the config field in errors. Credentials never
 * come from the config file: S3 uses the AWS SDK's usual environment and profile chain. The S3
 * backend is loaded only when used: the AWS SDK is most of the bundle and slows every start.
 */
export async function openStore(
  config: StoreConfig | undefined,
  root: string,
  where: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<BlobStore> {
  const settings = typeof config === 'string' || config === undefined ? { url: config } : config;
  const url = settings.url ?? DEFAULT_STORE_DIRECTORY;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) return new FileBlobStore(path.resolve(root, url));
  if (scheme === 'file') {
    try {
      return new FileBlobStore(fileURLToPath(url));
    } catch (error) {
      throw new ConfigurationError(`${where}: ${JSON.stringify(url)} is not a valid file URL (expected file:///absolute/path)`, { cause: error });
    }
  }
  if (scheme === 's3') {
    const { S3BlobStore, parseS3Url } = await import('./s3-store.js');
    let bucket: { bucket: string; prefix: string };
    try {
      bucket = parseS3Url(url);
    } catch (error) {
      throw new ConfigurationError(`${where}: ${(error as Error).message}`, { cause: error });
    }
    return new S3BlobStore({
      ...bucket,
      ...(typeof config === 'object' && config.endpoint ? { endpoint: config.endpoint } : {}),
      ...(typeof config === 'object' && config.region ? { region: config.region } : {}),
      ...(typeof config === 'object' && config.path_style !== undefined ? { pathStyle: config.path_style } : {}),
      ...idleTimeout(env),
    });
  }
  throw new ConfigurationError(`${where}: unsupported store ${JSON.stringify(url)} (expected file:///path, s3://bucket/prefix or a relative path)`);
}

/**
 * MLSHIP_NETWORK_TIMEOUT (seconds without a byte, as for the git registry) bounds a stalled
 * store; the S3 store's own default applies when it is unset.
 */
function idleTimeout(env: Readonly<Record<string, string | undefined>>): { timeouts?: { idleMs: number } } {
  const seconds = Number(env.MLSHIP_NETWORK_TIMEOUT);
  return Number.isFinite(seconds) && seconds > 0 ? { timeouts: { idleMs: Math.round(seconds * 1000) } } : {};
}
