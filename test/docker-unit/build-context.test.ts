import { describe, expect, it } from 'vitest';
import { checkDockerfile, contextFiles } from '../../src/adapters/docker/build-context.js';
import { temporaryDirectory, writeTree } from '../helpers/project.js';

describe('build context', () => {
  it('honours .dockerignore like Docker: relative patterns, nested paths, ! re-includes, Dockerfile always sent', () => {
    const root = temporaryDirectory();
    writeTree(root, {
      Dockerfile: 'FROM debian:bookworm-slim\n',
      '.dockerignore': '# keep images small\ndata/\n**/*.pyc\n.git\nmodel/*.tmp\n!model/keep.tmp\nDockerfile\n',
      'serve.py': 'print(1)',
      'model/model.pkl': 'm',
      'model/scratch.tmp': 's',
      'model/keep.tmp': 'k',
      'data/train.csv': 'big',
      'pkg/__pycache__/x.pyc': 'c',
      'pkg/mod.py': 'p',
      '.git/HEAD': 'ref',
    });
    expect(contextFiles(root, 'Dockerfile')).toEqual(['.dockerignore', 'Dockerfile', 'model/keep.tmp', 'model/model.pkl', 'pkg/mod.py', 'serve.py']);
  });

  it("sends everything without a .dockerignore, but never mlship's own state", () => {
    const root = temporaryDirectory();
    writeTree(root, { Dockerfile: 'FROM x\n', 'a/b/c.txt': 'c', '.mlship/registry/runs/r.json': '{}', '.mlship/store/sha256/ab/cd': 'blob' });
    expect(contextFiles(root, 'Dockerfile')).toEqual(['Dockerfile', 'a/b/c.txt']);
  });

  it('digests the content a build sends: file times do not count, content and the executable bit do', async () => {
    const { contextDigest } = await import('../../src/adapters/docker/build-context.js');
    const { chmodSync, utimesSync } = await import('node:fs');
    const root = temporaryDirectory();
    writeTree(root, { Dockerfile: 'FROM x\n', 'serve.py': 'print(1)' });
    const files = contextFiles(root, 'Dockerfile');
    const before = contextDigest(root, files);
    utimesSync(`${root}/serve.py`, new Date(0), new Date(0));
    expect(contextDigest(root, files)).toBe(before);
    chmodSync(`${root}/serve.py`, 0o755);
    const executable = contextDigest(root, files);
    expect(executable).not.toBe(before);
    writeTree(root, { 'serve.py': 'print(2)' });
    expect(contextDigest(root, files)).not.toBe(executable);
  });

  it('refuses a missing Dockerfile or one outside the context, by name', () => {
    const root = temporaryDirectory();
    expect(() => checkDockerfile(root, 'Dockerfile', 'mlship.yml:9:3 image.dockerfile')).toThrow(`mlship.yml:9:3 image.dockerfile: no Dockerfile at ${root}/Dockerfile`);
    expect(() => checkDockerfile(root, '../Dockerfile', 'image.dockerfile')).toThrow('must be inside the build context');
  });
});
