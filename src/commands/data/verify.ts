import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { snapshotWorkspace, type ManifestCache, type WorkspaceSnapshot } from '../../adapters/fs/workspace.js';
import { formatBytes, type Reporter } from '../../adapters/runtime/reporter.js';
import type { BlobStore } from '../../adapters/store/blob-store.js';
import type { DataSnapshot, Hex } from '../../domain/data/manifest.js';
import type { CommandDefinition } from '../command.js';
import { DATA_VERSION_OUTPUT } from './common.js';
import { openLockedData } from '../../services/data-project.js';
import { shortVersion } from '../../domain/registry/records.js';
import {
  BadObjectError,
  REPAIR_HINT,
  directoryEntries,
  discard,
  downloadVerified,
  forEachConcurrently,
  interruptedTransfer,
  uploadAll,
  type Upload,
} from '../../services/objects.js';

const VERIFY_CONCURRENCY = 8;

interface StoredObject {
  readonly hash: Hex;
  readonly size: number | undefined;
  readonly display: string;
  readonly manifest: boolean;
}

interface Damage {
  readonly object: StoredObject;
  readonly problem: 'missing' | 'corrupt';
}

export const dataVerify: CommandDefinition = {
  words: ['data', 'verify'],
  description: 'Re-hash every store object of mlship.lock and list the missing or corrupt ones; --repair re-uploads them from good local copies.',
  options: {
    repair: {
      type: 'boolean',
      description: 'Re-upload missing or damaged objects from local files whose content still matches, then verify them again.',
    },
  },
  outputs: {
    ...DATA_VERSION_OUTPUT,
    'verified-objects': 'Number of objects read back and found intact.',
    missing: 'JSON list of data paths whose objects are missing from the store.',
    corrupt: 'JSON list of data paths whose stored objects do not match their hash.',
    repaired: 'JSON list of data paths whose missing or damaged objects were re-uploaded from good local copies (verify --repair).',
  },
  async run(options, context) {
    const { project, locked, store, manifests } = await openLockedData(context, 'mlship data verify');
    const { reporter, signal } = context;

    // Hashed first: the local copies are the repair's sources, and hashing puts this machine's
    // directory listings in the cache, so even a directory whose stored listing is damaged is checked.
    const local = options.repair
      ? await snapshotWorkspace(project.state, locked.paths.map((p, i) => ({ path: p.path, where: `mlship.lock data.paths[${i}]` })), { allowMissing: true, reporter })
      : undefined;
    const objects = await storedObjects(locked, manifests, store, reporter);
    const unique = [...new Map(objects.map((o) => [o.hash, o])).values()];
    const totalBytes = unique.reduce((n, o) => n + (o.size ?? 0), 0);
    let damaged = await reporter.group(`Verifying ${unique.length} objects in ${store.location}`, () => findDamage(unique, store, reporter, signal));

    let repaired: StoredObject[] = [];
    if (local && damaged.length > 0) {
      const sources = localCopies(local, manifests, damaged);
      // Files first, manifests last: a directory's manifest in the store means all its files are there.
      const reuploaded = damaged.map((d) => d.object).filter((o) => sources.has(o.hash)).sort((a, b) => Number(a.manifest) - Number(b.manifest));
      await uploadAll(store, reuploaded.map((o) => sources.get(o.hash)!), reporter, { signal });
      // Read back what was written: a repair is done only when the store serves the right bytes.
      const stillDamaged = await reporter.group('Verifying the repaired objects', () => findDamage(reuploaded, store, reporter, signal));
      repaired = reuploaded.filter((o) => !stillDamaged.some((d) => d.object.hash === o.hash));
      damaged = [...damaged.filter((d) => !sources.has(d.object.hash)), ...stillDamaged];
      if (repaired.length > 0) reporter.info(`repaired ${repaired.length} objects in ${store.location} from local copies`);
    }

    const pathsOf = (list: readonly StoredObject[]): string[] =>
      objects.filter((o) => list.some((bad) => bad.hash === o.hash)).map((o) => o.display).sort();
    const missing = damaged.filter((d) => d.problem === 'missing').map((d) => d.object);
    const corrupt = damaged.filter((d) => d.problem === 'corrupt').map((d) => d.object);
    const missingPaths = pathsOf(missing);
    const corruptPaths = pathsOf(corrupt);
    const repairedPaths = pathsOf(repaired);
    const verified = unique.length - damaged.length;
    const healthy = damaged.length === 0;
    reporter.info(
      healthy
        ? `all ${unique.length} objects of data version ${locked.version} are intact (${formatBytes(totalBytes)})`
        : `${missing.length} objects missing and ${corrupt.length} corrupt in ${store.location}`,
    );
    const list = (title: string, paths: string[]): string =>
      paths.length === 0 ? '' : `\n**${title}**\n\n${paths.map((p) => `- \`${p}\``).join('\n')}\n`;
    const failure = options.repair
      ? `the store ${store.location} is still missing ${missing.length} and has ${corrupt.length} corrupt objects of data version ${shortVersion(locked.version)}: ` +
        `this machine has no good copy of ${pathsOf(damaged.map((d) => d.object)).slice(0, 10).join(', ')}; ${REPAIR_HINT}`
      : `the store ${store.location} is missing ${missing.length} and has ${corrupt.length} corrupt objects of data version ${shortVersion(locked.version)}; ${REPAIR_HINT}`;
    return {
      outputs: { 'data-version': locked.version, 'verified-objects': verified, missing: missingPaths, corrupt: corruptPaths, repaired: repairedPaths },
      summary:
        `### mlship data verify\n\nData version \`${shortVersion(locked.version)}\` in \`${store.location}\`: ` +
        `${verified} of ${unique.length} objects intact.\n${list('Repaired from local copies', repairedPaths)}${list('Missing', missingPaths)}${list('Corrupt', corruptPaths)}`,
      ...(healthy ? {} : { failure }),
    };
  },
};

/** Every store object of the lock: each file, and each directory's manifest (an object too). */
async function storedObjects(locked: DataSnapshot, manifests: ManifestCache, store: BlobStore, reporter: Reporter): Promise<StoredObject[]> {
  const objects: StoredObject[] = [];
  for (const tracked of locked.paths) {
    if (tracked.type === 'file') {
      objects.push({ hash: tracked.hash, size: tracked.size, display: tracked.path, manifest: false });
      continue;
    }
    objects.push({ hash: tracked.hash, size: undefined, display: `${tracked.path}/ (manifest)`, manifest: true });
    const entries = await directoryEntries(tracked, manifests, store).catch(() => undefined);
    if (entries === undefined) {
      reporter.warning(`cannot list the files of "${tracked.path}": its manifest is not readable here or in the store`);
      continue;
    }
    for (const e of entries) objects.push({ hash: e.hash, size: e.size, display: `${tracked.path}/${e.path}`, manifest: false });
  }
  return objects;
}

/** Reads every object back, hashing it; returns the missing and damaged ones. */
async function findDamage(objects: readonly StoredObject[], store: BlobStore, reporter: Reporter, signal: AbortSignal): Promise<Damage[]> {
  const damaged: Damage[] = [];
  let checked = 0;
  const progress = reporter.progress('verifying', objects.reduce((n, o) => n + (o.size ?? 0), 0), 'bytes');
  let interrupted: boolean;
  try {
    ({ interrupted } = await forEachConcurrently(objects, VERIFY_CONCURRENCY, signal, async (o, stop) => {
      try {
        await downloadVerified(store, o.hash, o.size, o.display, discard(), (n) => progress.advance(n), stop);
      } catch (error) {
        if (!(error instanceof BadObjectError)) throw error;
        damaged.push({ object: o, problem: error.problem === 'missing' ? 'missing' : 'corrupt' });
        reporter.warning(error.message);
      }
      checked += 1;
    }));
  } finally {
    progress.done();
  }
  if (interrupted) throw interruptedTransfer(signal, `verified ${checked} of ${objects.length} objects`);
  return damaged;
}

/** Good local copies of the damaged objects: files whose hash matched when hashed, and directory listings. */
function localCopies(local: WorkspaceSnapshot, manifests: ManifestCache, damaged: readonly Damage[]): Map<Hex, Upload> {
  const wanted = new Set(damaged.map((d) => d.object.hash));
  const sources = new Map<Hex, Upload>();
  for (const files of local.files.values()) {
    for (const f of files) {
      if (wanted.has(f.hash) && !sources.has(f.hash)) {
        sources.set(f.hash, { hash: f.hash, size: f.size, display: f.repoPath, open: () => createReadStream(f.absolute) });
      }
    }
  }
  for (const d of damaged) {
    if (!d.object.manifest || sources.has(d.object.hash)) continue;
    const text = local.manifests.get(d.object.hash) ?? manifests.text(d.object.hash);
    if (text === undefined) continue;
    const bytes = Buffer.from(text);
    sources.set(d.object.hash, { hash: d.object.hash, size: bytes.length, display: d.object.display, open: () => Readable.from([bytes]) });
  }
  return sources;
}
