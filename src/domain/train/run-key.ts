import { createHash } from 'node:crypto';
import type { GitIdentity } from '../registry/records.js';

/** JSON with object keys sorted at every level: the same params always hash the same. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, node: unknown) =>
    node && typeof node === 'object' && !Array.isArray(node)
      ? Object.fromEntries(Object.entries(node as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : node,
  );
}

/**
 * A run's key: what determines its result. Same code tree (and same uncommitted changes), same
 * data, same params, same command → same key → the earlier run's model is reused.
 */
export function runKey(input: {
  readonly git: GitIdentity;
  readonly dataVersion: string;
  readonly params: unknown;
  readonly command: string;
}): string {
  const material = canonicalJson({
    v: 1,
    tree: input.git.tree,
    uncommitted: input.git.dirtyHash ?? null,
    data: input.dataVersion,
    params: input.params,
    command: input.command,
  });
  return `sha256:${createHash('sha256').update(material).digest('hex')}`;
}
