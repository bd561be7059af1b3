import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/bundle.js';

function sources(directory: string): string[] {
  return (readdirSync(path.join(REPO_ROOT, directory), { recursive: true }) as string[])
    .filter((name) => name.endsWith('.ts'))
    .map((name) => path.join(directory, name));
}

function imports(file: string): string[] {
  const text = readFileSync(path.join(REPO_ROOT, file), 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'|import\('([^']+)'\)/gm)].map((m) => m[1] ?? m[2]!);
}

describe('layers: imports point down only', () => {
  it('domain code does no I/O and knows nothing of adapters, commands, config or entry points', () => {
    const offending = sources('src/domain').flatMap((file) =>
      imports(file)
        .filter((spec) => /\/(adapters|commands|cli|config)\//.test(spec) || /^node:(fs|child_process|net|http|https|worker_threads|os)/.test(spec))
        .map((spec) => `${file} imports ${spec}`),
    );
    expect(offending).toEqual([]);
  });

  it('adapters do not reach up into services, commands or entry points', () => {
    const offending = sources('src/adapters').flatMap((file) =>
      imports(file)
        .filter((spec) => /\/(services|commands|cli)\//.test(spec) || /\/(main|cli)\.js$/.test(spec))
        .map((spec) => `${file} imports ${spec}`),
    );
    expect(offending).toEqual([]);
  });

  it('services know no command (only the command types) and no entry point', () => {
    const offending = sources('src/services').flatMap((file) =>
      imports(file)
        .filter((spec) => (/\/commands\//.test(spec) && !/\/commands\/command\.js$/.test(spec)) || /\/cli\//.test(spec) || /\/(main|cli)\.js$/.test(spec))
        .map((spec) => `${file} imports ${spec}`),
    );
    expect(offending).toEqual([]);
  });

  it('commands never import each other: what two of them share lives in src/services', () => {
    // src/commands/index.ts lists them all; every other file belongs to one command's folder.
    const inFolders = sources('src/commands').filter((file) => file.split(path.sep).length > 3);
    const offending = inFolders.flatMap((file) => {
      const own = file.split(path.sep)[2]!; // src/commands/<own>/…
      return imports(file)
        .map((spec) => path.posix.normalize(path.posix.join(path.dirname(file).split(path.sep).join('/'), spec)))
        .filter((target) => target.startsWith('src/commands/') && target.split('/').length > 3 && target.split('/')[2] !== own)
        .map((target) => `${file} imports ${target}`);
    });
    expect(offending).toEqual([]);
  });

  it('only the entry points end the process', () => {
    const offending = [...sources('src/domain'), ...sources('src/adapters'), ...sources('src/commands'), ...sources('src/config')].filter((file) =>
      /process\.exit\(/.test(readFileSync(path.join(REPO_ROOT, file), 'utf8')),
    );
    expect(offending).toEqual([]);
  });
});
