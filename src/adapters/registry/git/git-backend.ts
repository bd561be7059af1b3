import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigurationError, InfrastructureError, describeError, errnoCode } from '../../../errors.js';
import type { RegistryBackend, RegistryTransaction } from '../../../domain/registry/backend.js';
import { StagedChanges, checkRegistryDirectory, checkRegistryPath } from '../../../domain/registry/staged-changes.js';
import { SecretMasker, redactCredentials, redactUrl, urlCredentials } from '../../../domain/secrets.js';
import { runProcess, runProcessSync } from '../../process/run.js';
import { networkTimeoutSeconds } from '../../deadlines.js';
import { baseName, depthOf, fastImportBlobs, isBlob, isTree, parentOf, parseBatch, parseMarks, parseTree, type GitObject, type TreeEntry } from './objects.js';
import { GitCommandError, backoff, gitMessage, isLockContention, isLostRace, plainReason } from './failures.js';

export interface GitRegistryOptions {
  /** A local git working directory or git dir, e.g. the user's checkout. */
  readonly repository: string;
  /** The remote the registry branch lives on; default `origin`. */
  readonly remote?: string;
  /** The registry branch; default `mlship-registry`. */
  readonly branch?: string;
  /** Who the registry commits are by; default `mlship <mlship@localhost>`. */
  readonly author?: { readonly name: string; readonly email: string };
  /** How many times an update may lose the race to other writers before it gives up; default 30. */
  readonly maxAttempts?: number;
  /** The environment git runs in (credentials, GIT_* settings); default the process's. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * Seconds a fetch or push may make no progress before it is abandoned (git's http.lowSpeedTime);
   * the whole command gets ten times as long. Default MLSHIP_NETWORK_TIMEOUT, else 30.
   */
  readonly stallSeconds?: number;
}

const DEFAULT_REMOTE = 'origin';
const DEFAULT_BRANCH = 'mlship-registry';
const DEFAULT_AUTHOR = { name: 'mlship', email: 'mlship@localhost' };
/**
 * Tries before an update gives up on a registry that other writers keep changing first. Every lost
 * race means another writer's update landed, so N writers at once need up to about N tries each;
 * 30 covers a large CI matrix finishing together.
 */
const DEFAULT_MAX_ATTEMPTS = 30;
/** Tries of a fetch that finds the local ref locked by a concurrent fetch in the same repository. */
const MAX_FETCH_ATTEMPTS = 10;
/** Local plumbing (cat-file, write-tree…) never talks to the network; this only catches a hung git. */
const LOCAL_GIT_TIMEOUT_MS = 120_000;

/**
 * The environment of every git command: the user's own (so git authenticates exactly as it would
 * for them: credentials actions/checkout configured, GIT_ASKPASS, SSH agents), plus English
 * messages, which this class reads, and no password prompt that nobody would answer.
 */
const GIT_ENV = { LC_ALL: 'C', GIT_TERMINAL_PROMPT: '0' } as const;

/**
 * The registry as an orphan branch of the repository's remote, read and written with git plumbing
 * inside the user's own repository: it inherits the remote's credentials and needs no worktree or
 * second clone. Only `refs/mlship/<remote>/<branch>`, objects and a temporary index are ever
 * written; the user's HEAD, index, working tree and branches are never touched.
 *
 * An update is optimistic: fetch the branch, apply the change on top of it, push without force.
 * A push that loses the race to another writer is rejected by the remote, and the whole attempt
 * runs again on the newer state, so concurrent writers never lose each other's changes.
 *
 * The constructor checks (synchronously, with git) that the repository and remote exist, and
 * throws ConfigurationError when they do not.
 */
export class GitRegistryBackend implements RegistryBackend {
  readonly location: string;
  private readonly repository: string;
  private readonly remote: string;
  private readonly branch: string;
  private readonly author: { readonly name: string; readonly email: string };
  private readonly maxAttempts: number;
  /** Where fetches land: one ref per remote and branch, outside refs/heads and refs/remotes. */
  private readonly localRef: string;
  /**
   * Pushes go to the remote's push URL rather than its name: pushing to a named remote would also
   * create refs/remotes/<remote>/<branch>, a ref of the user's.
   */
  private readonly pushUrl: string;
  /** Credentials of the remote's URLs, to scrub from anything git prints. */
  private readonly secrets = new SecretMasker();
  private readonly env: Readonly<Record<string, string | undefined>>;
  private readonly stallSeconds: number;
  /** The newest registry commit this instance knows; reads see it (undefined: empty registry). */
  private head: string | undefined;
  private loaded = false;
  private loading: Promise<void> | undefined;
  /** Fetches run one at a time per instance, since they all update the same local ref. */
  private fetchQueue: Promise<unknown> = Promise.resolve();

  constructor(options: GitRegistryOptions) {
    this.repository = path.resolve(options.repository);
    this.remote = options.remote ?? DEFAULT_REMOTE;
    this.branch = options.branch ?? DEFAULT_BRANCH;
    this.author = options.author ?? DEFAULT_AUTHOR;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
    this.localRef = `refs/mlship/${this.remote}/${this.branch}`;
    this.env = options.env ?? process.env;
    this.stallSeconds = options.stallSeconds ?? networkTimeoutSeconds(this.env);
    const { url, pushUrl } = this.checkConfiguration();
    this.pushUrl = pushUrl;
    this.secrets.addAll([...urlCredentials(url), ...urlCredentials(pushUrl)]);
    this.location = `git ${redactUrl(url)} branch ${this.branch}`;
  }

  async read(file: string): Promise<string | undefined> {
    const [content] = await this.readMany([file]);
    return content;
  }

  /** The contents of many files at once (undefined for absent ones), in the order asked. */
  async readMany(files: readonly string[]): Promise<(string | undefined)[]> {
    files.forEach(checkRegistryPath);
    return this.readAt(await this.current(), files);
  }

  async list(directory: string): Promise<string[]> {
    return this.listAt(await this.current(), checkRegistryDirectory(directory));
  }

  async update(message: string, change: (tx: RegistryTransaction) => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      const parent = await this.fetchLatest();
      await this.advance(parent);
      const staged = new StagedChanges(
        (files) => this.readAt(parent, files),
        (directory) => this.listAt(parent, directory),
      );
      await change(staged.transaction());
      const changed = await staged.changedFiles();
      if (changed.size === 0) return;
      const commit = await this.commit(parent, changed, message);
      if (await this.push(commit)) {
        await this.runGit(['update-ref', this.localRef, commit, parent ?? '']).catch(() => {
          // Another fetch moved the ref meanwhile; it is only a cache, refreshed by every fetch.
        });
        await this.advance(commit);
        return;
      }
      if (attempt >= this.maxAttempts) {
        throw new InfrastructureError(
          `registry ${this.location}: gave up after ${attempt} attempts, because other writers kept updating the branch first`,
        );
      }
      await sleep(backoff(attempt, performance.now() - started));
    }
  }

  /** The newest commit this instance knows, fetching once before the first read. */
  private async current(): Promise<string | undefined> {
    if (!this.loaded) {
      this.loading ??= this.fetchLatest()
        .then((commit) => this.advance(commit))
        .finally(() => {
          this.loading = undefined;
        });
      await this.loading;
    }
    return this.head;
  }

  /**
   * Moves `head` forward to `commit`, never back: concurrent updates of this instance finish in any
   * order, and a read after an update must see at least that update.
   */
  private async advance(commit: string | undefined): Promise<void> {
    if (!this.loaded) {
      this.head = commit;
      this.loaded = true;
      return;
    }
    for (;;) {
      const known = this.head;
      if (commit === undefined || commit === known) return;
      if (known !== undefined && !(await this.isAncestor(known, commit))) return;
      if (this.head === known) {
        this.head = commit;
        return;
      }
      // head moved while git answered; decide again against the new one.
    }
  }

  private async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    try {
      await this.runGit(['merge-base', '--is-ancestor', ancestor, descendant]);
      return true;
    } catch (error) {
      if (error instanceof GitCommandError && error.exitCode === 1) return false;
      throw this.failure('compare registry commits', error);
    }
  }

  /** Fetches the branch into the local ref; the branch's commit, or undefined when it does not exist yet. */
  private fetchLatest(): Promise<string | undefined> {
    const fetched = this.fetchQueue.then(() => this.fetchOnce());
    this.fetchQueue = fetched.catch(() => undefined);
    return fetched;
  }

  private async fetchOnce(): Promise<string | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.runGit(
          [
            'fetch', '--quiet', '--no-tags', '--no-recurse-submodules', '--no-write-fetch-head',
            // An empty refmap keeps git from also updating refs/remotes/<remote>/<branch>.
            '--refmap=',
            '--', this.remote, `+refs/heads/${this.branch}:${this.localRef}`,
          ],
          { network: true },
        );
        return (await this.runGit(['rev-parse', '--verify', `${this.localRef}^{commit}`])).toString().trim();
      } catch (error) {
        if (error instanceof GitCommandError && /couldn't find remote ref/i.test(error.output)) {
          // First use: the registry is empty, and the first commit will be an orphan. A local ref
          // left from a deleted branch stays (deleting it would race with concurrent fetches in
          // this repository); nothing builds on it, and the next fetch overwrites it.
          return undefined;
        }
        if (error instanceof GitCommandError && isLockContention(error.output) && attempt < MAX_FETCH_ATTEMPTS) {
          await sleep(20 + Math.random() * 80);
          continue;
        }
        throw this.failure('fetch', error);
      }
    }
  }

  private async readAt(commit: string | undefined, files: readonly string[]): Promise<(string | undefined)[]> {
    if (commit === undefined || files.length === 0) return files.map(() => undefined);
    try {
      const trees = await this.loadTrees(commit, files.map(parentOf));
      const blobs = files.map((file) => {
        const entry = trees.get(parentOf(file))?.get(baseName(file));
        return entry !== undefined && isBlob(entry) ? entry.oid : undefined;
      });
      const wanted = [...new Set(blobs.filter((oid) => oid !== undefined))];
      const objects = await this.catFile(wanted);
      const contents = new Map(wanted.map((oid, i) => [oid, objects[i]?.content.toString('utf8')]));
      return blobs.map((oid) => (oid === undefined ? undefined : contents.get(oid)));
    } catch (error) {
      throw this.failure('read', error);
    }
  }

  private async listAt(commit: string | undefined, directory: string): Promise<string[]> {
    if (commit === undefined) return [];
    try {
      const tree = (await this.loadTrees(commit, [directory])).get(directory);
      return tree ? [...tree.keys()].sort() : [];
    } catch (error) {
      throw this.failure('list', error);
    }
  }

  /**
   * The entries of `directories` (and their ancestors) in `commit`; absent ones are missing from
   * the map. Trees are walked from the root, one level per `git cat-file --batch`, each read once:
   * asking git for `<commit>:<path>` instead costs a scan of the directory per path, which takes
   * seconds for thousands of files in one directory.
   */
  private async loadTrees(commit: string, directories: readonly string[]): Promise<Map<string, Map<string, TreeEntry>>> {
    const needed = new Set<string>();
    for (let dir of directories) {
      for (; dir !== ''; dir = parentOf(dir)) needed.add(dir);
      needed.add('');
    }
    const byDepth: string[][] = [];
    for (const dir of needed) (byDepth[depthOf(dir)] ??= []).push(dir);
    const trees = new Map<string, Map<string, TreeEntry>>();
    const oidBytes = commit.length / 2; // 20 for SHA-1 repositories, 32 for SHA-256
    for (const level of byDepth) {
      const dirs = (level ?? []).flatMap((dir) => {
        if (dir === '') return [{ dir, spec: `${commit}^{tree}` }];
        const entry = trees.get(parentOf(dir))?.get(baseName(dir));
        return entry !== undefined && isTree(entry) ? [{ dir, spec: entry.oid }] : [];
      });
      const objects = await this.catFile(dirs.map(({ spec }) => spec));
      dirs.forEach(({ dir }, i) => {
        const object = objects[i];
        if (object?.type === 'tree') trees.set(dir, parseTree(object.content, oidBytes));
      });
    }
    return trees;
  }

  /** The objects named by `specs`, through one `git cat-file --batch`; undefined for missing ones. */
  private async catFile(specs: readonly string[]): Promise<(GitObject | undefined)[]> {
    if (specs.length === 0) return [];
    const output = await this.runGit(['cat-file', '--batch'], { input: specs.map((spec) => `${spec}\n`).join('') });
    return parseBatch(output, specs.length);
  }

  /** A commit of `parent`'s tree with `files` written over it, built in a temporary index. */
  private async commit(parent: string | undefined, files: ReadonlyMap<string, string>, message: string): Promise<string> {
    const scratch = await mkdtemp(path.join(tmpdir(), 'mlship-registry-'));
    try {
      const names = [...files.keys()];
      const blobs = await this.writeBlobs(names.map((name) => files.get(name)!), scratch);
      const index = { GIT_INDEX_FILE: path.join(scratch, 'index') };
      await this.runGit(parent === undefined ? ['read-tree', '--empty'] : ['read-tree', parent], { env: index });
      const entries = names.map((name, i) => `100644 blob ${blobs[i]}\t${name}\0`).join('');
      await this.runGit(['update-index', '--add', '-z', '--index-info'], { input: entries, env: index });
      const tree = (await this.runGit(['write-tree'], { env: index })).toString().trim();
      const identity = {
        GIT_AUTHOR_NAME: this.author.name,
        GIT_AUTHOR_EMAIL: this.author.email,
        GIT_COMMITTER_NAME: this.author.name,
        GIT_COMMITTER_EMAIL: this.author.email,
      };
      // No parent for the first commit: an orphan branch that shares no history with the code.
      const parents = parent === undefined ? [] : ['-p', parent];
      const commit = await this.runGit(['commit-tree', '--no-gpg-sign', tree, ...parents, '-m', message], { env: identity });
      return commit.toString().trim();
    } catch (error) {
      throw this.failure('write', error);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  /**
   * Stores the contents as blobs; their object ids, in order. One `git fast-import` takes them all
   * on its standard input (no temporary files), and writes loose objects for a few, a pack for many.
   */
  private async writeBlobs(contents: readonly string[], scratch: string): Promise<string[]> {
    const marks = path.join(scratch, 'marks');
    await this.runGit(['fast-import', '--quiet', '--done', `--export-marks=${marks}`], { input: fastImportBlobs(contents) });
    const oids = parseMarks(await readFile(marks, 'utf8'));
    return contents.map((_, i) => {
      const oid = oids.get(i + 1);
      if (oid === undefined) throw new Error(`git fast-import stored no blob for mark :${i + 1}`);
      return oid;
    });
  }

  /** Pushes without force: true when it landed, false when another writer updated the branch first. */
  private async push(commit: string): Promise<boolean> {
    try {
      // --no-verify: the user's pre-push hooks are for their code, not for registry records.
      await this.runGit(['push', '--porcelain', '--no-verify', '--', this.pushUrl, `${commit}:refs/heads/${this.branch}`], { network: true });
      return true;
    } catch (error) {
      if (error instanceof GitCommandError && isLostRace(error.output)) return false;
      throw this.failure('push', error);
    }
  }

  /**
   * Runs git in the repository; rejects with GitCommandError when it exits non-zero or passes its
   * deadline. Commands that talk to the remote give up when no bytes move for `stallSeconds`
   * (git's own low-speed limit, for http) and in any case after ten times that (ssh, a hung helper).
   */
  private async runGit(args: readonly string[], options: { input?: string | Buffer; env?: Record<string, string>; network?: boolean } = {}): Promise<Buffer> {
    const deadline = options.network ? ['-c', 'http.lowSpeedLimit=1', '-c', `http.lowSpeedTime=${this.stallSeconds}`] : [];
    const timeoutMs = options.network ? this.stallSeconds * 10_000 : LOCAL_GIT_TIMEOUT_MS;
    const result = await runProcess('git', [...deadline, ...args], {
      cwd: this.repository,
      env: { ...this.env, ...GIT_ENV, ...options.env },
      ...(options.input === undefined ? {} : { input: options.input }),
      timeoutMs,
    });
    if (result.exitCode === 0) return result.stdout;
    const output = Buffer.concat([result.stdout, result.stderr]).toString('utf8');
    throw new GitCommandError(args, result.exitCode, result.timedOut ? `${output}\nkilled after ${timeoutMs / 1000} s` : output, result.timedOut);
  }

  /** An InfrastructureError naming the registry and saying, in plain words and git's, what failed. */
  private failure(action: string, error: unknown): InfrastructureError {
    if (error instanceof InfrastructureError) return error;
    const detail = error instanceof GitCommandError ? gitMessage(error.output) : describeError(error);
    const reason = errnoCode(error) === 'ENOENT' ? 'git is not installed or not on PATH' : plainReason(detail, error instanceof GitCommandError && error.timedOut);
    return new InfrastructureError(
      `registry ${this.location}: cannot ${action}: ${reason}${detail ? ` (${this.scrub(detail)})` : ''}`,
    );
  }

  private scrub(text: string): string {
    return this.secrets.mask(redactCredentials(text));
  }

  /** The repository and remote must exist; returns the remote's URLs. */
  private checkConfiguration(): { url: string; pushUrl: string } {
    if (this.remote.startsWith('-') || this.remote === '') {
      throw new ConfigurationError(`registry remote '${this.remote}' is not a remote name`);
    }
    if (!/^[^\s~^:?*[\\]+$/.test(this.branch) || this.branch.startsWith('-') || this.branch.includes('..')) {
      throw new ConfigurationError(`registry branch '${this.branch}' is not a valid branch name`);
    }
    if (!existsSync(this.repository)) {
      throw new ConfigurationError(`registry repository ${this.repository} does not exist`);
    }
    const git = (...args: string[]): string | undefined => {
      let result;
      try {
        result = runProcessSync('git', args, { cwd: this.repository, env: { ...this.env, ...GIT_ENV }, timeoutMs: LOCAL_GIT_TIMEOUT_MS });
      } catch (error) {
        if (errnoCode(error) === 'ENOENT') throw new ConfigurationError('git is not installed or not on PATH, and the registry needs it');
        throw new InfrastructureError(`git could not be run in ${this.repository}: ${describeError(error)}`, { cause: error });
      }
      return result.exitCode === 0 ? result.stdout.toString('utf8').trim() : undefined;
    };
    if (git('rev-parse', '--git-dir') === undefined) throw new ConfigurationError(`registry repository ${this.repository} is not a git repository`);
    const url = git('remote', 'get-url', '--', this.remote);
    const pushUrl = git('remote', 'get-url', '--push', '--', this.remote);
    if (url === undefined || pushUrl === undefined) {
      throw new ConfigurationError(`registry remote '${this.remote}' is not configured in repository ${this.repository}`);
    }
    return { url, pushUrl };
  }
}
