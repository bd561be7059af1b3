#!/usr/bin/env node
import { createRequire as __mlshipCreateRequire } from 'node:module';
import { fileURLToPath as __mlshipFileURLToPath } from 'node:url';
import { dirname as __mlshipDirname } from 'node:path';
const require = __mlshipCreateRequire(import.meta.url);
const __filename = __mlshipFileURLToPath(import.meta.url);
const __dirname = __mlshipDirname(__filename);

// src/domain/deploy/service-spec.ts
import { createHash } from "node:crypto";
var NS_PER_MS = 1e6;
var DEFAULT_ROLLOUT = {
  parallelism: 1,
  order: "start-first",
  delayMs: 0,
  monitorMs: 5e3,
  maxFailureRatio: 0,
  timeoutMs: 5 * 6e4
};
var DEFAULT_CONTAINER_PORT = 8080;
var DEFAULT_STOP_GRACE_MS = 1e4;
var DEFAULT_EDGE_IMAGE = "nginx:1.27-alpine";
var EDGE_CONTAINER_PORT = 80;
var EDGE_SYSCTLS = {
  "net.ipv4.tcp_tw_reuse": "1",
  "net.ipv4.ip_local_port_range": "1024 65535"
};
var LABELS = {
  project: "mlship.project",
  environment: "mlship.environment",
  role: "mlship.role",
  modelVersion: "mlship.model-version",
  dataVersion: "mlship.data-version",
  runId: "mlship.run-id",
  gitSha: "mlship.git-sha",
  digest: "mlship.image-digest",
  deployment: "mlship.deployment-id"
};
function networkName(project, environment) {
  return `mlship-${project}-${environment}`.slice(0, 63);
}
function edgeServiceName(service) {
  return `${service}-edge`.slice(0, 63);
}
function modelServiceSpec(input) {
  const labels = { ...input.lineage, [LABELS.project]: input.project, [LABELS.environment]: input.environment, [LABELS.role]: "model" };
  const env = { ...input.environmentVariables, PORT: String(input.containerPort) };
  const update = updateConfig(input.rollout, "rollback");
  return {
    Name: input.service,
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: input.image,
        Env: Object.entries(env).sort(([a], [b]) => a < b ? -1 : 1).map(([k, v]) => `${k}=${v}`),
        Labels: labels,
        StopGracePeriod: input.stopGraceMs * NS_PER_MS
      },
      RestartPolicy: { Condition: "any", Delay: 2e3 * NS_PER_MS, MaxAttempts: 0 },
      Networks: [{ Target: input.network, Aliases: [input.service] }]
    },
    Mode: { Replicated: { Replicas: input.replicas } },
    UpdateConfig: update,
    // A rollback that fails stops where it is (pause) rather than flapping: mlship reports what serves.
    RollbackConfig: { ...update, FailureAction: "pause" },
    EndpointSpec: { Mode: "dnsrr" }
  };
}
function updateConfig(rollout, failureAction) {
  return {
    Parallelism: rollout.parallelism,
    Delay: rollout.delayMs * NS_PER_MS,
    FailureAction: failureAction,
    Monitor: rollout.monitorMs * NS_PER_MS,
    MaxFailureRatio: rollout.maxFailureRatio,
    Order: rollout.order
  };
}
function edgeServiceSpec(input) {
  const labels = { [LABELS.project]: input.project, [LABELS.environment]: input.environment, [LABELS.role]: "edge" };
  return {
    Name: edgeServiceName(input.service),
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: input.image,
        Labels: labels,
        Sysctls: EDGE_SYSCTLS,
        Configs: [{ File: { Name: "/etc/nginx/nginx.conf", UID: "0", GID: "0", Mode: 292 }, ConfigID: input.config.id, ConfigName: input.config.name }]
      },
      RestartPolicy: { Condition: "any", Delay: 1e3 * NS_PER_MS, MaxAttempts: 0 },
      Networks: [{ Target: input.network }]
    },
    Mode: { Global: {} },
    UpdateConfig: { Parallelism: 1, Delay: 0, FailureAction: "rollback", Monitor: 2e3 * NS_PER_MS, MaxFailureRatio: 0, Order: "stop-first" },
    EndpointSpec: { Mode: "dnsrr", Ports: [{ Protocol: "tcp", TargetPort: EDGE_CONTAINER_PORT, PublishedPort: input.publishedPort, PublishMode: "host" }] }
  };
}
function edgeChanges(current, wanted) {
  const configs = (s) => JSON.stringify((s.TaskTemplate.ContainerSpec.Configs ?? []).map((c) => c.ConfigName));
  const ports = (s) => JSON.stringify((s.EndpointSpec.Ports ?? []).map((p) => `${p.PublishedPort}:${p.TargetPort}/${p.PublishMode}`));
  const sysctls = (s) => JSON.stringify(Object.entries(s.TaskTemplate.ContainerSpec.Sysctls ?? {}).sort());
  const image = (s) => s.TaskTemplate.ContainerSpec.Image.split("@")[0];
  const changes = [];
  if (image(current) !== image(wanted)) changes.push(`image ${image(wanted)}`);
  if (configs(current) !== configs(wanted)) changes.push("new nginx.conf");
  if (ports(current) !== ports(wanted)) changes.push(`published port ${wanted.EndpointSpec.Ports?.[0]?.PublishedPort ?? "none"}`);
  if (sysctls(current) !== sysctls(wanted)) changes.push("kernel settings");
  return changes;
}
function edgeNginxConfig(input) {
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
function edgeConfigName(service, content) {
  return `${edgeServiceName(service)}-${createHash("sha256").update(content).digest("hex").slice(0, 12)}`;
}
function digestOf(image) {
  const matches = image.match(/@(sha256:[0-9a-f]{64})/g);
  return matches ? matches[matches.length - 1].slice(1) : void 0;
}

export {
  DEFAULT_ROLLOUT,
  DEFAULT_CONTAINER_PORT,
  DEFAULT_STOP_GRACE_MS,
  DEFAULT_EDGE_IMAGE,
  LABELS,
  networkName,
  modelServiceSpec,
  edgeServiceSpec,
  edgeChanges,
  edgeNginxConfig,
  edgeConfigName,
  digestOf
};
