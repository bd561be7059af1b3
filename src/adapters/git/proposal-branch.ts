import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigurationError, InfrastructureError, describeError, errnoCode } from '../../errors.js';
import { SecretMasker, redactCredentials, urlCredentials } from '../../domain/secrets.js';
import { runProcess } from '../process/run.js';
import { networkTimeoutSeconds } from '../deadlines.js';
import { GitCommandError, gitMessage, isLostRace, plainReason } from '../registry/git/failures.js';

/** A file of the proposal as it differs from HEAD, by its path from the repository's top. */
export interface FileChange {
  readonly path: string;
  readonly kind: 'added' | 'modified' | 'deleted';
}

export interface ForeignCommit {
  readonly sha: string;
  readonly author: string;
  readonly subject: string;
}

export interface ProposalBranchOptions {
  /** A directory inside the user's checkout. */
  readonly directory: string;
  /** The remote the branch is pushed to; default `origin`. */
  readonly remote?: string;
  /** The environment git runs in (the checkout's credentials, GIT_* settings). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal?: AbortSignal;
}

/** The line mlship puts in every commit it proposes: what tells its own commits from anyone else's. */
export const PROPOSAL_TRAILER = 'Mlship-Proposal';
const DEFAULT_AUTHOR = { name: 'mlship', email: 'mlship@localhost' };
const GIT_ENV = { LC_ALL: 'C', GIT_TERMINAL_PROMPT: '0' } as const;
const LOCAL_GIT_TIMEOUT_MS = 120_000;

/**
 * A proposal branch built with git plumbing in the user's checkout: a commit of HEAD's tree with
 * the changed files written over it, made in a temporary index, fetched and pushed with the
 * remote's URL and the checkout's credentials. The user's HEAD, index, working tree and branches
 * are never touched; fetches land in `refs/mlship/propose/<branch>`.
 */
export class ProposalBranch {
  readonly remote: string;
  private readonly directory: string;
  private readonly env: Readonly<Record<string, string | undefined>>;
  private readonly signal: AbortSignal | undefined;
  private readonly stallSeconds: number;
  private readonly secrets = new SecretMasker();
  private top: string | undefined;

  constructor(options: ProposalBranchOptions) {
    this.directory = path.resolve(options.directory);
    this.remote = options.remote ?? 'origin';
    this.env = options.env;
    this.signal = options.signal;
    this.stallSeconds = networkTimeoutSeconds(options.env);
  }

  /** The repository's top directory and HEAD's commit; ConfigurationError outside a repository or before a first commit. */
  async head(): Promise<{ top: string; commit: string }> {
    let top: string;
    try {
      top = (await this.git(['rev-parse', '--show-toplevel'])).toString().trim();
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') throw new ConfigurationError('git is not installed or not on PATH, and mlship propose needs it');
      throw new ConfigurationError(`${this.directory} is not inside a git checkout: mlship propose commits to a branch of the repository`);
    }
    this.top = top;
    try {
      return { top, commit: (await this.git(['rev-parse', '--verify', 'HEAD^{commit}'])).toString().trim() };
    } catch {
      throw new ConfigurationError(`the git repository at ${top} has no commit yet: a proposal is made against the checked-out commit`);
    }
  }

  /** The checked-out branch, or undefined on a detached HEAD. */
  async currentBranch(): Promise<string | undefined> {
    const name = await this.git(['symbolic-ref', '--short', '-q', 'HEAD']).then(
      (out) => out.toString().trim(),
      () => '',
    );
    return name || undefined;
  }

  /** A file's text as committed in HEAD (path from the top), or undefined when HEAD lacks it. */
  async committed(file: string): Promise<string | undefined> {
    return this.git(['cat-file', 'blob', `HEAD:${file}`]).then(
      (out) => out.toString('utf8'),
      () => undefined,
    );
  }

  /** How each file (paths from the top) differs between HEAD and the working tree; unchanged ones are left out. */
  async changes(files: readonly string[]): Promise<FileChange[]> {
    const changes: FileChange[] = [];
    for (const file of files) {
      const committed = await this.git(['rev-parse', '--verify', '--quiet', `HEAD:${file}`]).then(
        (out) => out.toString().trim(),
        () => undefined,
      );
      const present = await stat(path.join(this.topDirectory(), file)).then(
        (s) => s.isFile(),
        () => false,
      );
      if (!present) {
        if (committed !== undefined) changes.push({ path: file, kind: 'deleted' });
        continue;
      }
      const current = (await this.git(['hash-object', '--', file])).toString().trim();
      if (committed === undefined) changes.push({ path: file, kind: 'added' });
      else if (current !== committed) changes.push({ path: file, kind: 'modified' });
    }
    return changes;
  }

  /** A commit whose parent is `parent` and whose tree is parent's with `changes` applied from the working tree. */
  async commit(parent: string, changes: readonly FileChange[], message: string): Promise<string> {
    const scratch = await mkdtemp(path.join(tmpdir(), 'mlship-propose-'));
    try {
      const index = { GIT_INDEX_FILE: path.join(scratch, 'index') };
      await this.git(['read-tree', parent], { env: index });
      for (const change of changes) {
        if (change.kind === 'deleted') {
          await this.git(['update-index', '--force-remove', '--', change.path], { env: index });
          continue;
        }
        const oid = (await this.git(['hash-object', '-w', '--', change.path])).toString().trim();
        const executable = ((await stat(path.join(this.topDirectory(), change.path))).mode & 0o111) !== 0;
        await this.git(['update-index', '--add', '--cacheinfo', `${executable ? '100755' : '100644'},${oid},${change.path}`], { env: index });
      }
      const tree = (await this.git(['write-tree'], { env: index })).toString().trim();
      const author = {
        name: this.env.GIT_AUTHOR_NAME || DEFAULT_AUTHOR.name,
        email: this.env.GIT_AUTHOR_EMAIL || DEFAULT_AUTHOR.email,
      };
      const identity = {
        GIT_AUTHOR_NAME: author.name,
        GIT_AUTHOR_EMAIL: author.email,
        GIT_COMMITTER_NAME: this.env.GIT_COMMITTER_NAME || author.name,
        GIT_COMMITTER_EMAIL: this.env.GIT_COMMITTER_EMAIL || author.email,
      };
      return (await this.git(['commit-tree', tree, '-p', parent, '-F', '-'], { env: identity, input: message })).toString().trim();
    } catch (error) {
      throw this.failure('commit the proposal', error);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  /**
   * Fetches `branch` from the remote; its commit, or undefined when the remote has no such branch.
   * A shallow checkout (actions/checkout's default) is deepened first: telling mlship's commits
   * from others' needs the history they share.
   */
  async fetch(branch: string): Promise<string | undefined> {
    const local = this.localRef(branch);
    try {
      if ((await this.git(['rev-parse', '--is-shallow-repository'])).toString().trim() === 'true') {
        const head = (await this.git(['rev-parse', 'HEAD'])).toString().trim();
        await this.git(['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--unshallow', '--', this.remote, head], { network: true });
      }
      await this.git(['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--refmap=', '--', this.remote, `+refs/heads/${branch}:${local}`], { network: true });
    } catch (error) {
      if (error instanceof GitCommandError && /couldn't find remote ref/i.test(error.output)) return undefined;
      throw this.failure(`fetch branch ${branch}`, error);
    }
    return (await this.git(['rev-parse', '--verify', `${local}^{commit}`])).toString().trim();
  }

  /** Commits of `tip` that `base` lacks and that mlship did not make (no Mlship-Proposal trailer), newest first. */
  async foreignCommits(base: string, tip: string): Promise<ForeignCommit[]> {
    let log: string;
    try {
      log = (await this.git(['log', '--format=%H%x1f%an <%ae>%x1f%s%x1f%B%x1e', `${base}..${tip}`])).toString('utf8');
    } catch (error) {
      throw this.failure('read the branch history', error);
    }
    const trailer = new RegExp(`^${PROPOSAL_TRAILER}:`, 'm');
    return log
      .split('\x1e')
      .map((entry) => entry.replace(/^\n/, ''))
      .filter((entry) => entry.trim() !== '')
      .map((entry) => entry.split('\x1f'))
      .filter(([, , , body]) => !trailer.test(body ?? ''))
      .map(([sha = '', author = '', subject = '']) => ({ sha, author, subject }));
  }

  /** The tree and parents of a commit. */
  async describe(commit: string): Promise<{ tree: string; parents: string[] }> {
    const [tree = '', ...parents] = (await this.git(['show', '-s', '--format=%T %P', commit])).toString().trim().split(/\s+/);
    return { tree, parents };
  }

  /**
   * Pushes `commit` to `branch` only if the remote's branch is still `expected` (absent when
   * undefined): git's --force-with-lease with an explicit value, a compare-and-swap that can only
   * replace the exact commits that were inspected. False when the branch moved meanwhile.
   */
  async push(commit: string, branch: string, expected: string | undefined): Promise<boolean> {
    const pushUrl = await this.pushUrl();
    try {
      // --no-verify: the user's pre-push hooks are for their code, not for a data-lock update.
      await this.git(
        ['push', '--porcelain', '--no-verify', `--force-with-lease=refs/heads/${branch}:${expected ?? ''}`, '--', pushUrl, `${commit}:refs/heads/${branch}`],
        { network: true },
      );
      await this.git(['update-ref', this.localRef(branch), commit]).catch(() => undefined);
      return true;
    } catch (error) {
      if (error instanceof GitCommandError && (isLostRace(error.output) || /stale info/i.test(error.output))) return false;
      throw this.failure(`push branch ${branch}`, error);
    }
  }

  private localRef(branch: string): string {
    return `refs/mlship/propose/${branch}`;
  }

  /** Pushing to the URL rather than the remote's name leaves refs/remotes/<remote>/* of the user's alone. */
  private async pushUrl(): Promise<string> {
    let url: string;
    try {
      url = (await this.git(['remote', 'get-url', '--push', '--', this.remote])).toString().trim();
    } catch {
      throw new ConfigurationError(`the git remote '${this.remote}' is not configured in ${this.topDirectory()}: the proposal branch is pushed to it`);
    }
    this.secrets.addAll(urlCredentials(url));
    return url;
  }

  private topDirectory(): string {
    return this.top ?? this.directory;
  }

  private async git(args: readonly string[], options: { input?: string; env?: Record<string, string>; network?: boolean } = {}): Promise<Buffer> {
    const deadline = options.network ? ['-c', 'http.lowSpeedLimit=1', '-c', `http.lowSpeedTime=${this.stallSeconds}`] : [];
    const timeoutMs = options.network ? this.stallSeconds * 10_000 : LOCAL_GIT_TIMEOUT_MS;
    const result = await runProcess('git', [...deadline, ...args], {
      cwd: this.topDirectory(),
      env: { ...this.env, ...GIT_ENV, ...options.env },
      ...(options.input === undefined ? {} : { input: options.input }),
      timeoutMs,
      ...(this.signal ? { signal: this.signal } : {}),
    });
    if (result.exitCode === 0) return result.stdout;
    const output = Buffer.concat([result.stdout, result.stderr]).toString('utf8');
    throw new GitCommandError(args, result.exitCode, result.timedOut ? `${output}\nkilled after ${timeoutMs / 1000} s` : output, result.timedOut);
  }

  private failure(action: string, error: unknown): Error {
    if (error instanceof InfrastructureError || error instanceof ConfigurationError) return error;
    const detail = error instanceof GitCommandError ? gitMessage(error.output) : describeError(error);
    let reason = errnoCode(error) === 'ENOENT' ? 'git is not installed or not on PATH' : plainReason(detail, error instanceof GitCommandError && error.timedOut);
    if (/refused the credentials|refused the update/.test(reason)) reason += "; in a workflow, the job needs `permissions: contents: write` and a checkout that keeps its credentials (persist-credentials: true)";
    return new InfrastructureError(`git: cannot ${action}: ${reason}${detail ? ` (${this.secrets.mask(redactCredentials(detail))})` : ''}`);
  }
}
