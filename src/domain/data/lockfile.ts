import { parseDocument, stringify } from 'yaml';
import { HASH_PREFIX, snapshotOf, unsafePathReason, type DataSnapshot, type TrackedPath } from './manifest.js';

/**
 * `mlship.lock`: YAML committed beside mlship.yml. Sections belong to stages (`data` now);
 * rewriting one section keeps the others as they were.
 */
export interface LockFile {
  readonly version: 1;
  readonly data?: DataSnapshot;
  /** Sections of later stages, kept verbatim. */
  readonly other: Record<string, unknown>;
}

export const LOCK_FILE_NAME = 'mlship.lock';
const HEADER = '# Written by mlship. Commit it with your code: it pins the exact data this commit trains on.\n';

export class LockFileError extends Error {}

export function emptyLock(): LockFile {
  return { version: 1, other: {} };
}

export function parseLock(text: string): LockFile {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new LockFileError(`not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  const raw: unknown = doc.toJS();
  if (raw === null || raw === undefined) return emptyLock();
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new LockFileError('expected a mapping at the top level');
  const { version, data, ...other } = raw as Record<string, unknown>;
  if (version !== 1) throw new LockFileError(`version: expected 1, got ${JSON.stringify(version)}`);
  return { version: 1, other, ...(data === undefined ? {} : { data: parseDataSection(data) }) };
}

function parseDataSection(raw: unknown): DataSnapshot {
  if (typeof raw !== 'object' || raw === null) throw new LockFileError('data: expected a mapping');
  const { version, paths } = raw as { version?: unknown; paths?: unknown };
  if (!Array.isArray(paths)) throw new LockFileError('data.paths: expected a list');
  const tracked = paths.map((entry: unknown, i): TrackedPath => {
    const e = (entry ?? {}) as Record<string, unknown>;
    const at = `data.paths[${i}]`;
    if (typeof e.path !== 'string') throw new LockFileError(`${at}.path: expected a string`);
    const unsafe = unsafePathReason(e.path);
    if (unsafe !== undefined) throw new LockFileError(`${at}.path: ${JSON.stringify(e.path)} cannot be a data path: ${unsafe}`);
    if (e.type !== 'file' && e.type !== 'directory') throw new LockFileError(`${at}.type: expected file or directory`);
    if (typeof e.hash !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(e.hash)) {
      throw new LockFileError(`${at}.hash: expected sha256:<64 hex digits>`);
    }
    if (!Number.isSafeInteger(e.size) || (e.size as number) < 0) throw new LockFileError(`${at}.size: expected a byte count`);
    if (!Number.isSafeInteger(e.files) || (e.files as number) < 0) throw new LockFileError(`${at}.files: expected a file count`);
    return { path: e.path, type: e.type, hash: e.hash.slice(HASH_PREFIX.length), size: e.size as number, files: e.files as number };
  });
  const snapshot = snapshotOf(tracked);
  if (version !== snapshot.version) {
    throw new LockFileError(`data.version: ${JSON.stringify(version)} does not match its paths (expected ${snapshot.version}); was the file edited by hand?`);
  }
  return snapshot;
}

export function serializeLock(lock: LockFile): string {
  const body: Record<string, unknown> = { version: 1 };
  if (lock.data) {
    body.data = {
      version: lock.data.version,
      paths: lock.data.paths.map((p) => ({ path: p.path, type: p.type, hash: HASH_PREFIX + p.hash, size: p.size, files: p.files })),
    };
  }
  for (const key of Object.keys(lock.other).sort()) body[key] = lock.other[key];
  return HEADER + stringify(body, { lineWidth: 0, sortMapEntries: false });
}
