#!/usr/bin/env node
import { createRequire as __mlshipCreateRequire } from 'node:module';
import { fileURLToPath as __mlshipFileURLToPath } from 'node:url';
import { dirname as __mlshipDirname } from 'node:path';
const require = __mlshipCreateRequire(import.meta.url);
const __filename = __mlshipFileURLToPath(import.meta.url);
const __dirname = __mlshipDirname(__filename);
import {
  digestOf
} from "./chunk-FF7R5VTY.js";
import {
  REGISTRY_REFUSED_CREDENTIALS
} from "./chunk-Q7XA2SVW.js";
import "./chunk-BPPGHQ47.js";
import "./chunk-TPGXKFNT.js";
import "./chunk-5RO3G7CI.js";
import "./chunk-TCQUISLK.js";
import {
  ConfigurationError,
  InfrastructureError,
  describeError
} from "./chunk-JF4PWR4C.js";
import "./chunk-GXDHUWLY.js";

// src/adapters/docker/swarm.ts
function engineMessage(error) {
  const json = error.json;
  return json?.message ?? describeError(error);
}
function statusOf(error) {
  return error.statusCode;
}
var SwarmEngine = class {
  constructor(docker, address) {
    this.docker = docker;
    this.address = address;
  }
  docker;
  address;
  /** The engine must be a Swarm manager: services can only be created and watched there. */
  async checkManager() {
    const info = await this.call("read the engine information", () => this.docker.info());
    const state = info.Swarm?.LocalNodeState ?? "inactive";
    if (state !== "active" || info.Swarm?.ControlAvailable !== true) {
      throw new InfrastructureError(
        `the Docker Engine at ${this.address} is not a Swarm manager (swarm state: ${state}${state === "active" ? ", a worker node" : ""}): run \`docker swarm init\` on it, or point docker_host at a manager`
      );
    }
  }
  /** An attachable overlay network with this name, created when absent; its id. */
  async ensureNetwork(name, labels) {
    const existing = (await this.call("list networks", () => this.docker.listNetworks({ filters: JSON.stringify({ name: [name] }) }))).find((n) => n.Name === name);
    if (existing) {
      if (existing.Driver !== "overlay") throw new InfrastructureError(`the network ${name} on ${this.address} exists with driver ${existing.Driver}, not overlay: remove it or rename the service`);
      return existing.Id;
    }
    try {
      const network = await this.docker.createNetwork({ Name: name, Driver: "overlay", Attachable: true, CheckDuplicate: true, Labels: { ...labels } });
      return network.id;
    } catch (error) {
      if (statusOf(error) === 409) return this.ensureNetwork(name, labels);
      throw this.failure(`create the network ${name}`, error);
    }
  }
  async service(name) {
    let raw;
    try {
      raw = await this.docker.getService(name).inspect();
    } catch (error) {
      if (statusOf(error) === 404) return void 0;
      throw this.failure(`inspect the service ${name}`, error);
    }
    const spec = raw.Spec;
    const previousSpec = raw.PreviousSpec;
    const update = raw.UpdateStatus;
    return {
      id: raw.ID,
      version: raw.Version.Index,
      spec,
      previousSpec,
      digest: digestOf(spec.TaskTemplate.ContainerSpec.Image),
      previousDigest: previousSpec ? digestOf(previousSpec.TaskTemplate.ContainerSpec.Image) : void 0,
      updateState: update?.State,
      updateMessage: update?.Message,
      labels: spec.Labels ?? {}
    };
  }
  /** Creates a service; with credentials, Swarm hands them to every node that pulls the image. */
  async createService(spec, auth) {
    try {
      const options = spec;
      const service = await this.docker.createService(auth, options);
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
  async updateService(id, version, spec, auth, options = {}) {
    try {
      const request = { _query: { version, ...options.rollback ? { rollback: "previous" } : {} }, _body: spec };
      const service = this.docker.getService(id);
      const withAuth = service.update;
      await (auth ? withAuth.call(service, auth, request) : service.update(request));
    } catch (error) {
      if (/update out of sequence/i.test(engineMessage(error))) {
        throw new InfrastructureError(`the service ${spec.Name} on ${this.address} was changed by someone else while mlship updated it (update out of sequence): run again`);
      }
      throw this.refusal(`update the service ${spec.Name}`, error);
    }
  }
  async tasks(serviceId) {
    const tasks = await this.call("list tasks", () => this.docker.listTasks({ filters: JSON.stringify({ service: [serviceId] }) }));
    return tasks.map((t) => {
      const status = t.Status ?? {};
      const container = t.Spec.ContainerSpec ?? {};
      return {
        id: t.ID,
        slot: t.Slot,
        nodeId: t.NodeID,
        digest: container.Image ? digestOf(container.Image) : void 0,
        state: status.State ?? "unknown",
        desiredState: t.DesiredState ?? "unknown",
        message: status.Message,
        error: status.Err,
        timestamp: status.Timestamp
      };
    });
  }
  /** A config object with this content: reused when it exists (names are content hashes), else created. */
  async ensureConfig(name, content, labels) {
    const existing = (await this.call("list configs", () => this.docker.listConfigs({ filters: JSON.stringify({ name: [name] }) }))).find((c) => c.Spec?.Name === name);
    if (existing) return { id: existing.ID, name };
    try {
      const created = await this.docker.createConfig({ Name: name, Labels: { ...labels }, Data: Buffer.from(content).toString("base64") });
      return { id: created.id ?? created.ID ?? "", name };
    } catch (error) {
      if (statusOf(error) === 409) return this.ensureConfig(name, content, labels);
      throw this.failure(`create the config ${name}`, error);
    }
  }
  /** Removes the configs carrying these labels that no service uses any more (older edge configs). */
  async removeUnusedConfigs(labels, keep) {
    const filters = JSON.stringify({ label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) });
    for (const config of await this.call("list configs", () => this.docker.listConfigs({ filters }))) {
      if (config.Spec?.Name === keep) continue;
      await this.docker.getConfig(config.ID).remove().catch(() => void 0);
    }
  }
  /**
   * The digest the registry holds for `repository@digest` (or a tag), asked by the engine as a node
   * pulling it would ask: undefined when the registry says it has no such manifest.
   */
  async registryDigest(reference, auth) {
    try {
      const answer = await this.docker.getImage(reference).distribution(auth ? { authconfig: auth } : {});
      return answer.Descriptor?.digest;
    } catch (error) {
      const message = engineMessage(error);
      if (/manifest unknown|not found|does not exist|no such/i.test(message)) return void 0;
      if (REGISTRY_REFUSED_CREDENTIALS.test(message)) {
        throw new ConfigurationError(`the registry refused to show ${reference} to the engine at ${this.address} (${message}): check image.username and image.password_env`);
      }
      throw this.failure(`ask the registry for ${reference}`, error);
    }
  }
  /** The labels of an image, pulled onto the manager first (nodes pull it anyway). */
  async imageLabels(reference, auth, limits) {
    const { pullImage } = await import("./engine-6VUTHWYV.js");
    await pullImage(this.docker, reference, auth, limits);
    const inspected = await this.call(`inspect the image ${reference}`, () => this.docker.getImage(reference).inspect());
    return inspected.Config?.Labels ?? {};
  }
  async removeService(name) {
    try {
      await this.docker.getService(name).remove();
    } catch (error) {
      if (statusOf(error) !== 404) throw this.failure(`remove the service ${name}`, error);
    }
  }
  async call(what, work) {
    try {
      return await work();
    } catch (error) {
      throw this.failure(what, error);
    }
  }
  failure(what, error) {
    return new InfrastructureError(`the Docker Engine at ${this.address} could not ${what}: ${engineMessage(error)}`, { cause: error });
  }
  /** A refused create or update: a bad spec is the user's (exit 2), anything else the engine's (exit 3). */
  refusal(what, error) {
    if (statusOf(error) === 400) return new ConfigurationError(`the Docker Engine at ${this.address} refused to ${what}: ${engineMessage(error)}`);
    return this.failure(what, error);
  }
};
export {
  SwarmEngine
};
