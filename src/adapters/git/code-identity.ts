import { createHash } from 'node:crypto';
import { simpleGit, type SimpleGit } from 'simple-git';
import { ConfigurationError, InfrastructureError, describeError } from '../../errors.js';
import type { GitIdentity } from '../../domain/registry/records.js';

/** Reads which code a run trains: the committed tree at HEAD, and any uncommitted changes to tracked files. */
export interface CodeIdentityReader {
  identify(root: string): Promise<GitIdentity>;
}

export class GitCodeIdentity implements CodeIdentityReader {
  constructor(private readonly env: Readonly<Record<string, string | undefined>> = process.env) {}

  async identify(root: string): Promise<GitIdentity> {
    const git: SimpleGit = simpleGit({ baseDir: root });
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
    // Tracked changes only: untracked files (outputs, scratch) do not make the code dirty.
    const status = await git.raw(['status', '--porcelain', '--untracked-files=no']);
    const dirty = status.trim() !== '';
    const dirtyHash = dirty ? createHash('sha256').update(await git.raw(['diff', 'HEAD', '--binary', '--no-color', '--no-ext-diff'])).digest('hex') : undefined;
    const ref = await this.refName(git);
    const committedAt = (await git.raw(['show', '-s', '--format=%cI', 'HEAD'])).trim();
    return { sha, ref, tree, dirty, ...(dirtyHash ? { dirtyHash } : {}), ...(committedAt ? { committedAt } : {}) };
  }

  /** The branch as a person would name it; in Actions, the pull request's head branch or the pushed ref. */
  private async refName(git: SimpleGit): Promise<string> {
    const fromActions = this.env.GITHUB_HEAD_REF || this.env.GITHUB_REF_NAME;
    if (fromActions) return fromActions;
    const branch = (await git.raw(['symbolic-ref', '--short', '-q', 'HEAD']).catch(() => '')).trim();
    return branch || 'HEAD (detached)';
  }
}
