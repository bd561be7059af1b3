/**
 * How images are named and labelled, pure. Tags come from templates in mlship.yml, so every image
 * can be traced back to its model, data and code by its tags and labels alone.
 */

export const DEFAULT_TAG_TEMPLATES = ['{model_version_short}', 'sha-{git_sha_short}'] as const;

/** The values a tag template may use. */
export interface TagValues {
  readonly modelVersion: string;
  readonly dataVersion: string;
  readonly gitSha: string;
  readonly runId: string;
  readonly ref: string;
}

export class NamingError extends Error {}

const PLACEHOLDERS: Record<string, (v: TagValues) => string> = {
  model_version: (v) => hex(v.modelVersion),
  model_version_short: (v) => hex(v.modelVersion).slice(0, 12),
  data_version: (v) => hex(v.dataVersion),
  data_version_short: (v) => hex(v.dataVersion).slice(0, 12),
  git_sha: (v) => v.gitSha,
  git_sha_short: (v) => v.gitSha.slice(0, 7),
  run_id: (v) => v.runId,
  // Branch names may hold characters a tag cannot: `feature/x` becomes `feature-x`.
  ref: (v) => v.ref.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[.-]+/, '').slice(0, 100) || 'ref',
};

/** Docker's tag grammar: a word character first, then up to 127 of [A-Za-z0-9_.-]. */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Renders a tag template; an unknown placeholder or an invalid result is a NamingError naming it. */
export function renderTag(template: string, values: TagValues): string {
  const tag = template.replace(/\{([^{}]*)\}/g, (_match, name: string) => {
    const render = PLACEHOLDERS[name];
    if (!render) throw new NamingError(`unknown placeholder {${name}} in tag template ${JSON.stringify(template)} (known: ${Object.keys(PLACEHOLDERS).map((p) => `{${p}}`).join(', ')})`);
    return render(values);
  });
  if (/[{}]/.test(tag)) throw new NamingError(`unbalanced braces in tag template ${JSON.stringify(template)}`);
  if (!TAG.test(tag)) throw new NamingError(`tag template ${JSON.stringify(template)} gives ${JSON.stringify(tag)}, which is not a valid image tag (letters, digits, _ . -; at most 128; not starting with . or -)`);
  return tag;
}

export function renderTags(templates: readonly string[], values: TagValues): string[] {
  return [...new Set(templates.map((t) => renderTag(t, values)))];
}

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const HOST = /^(?:localhost|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)(?::\d+)?$/;

/**
 * `[host[:port]/]path` with a lowercase path and no tag or digest, as registries require; checked
 * before any build starts. Like Docker, the first component is a registry host only when it has a
 * dot or a port, or is localhost.
 */
export function checkRepository(repository: string): void {
  const host = registryHost(repository);
  const path = (host === undefined ? repository : repository.slice(host.length + 1)).split('/');
  const valid = (host === undefined || HOST.test(host)) && path.every((component) => PATH_COMPONENT.test(component));
  if (!valid) {
    throw new NamingError(`${JSON.stringify(repository)} is not an image repository (expected [registry/]name in lowercase, such as ghcr.io/acme/churn, without a tag)`);
  }
}

/** The registry a repository names (`ghcr.io`, `127.0.0.1:5000`), or undefined for Docker Hub. */
export function registryHost(repository: string): string | undefined {
  const slash = repository.indexOf('/');
  if (slash < 0) return undefined;
  const first = repository.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : undefined;
}

export interface LabelValues extends TagValues {
  readonly source: string | undefined;
  readonly created: string;
  readonly metrics: Readonly<Record<string, number>>;
}

/** OCI labels plus mlship's lineage: the image says which model, data, run and code it carries. */
export function imageLabels(values: LabelValues): Record<string, string> {
  const labels: Record<string, string> = {
    'org.opencontainers.image.revision': values.gitSha,
    'org.opencontainers.image.created': values.created,
    'org.opencontainers.image.version': hex(values.modelVersion).slice(0, 12),
    ...(values.source ? { 'org.opencontainers.image.source': values.source } : {}),
    'mlship.model-version': values.modelVersion,
    'mlship.data-version': values.dataVersion,
    'mlship.run-id': values.runId,
  };
  for (const [name, value] of Object.entries(values.metrics)) labels[`mlship.metric.${name}`] = String(value);
  return labels;
}

function hex(version: string): string {
  return version.replace(/^sha256:/, '');
}
