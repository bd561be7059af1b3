import type { LoadedConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { ConfigurationError } from '../errors.js';
import { durationOr } from '../domain/duration.js';
import { DEFAULT_CONTAINER_PORT, DEFAULT_EDGE_IMAGE, DEFAULT_ROLLOUT, DEFAULT_STOP_GRACE_MS, type RolloutSettings } from '../domain/deploy/service-spec.js';
import type { SwarmEngine } from '../adapters/docker/swarm.js';

type EnvironmentConfig = NonNullable<Config['environments']>[string];

/** An environment of mlship.yml with every default filled in: what deploy, smoke and promote act on. */
export interface EnvironmentSettings {
  readonly name: string;
  readonly project: string;
  readonly service: string;
  readonly replicas: number;
  readonly port: number;
  readonly containerPort: number;
  /** As configured (undefined: DOCKER_HOST, else the local socket). */
  readonly dockerHost: string | undefined;
  /** How mlship reaches the edge. */
  readonly url: string;
  readonly edgeImage: string;
  readonly rollout: RolloutSettings;
  readonly stopGraceMs: number;
  /** `mlship.yml:12:5 environments.staging`, for messages. */
  readonly where: (key?: string) => string;
}

/** The environment named on the command line, or an error listing the ones mlship.yml has. */
export function environmentSettings(loaded: LoadedConfig, name: string | undefined, env: Readonly<Record<string, string | undefined>>, option = '--env'): EnvironmentSettings {
  const environments = loaded.config.environments ?? {};
  const known = Object.keys(environments);
  if (name === undefined || name === '') {
    throw new ConfigurationError(`${option} is required: the environment to act on (${known.length > 0 ? `mlship.yml has ${known.join(', ')}` : 'mlship.yml has no environments section'})`);
  }
  const config: EnvironmentConfig | undefined = environments[name];
  if (config === undefined) {
    throw new ConfigurationError(`${option} ${name}: mlship.yml has no environment "${name}" (${known.length > 0 ? `it has ${known.join(', ')}` : 'it has no environments section'})`);
  }
  const where = (key?: string): string => loaded.where(['environments', name, ...(key ? [key] : [])]);
  const dockerHost = config.docker_host ?? (env.DOCKER_HOST || undefined);
  const rollout = config.rollout ?? {};
  return {
    name,
    project: loaded.config.name,
    service: config.service,
    replicas: config.replicas ?? 1,
    port: config.port,
    containerPort: config.container_port ?? DEFAULT_CONTAINER_PORT,
    dockerHost,
    url: config.url ?? defaultUrl(dockerHost, config.port),
    edgeImage: config.edge?.image ?? DEFAULT_EDGE_IMAGE,
    rollout: {
      parallelism: rollout.parallelism ?? DEFAULT_ROLLOUT.parallelism,
      order: rollout.order ?? DEFAULT_ROLLOUT.order,
      delayMs: durationOr(rollout.delay, DEFAULT_ROLLOUT.delayMs),
      monitorMs: durationOr(rollout.monitor, DEFAULT_ROLLOUT.monitorMs),
      maxFailureRatio: rollout.max_failure_ratio ?? DEFAULT_ROLLOUT.maxFailureRatio,
      timeoutMs: durationOr(rollout.timeout, DEFAULT_ROLLOUT.timeoutMs),
    },
    stopGraceMs: durationOr(config.stop_grace_period, DEFAULT_STOP_GRACE_MS),
    where,
  };
}

/** The edge on a local engine answers on loopback; on a remote one, on that host. */
function defaultUrl(dockerHost: string | undefined, port: number): string {
  if (dockerHost === undefined || dockerHost.startsWith('unix://')) return `http://127.0.0.1:${port}`;
  try {
    const host = new URL(dockerHost).hostname;
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  } catch {
    return `http://127.0.0.1:${port}`;
  }
}

/** The environment's Swarm manager, checked: a clear exit 3 (with the fix) when it is not one. */
export async function connectSwarm(settings: EnvironmentSettings, env: Readonly<Record<string, string | undefined>>): Promise<SwarmEngine> {
  // dockerode and ssh2 are large: only the deployment commands load them.
  const { checkEngine, connectEngine, engineAddress } = await import('../adapters/docker/engine.js');
  const { SwarmEngine } = await import('../adapters/docker/swarm.js');
  const address = engineAddress(settings.dockerHost);
  const docker = connectEngine(settings.dockerHost, env);
  await checkEngine(docker, address);
  // A password in the address (tcp://user:pass@host) is no one's business; the user name may stay.
  const engine = new SwarmEngine(docker, address.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1@'));
  await engine.checkManager();
  return engine;
}
