import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level: the same params always hash the same. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, node: unknown) =>
    node && typeof node === 'object' && !Array.isArray(node)
      ? Object.fromEntries(Object.entries(node as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : node,
  );
}

/**
 * A run's key: what determines its result. The same files training depends on (their content, not
 * the commit: a rebase, a README edit or a gate change does not retrain), the same training and
 * data settings, the same data, params and command → the same key → the earlier run's model is reused.
 * It is what DVC calls a stage's dependencies, worked out from the repository instead of listed by hand.
 */
export function runKey(input: {
  readonly code: string;
  /** The training-relevant sections of mlship.yml (train, data.paths), canonicalised. */
  readonly config: unknown;
  readonly dataVersion: string;
  readonly params: unknown;
  readonly command: string;
}): string {
  const material = canonicalJson({
    v: 2,
    code: input.code,
    config: input.config,
    data: input.dataVersion,
    params: input.params,
    command: input.command,
  });
  return `sha256:${createHash('sha256').update(material).digest('hex')}`;
}
