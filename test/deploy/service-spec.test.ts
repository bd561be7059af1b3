import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ROLLOUT,
  EDGE_SYSCTLS,
  edgeChanges,
  edgeConfigName,
  edgeNginxConfig,
  edgeServiceSpec,
  modelServiceSpec,
  type ServiceSpec,
} from '../../src/domain/deploy/service-spec.js';

const MS = 1_000_000;
const IMAGE = `127.0.0.1:5000/churn@sha256:${'a'.repeat(64)}`;

const model = modelServiceSpec({
  project: 'churn',
  environment: 'staging',
  service: 'churn-staging',
  image: IMAGE,
  replicas: 2,
  containerPort: 8080,
  network: 'mlship-churn-staging',
  rollout: { ...DEFAULT_ROLLOUT, delayMs: 500 },
  stopGraceMs: 10_000,
  environmentVariables: { MLSHIP_MODEL_VERSION: 'sha256:m', MLSHIP_ENVIRONMENT: 'staging' },
  lineage: { 'mlship.model-version': 'sha256:m' },
});

const edgeInput = {
  project: 'churn',
  environment: 'staging',
  service: 'churn-staging',
  image: 'nginx:1.27-alpine',
  network: 'mlship-churn-staging',
  publishedPort: 18080,
  containerPort: 8080,
  config: { id: 'cfg1', name: 'churn-staging-edge-0123456789ab' },
};
const edge = edgeServiceSpec(edgeInput);

describe('the model service spec', () => {
  it('runs the image by digest, replicated, behind dnsrr, told what it serves and where to listen', () => {
    expect(model.TaskTemplate.ContainerSpec.Image).toBe(IMAGE);
    expect(model.Mode).toEqual({ Replicated: { Replicas: 2 } });
    expect(model.EndpointSpec).toEqual({ Mode: 'dnsrr' });
    expect(model.TaskTemplate.ContainerSpec.Env).toEqual(['MLSHIP_ENVIRONMENT=staging', 'MLSHIP_MODEL_VERSION=sha256:m', 'PORT=8080']);
    expect(model.Labels).toMatchObject({ 'mlship.project': 'churn', 'mlship.environment': 'staging', 'mlship.role': 'model', 'mlship.model-version': 'sha256:m' });
    expect(model.TaskTemplate.ContainerSpec.StopGracePeriod).toBe(10_000 * MS);
  });

  it('rolls out as configured and rolls back on failure; a failed rollback pauses', () => {
    expect(model.UpdateConfig).toEqual({ Parallelism: 1, Delay: 500 * MS, FailureAction: 'rollback', Monitor: 5000 * MS, MaxFailureRatio: 0, Order: 'start-first' });
    expect(model.RollbackConfig).toEqual({ ...model.UpdateConfig, FailureAction: 'pause' });
  });
});

describe('the edge service spec', () => {
  it('runs nginx on every node with its port published in host mode and the whole nginx.conf mounted', () => {
    expect(edge.Name).toBe('churn-staging-edge');
    expect(edge.Mode).toEqual({ Global: {} });
    expect(edge.EndpointSpec.Ports).toEqual([{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 18080, PublishMode: 'host' }]);
    expect(edge.TaskTemplate.ContainerSpec.Configs).toEqual([
      { File: { Name: '/etc/nginx/nginx.conf', UID: '0', GID: '0', Mode: 0o444 }, ConfigID: 'cfg1', ConfigName: 'churn-staging-edge-0123456789ab' },
    ]);
  });

  it('reuses TIME_WAIT ports from a wide range, as it opens a connection per request', () => {
    expect(edge.TaskTemplate.ContainerSpec.Sysctls).toEqual({ 'net.ipv4.tcp_tw_reuse': '1', 'net.ipv4.ip_local_port_range': '1024 65535' });
    expect(EDGE_SYSCTLS).toBe(edge.TaskTemplate.ContainerSpec.Sysctls);
  });

  it('writes an nginx.conf that resolves the service through Swarm DNS every second and retries the next task', () => {
    const conf = edgeNginxConfig({ service: 'churn-staging', containerPort: 8080 });
    expect(conf).toContain('resolver 127.0.0.11 valid=1s');
    expect(conf).toContain('set $model http://churn-staging:8080;');
    expect(conf).toContain('proxy_pass $model;');
    expect(conf).toMatch(/proxy_next_upstream error timeout http_502 http_503/);
    expect(conf).toContain('listen 80;');
  });

  it('names the config after its content', () => {
    const conf = edgeNginxConfig({ service: 'churn-staging', containerPort: 8080 });
    expect(edgeConfigName('churn-staging', conf)).toMatch(/^churn-staging-edge-[0-9a-f]{12}$/);
    expect(edgeConfigName('churn-staging', conf)).toBe(edgeConfigName('churn-staging', conf));
    expect(edgeConfigName('churn-staging', conf)).not.toBe(edgeConfigName('churn-staging', `${conf}\n`));
  });
});

describe('edgeChanges', () => {
  const running = (change: (spec: ServiceSpec) => ServiceSpec): ServiceSpec => change(structuredClone(edge) as ServiceSpec);
  const withContainer = (spec: ServiceSpec, containerSpec: Partial<ServiceSpec['TaskTemplate']['ContainerSpec']>): ServiceSpec => ({
    ...spec,
    TaskTemplate: { ...spec.TaskTemplate, ContainerSpec: { ...spec.TaskTemplate.ContainerSpec, ...containerSpec } },
  });

  it.each([
    { name: 'the same edge, as the engine reports it (image resolved to a digest)', current: running((s) => withContainer(s, { Image: `nginx:1.27-alpine@sha256:${'f'.repeat(64)}` })), changes: [] },
    { name: 'another image', current: running((s) => withContainer(s, { Image: 'mlship-test/nginx:1' })), changes: ['image nginx:1.27-alpine'] },
    {
      name: 'another nginx.conf',
      current: running((s) => withContainer(s, { Configs: [{ ...s.TaskTemplate.ContainerSpec.Configs![0]!, ConfigName: 'churn-staging-edge-ffffffffffff' }] })),
      changes: ['new nginx.conf'],
    },
    {
      name: 'another published port',
      current: running((s) => ({ ...s, EndpointSpec: { Mode: 'dnsrr', Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 9000, PublishMode: 'host' }] } })),
      changes: ['published port 18080'],
    },
    { name: 'an edge made before the kernel settings', current: running((s) => withContainer(s, { Sysctls: undefined })), changes: ['kernel settings'] },
    {
      name: 'several at once',
      current: running((s) => withContainer(s, { Image: 'other:1', Sysctls: { 'net.ipv4.tcp_tw_reuse': '0' } })),
      changes: ['image nginx:1.27-alpine', 'kernel settings'],
    },
  ])('$name', ({ current, changes }) => {
    expect(edgeChanges(current, edge)).toEqual(changes);
  });
});
