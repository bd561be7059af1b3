import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { sha256Hex } from '../../src/domain/data/manifest.js';
import { cloneWithoutData, makeProject, temporaryDirectory, treeHashes, writeTree, type Project } from '../helpers/project.js';

const read = (project: Project, file: string): string => readFileSync(path.join(project.root, file), 'utf8');
const lockOf = (project: Project): string => read(project, 'mlship.lock');

/** Snapshots and pushes the tree as it is now; returns the lock, to go back to it later (as `git checkout` would). */
async function saveVersion(project: Project): Promise<string> {
  expect((await project.run('data', 'snapshot')).error).toBeUndefined();
  expect((await project.run('data', 'push')).error).toBeUndefined();
  return lockOf(project);
}

describe('data pull never acts through a symlinked directory', () => {
  it('refuses to overwrite a file reached through a symlink to another directory of the repository, even with --force', async () => {
    const project = makeProject({ 'data/a.csv': 'a', 'other/x.csv': 'version 1' }, { paths: ['data'] });
    symlinkSync('../other', path.join(project.root, 'data/link'));
    const v1 = await saveVersion(project);
    writeTree(project.root, { 'other/x.csv': 'version 2' });
    await saveVersion(project); // both versions are in the store: nothing local is at risk
    writeFileSync(path.join(project.root, 'mlship.lock'), v1);

    for (const argv of [['data', 'pull'], ['data', 'pull', '--force']]) {
      const pull = await project.run(...argv);
      expect(pull.exitCode).toBe(ExitCode.Usage);
      expect(pull.error?.message).toContain(`"data/link" is a symlink to the directory ${path.join(project.root, 'other')}`);
      expect(pull.error?.message).toContain('"data/link/x.csv"');
      expect(pull.error?.message).toContain('nothing was changed');
    }
    expect(read(project, 'other/x.csv')).toBe('version 2');
  });

  it('refuses to delete a file reached through a symlinked directory', async () => {
    const project = makeProject({ 'data/a.csv': 'a', 'other/x.csv': 'x' }, { paths: ['data'] });
    symlinkSync('../other', path.join(project.root, 'data/link'));
    const v1 = await saveVersion(project);
    writeTree(project.root, { 'other/y.csv': 'added later' });
    await saveVersion(project);
    writeFileSync(path.join(project.root, 'mlship.lock'), v1);

    const pull = await project.run('data', 'pull');
    expect(pull.exitCode).toBe(ExitCode.Usage);
    expect(pull.error?.message).toContain('writing or deleting "data/link/y.csv" through it');
    expect(read(project, 'other/y.csv')).toBe('added later');
  });

  it('refuses to write through a symlinked parent directory that leads out of the repository', async () => {
    const project = makeProject({ 'data/train.csv': 't' }, { paths: ['data/train.csv'] });
    await saveVersion(project);
    const clone = cloneWithoutData(project);
    const elsewhere = temporaryDirectory();
    symlinkSync(elsewhere, path.join(clone.root, 'data'));
    const pull = await clone.run('data', 'pull');
    expect(pull.exitCode).toBe(ExitCode.Usage);
    expect(pull.error?.message).toContain(`"data" is a symlink to the directory ${elsewhere}: writing or deleting "data/train.csv" through it would change ${elsewhere}/train.csv`);
    expect(readdirSync(elsewhere)).toEqual([]);
  });
});

describe('data pull never deletes what it does not track', () => {
  it('refuses to replace an untracked file that stands where a tracked path needs a directory', async () => {
    const project = makeProject({ 'data/train.csv': 't' }, { paths: ['data/train.csv'] });
    await saveVersion(project);
    const clone = cloneWithoutData(project);
    writeTree(clone.root, { data: 'my notes, never tracked' });
    const pull = await clone.run('data', 'pull', '--force');
    expect(pull.exitCode).toBe(ExitCode.Usage);
    expect(pull.error?.message).toContain('"data" is a file mlship does not track, where "data/train.csv" needs a directory');
    expect(read(clone, 'data')).toBe('my notes, never tracked');
  });

  it.each([
    ['a nested .git', 'data/model/.git/HEAD'],
    ['an mlship temp file', 'data/model/.part.csv.mlship-0123456789ab.tmp'],
  ])('keeps %s when the lock has a file where a directory now stands, even with --force', async (_name, kept) => {
    const project = makeProject({ 'data/a.csv': 'a', 'data/model': 'the locked file' }, { paths: ['data'] });
    await saveVersion(project);
    rmSync(path.join(project.root, 'data/model'));
    writeTree(project.root, { 'data/model/weights.bin': 'w', [kept]: 'not mlship’s to delete' });
    await project.run('data', 'push'); // the locked version is still the one with the file

    for (const argv of [['data', 'pull'], ['data', 'pull', '--force']]) {
      const pull = await project.run(...argv);
      expect(pull.exitCode).toBe(ExitCode.Usage);
      expect(pull.error?.message).toContain(`"${kept.split('/').slice(0, 3).join('/')}" stands where mlship.lock has the file "data/model"`);
    }
    expect(read(project, kept)).toBe('not mlship’s to delete');
    expect(read(project, 'data/model/weights.bin')).toBe('w');
  });

  it('replaces a tracked directory that became a file only when the store has that file, and says what --force discarded', async () => {
    const project = makeProject({ 'data/a.csv': 'a', 'data/b.csv': 'b' }, { paths: ['data'] });
    await saveVersion(project);
    rmSync(path.join(project.root, 'data'), { recursive: true });
    writeTree(project.root, { data: 'unsaved work' });

    const refused = await project.run('data', 'pull');
    expect(refused.exitCode).toBe(ExitCode.Usage);
    expect(refused.error?.message).toContain('1 locally modified files that are not in the store (data)');
    expect(read(project, 'data')).toBe('unsaved work');

    const forced = await project.run('data', 'pull', '--force');
    expect(forced.error).toBeUndefined();
    expect(forced.reporter.warnings()).toContain('--force: discarding 1 local files that are not in the store: data');
    expect(forced.result!.summary).toContain('Discarded with --force (not in the store): data');
    expect(treeHashes(project.root, 'data')).toEqual({ 'data/a.csv': sha256Hex('a'), 'data/b.csv': sha256Hex('b') });
  });

  it('keeps a nested .git when it prunes the directories it emptied', async () => {
    const project = makeProject({ 'data/a.csv': 'a' }, { paths: ['data'] });
    const v1 = await saveVersion(project);
    writeTree(project.root, { 'data/sub/b.csv': 'b', 'data/sub/.git/HEAD': 'ref' });
    await saveVersion(project);
    writeFileSync(path.join(project.root, 'mlship.lock'), v1);
    const pull = await project.run('data', 'pull');
    expect(pull.error).toBeUndefined();
    expect(pull.result!.outputs).toMatchObject({ 'removed-files': 1 });
    expect(existsSync(path.join(project.root, 'data/sub/b.csv'))).toBe(false);
    expect(read(project, 'data/sub/.git/HEAD')).toBe('ref');
  });
});

describe('data pull trusts no path it is given', () => {
  it('refuses a directory manifest that names a path outside its directory, and writes nothing', async () => {
    const project = makeProject({ 'data/a.csv': 'a' }, { paths: ['data'] });
    await saveVersion(project);
    // A crafted commit: a lock whose directory manifest (stored under its own hash) escapes the repository.
    const escaped = `escaped-${path.basename(project.root)}.csv`;
    const manifest = `${sha256Hex('a')} 1 ../../${escaped}\n`;
    const manifestHash = sha256Hex(manifest);
    mkdirSync(path.join(project.store, 'sha256', manifestHash.slice(0, 2)), { recursive: true });
    writeFileSync(path.join(project.store, 'sha256', manifestHash.slice(0, 2), manifestHash.slice(2)), manifest);
    const { dataVersion } = await import('../../src/domain/data/manifest.js');
    const version = dataVersion([{ path: 'data', type: 'directory', hash: manifestHash, size: 1, files: 1 }]);
    writeFileSync(
      path.join(project.root, 'mlship.lock'),
      `version: 1\ndata:\n  version: "${version}"\n  paths:\n    - { path: data, type: directory, hash: "sha256:${manifestHash}", size: 1, files: 1 }\n`,
    );
    const clone = cloneWithoutData(project);
    const pull = await clone.run('data', 'pull');
    expect(pull.exitCode).toBe(ExitCode.Usage);
    expect(pull.error?.message).toContain('the manifest of "data"');
    expect(pull.error?.message).toContain(`"../../${escaped}"`);
    expect(existsSync(path.join(path.dirname(clone.root), escaped))).toBe(false);
  });
});
