import type Docker from 'dockerode';
import { ConfigurationError, InfrastructureError, describeError } from '../../errors.js';
import type { ObservedTask, UpdateState } from '../../domain/deploy/assess.js';
import { digestOf, type ServiceSpec } from '../../domain/deploy/service-spec.js';
import { REGISTRY_REFUSED_CREDENTIALS, type RegistryAuth } from './engine.js';

/** A service as Swarm reports it: what mlship reads to decide what serves and how an update goes. */
export interface ServiceState {
  readonly id: string;
  /** The version index every update must name: Swarm refuses an update based on a stale one. */
  readonly version: number;
  readonly spec: ServiceSpec;
  readonly previousSpec?: ServiceSpec | undefined;
  readonly digest: string | undefined;
  readonly previousDigest: string | undefined;
  readonly updateState?: UpdateState | undefined;
  readonly updateMessage?: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
}

/** dockerode's error: the HTTP status and the engine's message. */
interface EngineError extends Error {
  statusCode?: number;
  json?: { message?: string } | null;
}

function engineMessage(error: unknown): string {
  const json = (error as EngineError).json;
  return json?.message ?? describeError(error);
}

function statusOf(error: unknown): number | undefined {
  return (error as EngineError).statusCode;
}

/**
 * Swarm through the Engine API (dockerode; no docker CLI): services, their tasks, overlay
 * networks and config objects. Every failure is an InfrastructureError naming the engine.
 */
export class SwarmEngine {
  constructor(
    readonly docker: Docker,
    /** Where the engine is, safe to print. */
    readonly address: string,
  ) {}

  /** The engine must be a Swarm manager: services can only be created and watched there. */
  async checkManager(): Promise<void> {
    const info = (await this.call('read the engine information', () => this.docker.info())) as { Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean } };
    const state = info.Swarm?.LocalNodeState ?? 'inactive';
    if (state !== 'active' || info.Swarm?.ControlAvailable !== true) {
      throw new InfrastructureError(
        `the Docker Engine at ${this.address} is not a Swarm manager (swarm state: ${state}${state === 'active' ? ', a worker node' : ''}): ` +
          'run `docker swarm init` on it, or point docker_host at a manager',
      );
    }
  }

  /** An attachable overlay network with this name, created when absent; its id. */
  async ensureNetwork(name: string, labels: Readonly<Record<string, string>>): Promise<string> {
    const existing = (await this.call('list networks', () => this.docker.listNetworks({ filters: JSON.stringify({ name: [name] }) }))).find((n) => n.Name === name);
    if (existing) {
      if (existing.Driver !== 'overlay') throw new InfrastructureError(`the network ${name} on ${this.address} exists with driver ${existing.Driver}, not overlay: remove it or rename the service`);
      return existing.Id;
    }
    try {
      const network = await this.docker.createNetwork({ Name: name, Driver: 'overlay', Attachable: true, CheckDuplicate: true, Labels: { ...labels } });
      return network.id;
    } catch (error) {
      // Another deploy created it meanwhile: use theirs.
      if (statusOf(error) === 409) return this.ensureNetwork(name, labels);
      throw this.failure(`create the network ${name}`, error);
    }
  }

  async service(name: string): Promise<ServiceState | undefined> {
    let raw: Record<string, unknown>;
    try {
      raw = (await this.docker.getService(name).inspect()) as Record<string, unknown>;
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw this.failure(`inspect the service ${name}`, error);
    }
    const spec = raw.Spec as ServiceSpec;
    const previousSpec = raw.PreviousSpec as ServiceSpec | undefined;
    const update = raw.UpdateStatus as { State?: UpdateState; Message?: string } | undefined;
    return {
      id: raw.ID as string,
      version: (raw.Version as { Index: number }).Index,
      spec,
      previousSpec,
      digest: digestOf(spec.TaskTemplate.ContainerSpec.Image),
      previousDigest: previousSpec ? digestOf(previousSpec.TaskTemplate.ContainerSpec.Image) : undefined,
      updateState: update?.State,
      updateMessage: update?.Message,
      labels: spec.Labels ?? {},
    };
  }

  /** Creates a service; with credentials, Swarm hands them to every node that pulls the image. */
  async createService(spec: ServiceSpec, auth: RegistryAuth | undefined): Promise<string> {
    try {
      const options = spec as unknown as Docker.CreateServiceOptions;
      // Always the two-argument form: dockerode's one-argument form sends the spec itself as the
      // X-Registry-Auth header, which Swarm would keep as the service's pull credentials.
      const service = await this.docker.createService(auth as Docker.AuthConfig, options);
      return service.id;
    } catch (error) {
      throw this.refusal(`create the service ${spec.Name}`, error);
    }
  }

  /**
   * Updates a service from the version read before: when someone else updated it meanwhile, Swarm
   * refuses (out of sequence) and nothing changes. `rollback: true` asks Swarm to go back to the
   * previous spec with its rollback config.
   */
  async updateService(id: string, version: number, spec: ServiceSpec, auth: RegistryAuth | undefined, options: { rollback?: boolean } = {}): Promise<void> {
    try {
      const request = { _query: { version, ...(options.rollback ? { rollback: 'previous' } : {}) }, _body: spec } as unknown as Record<string, unknown>;
      const service = this.docker.getService(id);
      // dockerode takes the credentials first (X-Registry-Auth); its typings omit that form.
      const withAuth = service.update as unknown as (auth: RegistryAuth, options: Record<string, unknown>) => Promise<unknown>;
      await (auth ? withAuth.call(service, auth, request) : service.update(request));
    } catch (error) {
      if (/update out of sequence/i.test(engineMessage(error))) {
        throw new InfrastructureError(`the service ${spec.Name} on ${this.address} was changed by someone else while mlship updated it (update out of sequence): run again`);
      }
      throw this.refusal(`update the service ${spec.Name}`, error);
    }
  }

  async tasks(serviceId: string): Promise<ObservedTask[]> {
    const tasks = (await this.call('list tasks', () => this.docker.listTasks({ filters: JSON.stringify({ service: [serviceId] }) }))) as Array<Record<string, unknown>>;
    return tasks.map((t) => {
      const status = (t.Status ?? {}) as { State?: string; Message?: string; Err?: string; Timestamp?: string };
      const container = ((t.Spec as { ContainerSpec?: { Image?: string } }).ContainerSpec ?? {}) as { Image?: string };
      return {
        id: t.ID as string,
        slot: t.Slot as number | undefined,
        nodeId: t.NodeID as string | undefined,
        digest: container.Image ? digestOf(container.Image) : undefined,
        state: status.State ?? 'unknown',
        desiredState: (t.DesiredState as string | undefined) ?? 'unknown',
        message: status.Message,
        error: status.Err,
        timestamp: status.Timestamp,
      };
    });
  }

  /** A config object with this content: reused when it exists (names are content hashes), else created. */
  async ensureConfig(name: string, content: string, labels: Readonly<Record<string, string>>): Promise<{ id: string; name: string }> {
    const existing = (await this.call('list configs', () => this.docker.listConfigs({ filters: JSON.stringify({ name: [name] }) }))).find((c) => c.Spec?.Name === name);
    if (existing) return { id: existing.ID, name };
    try {
      const created = (await this.docker.createConfig({ Name: name, Labels: { ...labels }, Data: Buffer.from(content).toString('base64') })) as { id?: string; ID?: string };
      return { id: created.id ?? created.ID ?? '', name };
    } catch (error) {
      if (statusOf(error) === 409) return this.ensureConfig(name, content, labels);
      throw this.failure(`create the config ${name}`, error);
    }
  }

  /** Removes the configs carrying these labels that no service uses any more (older edge configs). */
  async removeUnusedConfigs(labels: Readonly<Record<string, string>>, keep: string): Promise<void> {
    const filters = JSON.stringify({ label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) });
    for (const config of await this.call('list configs', () => this.docker.listConfigs({ filters }))) {
      if (config.Spec?.Name === keep) continue;
      // In use by a service (a rollback may still need it): the engine refuses, and that is fine.
      await this.docker
        .getConfig(config.ID)
        .remove()
        .catch(() => undefined);
    }
  }

  /**
   * The digest the registry holds for `repository@digest` (or a tag), asked by the engine as a node
   * pulling it would ask: undefined when the registry says it has no such manifest.
   */
  async registryDigest(reference: string, auth: RegistryAuth | undefined): Promise<string | undefined> {
    try {
      const answer = (await this.docker.getImage(reference).distribution(auth ? { authconfig: auth } : {})) as { Descriptor?: { digest?: string } };
      return answer.Descriptor?.digest;
    } catch (error) {
      const message = engineMessage(error);
      if (/manifest unknown|not found|does not exist|no such/i.test(message)) return undefined;
      if (REGISTRY_REFUSED_CREDENTIALS.test(message)) {
        throw new ConfigurationError(`the registry refused to show ${reference} to the engine at ${this.address} (${message}): check image.username and image.password_env`);
      }
      throw this.failure(`ask the registry for ${reference}`, error);
    }
  }

  /** The labels of an image, pulled onto the manager first (nodes pull it anyway). */
  async imageLabels(reference: string, auth: RegistryAuth | undefined, limits: { stallMs: number; signal?: AbortSignal }): Promise<Record<string, string>> {
    const { pullImage } = await import('./engine.js');
    await pullImage(this.docker, reference, auth, limits);
    const inspected = await this.call(`inspect the image ${reference}`, () => this.docker.getImage(reference).inspect());
    return (inspected.Config?.Labels ?? {}) as Record<string, string>;
  }

  async removeService(name: string): Promise<void> {
    try {
      await this.docker.getService(name).remove();
    } catch (error) {
      if (statusOf(error) !== 404) throw this.failure(`remove the service ${name}`, error);
    }
  }

  private async call<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw this.failure(what, error);
    }
  }

  private failure(what: string, error: unknown): InfrastructureError {
    return new InfrastructureError(`the Docker Engine at ${this.address} could not ${what}: ${engineMessage(error)}`, { cause: error });
  }

  /** A refused create or update: a bad spec is the user's (exit 2), anything else the engine's (exit 3). */
  private refusal(what: string, error: unknown): Error {
    if (statusOf(error) === 400) return new ConfigurationError(`the Docker Engine at ${this.address} refused to ${what}: ${engineMessage(error)}`);
    return this.failure(what, error);
  }
}
