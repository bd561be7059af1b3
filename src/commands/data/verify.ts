import { Writable } from 'node:stream';
import pLimit from 'p-limit';
import { formatBytes } from '../../adapters/runtime/reporter.js';
import type { Hex } from '../../domain/data/manifest.js';
import type { CommandDefinition } from '../command.js';
import { DATA_VERSION_OUTPUT } from './common.js';
import { openLockedData } from '../../services/data-project.js';
import { shortVersion } from '../../domain/registry/records.js';
import { BadObjectError, directoryEntries, downloadVerified } from '../../services/objects.js';

const VERIFY_CONCURRENCY = 8;

interface StoredObject {
  readonly hash: Hex;
  readonly size: number | undefined;
  readonly display: string;
}

/** Discards bytes: verification only needs the hash, computed on the way. */
const discard = (): Writable => new Writable({ write: (_chunk, _encoding, callback) => callback() });

export const dataVerify: CommandDefinition = {
  words: ['data', 'verify'],
  description: 'Re-hash every store object of mlship.lock and list the missing or corrupt ones.',
  options: {},
  outputs: {
    ...DATA_VERSION_OUTPUT,
    'verified-objects': 'Number of objects read back and found intact.',
    missing: 'JSON list of data paths whose objects are missing from the store.',
    corrupt: 'JSON list of data paths whose stored objects do not match their hash.',
  },
  async run(_options, context) {
    const { locked, store, manifests: manifestCache } = await openLockedData(context, 'mlship data verify');
    const { reporter } = context;

    const objects: StoredObject[] = [];
    for (const tracked of locked.paths) {
      if (tracked.type === 'file') {
        objects.push({ hash: tracked.hash, size: tracked.size, display: tracked.path });
        continue;
      }
      // The manifest is an object too; verify it as one, and list its files from any good copy.
      objects.push({ hash: tracked.hash, size: undefined, display: `${tracked.path}/ (manifest)` });
      const entries = await directoryEntries(tracked, manifestCache, store).catch(() => undefined);
      if (entries === undefined) {
        reporter.warning(`cannot list the files of "${tracked.path}": its manifest is not readable here or in the store`);
        continue;
      }
      for (const e of entries) objects.push({ hash: e.hash, size: e.size, display: `${tracked.path}/${e.path}` });
    }
    const unique = [...new Map(objects.map((o) => [o.hash, o])).values()];
    const totalBytes = unique.reduce((n, o) => n + (o.size ?? 0), 0);
    const missing: StoredObject[] = [];
    const corrupt: StoredObject[] = [];
    await reporter.group(`Verifying ${unique.length} objects in ${store.location}`, async () => {
      const progress = reporter.progress('verifying', totalBytes, 'bytes');
      const limit = pLimit(VERIFY_CONCURRENCY);
      try {
        await Promise.all(
          unique.map((o) =>
            limit(async () => {
              try {
                await downloadVerified(store, o.hash, o.size, o.display, discard(), (n) => progress.advance(n));
              } catch (error) {
                if (!(error instanceof BadObjectError)) throw error;
                (error.problem === 'missing' ? missing : corrupt).push(o);
                reporter.warning(error.message);
              }
            }),
          ),
        );
      } finally {
        progress.done();
      }
    });
    const pathsOf = (list: StoredObject[]): string[] =>
      objects.filter((o) => list.some((bad) => bad.hash === o.hash)).map((o) => o.display).sort();
    const missingPaths = pathsOf(missing);
    const corruptPaths = pathsOf(corrupt);
    const verified = unique.length - missing.length - corrupt.length;
    const healthy = missing.length === 0 && corrupt.length === 0;
    reporter.info(
      healthy
        ? `all ${unique.length} objects of data version ${locked.version} are intact (${formatBytes(totalBytes)})`
        : `${missing.length} objects missing and ${corrupt.length} corrupt in ${store.location}`,
    );
    const list = (title: string, paths: string[]): string =>
      paths.length === 0 ? '' : `\n**${title}**\n\n${paths.map((p) => `- \`${p}\``).join('\n')}\n`;
    return {
      outputs: { 'data-version': locked.version, 'verified-objects': verified, missing: missingPaths, corrupt: corruptPaths },
      summary:
        `### mlship data verify\n\nData version \`${shortVersion(locked.version)}\` in \`${store.location}\`: ` +
        `${verified} of ${unique.length} objects intact.\n${list('Missing', missingPaths)}${list('Corrupt', corruptPaths)}`,
      ...(healthy ? {} : { failure: `the store ${store.location} is missing ${missing.length} and has ${corrupt.length} corrupt objects of data version ${shortVersion(locked.version)}` }),
    };
  },
};
