import { spawnSync, execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, existsSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { makeProject, temporaryDirectory, writeTree } from '../helpers/project.js';
import { CLI, nodeBinary } from '../helpers/bundle.js';

/**
 * Runs `data snapshot` with the bundled CLI as user nobody when the tests run as root, because
 * root reads files whatever their permissions. The user must reach and write the project.
 */
function snapshotUnprivileged(root: string) {
  chmodSync(path.dirname(root), 0o777);
  for (const dir of [root, path.join(root, 'data')]) chmodSync(dir, 0o777);
  const asRoot = process.getuid?.() === 0;
  return spawnSync(nodeBinary(), [CLI, 'data', 'snapshot'], {
    cwd: root,
    encoding: 'utf8',
    ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
  });
}

describe('data snapshot refuses bad input, by name, with exit 2 and nothing written', () => {
  it.each([
    ['a missing path', { 'data/a.csv': 'a' }, ['data/a.csv', 'data/missing.csv'], /mlship.yml:4:\d+ data.paths\[1\]: "data\/missing.csv" does not exist/],
    ['a path outside the repository', { 'data/a.csv': 'a' }, ['../outside'], /data.paths\[0\]: "..\/outside" is outside the repository/],
    ['overlapping paths', { 'data/a.csv': 'a' }, ['data', 'data/a.csv'], /"data\/a.csv" is inside "data"/],
    ['the whole repository', { 'data/a.csv': 'a' }, ['.'], /is the whole repository/],
  ])('%s', async (_name, files, paths, message) => {
    const project = makeProject(files, { paths });
    const run = await project.run('data', 'snapshot');
    expect(run.exitCode).toBe(ExitCode.Usage);
    expect(run.error?.message).toMatch(message);
    expect(existsSync(path.join(project.root, 'mlship.lock'))).toBe(false);
  });

  it('a symlink that leads out of the repository', async () => {
    const outside = temporaryDirectory();
    writeTree(outside, { 'secret.txt': 's' });
    const project = makeProject({ 'data/a.csv': 'a' });
    symlinkSync(path.join(outside, 'secret.txt'), path.join(project.root, 'data/link.txt'));
    const run = await project.run('data', 'snapshot');
    expect(run.exitCode).toBe(ExitCode.Usage);
    expect(run.error?.message).toContain('"data/link.txt" is a symlink to');
    expect(run.error?.message).toContain('outside the repository');
  });

  it('a named pipe (special file)', async () => {
    const project = makeProject({ 'data/a.csv': 'a' });
    execFileSync('mkfifo', [path.join(project.root, 'data/pipe')]);
    const run = await project.run('data', 'snapshot');
    expect(run.exitCode).toBe(ExitCode.Usage);
    expect(run.error?.message).toContain('"data/pipe" is a named pipe');
  });

  it('a config without a data section', async () => {
    const project = makeProject({});
    writeTree(project.root, { 'mlship.yml': 'version: 1\nname: x\n' });
    const run = await project.run('data', 'snapshot');
    expect(run.exitCode).toBe(ExitCode.Usage);
    expect(run.error?.message).toContain('`mlship data snapshot` needs a "data" section');
  });

  it('a missing config file', async () => {
    const project = makeProject({});
    const run = await project.run('data', 'snapshot', '--config', 'nope.yml');
    expect(run.exitCode).toBe(ExitCode.Usage);
    expect(run.error?.message).toContain('nope.yml: cannot read the config (no such file)');
  });

  it('a hand-edited lock whose version does not match its paths', async () => {
    const project = makeProject({ 'data/a.csv': 'a' });
    await project.run('data', 'snapshot');
    const lockPath = path.join(project.root, 'mlship.lock');
    const text = (await import('node:fs')).readFileSync(lockPath, 'utf8');
    writeTree(project.root, { 'mlship.lock': text.replace(/size: 1/, 'size: 2') });
    const run = await project.run('data', 'push');
    expect(run.exitCode).toBe(ExitCode.Usage);
    expect(run.error?.message).toMatch(/mlship.lock: data.version: .* does not match its paths/);
  });

  it('an unreadable file (run as an unprivileged user, since root reads everything)', () => {
    const project = makeProject({ 'data/a.csv': 'a', 'data/locked.csv': 'secret' });
    chmodSync(path.join(project.root, 'data/locked.csv'), 0o000);
    const result = snapshotUnprivileged(project.root);
    expect(result.stderr).toContain('"data/locked.csv" cannot be read (permission denied)');
    expect(result.status).toBe(ExitCode.Usage);
    expect(readdirSync(project.root)).not.toContain('mlship.lock');
  });

  it('leaves no lock behind when a directory cannot be listed', () => {
    const project = makeProject({ 'data/a.csv': 'a', 'data/closed/b.csv': 'b' });
    mkdirSync(path.join(project.root, 'data/closed/inner'), { recursive: true });
    chmodSync(path.join(project.root, 'data/closed'), 0o000);
    const result = snapshotUnprivileged(project.root);
    chmodSync(path.join(project.root, 'data/closed'), 0o755);
    expect(result.stderr).toContain('"data/closed" cannot be read (permission denied)');
    expect(result.status).toBe(ExitCode.Usage);
  });
});
