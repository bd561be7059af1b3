import { describe, expect, it } from 'vitest';
import {
  dataVersion,
  diffFiles,
  diffSnapshots,
  directoryManifest,
  parseDirectoryManifest,
  sha256Hex,
  trackDirectory,
  trackFile,
  type FileEntry,
} from '../../src/domain/data/manifest.js';
import { parseLock, serializeLock, emptyLock } from '../../src/domain/data/lockfile.js';

const h = (s: string): string => sha256Hex(s);

describe('directory manifests', () => {
  it('sort by UTF-8 bytes, not locale, and round-trip', () => {
    const entries: FileEntry[] = [
      { path: 'b.csv', hash: h('b'), size: 1 },
      { path: 'B.csv', hash: h('B'), size: 1 },
      { path: 'é.csv', hash: h('e'), size: 2 },
      { path: 'a/z.csv', hash: h('z'), size: 3 },
    ];
    const text = directoryManifest(entries);
    expect(text.split('\n').filter(Boolean).map((l) => l.split(' ')[2])).toEqual(['B.csv', 'a/z.csv', 'b.csv', 'é.csv']);
    expect(parseDirectoryManifest(text)).toEqual([...entries].sort((x, y) => Buffer.compare(Buffer.from(x.path), Buffer.from(y.path))));
  });

  it('hash to the sha256 of their text, whatever order the files were found in', () => {
    const a = trackDirectory('d', [
      { path: 'x', hash: h('1'), size: 1 },
      { path: 'y', hash: h('2'), size: 2 },
    ]);
    const b = trackDirectory('d', [
      { path: 'y', hash: h('2'), size: 2 },
      { path: 'x', hash: h('1'), size: 1 },
    ]);
    expect(a.tracked.hash).toBe(b.tracked.hash);
    expect(a.tracked.hash).toBe(sha256Hex(a.manifest));
    expect(a.tracked).toMatchObject({ size: 3, files: 2, type: 'directory' });
  });

  it('rejects malformed lines', () => {
    expect(() => parseDirectoryManifest('nothex 1 a\n')).toThrow(/malformed manifest line/);
  });

  it.each([
    ['../escape.csv', 'it has an empty, "." or ".." segment'],
    ['a/../../b', 'it has an empty, "." or ".." segment'],
    ['./a', 'it has an empty, "." or ".." segment'],
    ['a//b', 'it has an empty, "." or ".." segment'],
    ['/etc/passwd', 'it is absolute'],
    ['.git/hooks/post-checkout', 'it is inside .git, which mlship never tracks'],
    ['sub/.mlship/store/x', 'it is inside .mlship, which mlship never tracks'],
  ])('refuses a manifest that names %j (a pull would write it)', (name, why) => {
    expect(() => parseDirectoryManifest(`${h('x')} 1 ${name}\n`)).toThrow(`the manifest lists ${JSON.stringify(name)}, which cannot be a data file: ${why}`);
  });

  it('refuses a manifest that lists a path twice, or a file inside another file', () => {
    expect(() => parseDirectoryManifest(`${h('x')} 1 a\n${h('y')} 1 a\n`)).toThrow('the manifest lists "a" twice');
    expect(() => parseDirectoryManifest(`${h('x')} 1 a\n${h('y')} 1 a/b/c\n`)).toThrow('the manifest lists "a/b/c" inside the file "a"');
  });
});

describe('data version', () => {
  it.each([
    ['renaming a path', [trackFile('a', h('x'), 1)], [trackFile('b', h('x'), 1)]],
    ['changing content', [trackFile('a', h('x'), 1)], [trackFile('a', h('y'), 1)]],
    ['a file becoming a directory with the same hash', [trackFile('a', h('x'), 1)], [{ ...trackFile('a', h('x'), 1), type: 'directory' as const }]],
    ['adding a path', [trackFile('a', h('x'), 1)], [trackFile('a', h('x'), 1), trackFile('b', h('x'), 1)]],
  ])('changes on %s', (_name, before, after) => {
    expect(dataVersion(after)).not.toBe(dataVersion(before));
  });

  it('does not depend on declaration order', () => {
    const a = trackFile('a', h('x'), 1);
    const b = trackFile('b', h('y'), 1);
    expect(dataVersion([a, b])).toBe(dataVersion([b, a]));
  });
});

describe('diffs', () => {
  it('compare files by path and hash', () => {
    const before = [
      { path: 'same', hash: h('1'), size: 1 },
      { path: 'edit', hash: h('2'), size: 1 },
      { path: 'gone', hash: h('3'), size: 1 },
    ];
    const after = [
      { path: 'same', hash: h('1'), size: 1 },
      { path: 'edit', hash: h('4'), size: 1 },
      { path: 'new', hash: h('5'), size: 1 },
    ];
    expect(diffFiles(before, after)).toEqual([
      { path: 'edit', change: 'modified' },
      { path: 'gone', change: 'deleted' },
      { path: 'new', change: 'added' },
    ]);
  });

  it('expand directories when their manifests are known, and name the directory when not', () => {
    const old = trackDirectory('d', [{ path: 'a', hash: h('1'), size: 1 }]);
    const now = trackDirectory('d', [{ path: 'a', hash: h('2'), size: 1 }]);
    const manifests = new Map([
      [old.tracked.hash, parseDirectoryManifest(old.manifest)],
      [now.tracked.hash, parseDirectoryManifest(now.manifest)],
    ]);
    expect(diffSnapshots([old.tracked], [now.tracked], (t) => manifests.get(t.hash))).toEqual([{ path: 'd/a', change: 'modified' }]);
    expect(diffSnapshots([old.tracked], [now.tracked], () => undefined)).toEqual([{ path: 'd', change: 'modified' }]);
    expect(diffSnapshots([], [now.tracked], (t) => manifests.get(t.hash))).toEqual([{ path: 'd/a', change: 'added' }]);
  });

  it('call a locked path that is no longer declared untracked, once, and one that is declared but gone deleted', () => {
    const dir = trackDirectory('d', [{ path: 'a', hash: h('1'), size: 1 }]);
    const file = trackFile('f.csv', h('2'), 1);
    const filesOf = (): FileEntry[] => parseDirectoryManifest(dir.manifest);
    expect(diffSnapshots([dir.tracked, file], [], filesOf, { declared: new Set(['f.csv']) })).toEqual([
      { path: 'd', change: 'untracked' },
      { path: 'f.csv', change: 'deleted' },
    ]);
    expect(diffSnapshots([dir.tracked], [], filesOf)).toEqual([{ path: 'd/a', change: 'deleted' }]);
  });
});

describe('mlship.lock', () => {
  it('round-trips and keeps unknown sections', () => {
    const paths = [trackFile('data/a.csv', h('a'), 10)];
    const text = serializeLock({ version: 1, data: { version: dataVersion(paths), paths }, other: { train: { run: 'r1' } } });
    expect(text.startsWith('# Written by mlship.')).toBe(true);
    const parsed = parseLock(text);
    expect(parsed.data?.version).toBe(dataVersion(paths));
    expect(parsed.other).toEqual({ train: { run: 'r1' } });
    expect(serializeLock(parsed)).toBe(text);
  });

  it.each([
    ['version: 2\n', 'version: expected 1'],
    ['version: 1\ndata: { version: x, paths: [] }\n', 'does not match its paths'],
    ['version: 1\ndata: { version: x, paths: [ { path: a, type: link } ] }\n', 'data.paths[0].type: expected file or directory'],
    ['version: 1\ndata: { version: x, paths: [ { path: a, type: file, hash: md5:1 } ] }\n', 'data.paths[0].hash: expected sha256:<64 hex digits>'],
    ['[1, 2]\n', 'expected a mapping at the top level'],
    ['version: 1\ndata: { version: x, paths: [ { path: ../x, type: file } ] }\n', 'data.paths[0].path: "../x" cannot be a data path'],
    ['version: 1\ndata: { version: x, paths: [ { path: data/, type: file } ] }\n', 'data.paths[0].path: "data/" cannot be a data path'],
    ['version: 1\ndata: { version: x, paths: [ { path: .git/config, type: file } ] }\n', 'it is inside .git'],
    ['a: [\n', 'not valid YAML'],
  ])('rejects %j', (text, message) => {
    expect(() => parseLock(text)).toThrow(message);
  });

  it('treats an empty file as an empty lock', () => {
    expect(parseLock('')).toEqual(emptyLock());
  });
});
