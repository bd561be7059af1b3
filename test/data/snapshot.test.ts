import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, appendFileSync, symlinkSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { dataVersion, type TrackedPath } from '../../src/domain/data/manifest.js';
import { snapshotWorkspace, StateDirectory } from '../../src/adapters/fs/workspace.js';
import { ageFiles, makeProject, writeTree } from '../helpers/project.js';

interface LockedPath {
  path: string;
  type: string;
  hash: string;
  size: number;
  files: number;
}

function readLockFile(root: string): { version: number; data: { version: string; paths: LockedPath[] } } {
  return parse(readFileSync(path.join(root, 'mlship.lock'), 'utf8'));
}

describe('mlship data snapshot', () => {
  it('records each path with the same sha256 as sha256sum, sizes, file counts and one data version', async () => {
    const project = makeProject(
      { 'data/train.csv': 'a,b\n1,2\n', 'data/images/x.bin': Buffer.alloc(3000, 7), 'data/images/sub/y.bin': 'y', 'labels.csv': 'l\n1\n' },
      { paths: ['data/train.csv', 'data/images', 'labels.csv'] },
    );
    const run = await project.run('data', 'snapshot');
    expect(run.error).toBeUndefined();
    const lock = readLockFile(project.root);
    expect(lock.version).toBe(1);
    const byPath = Object.fromEntries(lock.data.paths.map((p) => [p.path, p]));
    const sha256sum = (file: string): string => execFileSync('sha256sum', [file], { cwd: project.root, encoding: 'utf8' }).split(' ')[0]!;
    expect(byPath['data/train.csv']).toEqual({ path: 'data/train.csv', type: 'file', hash: `sha256:${sha256sum('data/train.csv')}`, size: 8, files: 1 });
    expect(byPath['labels.csv']!.hash).toBe(`sha256:${sha256sum('labels.csv')}`);
    expect(byPath['data/images']).toMatchObject({ type: 'directory', size: 3001, files: 2 });
    // A directory's hash is sha256sum of its manifest, which lists its files' own sha256sum.
    const manifest = readFileSync(path.join(project.root, '.mlship/cache/manifests', byPath['data/images']!.hash.slice(7)), 'utf8');
    expect(manifest).toBe(`${sha256sum('data/images/sub/y.bin')} 1 sub/y.bin\n${sha256sum('data/images/x.bin')} 3000 x.bin\n`);
    // Paths are listed in a stable order, and the version is the one the domain computes.
    expect(lock.data.paths.map((p) => p.path)).toEqual(['data/images', 'data/train.csv', 'labels.csv']);
    const tracked = lock.data.paths.map((p): TrackedPath => ({ ...p, type: p.type as 'file' | 'directory', hash: p.hash.slice(7) }));
    expect(lock.data.version).toBe(dataVersion(tracked));
    expect(run.result!.outputs).toEqual({ 'data-version': lock.data.version, changed: true });
  });

  it('is deterministic: the same content in another checkout, declared in another order, has the same version', async () => {
    const files = { 'a/1.txt': 'one', 'a/2.txt': 'two', 'b.txt': 'bee' };
    const first = makeProject(files, { paths: ['a', 'b.txt'] });
    const second = makeProject(files, { paths: ['b.txt', 'a/'] });
    const v1 = (await first.run('data', 'snapshot')).result!.outputs['data-version'];
    const v2 = (await second.run('data', 'snapshot')).result!.outputs['data-version'];
    expect(v1).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(v2).toBe(v1);
  });

  it('changes the version when one byte changes, and reports changed: false when nothing did', async () => {
    const project = makeProject({ 'data/a.csv': 'x,y\n1,2\n' });
    const first = await project.run('data', 'snapshot');
    const again = await project.run('data', 'snapshot');
    expect(again.result!.outputs).toEqual({ 'data-version': first.result!.outputs['data-version'], changed: false });
    appendFileSync(path.join(project.root, 'data/a.csv'), '3,4\n');
    const changed = await project.run('data', 'snapshot');
    expect(changed.result!.outputs.changed).toBe(true);
    expect(changed.result!.outputs['data-version']).not.toBe(first.result!.outputs['data-version']);
    expect(changed.result!.summary).toContain('`data/a.csv` | ✏️ modified');
  });

  it('keeps other sections of mlship.lock and writes it atomically (no temp files left)', async () => {
    const project = makeProject({ 'data/a.csv': 'a' });
    writeFileSync(path.join(project.root, 'mlship.lock'), 'version: 1\ntrain:\n  run: abc\n');
    await project.run('data', 'snapshot');
    const lock = parse(readFileSync(path.join(project.root, 'mlship.lock'), 'utf8'));
    expect(lock.train).toEqual({ run: 'abc' });
    expect(readdirSync(project.root).filter((n) => n.includes('.tmp'))).toEqual([]);
  });

  it('ignores itself: .mlship/ holds a .gitignore of *', async () => {
    const project = makeProject({ 'data/a.csv': 'a' });
    await project.run('data', 'snapshot');
    expect(readFileSync(path.join(project.root, '.mlship/.gitignore'), 'utf8')).toMatch(/^\*$/m);
  });

  it('follows a symlink that stays inside the repository', async () => {
    const project = makeProject({ 'real/a.csv': 'a', 'data/b.csv': 'b' });
    symlinkSync('../real/a.csv', path.join(project.root, 'data/link.csv'));
    const run = await project.run('data', 'snapshot');
    expect(run.error).toBeUndefined();
    expect(readLockFile(project.root).data.paths[0]).toMatchObject({ files: 2, size: 2 });
  });
});

describe('stat cache', () => {
  it('re-reads nothing when nothing changed, and only what changed otherwise', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 50; i += 1) files[`data/f${i}.txt`] = `file ${i}`;
    const project = makeProject(files);
    const state = new StateDirectory(project.root);
    const declared = [{ path: 'data', where: 'test' }];
    const cold = await snapshotWorkspace(state, declared);
    expect(cold.hashedFiles).toBe(50);
    const warm = await snapshotWorkspace(state, declared);
    expect(warm.hashedFiles).toBe(0);
    expect(warm.snapshot.version).toBe(cold.snapshot.version);
    writeTree(project.root, { 'data/f7.txt': 'FILE 7' }); // same size, new content, new mtime
    const afterEdit = await snapshotWorkspace(state, declared);
    expect(afterEdit.hashedFiles).toBe(1);
    expect(afterEdit.snapshot.version).not.toBe(cold.snapshot.version);
  });

  it('does not trust a file modified moments before it was hashed (racy clean)', async () => {
    const project = makeProject({ 'data/a.txt': 'a' });
    writeTree(project.root, { 'data/fresh.txt': 'just written' });
    const state = new StateDirectory(project.root);
    const declared = [{ path: 'data', where: 'test' }];
    await snapshotWorkspace(state, declared);
    const again = await snapshotWorkspace(state, declared);
    expect(again.hashedFiles).toBe(1); // the fresh file is hashed again; the old one is cached
    ageFiles(project.root);
    await snapshotWorkspace(state, declared);
    expect((await snapshotWorkspace(state, declared)).hashedFiles).toBe(0);
  });

  it('survives a corrupt cache file by hashing again', async () => {
    const project = makeProject({ 'data/a.txt': 'a' });
    const first = await project.run('data', 'snapshot');
    writeFileSync(path.join(project.root, '.mlship/cache/stat-cache.json'), '{not json');
    const again = await project.run('data', 'snapshot');
    expect(again.result!.outputs['data-version']).toBe(first.result!.outputs['data-version']);
    expect(existsSync(path.join(project.root, '.mlship/cache/stat-cache.json'))).toBe(true);
  });

  it('hashes large files across worker threads to the same digests as sha256sum', async () => {
    const big = Buffer.alloc(9 << 20);
    for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
    const project = makeProject({ 'data/big1.bin': big, 'data/big2.bin': Buffer.concat([big, Buffer.from('x')]), 'data/small.txt': 's' });
    const state = new StateDirectory(project.root);
    const result = await snapshotWorkspace(state, [{ path: 'data', where: 'test' }]);
    const files = result.files.get('data')!;
    for (const f of files) {
      const expected = execFileSync('sha256sum', [f.absolute], { encoding: 'utf8' }).split(' ')[0];
      expect(f.hash).toBe(expected);
    }
  });
});

describe('stat cache scope', () => {
  it('keeps the entries of other scans: hashing outputs does not make the data be read again', async () => {
    const project = makeProject({ 'data/a.txt': 'a', 'data/b.txt': 'b', 'model/m.bin': 'm' });
    const state = new StateDirectory(project.root);
    await snapshotWorkspace(state, [{ path: 'data', where: 'test' }]);
    await snapshotWorkspace(state, [{ path: 'model', where: 'test' }]);
    expect((await snapshotWorkspace(state, [{ path: 'data', where: 'test' }])).hashedFiles).toBe(0);
    expect((await snapshotWorkspace(state, [{ path: 'model', where: 'test' }])).hashedFiles).toBe(0);
  });
});
