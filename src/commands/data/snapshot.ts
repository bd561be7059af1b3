import { writeFileAtomic } from '../../adapters/fs/atomic.js';
import { ManifestCache, snapshotWorkspace } from '../../adapters/fs/workspace.js';
import { serializeLock } from '../../domain/data/lockfile.js';
import { diffSnapshots } from '../../domain/data/manifest.js';
import { formatBytes } from '../../adapters/runtime/reporter.js';
import { WORKSPACE_LOCK_OPTIONS, type CommandDefinition } from '../command.js';
import { CHANGED_OUTPUT, DATA_VERSION_OUTPUT, changeCounts, changesMarkdown, reportChanges } from './common.js';
import { openDataProject } from '../../services/data-project.js';
import { shortVersion } from '../../domain/registry/records.js';

export const dataSnapshot: CommandDefinition = {
  words: ['data', 'snapshot'],
  description: 'Hash every path in data.paths and record the data version in mlship.lock.',
  options: { ...WORKSPACE_LOCK_OPTIONS },
  locksWorkspace: true,
  outputs: {
    ...DATA_VERSION_OUTPUT,
    ...CHANGED_OUTPUT,
  },
  primaryOutput: 'data-version',
  async run(_options, context) {
    const project = openDataProject(context, 'mlship data snapshot');
    const { reporter } = context;
    const current = await reporter.group('Hashing data', () =>
      snapshotWorkspace(project.state, project.declared, { reporter }),
    );
    const previous = project.lock.data;
    const manifests = new ManifestCache(project.state);
    // Every declared path exists here (or the scan failed), so a locked path not among them was dropped from data.paths.
    const declared = new Set(current.snapshot.paths.map((p) => p.path));
    const changes = diffSnapshots(previous?.paths ?? [], current.snapshot.paths, (p) => manifests.get(p.hash), { declared });
    const changed = previous?.version !== current.snapshot.version;
    if (changed) writeFileAtomic(project.lockFile, serializeLock({ ...project.lock, data: current.snapshot }));

    const fileCount = current.snapshot.paths.reduce((n, p) => n + p.files, 0);
    const bytes = current.snapshot.paths.reduce((n, p) => n + p.size, 0);
    reporter.info(
      `${fileCount} files, ${formatBytes(bytes)}; hashed ${current.hashedFiles} (${formatBytes(current.hashedBytes)}), ` +
        `${fileCount - current.hashedFiles} unchanged since last time`,
    );
    reportChanges(reporter, changes);
    reporter.info(changed ? `data version ${current.snapshot.version} written to mlship.lock` : `data version ${current.snapshot.version} (unchanged)`);
    return {
      outputs: { 'data-version': current.snapshot.version, changed },
      summary:
        `### mlship data snapshot\n\nData version \`${shortVersion(current.snapshot.version)}\` ` +
        `(${fileCount} files, ${formatBytes(bytes)})${changed ? '' : ', unchanged'}: ` +
        `${changeCounts(changes)}.\n\n` +
        changesMarkdown(changes),
    };
  },
};
