import type { Change } from '../../domain/data/manifest.js';
import type { Reporter } from '../../adapters/runtime/reporter.js';

/** Outputs several data commands share, described once so action.yml and help agree. */
export const DATA_VERSION_OUTPUT = {
  'data-version': 'Version of the data set (sha256 of the manifest of every declared path).',
} as const;
export const CHANGED_OUTPUT = {
  changed: 'true when the data version differs from the one mlship.lock held before.',
} as const;

export function changeLists(changes: readonly Change[]): { added: string[]; modified: string[]; deleted: string[] } {
  const pick = (kind: Change['change']): string[] => changes.filter((c) => c.change === kind).map((c) => c.path);
  return { added: pick('added'), modified: pick('modified'), deleted: pick('deleted') };
}

/** Lists changes for people, a line each up to `limit`; the outputs and summary have them all. */
export function reportChanges(reporter: Reporter, changes: readonly Change[], limit = 20): void {
  for (const c of changes.slice(0, limit)) reporter.info(`  ${c.change.padEnd(8)} ${c.path}`);
  if (changes.length > limit) {
    const { added, modified, deleted } = changeLists(changes);
    reporter.info(`  … ${changes.length - limit} more (${added.length} added, ${modified.length} modified, ${deleted.length} deleted in all)`);
  }
}

/** A markdown list of changes for the job summary, collapsed when long. */
export function changesMarkdown(changes: readonly Change[], limit = 200): string {
  if (changes.length === 0) return 'No changes.\n';
  const marks = { added: '➕ added', modified: '✏️ modified', deleted: '➖ deleted' } as const;
  const rows = changes.slice(0, limit).map((c) => `| \`${c.path}\` | ${marks[c.change]} |`);
  if (changes.length > limit) rows.push(`| … | ${changes.length - limit} more |`);
  const table = `| Path | Change |\n| --- | --- |\n${rows.join('\n')}\n`;
  return changes.length > 20 ? `<details><summary>${changes.length} changes</summary>\n\n${table}\n</details>\n` : table;
}
