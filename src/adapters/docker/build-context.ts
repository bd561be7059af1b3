import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, readlinkSync, lstatSync } from 'node:fs';
import path from 'node:path';
import dockerignoreModule from '@balena/dockerignore';
import { ConfigurationError, errnoCode } from '../../errors.js';

// The package is CommonJS whose types declare a default export: under NodeNext the import is the
// module object for TypeScript but the factory function at run time (and `.default` in bundles).
type IgnoreFactory = typeof dockerignoreModule.default;
const dockerignore: IgnoreFactory =
  (dockerignoreModule as unknown as { default?: IgnoreFactory }).default ?? (dockerignoreModule as unknown as IgnoreFactory);

/**
 * The files of a build context, as Docker sends them: every file under the context except those
 * `.dockerignore` excludes (patterns matched against paths relative to the context, `!` re-includes,
 * later rules win) and mlship's `.mlship/`, with the Dockerfile and `.dockerignore` always included. Paths are POSIX and
 * sorted, so the same tree gives the same tar.
 */
export function contextFiles(contextDir: string, dockerfile: string): string[] {
  let rules = '';
  try {
    rules = readFileSync(path.join(contextDir, '.dockerignore'), 'utf8');
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error;
  }
  // mlship's own state (caches, the local store and registry) is never part of an image.
  const ignore = dockerignore({ ignorecase: false }).add('.mlship').add(rules);
  const keep = new Set(['.dockerignore', dockerfile]);
  const out: string[] = [];
  const walk = (relative: string): void => {
    const absolute = path.join(contextDir, relative);
    for (const entry of readdirSync(absolute, { withFileTypes: true })) {
      const child = relative ? `${relative}/${entry.name}` : entry.name;
      const ignored = ignore.ignores(child) && !keep.has(child);
      if (entry.isDirectory()) {
        // A re-included path below an ignored directory (`!dir/keep`) still needs the walk.
        if (!ignored || rules.includes('!')) walk(child);
      } else if (!ignored) {
        out.push(child);
      }
    }
  };
  walk('');
  return out.sort();
}

/** The Dockerfile must exist inside the context: say so before talking to any engine. */
export function checkDockerfile(contextDir: string, dockerfile: string, where: string): void {
  const relative = path.posix.normalize(dockerfile);
  if (relative.startsWith('../') || path.isAbsolute(relative)) {
    throw new ConfigurationError(`${where}: the Dockerfile "${dockerfile}" must be inside the build context ${contextDir}`);
  }
  let isFile = false;
  try {
    isFile = lstatSync(path.join(contextDir, relative)).isFile();
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error;
  }
  if (!isFile) throw new ConfigurationError(`${where}: no Dockerfile at ${path.join(contextDir, relative)}`);
}

/**
 * What the build context holds, as one hash: each file's path, whether it is executable (or a
 * symlink, with its target) and the sha256 of its content. File times are left out, so a fresh
 * clone of the same commit gives the same digest (part of the build key).
 */
export function contextDigest(contextDir: string, files: readonly string[]): string {
  const hash = createHash('sha256');
  for (const file of files) {
    const absolute = path.join(contextDir, file);
    const info = lstatSync(absolute);
    const content = info.isSymbolicLink() ? `symlink:${readlinkSync(absolute)}` : createHash('sha256').update(readFileSync(absolute)).digest('hex');
    hash.update(`${content} ${info.mode & 0o111 ? 'x' : '-'} ${file}\n`);
  }
  return `sha256:${hash.digest('hex')}`;
}
