import { createHash } from 'node:crypto';
import ignore from 'ignore';
import { simpleGit, type SimpleGit } from 'simple-git';
import { ConfigurationError, InfrastructureError, describeError } from '../../errors.js';
import { byPathBytes } from '../../domain/data/manifest.js';
import type { GitIdentity } from '../../domain/registry/records.js';

/**
 * Which files of the repository training depends on: gitignore-style patterns relative to the
 * project root. A file counts when it matches `include` (every file when empty) and no `ignore`
 * pattern. Git's own ignores apply first: ignored files (data, outputs, caches) never count.
 */
export interface CodeScope {
  readonly include: readonly string[];
  readonly ignore: readonly string[];
}

/** Reads which code a run trains: the committed tree at HEAD, and the content of the files in scope now. */
export interface CodeIdentityReader {
  identify(root: string, scope: CodeScope): Promise<GitIdentity>;
}

/** `git hash-object` takes paths as arguments: this many per call stays far below any argument limit. */
const HASH_BATCH = 200;
/** A local git call that takes longer than this is hung (a lock, a credential prompt), not slow. */
const GIT_TIMEOUT_MS = 60_000;

export class GitCodeIdentity implements CodeIdentityReader {
  constructor(private readonly env: Readonly<Record<string, string | undefined>> = process.env) {}

  async identify(root: string, scope: CodeScope): Promise<GitIdentity> {
    const git: SimpleGit = simpleGit({ baseDir: root, timeout: { block: GIT_TIMEOUT_MS } });
    let isRepo: boolean;
    try {
      isRepo = await git.checkIsRepo();
    } catch (error) {
      throw new InfrastructureError(`git could not be run in ${root}: ${describeError(error)}`, { cause: error });
    }
    if (!isRepo) {
      throw new ConfigurationError(`${root} is not a git repository: mlship identifies the code it trains by its git commit (run git init and commit)`);
    }
    let sha: string;
    let tree: string;
    try {
      sha = (await git.revparse(['HEAD'])).trim();
      tree = (await git.revparse(['HEAD^{tree}'])).trim();
    } catch {
      throw new ConfigurationError(`the git repository at ${root} has no commit yet: commit the training code first`);
    }
    try {
      // Tracked changes only: untracked files (outputs, scratch) do not make the commit dirty.
      const status = await git.raw(['status', '--porcelain', '--untracked-files=no']);
      const dirty = status.trim() !== '';
      const dirtyHash = dirty ? createHash('sha256').update(await git.raw(['diff', 'HEAD', '--binary', '--no-color', '--no-ext-diff'])).digest('hex') : undefined;
      const ref = await this.refName(git);
      const committedAt = (await git.raw(['show', '-s', '--format=%cI', 'HEAD'])).trim();
      const code = await codeHash(git, scope);
      const source = webUrlOfRemote((await git.raw(['remote', 'get-url', 'origin']).catch(() => '')).trim());
      return {
        sha,
        ref,
        tree,
        dirty,
        ...(dirtyHash ? { dirtyHash } : {}),
        ...(committedAt ? { committedAt } : {}),
        code: code.hash,
        codeFiles: code.files,
        ...(source ? { source } : {}),
      };
    } catch (error) {
      if (error instanceof ConfigurationError) throw error;
      throw new InfrastructureError(`git failed in ${root} while identifying the code: ${describeError(error)}`, { cause: error });
    }
  }

  /** The branch as a person would name it; in Actions, the pull request's head branch or the pushed ref. */
  private async refName(git: SimpleGit): Promise<string> {
    const fromActions = this.env.GITHUB_HEAD_REF || this.env.GITHUB_REF_NAME;
    if (fromActions) return fromActions;
    const branch = (await git.raw(['symbolic-ref', '--short', '-q', 'HEAD']).catch(() => '')).trim();
    return branch || 'HEAD (detached)';
  }
}

/**
 * sha256 of `<git blob id> <path>` lines, sorted by path, over every file in scope as it is on disk
 * now: tracked files (committed, staged or edited) and untracked ones git does not ignore. The
 * same content gives the same hash whether it is committed, staged or only saved, so training on a
 * dirty tree and committing afterwards keeps the run key — and evaluate finds the run.
 */
async function codeHash(git: SimpleGit, scope: CodeScope): Promise<{ hash: string; files: number }> {
  const included = scope.include.length > 0 ? ignore().add([...scope.include]) : undefined;
  const ignored = ignore().add([...scope.ignore]);
  const inScope = (file: string): boolean => (included === undefined || included.ignores(file)) && !ignored.ignores(file);

  const staged = new Map<string, string>();
  for (const entry of nulSeparated(await git.raw(['ls-files', '-z', '--stage']))) {
    // <mode> <oid> <stage>\t<path>; a conflicted file has several stages: it is edited, hashed below.
    const tab = entry.indexOf('\t');
    const [, oid] = entry.slice(0, tab).split(' ');
    staged.set(entry.slice(tab + 1), oid!);
  }
  const deleted = new Set(nulSeparated(await git.raw(['ls-files', '-z', '--deleted'])));
  const modified = new Set(nulSeparated(await git.raw(['ls-files', '-z', '--modified'])));
  const untracked = nulSeparated(await git.raw(['ls-files', '-z', '--others', '--exclude-standard']));

  const files = [...staged.keys()].filter((file) => !deleted.has(file) && inScope(file));
  const toHash = [...files.filter((file) => modified.has(file)), ...untracked.filter(inScope)];
  const hashed = new Map<string, string>();
  for (let i = 0; i < toHash.length; i += HASH_BATCH) {
    const batch = toHash.slice(i, i + HASH_BATCH);
    const oids = (await git.raw(['hash-object', '--', ...batch])).trim().split('\n');
    batch.forEach((file, j) => hashed.set(file, oids[j]!));
  }
  const lines = [...new Set([...files, ...untracked.filter(inScope)])]
    .map((file) => ({ path: file, oid: hashed.get(file) ?? staged.get(file)! }))
    .sort(byPathBytes)
    .map(({ path, oid }) => `${oid} ${path}\n`)
    .join('');
  return { hash: `sha256:${createHash('sha256').update(lines).digest('hex')}`, files: lines === '' ? 0 : lines.split('\n').length - 1 };
}

function nulSeparated(output: string): string[] {
  return output.split('\0').filter((entry) => entry !== '');
}

/**
 * The repository's web address from its origin URL, without credentials: what
 * `org.opencontainers.image.source` names. The same clone gives the same answer from the CLI and
 * from the action (actions/checkout sets origin to https://github.com/<owner>/<repo>), so an image
 * built either way carries the same labels. Local paths and file:// remotes have no web address.
 */
export function webUrlOfRemote(remote: string): string | undefined {
  const scp = /^(?:[^@/\s]+@)?([^:/\s]+):(?!\/)(.+)$/.exec(remote);
  let host: string;
  let repoPath: string;
  if (/^(https?|ssh|git):\/\//i.test(remote)) {
    let url: URL;
    try {
      url = new URL(remote);
    } catch {
      return undefined;
    }
    host = url.hostname + (url.protocol.startsWith('http') && url.port ? `:${url.port}` : '');
    repoPath = url.pathname;
  } else if (scp && !remote.startsWith('/') && !/^[a-z]:[\\/]/i.test(remote)) {
    host = scp[1]!;
    repoPath = scp[2]!;
  } else {
    return undefined;
  }
  const clean = repoPath.replace(/^\/+/, '').replace(/\.git\/?$/, '').replace(/\/+$/, '');
  return clean === '' ? undefined : `https://${host}/${clean}`;
}
