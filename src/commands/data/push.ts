import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { snapshotWorkspace } from '../../adapters/fs/workspace.js';
import { normaliseDeclaredPaths } from '../../adapters/fs/scan.js';
import { formatBytes } from '../../adapters/runtime/reporter.js';
import { ConfigurationError } from '../../errors.js';
import { diffSnapshots, directoryManifest, type Hex } from '../../domain/data/manifest.js';
import type { CommandDefinition } from '../command.js';
import { uploadAll, type Upload } from '../../services/objects.js';
import { DATA_VERSION_OUTPUT } from './common.js';
import { openLockedData } from '../../services/data-project.js';
import { shortVersion } from '../../domain/registry/records.js';

export const dataPush: CommandDefinition = {
  words: ['data', 'push'],
  description: 'Upload to the store the data objects of mlship.lock that it lacks.',
  options: {},
  outputs: {
    ...DATA_VERSION_OUTPUT,
    'uploaded-objects': 'Number of objects uploaded (objects the store already had are skipped).',
    'uploaded-bytes': 'Bytes uploaded.',
  },
  async run(_options, context) {
    const { project, locked, store, manifests: manifestCache } = await openLockedData(context, 'mlship data push');
    const { reporter } = context;
    const workspace = await snapshotWorkspace(project.state, project.declared, { allowMissing: true, reporter });

    // Where each locked object can be read from now: a file with that content, or a manifest we hold.
    const sources = new Map<Hex, Upload>();
    for (const files of workspace.files.values()) {
      for (const f of files) {
        sources.set(f.hash, { hash: f.hash, size: f.size, display: f.repoPath, open: () => createReadStream(f.absolute) });
      }
    }
    const manifests = new Map<Hex, string>();
    const fileObjects: { hash: Hex; display: string }[] = [];
    for (const tracked of locked.paths) {
      if (tracked.type === 'file') {
        fileObjects.push({ hash: tracked.hash, display: tracked.path });
        continue;
      }
      const text = workspace.manifests.get(tracked.hash);
      const entries = manifestCache.get(tracked.hash);
      if (text === undefined && entries === undefined) {
        throw new ConfigurationError(
          `"${tracked.path}" has changed since mlship.lock was written and its locked listing is not on this machine; ` +
            'run `mlship data snapshot` to record the data as it is, or `mlship data pull` to restore the locked version',
        );
      }
      manifests.set(tracked.hash, text ?? directoryManifest(entries!));
      for (const e of entries ?? []) fileObjects.push({ hash: e.hash, display: `${tracked.path}/${e.path}` });
      if (entries === undefined) for (const f of workspace.files.get(tracked.path) ?? []) fileObjects.push({ hash: f.hash, display: f.repoPath });
    }

    const declared = new Set(normaliseDeclaredPaths(project.declared).map((d) => d.path));
    const drift = diffSnapshots(locked.paths, workspace.snapshot.paths, (p) => manifestCache.get(p.hash), { declared });
    if (drift.length > 0) {
      reporter.warning(`the data on disk differs from mlship.lock in ${drift.length} places; pushing the locked version (run \`mlship data snapshot\` to record the changes)`);
    }

    const missing = await reporter.group('Checking the store', () =>
      store.missing([...fileObjects.map((o) => o.hash), ...manifests.keys()], context.signal),
    );
    const missingSet = new Set(missing);
    const unavailable = fileObjects.filter((o) => missingSet.has(o.hash) && !sources.has(o.hash));
    if (unavailable.length > 0) {
      const names = unavailable.slice(0, 10).map((o) => o.display).join(', ');
      throw new ConfigurationError(
        `${unavailable.length} locked files are neither in the store nor on disk as locked (${names}${unavailable.length > 10 ? ', …' : ''}); ` +
          'run `mlship data snapshot` to lock the data as it is',
      );
    }
    // Files first, manifests last: a directory's manifest in the store means all its files are there.
    const uploads: Upload[] = [
      ...[...new Set(fileObjects.map((o) => o.hash))].filter((h) => missingSet.has(h)).map((h) => sources.get(h)!),
      ...[...manifests].filter(([h]) => missingSet.has(h)).map(([hash, text]): Upload => ({
        hash,
        size: Buffer.byteLength(text),
        display: `manifest of ${locked.paths.find((p) => p.hash === hash)?.path ?? hash}`,
        open: () => Readable.from([Buffer.from(text)]),
      })),
    ];
    const totalBytes = uploads.reduce((n, u) => n + u.size, 0);
    reporter.info(`${store.location}: ${uploads.length} of ${fileObjects.length + manifests.size} objects to upload (${formatBytes(totalBytes)})`);

    await uploadAll(store, uploads, reporter, { signal: context.signal });
    reporter.info(`pushed data version ${locked.version}: ${uploads.length} objects, ${formatBytes(totalBytes)}`);
    return {
      outputs: { 'data-version': locked.version, 'uploaded-objects': uploads.length, 'uploaded-bytes': totalBytes },
      summary:
        `### mlship data push\n\nData version \`${shortVersion(locked.version)}\` is in \`${store.location}\`: ` +
        `uploaded ${uploads.length} objects (${formatBytes(totalBytes)}); the store already had the rest.\n`,
    };
  },
};
