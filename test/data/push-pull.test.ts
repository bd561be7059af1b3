import { readFileSync, readdirSync, writeFileSync, rmSync, existsSync, mkdirSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { Readable } from 'node:stream';
import { FileBlobStore } from '../../src/adapters/store/file-store.js';
import { uploadAll } from '../../src/services/objects.js';
import { RecordingReporter } from '../helpers/recording-reporter.js';
import { temporaryDirectory } from '../helpers/project.js';
import { cloneWithoutData, makeProject, storeObjects, treeHashes, writeTree, sha256File } from '../helpers/project.js';

function dataset(): Record<string, string | Buffer> {
  const files: Record<string, string | Buffer> = {
    'data/train.csv': 'id,label\n1,0\n2,1\n',
    'data/test.csv': 'id,label\n3,1\n',
    'data/images/a.bin': Buffer.alloc(70_000, 1),
    'data/images/nested/b.bin': Buffer.alloc(5_000, 2),
    'data/images/dup.bin': Buffer.alloc(70_000, 1), // same content as a.bin: stored once
  };
  return files;
}

describe('mlship data push / pull / verify (file store)', () => {
  it('pushes only what the store lacks: everything once, then zero bytes', async () => {
    const project = makeProject(dataset(), { paths: ['data/train.csv', 'data/test.csv', 'data/images'] });
    await project.run('data', 'snapshot');
    const first = await project.run('data', 'push');
    expect(first.error).toBeUndefined();
    // 4 distinct file contents + 1 directory manifest.
    expect(first.result!.outputs).toMatchObject({ 'uploaded-objects': 5 });
    expect(storeObjects(project.store).size).toBe(5);
    for (const [hash, file] of storeObjects(project.store)) expect(sha256File(file)).toBe(hash);
    const second = await project.run('data', 'push');
    expect(second.result!.outputs).toMatchObject({ 'uploaded-objects': 0, 'uploaded-bytes': 0 });
    expect(first.reporter.progressed.find((p) => p.title === 'uploading')).toMatchObject({ done: true });
  });

  it('uploads only the changed file after an edit', async () => {
    const project = makeProject(dataset(), { paths: ['data'] });
    await project.run('data', 'snapshot');
    await project.run('data', 'push');
    writeTree(project.root, { 'data/images/nested/b.bin': 'changed' });
    await project.run('data', 'snapshot');
    const push = await project.run('data', 'push');
    // The changed file and the new manifest of data/.
    expect(push.result!.outputs['uploaded-objects']).toBe(2);
    expect(push.result!.outputs['uploaded-bytes']).toBeLessThan(1000);
  });

  it('pulls the exact tree into a fresh clone and verifies it', async () => {
    const project = makeProject(dataset(), { paths: ['data/train.csv', 'data/images'] });
    await project.run('data', 'snapshot');
    await project.run('data', 'push');
    const clone = cloneWithoutData(project);
    const pull = await clone.run('data', 'pull');
    expect(pull.error).toBeUndefined();
    expect(pull.result!.outputs).toMatchObject({ 'restored-files': 4, 'downloaded-objects': 3, 'removed-files': 0 });
    const { 'data/test.csv': untracked, ...tracked } = treeHashes(project.root, 'data');
    expect(untracked).toBeDefined();
    expect(treeHashes(clone.root, 'data')).toEqual(tracked);
    const status = await clone.run('data', 'status', '--exit-code');
    expect(status.exitCode).toBe(ExitCode.Ok);
    const again = await clone.run('data', 'pull');
    expect(again.result!.outputs).toMatchObject({ 'restored-files': 0, 'downloaded-objects': 0 });
    const verify = await clone.run('data', 'verify');
    expect(verify.exitCode).toBe(ExitCode.Ok);
    expect(verify.result!.outputs).toMatchObject({ 'verified-objects': 4, missing: [], corrupt: [] });
  });

  it('restores an older data version: overwrites files whose content is safe in the store, removes extras', async () => {
    const project = makeProject(dataset(), { paths: ['data'] });
    await project.run('data', 'snapshot');
    await project.run('data', 'push');
    const lockV1 = readFileSync(path.join(project.root, 'mlship.lock'), 'utf8');
    const v1 = treeHashes(project.root, 'data');
    writeTree(project.root, { 'data/train.csv': 'id,label\n9,9\n', 'data/new/extra.csv': 'x' });
    await project.run('data', 'snapshot');
    await project.run('data', 'push');
    writeFileSync(path.join(project.root, 'mlship.lock'), lockV1); // as after `git checkout <old commit>`
    const pull = await project.run('data', 'pull');
    expect(pull.error).toBeUndefined();
    expect(pull.result!.outputs).toMatchObject({ 'restored-files': 1, 'removed-files': 1 });
    expect(treeHashes(project.root, 'data')).toEqual(v1);
    expect(existsSync(path.join(project.root, 'data/new'))).toBe(false);
  });

  it('refuses to overwrite local changes that are not in the store, unless --force', async () => {
    const project = makeProject(dataset(), { paths: ['data'] });
    await project.run('data', 'snapshot');
    await project.run('data', 'push');
    writeTree(project.root, { 'data/test.csv': 'my unsaved edit\n', 'data/scratch.txt': 'notes' });
    const refused = await project.run('data', 'pull');
    expect(refused.exitCode).toBe(ExitCode.Usage);
    expect(refused.error?.message).toContain('2 locally modified files that are not in the store (data/scratch.txt, data/test.csv)');
    expect(readFileSync(path.join(project.root, 'data/test.csv'), 'utf8')).toBe('my unsaved edit\n');
    const forced = await project.run('data', 'pull', '--force');
    expect(forced.error).toBeUndefined();
    expect(readFileSync(path.join(project.root, 'data/test.csv'), 'utf8')).toBe('id,label\n3,1\n');
    expect(existsSync(path.join(project.root, 'data/scratch.txt'))).toBe(false);
  });

  it.each([
    ['corrupt', (file: string) => writeFileSync(file, Buffer.alloc(70_000, 9)), /is corrupt: got 70000 bytes hashing to sha256:[0-9a-f]{64}, expected 70000 bytes; run `mlship data verify --repair` on a machine that has the data/],
    ['truncated', (file: string) => truncateSync(file, 100), /is truncated: got 100 bytes.*; run `mlship data verify --repair` on a machine that has the data/],
    ['missing', (file: string) => rmSync(file), /is missing from the store/],
  ])('a %s object fails the pull with exit 3, names the object and the path, and writes nothing', async (_kind, damage, message) => {
    const project = makeProject(dataset(), { paths: ['data'] });
    await project.run('data', 'snapshot');
    await project.run('data', 'push');
    const hash = sha256File(path.join(project.root, 'data/images/a.bin'));
    damage(storeObjects(project.store).get(hash)!);
    const clone = cloneWithoutData(project);
    const pull = await clone.run('data', 'pull');
    expect(pull.exitCode).toBe(ExitCode.Infrastructure);
    expect(pull.error?.message).toMatch(message);
    expect(pull.error?.message).toContain(`sha256:${hash}`);
    expect(pull.error?.message).toMatch(/"data\/images\/(a|dup)\.bin"/);
    expect(existsSync(path.join(clone.root, 'data'))).toBe(false);
    const verify = await project.run('data', 'verify');
    expect(verify.exitCode).toBe(ExitCode.CheckFailed);
    const listed = _kind === 'missing' ? verify.result!.outputs.missing : verify.result!.outputs.corrupt;
    expect(listed).toEqual(['data/images/a.bin', 'data/images/dup.bin']);
  });

  it.each([
    ['corrupt', (file: string) => writeFileSync(file, Buffer.alloc(70_000, 9))],
    ['missing', (file: string) => rmSync(file)],
  ])('repairs a %s object with `verify --repair` from a good local copy, atomically, and verifies it', async (_kind, damage) => {
    const project = makeProject(dataset(), { paths: ['data'] });
    await project.run('data', 'snapshot');
    await project.run('data', 'push');
    const hash = sha256File(path.join(project.root, 'data/images/a.bin'));
    damage(storeObjects(project.store).get(hash) ?? path.join(project.store, 'sha256', hash.slice(0, 2), hash.slice(2)));

    const verify = await project.run('data', 'verify');
    expect(verify.exitCode).toBe(ExitCode.CheckFailed);
    expect(verify.result!.failure).toContain('run `mlship data verify --repair` on a machine that has the data');
    // push does not help: the store has the key (or push would re-upload it anyway); only repair rewrites damage in place.
    const repair = await project.run('data', 'verify', '--repair');
    expect(repair.exitCode, repair.result?.failure).toBe(ExitCode.Ok);
    expect(repair.result!.outputs).toMatchObject({ repaired: ['data/images/a.bin', 'data/images/dup.bin'], missing: [], corrupt: [] });
    expect(sha256File(storeObjects(project.store).get(hash)!)).toBe(hash);
    expect(readdirSync(path.join(project.store, 'tmp'))).toEqual([]);
    expect((await project.run('data', 'verify')).exitCode).toBe(ExitCode.Ok);
  });

  it('repairs a damaged directory manifest, and leaves what it has no good copy of listed, with the hint', async () => {
    const project = makeProject(dataset(), { paths: ['data/images', 'data/train.csv'] });
    await project.run('data', 'snapshot');
    await project.run('data', 'push');
    const lock = readFileSync(path.join(project.root, 'mlship.lock'), 'utf8');
    const manifestHash = /path: data\/images\n\s+type: directory\n\s+hash: sha256:([0-9a-f]{64})/.exec(lock)![1]!;
    writeFileSync(storeObjects(project.store).get(manifestHash)!, 'garbage');
    const trainHash = sha256File(path.join(project.root, 'data/train.csv'));
    writeFileSync(storeObjects(project.store).get(trainHash)!, 'garbage');
    writeTree(project.root, { 'data/train.csv': 'edited since, so no good copy here' });

    const repair = await project.run('data', 'verify', '--repair');
    expect(repair.exitCode).toBe(ExitCode.CheckFailed);
    expect(repair.result!.outputs).toMatchObject({ repaired: ['data/images/ (manifest)'], corrupt: ['data/train.csv'], missing: [] });
    expect(repair.result!.failure).toMatch(/still missing 0 and has 1 corrupt objects .*: this machine has no good copy of data\/train.csv; run `mlship data verify --repair` on a machine that has the data/);
    expect(sha256File(storeObjects(project.store).get(manifestHash)!)).toBe(manifestHash);
  });

  it('fails with exit 3 and names the store when the store cannot be used', async () => {
    const project = makeProject({ 'data/a.csv': 'a' });
    writeFileSync(path.join(project.root, 'blocker'), 'a file where a directory should be');
    writeTree(project.root, { 'mlship.yml': `version: 1\nname: t\ndata:\n  paths: [data]\n  store: file://${project.root}/blocker/store\n` });
    await project.run('data', 'snapshot');
    const push = await project.run('data', 'push');
    expect(push.exitCode).toBe(ExitCode.Infrastructure);
    expect(push.error?.message).toContain(`store file://${project.root}/blocker/store is not usable`);
  });

  it('uses .mlship/store by default', async () => {
    const project = makeProject({ 'data/a.csv': 'a' });
    writeTree(project.root, { 'mlship.yml': 'version: 1\nname: t\ndata:\n  paths: [data]\n' });
    await project.run('data', 'snapshot');
    await project.run('data', 'push');
    expect(storeObjects(path.join(project.root, '.mlship/store')).size).toBe(2);
  });

  it('refuses to push a locked file that changed on disk and is not in the store', async () => {
    const project = makeProject({ 'data/a.csv': 'a' }, { paths: ['data/a.csv'] });
    await project.run('data', 'snapshot');
    writeTree(project.root, { 'data/a.csv': 'b' });
    const push = await project.run('data', 'push');
    expect(push.exitCode).toBe(ExitCode.Usage);
    expect(push.error?.message).toContain('neither in the store nor on disk as locked (data/a.csv)');
    mkdirSync(project.store, { recursive: true });
    expect(storeObjects(project.store).size).toBe(0);
  });
});

describe('mlship data status', () => {
  it('lists added, modified and deleted files inside tracked directories', async () => {
    const project = makeProject(dataset(), { paths: ['data'] });
    await project.run('data', 'snapshot');
    writeTree(project.root, { 'data/train.csv': 'changed', 'data/images/new.bin': 'n' });
    rmSync(path.join(project.root, 'data/test.csv'));
    const status = await project.run('data', 'status');
    expect(status.result!.outputs).toMatchObject({
      changed: true,
      added: ['data/images/new.bin'],
      modified: ['data/train.csv'],
      deleted: ['data/test.csv'],
    });
    expect((await project.run('data', 'status', '--exit-code')).exitCode).toBe(ExitCode.CheckFailed);
  });

  it('fails with exit 2 when a declared path is missing, naming it and the fix, rather than saying it matches', async () => {
    const project = makeProject({ 'data/a.csv': 'a', 'other.csv': 'o' }, { paths: ['data', 'other.csv', 'later'] });
    writeTree(project.root, { 'later/x.csv': 'x' });
    await project.run('data', 'snapshot');
    rmSync(path.join(project.root, 'other.csv'));
    rmSync(path.join(project.root, 'later'), { recursive: true });
    const status = await project.run('data', 'status');
    expect(status.exitCode).toBe(ExitCode.Usage);
    expect(status.error?.message).toMatch(/mlship.yml:4:\d+ data.paths\[1\]: "other.csv" does not exist; run `mlship data pull` to restore it from the store, or fix data.paths/);
    expect(status.error?.message).toMatch(/data.paths\[2\]: "later" does not exist; run `mlship data pull`/);
    // A path declared but never snapshotted cannot be pulled: the fix is another.
    writeTree(project.root, { 'mlship.yml': `version: 1\nname: t\ndata:\n  paths: [data, other.csv, later, new.csv]\n  store: file://${project.store}\n` });
    const fresh = await project.run('data', 'status');
    expect(fresh.error?.message).toMatch(/data.paths\[3\]: "new.csv" does not exist \(and mlship.lock does not have it\); create it, or fix data.paths/);
  });

  it('reports a path dropped from data.paths as no longer tracked, not as deleted', async () => {
    const project = makeProject({ 'data/a.csv': 'a', 'data/b.csv': 'b', 'other.csv': 'o' }, { paths: ['data', 'other.csv'] });
    await project.run('data', 'snapshot');
    writeTree(project.root, { 'mlship.yml': `version: 1\nname: t\ndata:\n  paths: [other.csv]\n  store: file://${project.store}\n` });
    const status = await project.run('data', 'status');
    expect(status.error).toBeUndefined();
    expect(status.result!.outputs).toMatchObject({ changed: true, untracked: ['data'], deleted: [], added: [], modified: [] });
    expect(status.reporter.text()).toContain('no longer tracked data');
    expect(status.result!.summary).toContain('| `data` | ⏏️ no longer tracked |');
    const snapshot = await project.run('data', 'snapshot');
    expect(snapshot.result!.summary).toContain('0 added, 0 modified, 0 deleted, 1 no longer tracked');
  });

  it('is clean right after a snapshot', async () => {
    const project = makeProject(dataset(), { paths: ['data'] });
    await project.run('data', 'snapshot');
    const status = await project.run('data', 'status', '--exit-code');
    expect(status.exitCode).toBe(ExitCode.Ok);
    expect(status.result!.outputs).toMatchObject({ changed: false, added: [], modified: [], deleted: [] });
  });
});

describe('uploadAll', () => {
  it('fails, rather than stalls, when a source cannot be read mid-upload', async () => {
    const store = new FileBlobStore(path.join(temporaryDirectory(), 'store'));
    const failure = Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
    const broken = (): Readable =>
      Readable.from(
        (function* () {
          yield Buffer.from('first bytes');
          throw failure;
        })(),
      );
    const upload = uploadAll(store, [{ hash: 'ab'.repeat(32), size: 100, display: 'data/x.bin', open: broken }], new RecordingReporter());
    await expect(upload).rejects.toBe(failure);
    expect(await store.missing(['ab'.repeat(32)])).toEqual(['ab'.repeat(32)]);
  }, 10_000);
});
