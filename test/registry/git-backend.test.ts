import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { GitRegistryBackend, type GitRegistryOptions } from '../../src/adapters/registry/git/git-backend.js';
import { redactCredentials, redactUrl } from '../../src/domain/secrets.js';
import { ConfigurationError, ExitCode, InfrastructureError } from '../../src/errors.js';
import { REPO_ROOT, nodeBinary } from '../helpers/bundle.js';
import { temporaryDirectory } from '../helpers/project.js';
import { describeRegistryBackendContract } from './backend-contract.js';

const BRANCH = 'mlship-registry';

// Keep the machine's own git configuration (identity, signing, hooks) out of every git these
// tests run, the backend's included: it must work where no identity is configured.
beforeAll(() => {
  vi.stubEnv('GIT_CONFIG_GLOBAL', '/dev/null');
  vi.stubEnv('GIT_CONFIG_NOSYSTEM', '1');
  vi.stubEnv('LC_ALL', 'C');
});
afterAll(() => {
  vi.unstubAllEnvs();
});

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();
}

/** Whether git exits 0, for commands that answer with their exit code. */
function gitSucceeds(cwd: string, ...args: string[]): boolean {
  try {
    git(cwd, ...args);
    return true;
  } catch {
    return false;
  }
}

interface Fixture {
  readonly root: string;
  /** The bare repository playing GitHub. */
  readonly remote: string;
  readonly url: string;
  /** A new clone of the remote's code branch, as actions/checkout makes, without git identity. */
  clone(name: string, options?: { shallow?: boolean }): string;
  /** The registry branch's commits on the remote, newest first (empty when there is no branch). */
  registryCommits(): string[];
}

function makeFixture(): Fixture {
  const root = temporaryDirectory('mlship-git-registry-');
  const remote = path.join(root, 'remote.git');
  const url = `file://${remote}`;
  git(root, '-c', 'init.defaultBranch=main', 'init', '--quiet', '--bare', remote);
  const seed = path.join(root, 'seed');
  git(root, '-c', 'init.defaultBranch=main', 'clone', '--quiet', url, seed);
  writeFileSync(path.join(seed, 'train.py'), 'print("training")\n');
  git(seed, 'add', 'train.py');
  git(seed, '-c', 'user.name=Dev', '-c', 'user.email=dev@example.com', 'commit', '--quiet', '-m', 'code');
  git(seed, 'push', '--quiet', 'origin', 'HEAD:refs/heads/main');
  return {
    root,
    remote,
    url,
    clone(name, options = {}) {
      const directory = path.join(root, name);
      git(root, 'clone', '--quiet', ...(options.shallow ? ['--depth', '1'] : []), url, directory);
      return directory;
    },
    registryCommits() {
      if (!gitSucceeds(remote, 'rev-parse', '--verify', `refs/heads/${BRANCH}`)) return [];
      return git(remote, 'rev-list', `refs/heads/${BRANCH}`).split('\n');
    },
  };
}

describeRegistryBackendContract('git backend', async () => {
  const fixture = makeFixture();
  // Instances alternate between two clones, so "a new instance" is also another machine.
  const clones = [fixture.clone('a'), fixture.clone('b')];
  let opened = 0;
  return () => new GitRegistryBackend({ repository: clones[opened++ % clones.length]! });
});

/** Everything about the user's checkout that the registry must leave alone. */
function userState(repository: string): Record<string, string> {
  const files = readdirSync(repository, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && !path.relative(repository, entry.parentPath).split(path.sep).includes('.git'))
    .map((entry) => path.join(entry.parentPath, entry.name));
  return {
    head: git(repository, 'rev-parse', 'HEAD'),
    symbolicHead: git(repository, 'symbolic-ref', 'HEAD'),
    status: git(repository, 'status', '--porcelain=v1', '--untracked-files=all'),
    index: readFileSync(path.join(repository, '.git', 'index')).toString('base64'),
    refs: git(repository, 'for-each-ref', '--format=%(refname) %(objectname)').split('\n').filter((line) => !line.startsWith('refs/mlship/')).join('\n'),
    fetchHead: gitSucceeds(repository, 'rev-parse', '--verify', '--quiet', 'FETCH_HEAD') ? git(repository, 'rev-parse', 'FETCH_HEAD') : 'none',
    workingTree: files.map((file) => `${path.relative(repository, file)} ${statSync(file).mtimeMs} ${readFileSync(file, 'utf8')}`).sort().join('\n'),
  };
}

describe('git backend', () => {
  it('keeps the registry on an orphan branch and leaves the user\'s HEAD, index, working tree and branches alone', async () => {
    const fixture = makeFixture();
    const repository = fixture.clone('user');
    // A checkout mid-work: a staged change, an unstaged change and an untracked file.
    writeFileSync(path.join(repository, 'staged.py'), 'staged\n');
    git(repository, 'add', 'staged.py');
    writeFileSync(path.join(repository, 'train.py'), 'print("edited")\n');
    writeFileSync(path.join(repository, 'untracked.txt'), 'untracked\n');
    const before = userState(repository);

    const registry = new GitRegistryBackend({ repository });
    expect(await registry.read('runs/r1.json')).toBeUndefined();
    await registry.update('record r1', async (tx) => tx.write('runs/r1.json', '{"id":"r1"}\n'));
    await registry.update('record r2', async (tx) => tx.write('runs/r2.json', '{"id":"r2"}\n'));

    expect(userState(repository)).toEqual(before);
    const commits = fixture.registryCommits();
    expect(commits).toHaveLength(2);
    // The first registry commit has no parent, and nothing in common with the code.
    expect(git(fixture.remote, 'rev-list', '--max-parents=0', `refs/heads/${BRANCH}`)).toBe(commits[1]);
    expect(gitSucceeds(fixture.remote, 'merge-base', 'refs/heads/main', `refs/heads/${BRANCH}`)).toBe(false);
    expect(git(fixture.remote, 'ls-tree', '-r', '--name-only', `refs/heads/${BRANCH}`).split('\n')).toEqual(['runs/r1.json', 'runs/r2.json']);
    expect(git(fixture.remote, 'log', '-1', '--format=%an <%ae>|%cn <%ce>|%s', `refs/heads/${BRANCH}`)).toBe(
      'mlship <mlship@localhost>|mlship <mlship@localhost>|record r2',
    );
    // The only ref it keeps locally is its own, at the pushed commit.
    expect(git(repository, 'rev-parse', `refs/mlship/origin/${BRANCH}`)).toBe(commits[0]);
  });

  it('lets a second clone see the first clone\'s writes, and commits as the given author on the given branch', async () => {
    const fixture = makeFixture();
    const author = { name: 'Release Bot', email: 'bot@example.com' };
    const first = new GitRegistryBackend({ repository: fixture.clone('first'), branch: 'models', author });
    await first.update('promote', async (tx) => {
      tx.write('models/churn/production', 'r7\n');
      tx.append('models/churn/history.jsonl', '{"run":"r7"}');
    });
    const second = new GitRegistryBackend({ repository: fixture.clone('second', { shallow: true }), branch: 'models' });
    expect(await second.read('models/churn/production')).toBe('r7\n');
    expect(await second.list('models')).toEqual(['churn']);
    expect(await second.list('models/churn')).toEqual(['history.jsonl', 'production']);
    expect(git(fixture.remote, 'log', '-1', '--format=%an <%ae>', 'refs/heads/models')).toBe('Release Bot <bot@example.com>');
    expect(fixture.registryCommits()).toEqual([]); // nothing on the default branch name
  });

  it('creates no commit for a change that writes nothing or writes what is already there', async () => {
    const fixture = makeFixture();
    const registry = new GitRegistryBackend({ repository: fixture.clone('user') });
    await registry.update('nothing', async () => undefined);
    expect(fixture.registryCommits()).toEqual([]);
    await registry.update('something', async (tx) => tx.write('a', 'x'));
    await registry.update('the same again', async (tx) => tx.write('a', 'x'));
    expect(fixture.registryCommits()).toHaveLength(1);
  });

  it('round-trips unusual paths and content byte for byte', async () => {
    const fixture = makeFixture();
    const open = (): GitRegistryBackend => new GitRegistryBackend({ repository: fixture.clone(`c${Math.random()}`) });
    const files: Record<string, string> = {
      'models/my model/ü名.json': '{"emoji":"🚀"}',
      'runs/crlf.txt': 'a\r\nb\r\n',
      'runs/empty': '',
      'runs/"quoted"\tand\\back': 'x',
    };
    await open().update('odd', async (tx) => {
      for (const [file, content] of Object.entries(files)) tx.write(file, content);
      tx.write('no-newline', 'last line without newline');
    });
    await open().update('append to it', async (tx) => tx.append('no-newline', 'next'));
    const registry = open();
    expect(await registry.readMany(Object.keys(files))).toEqual(Object.values(files));
    expect(await registry.list('models/my model')).toEqual(['ü名.json']);
    expect(await registry.read('no-newline')).toBe('last line without newline\nnext\n');
    expect(await registry.read('models')).toBeUndefined(); // a directory is not a file
    expect(await registry.list('runs/crlf.txt')).toEqual([]); // nor is a file a directory
  });

  it('reads 10,000 records at once, in order, with absent ones undefined', async () => {
    const fixture = makeFixture();
    const names = Array.from({ length: 10_000 }, (_, i) => `runs/run-${String(i).padStart(5, '0')}.json`);
    const writer = new GitRegistryBackend({ repository: fixture.clone('writer') });
    await writer.update('many runs', async (tx) => {
      for (const name of names) tx.write(name, `{"name":"${name}"}\n`);
    });
    const reader = new GitRegistryBackend({ repository: fixture.clone('reader') });
    const started = performance.now();
    expect(await reader.list('runs')).toEqual(names.map((name) => path.basename(name)));
    const contents = await reader.readMany([...names, 'runs/absent.json']);
    const elapsed = performance.now() - started;
    expect(contents).toHaveLength(names.length + 1);
    expect(contents.slice(0, -1)).toEqual(names.map((name) => `{"name":"${name}"}\n`));
    expect(contents.at(-1)).toBeUndefined();
    expect(elapsed).toBeLessThan(5_000);
  });

  it('runs a change again on the newer state when another writer pushed first', async () => {
    const fixture = makeFixture();
    const mine = new GitRegistryBackend({ repository: fixture.clone('mine') });
    const theirs = new GitRegistryBackend({ repository: fixture.clone('theirs') });
    await mine.update('setup', async (tx) => tx.write('counter', '0'));
    const seen: (string | undefined)[] = [];
    await mine.update('increment', async (tx) => {
      const value = await tx.read('counter');
      seen.push(value);
      if (seen.length === 1) await theirs.update('theirs first', async (other) => other.write('counter', '10'));
      tx.write('counter', String(Number(value) + 1));
    });
    expect(seen).toEqual(['0', '10']);
    expect(await new GitRegistryBackend({ repository: fixture.clone('check') }).read('counter')).toBe('11');
    expect(await mine.read('counter')).toBe('11');
  });

  it('gives up with an infrastructure error when other writers keep winning', async () => {
    const fixture = makeFixture();
    const mine = new GitRegistryBackend({ repository: fixture.clone('mine'), maxAttempts: 4 });
    const theirs = new GitRegistryBackend({ repository: fixture.clone('theirs') });
    let attempts = 0;
    const error = await mine
      .update('never lands', async (tx) => {
        attempts++;
        await theirs.update(`theirs ${attempts}`, async (other) => other.append('log', `theirs ${attempts}`));
        tx.append('log', 'mine');
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InfrastructureError);
    expect((error as Error).message).toMatch(/gave up after 4 attempts/);
    expect((error as Error).message).toContain(`git ${fixture.url} branch ${BRANCH}`);
    expect(attempts).toBe(4);
    expect(await theirs.read('log')).not.toContain('mine');
  }, 20_000);

  it('loses no update when many writers in several clones and processes update at once', async () => {
    const fixture = makeFixture();
    const clones = [fixture.clone('a'), fixture.clone('b'), fixture.clone('c', { shallow: true })];
    const worker = await bundleWorker(fixture.root);
    const processes = [
      startWorker(worker, clones[0]!, 'process-a', 3),
      startWorker(worker, clones[2]!, 'process-c', 3),
    ];
    await Promise.all(processes.map((p) => p.ready));

    const started = performance.now();
    for (const p of processes) p.go();
    // Six writers here over three clones (one shallow), three in each of two other processes. Each
    // update retries on the newer tip until it lands: work grows with the square of the writers.
    const inProcess = clones.flatMap((repository) => [new GitRegistryBackend({ repository }), new GitRegistryBackend({ repository })]);
    const names = Array.from({ length: 6 }, (_, i) => `in-process-${i}`);
    await Promise.all([
      ...names.map((name, i) =>
        inProcess[i % inProcess.length]!.update(name, async (tx) => {
          tx.append('shared.log', name);
          tx.write(`files/${name}`, name);
        }),
      ),
      ...processes.map((p) => p.done),
    ]);
    const elapsed = performance.now() - started;

    const expected = [...names, ...['a', 'c'].flatMap((c) => [0, 1, 2].map((i) => `process-${c}-${i}`))].sort();
    const registry = new GitRegistryBackend({ repository: fixture.clone('check') });
    expect((await registry.read('shared.log'))!.trimEnd().split('\n').sort()).toEqual(expected);
    expect(await registry.list('files')).toEqual(expected);
    expect(await registry.readMany(expected.map((name) => `files/${name}`))).toEqual(expected);
    // One commit per update, in one line of history: nothing lost, nothing applied twice.
    expect(fixture.registryCommits()).toHaveLength(expected.length);
    expect(git(fixture.remote, 'rev-list', '--merges', `refs/heads/${BRANCH}`)).toBe('');
    console.info(`concurrent registry updates: ${expected.length} writers in ${Math.round(elapsed)} ms`);
  }, 180_000);

  it('fails with an infrastructure error naming the remote when the remote is unreachable', async () => {
    const fixture = makeFixture();
    const repository = fixture.clone('user');
    const missing = `file://${fixture.root}/no-such-remote.git`;
    git(repository, 'remote', 'set-url', 'origin', missing);
    const registry = new GitRegistryBackend({ repository });
    expect(registry.location).toBe(`git ${missing} branch ${BRANCH}`);
    for (const operation of [() => registry.read('a'), () => registry.list('runs'), () => registry.update('x', async (tx) => tx.write('a', 'b'))]) {
      const error = await operation().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InfrastructureError);
      expect((error as InfrastructureError).exitCode).toBe(ExitCode.Infrastructure);
      expect((error as Error).message).toContain(`registry git ${missing} branch ${BRANCH}: cannot fetch: the remote is unreachable`);
    }
  });

  it('gives up on a remote that accepts the connection and never answers, naming it, at the deadline', async () => {
    const net = await import('node:net');
    const held: import('node:net').Socket[] = [];
    const silent = net.createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(silent.address() as import('node:net').AddressInfo).port}/acme/models.git`;
    try {
      const fixture = makeFixture();
      const repository = fixture.clone('user');
      git(repository, 'remote', 'set-url', 'origin', url);
      const registry = new GitRegistryBackend({ repository, stallSeconds: 2 });
      const started = Date.now();
      const error = await registry.read('runs/a.json').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InfrastructureError);
      expect((error as Error).message).toContain(`registry git ${url} branch ${BRANCH}: cannot fetch: the remote stopped answering`);
      expect(Date.now() - started).toBeLessThan(25_000);
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('never shows the credentials of an https remote, in its location or its errors', async () => {
    const fixture = makeFixture();
    const repository = fixture.clone('user');
    // Port 9 on the loopback: nothing listens, so the fetch fails at once.
    git(repository, 'remote', 'set-url', 'origin', 'https://x-access-token:ghs_s3cr3tT0ken@127.0.0.1:9/acme/models.git');
    const registry = new GitRegistryBackend({ repository });
    expect(registry.location).toBe(`git https://127.0.0.1:9/acme/models.git branch ${BRANCH}`);
    const error = await registry.update('x', async (tx) => tx.write('a', 'b')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InfrastructureError);
    const message = (error as Error).message;
    expect(message).toContain('https://127.0.0.1:9/acme/models.git');
    expect(message).toContain('the remote is unreachable');
    expect(message).not.toContain('s3cr3t');
    expect(message).not.toContain('x-access-token');
    expect(JSON.stringify(error)).not.toContain('s3cr3t');
    expect(String((error as Error).cause ?? '')).not.toContain('s3cr3t');
  });

  it('fails with a configuration error for a directory that is not a repository, or a remote that does not exist', () => {
    const fixture = makeFixture();
    const plain = temporaryDirectory();
    const cases: [GitRegistryOptions, string][] = [
      [{ repository: plain }, `${plain} is not a git repository`],
      [{ repository: path.join(plain, 'absent') }, `${path.join(plain, 'absent')} does not exist`],
      [{ repository: fixture.clone('user'), remote: 'upstream' }, `remote 'upstream' is not configured in repository ${path.join(fixture.root, 'user')}`],
      [{ repository: fixture.clone('user2'), remote: '--upload-pack=touch /tmp/x' }, 'is not a remote name'],
      [{ repository: fixture.clone('user3'), branch: 'a..b' }, 'is not a valid branch name'],
    ];
    for (const [options, message] of cases) {
      const error = (() => {
        try {
          new GitRegistryBackend(options);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as ConfigurationError).exitCode).toBe(ExitCode.Usage);
      expect((error as Error).message).toContain(message);
    }
  });

  it('reads from one fetch, made before the first read, and updates from a fresh fetch each', async () => {
    const fixture = makeFixture();
    const reader = new GitRegistryBackend({ repository: fixture.clone('reader') });
    const writer = new GitRegistryBackend({ repository: fixture.clone('writer') });
    await writer.update('v1', async (tx) => tx.write('pointer', 'v1'));
    expect(await reader.read('pointer')).toBe('v1');
    await writer.update('v2', async (tx) => tx.write('pointer', 'v2'));
    expect(await reader.read('pointer')).toBe('v1'); // the snapshot it fetched
    await reader.update('log', async (tx) => tx.append('log', `saw ${await tx.read('pointer')}`));
    expect(await reader.read('pointer')).toBe('v2'); // its update fetched, and it reads its own write
    expect(await reader.read('log')).toBe('saw v2\n');
  });

  it('starts an orphan branch again when the remote branch was deleted', async () => {
    const fixture = makeFixture();
    const registry = new GitRegistryBackend({ repository: fixture.clone('user') });
    await registry.update('old', async (tx) => tx.write('old', 'x'));
    git(fixture.remote, 'update-ref', '-d', `refs/heads/${BRANCH}`);
    await new GitRegistryBackend({ repository: path.join(fixture.root, 'user') }).update('new', async (tx) => tx.write('new', 'y'));
    expect(fixture.registryCommits()).toHaveLength(1);
    expect(git(fixture.remote, 'ls-tree', '--name-only', `refs/heads/${BRANCH}`)).toBe('new');
  });

  it('accepts a bare git directory as the repository', async () => {
    const fixture = makeFixture();
    const bare = path.join(fixture.root, 'mirror.git');
    git(fixture.root, 'clone', '--quiet', '--bare', fixture.url, bare);
    const registry = new GitRegistryBackend({ repository: bare });
    await registry.update('from a bare repository', async (tx) => tx.write('a', 'b'));
    expect(await new GitRegistryBackend({ repository: fixture.clone('user') }).read('a')).toBe('b');
  });
});

describe('credential redaction', () => {
  it.each([
    ['https://user:token@github.com/acme/models.git', 'https://github.com/acme/models.git'],
    ['https://x-access-token:ghs_abc@github.com/acme/models', 'https://github.com/acme/models'],
    ['https://ghp_tokenonly@github.com/acme/models.git', 'https://github.com/acme/models.git'],
    ['http://a:b@127.0.0.1:8080/r.git', 'http://127.0.0.1:8080/r.git'],
    ['ssh://git@github.com/acme/models.git', 'ssh://github.com/acme/models.git'],
    ['https://github.com/acme/models.git', 'https://github.com/acme/models.git'],
    ['git@github.com:acme/models.git', 'git@github.com:acme/models.git'],
    ['/srv/git/models.git', '/srv/git/models.git'],
    ['file:///srv/git/models.git', 'file:///srv/git/models.git'],
  ])('redacts %s to %s', (url, redacted) => {
    expect(redactUrl(url)).toBe(redacted);
  });

  it('removes credentials from URLs anywhere in a message', () => {
    expect(redactCredentials("fatal: unable to access 'https://user:p%40ss@host/r.git/': 403; retry https://tok@h/x")).toBe(
      "fatal: unable to access 'https://host/r.git/': 403; retry https://h/x",
    );
  });
});

/** Bundles a script that runs registry updates in its own process, as another CI job would. */
async function bundleWorker(directory: string): Promise<string> {
  const outfile = path.join(directory, 'registry-worker.mjs');
  await build({
    stdin: {
      contents: `
        import { GitRegistryBackend } from ${JSON.stringify(path.join(REPO_ROOT, 'src/adapters/registry/git/git-backend.ts'))};
        const [repository, prefix, count] = process.argv.slice(2);
        const backend = new GitRegistryBackend({ repository });
        process.stdout.write('ready\\n');
        process.stdin.once('data', async () => {
          process.stdin.pause();
          await Promise.all(Array.from({ length: Number(count) }, (_, i) =>
            backend.update(prefix + '-' + i, async (tx) => {
              tx.append('shared.log', prefix + '-' + i);
              tx.write('files/' + prefix + '-' + i, prefix + '-' + i);
            })));
        });
      `,
      resolveDir: REPO_ROOT,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile,
    logLevel: 'silent',
  });
  return outfile;
}

interface Worker {
  readonly ready: Promise<void>;
  go(): void;
  readonly done: Promise<void>;
}

function startWorker(script: string, repository: string, prefix: string, count: number): Worker {
  const child = spawn(nodeBinary(), [script, repository, prefix, String(count)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ready = new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  const done = new Promise<void>((resolve, reject) => {
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`worker ${prefix} exited ${code}: ${stderr}`))));
  });
  return { ready, done, go: () => child.stdin.end('go\n') };
}
