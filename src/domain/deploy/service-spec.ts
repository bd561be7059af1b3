import { createHash } from 'node:crypto';

/**
 * What mlship asks Swarm for, pure: mlship.yml's environment turned into Docker Engine API
 * service specs (the model service and its edge) and the edge's nginx.conf. One place builds them,
 * table-tested against the JSON the engine receives; commands only sequence.
 *
 * Topology (the Swarm ingress mesh needs IPVS, which many kernels lack, so it is not used):
 *
 *   client ─▶ edge (nginx, global, host-mode port) ─▶ model tasks (dnsrr on an overlay network)
 *
 * The edge resolves the service name through Swarm's DNS (127.0.0.11) every second and retries
 * a failed upstream on the next task, so a rolling update drops no request.
 */

const NS_PER_MS = 1_000_000;

export interface RolloutSettings {
  readonly parallelism: number;
  readonly order: 'start-first' | 'stop-first';
  readonly delayMs: number;
  readonly monitorMs: number;
  readonly maxFailureRatio: number;
  readonly timeoutMs: number;
}

export const DEFAULT_ROLLOUT: RolloutSettings = {
  parallelism: 1,
  order: 'start-first',
  delayMs: 0,
  monitorMs: 5000,
  maxFailureRatio: 0,
  timeoutMs: 5 * 60_000,
};

export const DEFAULT_CONTAINER_PORT = 8080;
export const DEFAULT_STOP_GRACE_MS = 10_000;
export const DEFAULT_EDGE_IMAGE = 'nginx:1.27-alpine';
/** The port nginx listens on inside the edge container. */
export const EDGE_CONTAINER_PORT = 80;

/**
 * Kernel settings of the edge's own network namespace. Its upstream is a variable (so tasks are
 * found as they come and go), and nginx then opens a connection per request: each leaves a socket
 * in TIME_WAIT for 60 s, and at a few hundred requests a second the default 28,000 local ports run
 * out and latencies double. Reusing TIME_WAIT ports for new outgoing connections, from a wider
 * range, keeps the edge flat under load.
 */
export const EDGE_SYSCTLS: Readonly<Record<string, string>> = {
  'net.ipv4.tcp_tw_reuse': '1',
  'net.ipv4.ip_local_port_range': '1024 65535',
};

/** The label that marks everything mlship created, and what for. */
export const LABELS = {
  project: 'mlship.project',
  environment: 'mlship.environment',
  role: 'mlship.role',
  modelVersion: 'mlship.model-version',
  dataVersion: 'mlship.data-version',
  runId: 'mlship.run-id',
  gitSha: 'mlship.git-sha',
  digest: 'mlship.image-digest',
  deployment: 'mlship.deployment-id',
} as const;

/** The part of Docker's ServiceSpec mlship writes (field names as the Engine API has them). */
export interface ServiceSpec {
  readonly Name: string;
  readonly Labels: Record<string, string>;
  readonly TaskTemplate: {
    readonly ContainerSpec: {
      readonly Image: string;
      readonly Env?: readonly string[];
      readonly Labels?: Record<string, string>;
      readonly StopGracePeriod?: number;
      readonly Sysctls?: Readonly<Record<string, string>>;
      readonly Configs?: readonly {
        readonly File: { readonly Name: string; readonly UID: string; readonly GID: string; readonly Mode: number };
        readonly ConfigID: string;
        readonly ConfigName: string;
      }[];
    };
    readonly RestartPolicy: { readonly Condition: 'any' | 'on-failure' | 'none'; readonly Delay: number; readonly MaxAttempts: number };
    readonly Networks: readonly { readonly Target: string; readonly Aliases?: readonly string[] }[];
    readonly ForceUpdate?: number;
  };
  readonly Mode: { readonly Replicated: { readonly Replicas: number } } | { readonly Global: Record<string, never> };
  readonly UpdateConfig?: UpdateConfig;
  readonly RollbackConfig?: UpdateConfig;
  readonly EndpointSpec: {
    readonly Mode: 'dnsrr' | 'vip';
    readonly Ports?: readonly { readonly Protocol: 'tcp'; readonly TargetPort: number; readonly PublishedPort: number; readonly PublishMode: 'host' | 'ingress' }[];
  };
}

export interface UpdateConfig {
  readonly Parallelism: number;
  readonly Delay: number;
  readonly FailureAction: 'pause' | 'continue' | 'rollback';
  readonly Monitor: number;
  readonly MaxFailureRatio: number;
  readonly Order: 'start-first' | 'stop-first';
}

export interface ModelServiceInput {
  readonly project: string;
  readonly environment: string;
  readonly service: string;
  /** `repository@sha256:…`: always by digest, so every node runs the very same image. */
  readonly image: string;
  readonly replicas: number;
  readonly containerPort: number;
  readonly network: string;
  readonly rollout: RolloutSettings;
  readonly stopGraceMs: number;
  /** What the server is told about itself: MLSHIP_MODEL_VERSION, … (PORT is added here). */
  readonly environmentVariables: Readonly<Record<string, string>>;
  /** mlship.* lineage labels (model version, data version, run id, git sha, digest, deployment). */
  readonly lineage: Readonly<Record<string, string>>;
}

/** The overlay network of an environment: the edge and the model tasks meet there. */
export function networkName(project: string, environment: string): string {
  return `mlship-${project}-${environment}`.slice(0, 63);
}

export function edgeServiceName(service: string): string {
  return `${service}-edge`.slice(0, 63);
}

/**
 * The model service: replicated, reachable only through the edge (dnsrr, no published port), the
 * image's own HEALTHCHECK deciding when a task is ready, and rolling updates that start the new
 * task first and roll back on failure.
 */
export function modelServiceSpec(input: ModelServiceInput): ServiceSpec {
  const labels = { ...input.lineage, [LABELS.project]: input.project, [LABELS.environment]: input.environment, [LABELS.role]: 'model' };
  const env = { ...input.environmentVariables, PORT: String(input.containerPort) };
  const update = updateConfig(input.rollout, 'rollback');
  return {
    Name: input.service,
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: input.image,
        Env: Object.entries(env)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([k, v]) => `${k}=${v}`),
        Labels: labels,
        StopGracePeriod: input.stopGraceMs * NS_PER_MS,
      },
      RestartPolicy: { Condition: 'any', Delay: 2000 * NS_PER_MS, MaxAttempts: 0 },
      Networks: [{ Target: input.network, Aliases: [input.service] }],
    },
    Mode: { Replicated: { Replicas: input.replicas } },
    UpdateConfig: update,
    // A rollback that fails stops where it is (pause) rather than flapping: mlship reports what serves.
    RollbackConfig: { ...update, FailureAction: 'pause' },
    EndpointSpec: { Mode: 'dnsrr' },
  };
}

function updateConfig(rollout: RolloutSettings, failureAction: UpdateConfig['FailureAction']): UpdateConfig {
  return {
    Parallelism: rollout.parallelism,
    Delay: rollout.delayMs * NS_PER_MS,
    FailureAction: failureAction,
    Monitor: rollout.monitorMs * NS_PER_MS,
    MaxFailureRatio: rollout.maxFailureRatio,
    Order: rollout.order,
  };
}

export interface EdgeInput {
  readonly project: string;
  readonly environment: string;
  readonly service: string;
  readonly image: string;
  readonly network: string;
  readonly publishedPort: number;
  readonly containerPort: number;
  /** The Swarm config object holding nginx.conf. */
  readonly config: { readonly id: string; readonly name: string };
}

/**
 * The edge: nginx on every node (global mode), its port published in host mode, its whole
 * nginx.conf mounted from a Swarm config, so any nginx image (official or Debian's) works.
 */
export function edgeServiceSpec(input: EdgeInput): ServiceSpec {
  const labels = { [LABELS.project]: input.project, [LABELS.environment]: input.environment, [LABELS.role]: 'edge' };
  return {
    Name: edgeServiceName(input.service),
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: input.image,
        Labels: labels,
        Sysctls: EDGE_SYSCTLS,
        Configs: [{ File: { Name: '/etc/nginx/nginx.conf', UID: '0', GID: '0', Mode: 0o444 }, ConfigID: input.config.id, ConfigName: input.config.name }],
      },
      RestartPolicy: { Condition: 'any', Delay: 1000 * NS_PER_MS, MaxAttempts: 0 },
      Networks: [{ Target: input.network }],
    },
    Mode: { Global: {} },
    UpdateConfig: { Parallelism: 1, Delay: 0, FailureAction: 'rollback', Monitor: 2000 * NS_PER_MS, MaxFailureRatio: 0, Order: 'stop-first' },
    EndpointSpec: { Mode: 'dnsrr', Ports: [{ Protocol: 'tcp', TargetPort: EDGE_CONTAINER_PORT, PublishedPort: input.publishedPort, PublishMode: 'host' }] },
  };
}

/** What differs between the edge that runs and the one wanted, in words; empty when nothing does. */
export function edgeChanges(current: ServiceSpec, wanted: ServiceSpec): string[] {
  const configs = (s: ServiceSpec): string => JSON.stringify((s.TaskTemplate.ContainerSpec.Configs ?? []).map((c) => c.ConfigName));
  const ports = (s: ServiceSpec): string => JSON.stringify((s.EndpointSpec.Ports ?? []).map((p) => `${p.PublishedPort}:${p.TargetPort}/${p.PublishMode}`));
  const sysctls = (s: ServiceSpec): string => JSON.stringify(Object.entries(s.TaskTemplate.ContainerSpec.Sysctls ?? {}).sort());
  const image = (s: ServiceSpec): string => s.TaskTemplate.ContainerSpec.Image.split('@')[0]!;
  const changes: string[] = [];
  if (image(current) !== image(wanted)) changes.push(`image ${image(wanted)}`);
  if (configs(current) !== configs(wanted)) changes.push('new nginx.conf');
  if (ports(current) !== ports(wanted)) changes.push(`published port ${wanted.EndpointSpec.Ports?.[0]?.PublishedPort ?? 'none'}`);
  if (sysctls(current) !== sysctls(wanted)) changes.push('kernel settings');
  return changes;
}

/**
 * nginx.conf of the edge. The upstream is a variable, so nginx resolves the service name through
 * Swarm's DNS at request time (every second at most) and sees tasks come and go; a connection error,
 * timeout, 502 or 503 goes to the next task (POST included: /predict is a pure function).
 */
export function edgeNginxConfig(input: { readonly service: string; readonly containerPort: number }): string {
  return `# Written by mlship: the edge of service ${input.service}. Replaced whole on every change.
worker_processes 1;
error_log /dev/stderr warn;
pid /tmp/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  resolver 127.0.0.11 valid=1s ipv6=off;
  resolver_timeout 2s;
  client_max_body_size 16m;
  server {
    listen ${EDGE_CONTAINER_PORT};
    location = /__mlship/edge { return 200 "edge ok\\n"; }
    location / {
      set $model http://${input.service}:${input.containerPort};
      proxy_pass $model;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_connect_timeout 2s;
      proxy_read_timeout 30s;
      proxy_next_upstream error timeout http_502 http_503 non_idempotent;
      proxy_next_upstream_tries 4;
      proxy_next_upstream_timeout 10s;
    }
  }
}
`;
}

/** Config objects cannot change: a new content gets a new name (its hash), and the edge moves to it. */
export function edgeConfigName(service: string, content: string): string {
  return `${edgeServiceName(service)}-${createHash('sha256').update(content).digest('hex').slice(0, 12)}`;
}

/** `repository@sha256:…` → the digest; Swarm may append its own resolution (`…@sha256:x@sha256:y`), the last wins. */
export function digestOf(image: string): string | undefined {
  const matches = image.match(/@(sha256:[0-9a-f]{64})/g);
  return matches ? matches[matches.length - 1]!.slice(1) : undefined;
}
