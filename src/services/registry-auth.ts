import type { RegistryAuth } from '../adapters/docker/engine.js';
import type { CommandContext } from '../commands/command.js';
import { registryHost } from '../domain/image/naming.js';
import { ConfigurationError } from '../errors.js';

/** The image settings that say how to log in to the image registry. */
export interface ImageCredentials {
  readonly repository: string;
  readonly username?: string | undefined;
  readonly password_env?: string | undefined;
}

/**
 * Credentials for the image registry: the user from mlship.yml, the password only from the
 * environment variable it names (masked from then on). Build pushes with them; deploy hands them to
 * Swarm so every node can pull.
 */
export function registryAuth(image: ImageCredentials, context: CommandContext): RegistryAuth | undefined {
  if (!image.username) return undefined;
  const variable = image.password_env ?? 'MLSHIP_REGISTRY_PASSWORD';
  const password = context.env[variable];
  if (!password) throw new ConfigurationError(`image.username is ${image.username}, but the environment variable ${variable} (image.password_env) holds no password`);
  context.reporter.setSecret(password);
  return { username: image.username, password, serveraddress: registryHost(image.repository) ?? 'https://index.docker.io/v1/' };
}

/**
 * The same, when credentials would help but are not required (pulling a cache image, or nodes
 * that are logged in already): without the password it goes on without them, and says so.
 */
export function optionalRegistryAuth(image: ImageCredentials, context: CommandContext): RegistryAuth | undefined {
  try {
    return registryAuth(image, context);
  } catch (error) {
    if (error instanceof ConfigurationError) context.reporter.warning(`${error.message}: going on without registry credentials`);
    return undefined;
  }
}
