/**
 * A model image run the way mlship runs one: the serving contract's environment, the container's
 * port published on 127.0.0.1, health read from the engine (the image's own HEALTHCHECK).
 */
import type Docker from 'dockerode';
import { setTimeout as sleep } from 'node:timers/promises';
import { demultiplex } from '../infra/docker-environment.js';

export interface ModelContainer {
  readonly container: Docker.Container;
  /** `http://127.0.0.1:PORT`, the published container port. */
  readonly url: string;
  /** When start() returned (performance.now()). */
  readonly startedAt: number;
  logs(): Promise<string>;
  remove(): Promise<void>;
}

export interface ModelContainerOptions {
  readonly env?: Record<string, string>;
  /** `host-path:container-path[:ro]` */
  readonly binds?: string[];
  /** The port the server listens on inside the container (PORT); default 8080. */
  readonly port?: number;
}

export async function startModelContainer(docker: Docker, image: string, options: ModelContainerOptions = {}): Promise<ModelContainer> {
  const port = options.port ?? 8080;
  const env = { ...options.env, PORT: String(port) };
  const container = await docker.createContainer({
    Image: image,
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    ExposedPorts: { [`${port}/tcp`]: {} },
    HostConfig: { PortBindings: { [`${port}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: '' }] }, Binds: options.binds ?? [] },
  });
  const remove = async (): Promise<void> => {
    await container.remove({ force: true }).catch((error: { statusCode?: number }) => {
      if (error.statusCode !== 404) throw error;
    });
  };
  try {
    await container.start();
    const startedAt = performance.now();
    const published = (await container.inspect()).NetworkSettings.Ports[`${port}/tcp`]?.[0]?.HostPort;
    if (!published) throw new Error(`the engine published no host port for ${port}/tcp`);
    const logs = async (): Promise<string> => {
      const { stdout, stderr } = demultiplex((await container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer);
      return stdout + stderr;
    };
    return { container, url: `http://127.0.0.1:${published}`, startedAt, logs, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

/** Waits until the engine reports the container healthy; fails at once when it exits or turns unhealthy. */
export async function waitHealthy(model: ModelContainer, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = (await model.container.inspect()).State;
    const health = state.Health?.Status;
    if (health === 'healthy') return;
    if (!state.Running || health === 'unhealthy' || Date.now() > deadline) {
      const why = !state.Running ? `exited with code ${state.ExitCode}` : health === 'unhealthy' ? 'is unhealthy' : `is still ${health ?? 'without a health status'} after ${timeoutMs / 1000} s`;
      const lastCheck = state.Health?.Log?.at(-1);
      const check = lastCheck ? `; its last health check exited ${lastCheck.ExitCode}: ${lastCheck.Output.trim()}` : '';
      throw new Error(`the model container ${why}${check}; its log:\n${await model.logs()}`);
    }
    await sleep(100);
  }
}

/** Waits for the container to exit on its own; its exit code. */
export async function waitExited(model: ModelContainer, timeoutMs = 60_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = (await model.container.inspect()).State;
    if (state.Status === 'exited') return state.ExitCode;
    if (Date.now() > deadline) throw new Error(`the model container is still ${state.Status} after ${timeoutMs / 1000} s; its log:\n${await model.logs()}`);
    await sleep(100);
  }
}

export interface JsonAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
  readonly text: string;
}

/** One request to the model; the answer's body parsed as JSON when it is JSON. */
export async function request(model: ModelContainer, pathname: string, init: { method?: string; body?: string; contentType?: string } = {}): Promise<JsonAnswer> {
  const response = await fetch(`${model.url}${pathname}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    ...(init.body === undefined ? {} : { body: init.body, headers: { 'content-type': init.contentType ?? 'application/json' } }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, body, text };
}

/** The first answer to GET `pathname` once the server accepts connections. */
export async function firstAnswer(model: ModelContainer, pathname: string, timeoutMs = 60_000): Promise<JsonAnswer> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await request(model, pathname);
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${model.url}${pathname} did not answer within ${timeoutMs / 1000} s: ${String(error)}; log:\n${await model.logs()}`);
      await sleep(100);
    }
  }
}
