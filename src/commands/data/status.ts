import { ManifestCache, snapshotWorkspace } from '../../adapters/fs/workspace.js';
import type { DeclaredPath } from '../../adapters/fs/scan.js';
import { ConfigurationError } from '../../errors.js';
import { diffSnapshots, type TrackedPath } from '../../domain/data/manifest.js';
import type { CommandDefinition } from '../command.js';
import { CHANGED_OUTPUT, DATA_VERSION_OUTPUT, UNTRACKED_OUTPUT, changeLists, changesMarkdown, reportChanges } from './common.js';
import { openDataProject } from '../../services/data-project.js';

export const dataStatus: CommandDefinition = {
  words: ['data', 'status'],
  description: 'Show data files added, modified or deleted since mlship.lock was written.',
  options: {
    'exit-code': { type: 'boolean', description: 'Exit 1 when anything changed (like git diff --exit-code).' },
  },
  outputs: {
    ...DATA_VERSION_OUTPUT,
    ...CHANGED_OUTPUT,
    added: 'JSON list of data paths added since mlship.lock was written.',
    modified: 'JSON list of data paths modified since mlship.lock was written.',
    deleted: 'JSON list of data paths deleted since mlship.lock was written.',
    ...UNTRACKED_OUTPUT,
  },
  async run(options, context) {
    const project = openDataProject(context, 'mlship data status');
    const current = await snapshotWorkspace(project.state, project.declared, {
      allowMissing: true,
      reporter: context.reporter,
    });
    const locked = project.lock.data?.paths ?? [];
    if (current.missing.length > 0) throw missingPathsError(current.missing, locked);
    const manifests = new ManifestCache(project.state);
    const declared = new Set(current.snapshot.paths.map((p) => p.path));
    const changes = diffSnapshots(locked, current.snapshot.paths, (p) => manifests.get(p.hash), { declared });
    const changed = project.lock.data?.version !== current.snapshot.version;
    if (!project.lock.data) context.reporter.info('mlship.lock has no data yet: everything is new');
    if (changes.length === 0 && !changed) context.reporter.info('data matches mlship.lock');
    reportChanges(context.reporter, changes);
    const lists = changeLists(changes);
    return {
      outputs: { 'data-version': current.snapshot.version, changed, ...lists },
      summary: `### mlship data status\n\n${changesMarkdown(changes)}`,
      ...(options['exit-code'] && changed ? { failure: `data differs from mlship.lock (${changes.length} changes)` } : {}),
    };
  },
};

/** A declared path that is not on disk: the data is not there to compare, so status cannot say it matches. */
function missingPathsError(missing: readonly DeclaredPath[], locked: readonly TrackedPath[]): ConfigurationError {
  const inLock = new Set(locked.map((p) => p.path));
  const lines = missing.map((d) =>
    inLock.has(d.path)
      ? `${d.where}: "${d.path}" does not exist; run \`mlship data pull\` to restore it from the store, or fix data.paths`
      : `${d.where}: "${d.path}" does not exist (and mlship.lock does not have it); create it, or fix data.paths`,
  );
  return new ConfigurationError(lines.join('\n'));
}
