import type { Change } from '../../domain/data/manifest.js';
import type { Reporter } from '../../adapters/runtime/reporter.js';

/** Outputs several data commands share, described once so action.yml and help agree. */
export const DATA_VERSION_OUTPUT = {
  'data-version': 'Version of the data set (sha256 of the manifest of every declared path).',
} as const;
export const CHANGED_OUTPUT = {
  changed: 'true when the data version differs from the one mlship.lock held before.',
} as const;

export const UNTRACKED_OUTPUT = {
  untracked: 'JSON list of data paths in mlship.lock that data.paths no longer declares (no longer tracked; their files are left alone).',
} as const;

export function changeLists(changes: readonly Change[]): { added: string[]; modified: string[]; deleted: string[]; untracked: string[] } {
  const pick = (kind: Change['change']): string[] => changes.filter((c) => c.change === kind).map((c) => c.path);
  return { added: pick('added'), modified: pick('modified'), deleted: pick('deleted'), untracked: pick('untracked') };
}

const LABELS: Record<Change['change'], string> = { added: 'added', modified: 'modified', deleted: 'deleted', untracked: 'no longer tracked' };

/** `3 added, 1 modified, 0 deleted` (and the untracked count when there are any). */
export function changeCounts(changes: readonly Change[]): string {
  const { added, modified, deleted, untracked } = changeLists(changes);
  return `${added.length} added, ${modified.length} modified, ${deleted.length} deleted` + (untracked.length > 0 ? `, ${untracked.length} no longer tracked` : '');
}

/** Lists changes for people, a line each up to `limit`; the outputs and summary have them all. */
export function reportChanges(reporter: Reporter, changes: readonly Change[], limit = 20): void {
  for (const c of changes.slice(0, limit)) reporter.info(`  ${LABELS[c.change].padEnd(8)} ${c.path}`);
  if (changes.length > limit) reporter.info(`  … ${changes.length - limit} more (${changeCounts(changes)} in all)`);
}

/** A markdown list of changes for the job summary, collapsed when long. */
export function changesMarkdown(changes: readonly Change[], limit = 200): string {
  if (changes.length === 0) return 'No changes.\n';
  const marks = { added: '➕ added', modified: '✏️ modified', deleted: '➖ deleted', untracked: '⏏️ no longer tracked' } as const;
  const rows = changes.slice(0, limit).map((c) => `| \`${c.path}\` | ${marks[c.change]} |`);
  if (changes.length > limit) rows.push(`| … | ${changes.length - limit} more |`);
  const table = `| Path | Change |\n| --- | --- |\n${rows.join('\n')}\n`;
  return changes.length > 20 ? `<details><summary>${changes.length} changes</summary>\n\n${table}\n</details>\n` : table;
}
