import { createServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  COMMENT_LENGTH_LIMIT,
  GitHubCommentPoster,
  composeCommentBody,
  markerLine,
  type GitHubCommentPosterOptions,
} from '../../src/adapters/github/pr-comment.js';
import type { PullRequestRef } from '../../src/adapters/github/pull-request.js';
import { ConfigurationError, ExitCode, InfrastructureError, InterruptedError } from '../../src/errors.js';
import { BOT_LOGIN, PERSONAL_LOGIN, PERSONAL_TOKEN, READ_TOKEN, WRITE_TOKEN, startFakeGitHub, type FakeGitHub, type FakeGitHubOptions } from '../helpers/fake-github.js';

const PR: PullRequestRef = { owner: 'octo', repo: 'widgets', number: 7 };
const MARKER = 'evaluate/main';
const NOTE = /\n_Report truncated: [\d,]+ characters cut to fit GitHub's comment limit; the full report is in the job summary\._\n$/;

const fakes: FakeGitHub[] = [];
afterEach(async () => {
  vi.unstubAllEnvs();
  await Promise.all(fakes.splice(0).map((fake) => fake.stop()));
});

async function fakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const fake = await startFakeGitHub(options);
  fakes.push(fake);
  return fake;
}

function posterFor(fake: FakeGitHub, options: Partial<GitHubCommentPosterOptions> = {}): GitHubCommentPoster {
  return new GitHubCommentPoster({ token: WRITE_TOKEN, apiUrl: fake.url, retryDelayMs: 5, ...options });
}

function writes(fake: FakeGitHub): string[] {
  return fake.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path} ${r.status}`);
}

async function failureOf(promise: Promise<unknown>): Promise<InfrastructureError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InfrastructureError);
  return error as InfrastructureError;
}

describe('GitHubCommentPoster', () => {
  it('creates the comment on the first run, marker first, authenticated with the token', async () => {
    const fake = await fakeGitHub();
    const outcome = await posterFor(fake).upsert(PR, MARKER, '## Evaluation\n\naccuracy 0.93');

    const [comment] = fake.commentsOn(PR);
    expect(fake.commentsOn(PR)).toHaveLength(1);
    expect(outcome).toEqual({ kind: 'created', id: comment!.id, url: `${fake.origin}/octo/widgets/pull/7#issuecomment-${comment!.id}` });
    expect(comment!.body).toBe('<!-- mlship:evaluate/main -->\n## Evaluation\n\naccuracy 0.93');
    expect(comment!.user.login).toBe(BOT_LOGIN);
    expect(fake.requests.map((r) => r.authorization)).toEqual(fake.requests.map(() => `token ${WRITE_TOKEN}`));
  });

  it('updates the same comment on later runs instead of adding another', async () => {
    const fake = await fakeGitHub();
    const first = await posterFor(fake).upsert(PR, MARKER, 'run 1');
    const second = await posterFor(fake).upsert(PR, MARKER, 'run 2');
    const third = await posterFor(fake).upsert(PR, MARKER, 'run 3');

    expect(first.kind).toBe('created');
    expect(second).toEqual({ ...first, kind: 'updated' });
    expect(third).toEqual({ ...first, kind: 'updated' });
    expect(fake.commentsOn(PR).map((c) => c.body)).toEqual(['<!-- mlship:evaluate/main -->\nrun 3']);
  });

  it('finds its comment on page 3 of 250, following GitHub\'s Link headers, and updates it', async () => {
    const fake = await fakeGitHub();
    const chatter = Array.from({ length: 249 }, (_, i) => `comment ${i}`);
    fake.seed(PR, chatter);
    const [ours] = fake.seed(PR, [{ body: '<!-- mlship:evaluate/main -->\nold report', login: BOT_LOGIN }]);

    const outcome = await posterFor(fake).upsert(PR, MARKER, 'new report');

    expect(outcome).toMatchObject({ kind: 'updated', id: ours!.id });
    expect(ours!.body).toBe('<!-- mlship:evaluate/main -->\nnew report');
    expect(fake.commentsOn(PR)).toHaveLength(250);
    const reads = fake.requests.filter((r) => r.method === 'GET');
    expect(reads.map((r) => [r.path, r.query['page'] ?? '1', r.query['per_page']])).toEqual([
      ['/repos/octo/widgets/issues/7/comments', '1', '100'],
      ['/repositories/1000/issues/7/comments', '2', '100'],
      ['/repositories/1000/issues/7/comments', '3', '100'],
      // Who the token is, asked once a comment with the marker turned up.
      ['/user', '1', undefined],
    ]);
    expect(writes(fake)).toEqual([`PATCH /repos/octo/widgets/issues/comments/${ours!.id} 200`]);
  });

  it('stops listing at the page that has its comment', async () => {
    const fake = await fakeGitHub();
    fake.seed(PR, [{ body: '<!-- mlship:evaluate/main -->\nold', login: BOT_LOGIN }, ...Array.from({ length: 299 }, (_, i) => `comment ${i}`)]);
    await posterFor(fake).upsert(PR, MARKER, 'new');
    expect(fake.requests.filter((r) => r.path.endsWith('/comments'))).toHaveLength(1);
  });

  it.each([
    ['another config', '<!-- mlship:evaluate/nightly -->\nother report'],
    ['a marker it is a prefix of', '<!-- mlship:evaluate/main-gpu -->\nother report'],
    ['another tool', '<!-- mlship-other:evaluate/main -->\nother report'],
    ['a reply quoting the report', '> <!-- mlship:evaluate/main -->\n> accuracy 0.93\n\nwhy did it drop?'],
  ])('leaves the comment of %s alone and creates its own', async (_case, body) => {
    const fake = await fakeGitHub();
    const [other] = fake.seed(PR, [body]);

    const outcome = await posterFor(fake).upsert(PR, MARKER, 'report');

    expect(outcome.kind).toBe('created');
    expect(other!.body).toBe(body);
    expect(fake.requests.some((r) => r.method === 'PATCH')).toBe(false);
    expect(fake.commentsOn(PR)).toHaveLength(2);
  });

  it('keeps markers of different configs in separate comments', async () => {
    const fake = await fakeGitHub();
    await posterFor(fake).upsert(PR, 'evaluate/a', 'A1');
    await posterFor(fake).upsert(PR, 'evaluate/b', 'B1');
    await posterFor(fake).upsert(PR, 'evaluate/a', 'A2');
    expect(fake.commentsOn(PR).map((c) => c.body)).toEqual(['<!-- mlship:evaluate/a -->\nA2', '<!-- mlship:evaluate/b -->\nB1']);
  });

  it('prefers the comment written by its own author when several carry the marker', async () => {
    const fake = await fakeGitHub();
    const [copied, ours] = fake.seed(PR, [
      { body: '<!-- mlship:evaluate/main -->\npasted by hand', login: 'alice' },
      { body: '<!-- mlship:evaluate/main -->\nold report', login: BOT_LOGIN },
    ]);

    await posterFor(fake, { authorLogin: BOT_LOGIN }).upsert(PR, MARKER, 'new report');

    expect(copied!.body).toBe('<!-- mlship:evaluate/main -->\npasted by hand');
    expect(ours!.body).toBe('<!-- mlship:evaluate/main -->\nnew report');
  });

  it('learns its author from the comment it created', async () => {
    const fake = await fakeGitHub();
    const poster = posterFor(fake);
    await poster.upsert(PR, MARKER, 'first');
    // Someone pastes the report (marker included) in a later comment; ours is still the one updated.
    const [pasted] = fake.seed(PR, [{ body: '<!-- mlship:evaluate/main -->\npasted', login: 'alice' }]);
    fake.comments.unshift(...fake.comments.splice(fake.comments.indexOf(pasted!), 1));

    await poster.upsert(PR, MARKER, 'second');

    expect(fake.commentsOn(PR).map((c) => [c.user.login, c.body])).toEqual([
      ['alice', '<!-- mlship:evaluate/main -->\npasted'],
      [BOT_LOGIN, '<!-- mlship:evaluate/main -->\nsecond'],
    ]);
  });

  describe('whose comment it is', () => {
    const OLD = '<!-- mlship:evaluate/main -->\nold report';

    it('never overwrites a comment by someone else that carries the marker, and creates its own', async () => {
      const fake = await fakeGitHub();
      const [pasted] = fake.seed(PR, [{ body: OLD, login: 'alice' }]);

      const outcome = await posterFor(fake).upsert(PR, MARKER, 'new report');

      expect(outcome.kind).toBe('created');
      expect(pasted!.body).toBe(OLD);
      expect(fake.commentsOn(PR).map((c) => [c.user.login, c.body])).toEqual([
        ['alice', OLD],
        [BOT_LOGIN, '<!-- mlship:evaluate/main -->\nnew report'],
      ]);
    });

    it('with the workflow token, whose GET /user answers 403 "Resource not accessible by integration", updates the comment by github-actions[bot]', async () => {
      const fake = await fakeGitHub();
      const [pasted, ours] = fake.seed(PR, [
        { body: OLD, login: 'alice' },
        { body: OLD, login: BOT_LOGIN },
      ]);

      const outcome = await posterFor(fake).upsert(PR, MARKER, 'new report');

      expect(outcome).toMatchObject({ kind: 'updated', id: ours!.id });
      expect(pasted!.body).toBe(OLD);
      expect(ours!.body).toBe('<!-- mlship:evaluate/main -->\nnew report');
      expect(fake.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
        'GET /repos/octo/widgets/issues/7/comments 200',
        'GET /user 403',
        `PATCH /repos/octo/widgets/issues/comments/${ours!.id} 200`,
      ]);
    });

    it('with a personal access token, updates the comment by the token\'s user, found with GET /user, and no other', async () => {
      const fake = await fakeGitHub();
      const [bots, mine] = fake.seed(PR, [
        { body: OLD, login: BOT_LOGIN },
        { body: OLD, login: PERSONAL_LOGIN },
      ]);

      const outcome = await posterFor(fake, { token: PERSONAL_TOKEN }).upsert(PR, MARKER, 'new report');

      expect(outcome).toMatchObject({ kind: 'updated', id: mine!.id });
      expect(bots!.body).toBe(OLD);
      expect(mine!.body).toBe('<!-- mlship:evaluate/main -->\nnew report');
      expect(fake.requests.filter((r) => r.path === '/user').map((r) => r.status)).toEqual([200]);
    });

    it('with a personal access token, creates the comment as its user, then keeps updating that one', async () => {
      const fake = await fakeGitHub();
      const first = await posterFor(fake, { token: PERSONAL_TOKEN }).upsert(PR, MARKER, 'run 1');
      const second = await posterFor(fake, { token: PERSONAL_TOKEN }).upsert(PR, MARKER, 'run 2');

      expect(second).toEqual({ ...first, kind: 'updated' });
      expect(fake.commentsOn(PR).map((c) => [c.user.login, c.body])).toEqual([[PERSONAL_LOGIN, '<!-- mlship:evaluate/main -->\nrun 2']]);
    });

    it('leaves the workflow bot\'s comment to the workflow token when run with a personal access token', async () => {
      const fake = await fakeGitHub();
      const [bots] = fake.seed(PR, [{ body: OLD, login: BOT_LOGIN }]);

      expect((await posterFor(fake, { token: PERSONAL_TOKEN }).upsert(PR, MARKER, 'new report')).kind).toBe('created');
      expect(bots!.body).toBe(OLD);
    });

    it('fails with exit code 3 when GET /user answers a 403 other than the workflow token\'s, updating nothing', async () => {
      const fake = await fakeGitHub();
      const [ours] = fake.seed(PR, [{ body: OLD, login: BOT_LOGIN }]);
      const message = 'Resource protected by organization SAML enforcement. You must grant your Personal Access token access to this organization.';
      fake.failNext(1, { status: 403, message, path: '/user' });

      const error = await failureOf(posterFor(fake).upsert(PR, MARKER, 'new report'));

      expect(error.message).toBe(`GitHub API ${fake.url}: GET /user failed with HTTP 403: ${message}`);
      expect(ours!.body).toBe(OLD);
      expect(writes(fake)).toEqual([]);
    });
  });

  describe('a read-only token or an invisible pull request', () => {
    it('skips on 403 when creating, writing nothing', async () => {
      const fake = await fakeGitHub();
      const outcome = await posterFor(fake, { token: READ_TOKEN }).upsert(PR, MARKER, 'report');

      expect(outcome.kind).toBe('skipped');
      expect(outcome.kind === 'skipped' && outcome.reason).toMatch(/HTTP 403: Resource not accessible by integration.*read-only token \(pull requests from forks get one\)/);
      expect(fake.comments).toEqual([]);
      expect(writes(fake)).toEqual(['POST /repos/octo/widgets/issues/7/comments 403']);
    });

    it('skips on 403 when updating, leaving the comment as it was', async () => {
      const fake = await fakeGitHub();
      const [ours] = fake.seed(PR, [{ body: '<!-- mlship:evaluate/main -->\nold', login: BOT_LOGIN }]);
      const outcome = await posterFor(fake, { token: READ_TOKEN }).upsert(PR, MARKER, 'new');

      expect(outcome.kind).toBe('skipped');
      expect(ours!.body).toBe('<!-- mlship:evaluate/main -->\nold');
    });

    it.each([
      ['a repository GitHub does not know', { repositories: ['octo/other'] }, ''],
      ['an API URL that is not the REST API root', {}, '/wrong'],
    ])('fails with exit code 3 on a 404 from %s, saying what to check', async (_case, options, suffix) => {
      const fake = await fakeGitHub(options);
      const apiUrl = `${fake.url}${suffix}`;
      const error = await failureOf(posterFor(fake, { apiUrl }).upsert(PR, MARKER, 'report'));

      expect(error.exitCode).toBe(ExitCode.Infrastructure);
      expect(error.message).toBe(
        `GitHub API ${apiUrl}: GET /repos/octo/widgets/issues/7/comments?per_page=100 failed with HTTP 404: Not Found; ` +
          `check that the repository octo/widgets exists and the token can read it, and that ${apiUrl} is the REST API root ` +
          `(GITHUB_API_URL; GitHub Enterprise Server serves it at https://HOST/api/v3)`,
      );
      expect(writes(fake)).toEqual([]);
    });

    it.each([
      ['organization SSO', { status: 403, message: 'Resource protected by organization SAML enforcement. You must grant your Personal Access token access to this organization.' }],
      ['a blocked user', { status: 403, message: 'Forbidden' }],
    ])('fails with exit code 3 on a 403 for %s, with GitHub\'s message', async (_case, failure) => {
      const fake = await fakeGitHub();
      fake.failNext(2, failure);
      const error = await failureOf(posterFor(fake).upsert(PR, MARKER, 'report'));

      expect(error.exitCode).toBe(ExitCode.Infrastructure);
      expect(error.message).toBe(`GitHub API ${fake.url}: GET /repos/octo/widgets/issues/7/comments?per_page=100 failed with HTTP 403: ${failure.message}`);
      expect(fake.requests).toHaveLength(1);
    });

    it('fails with exit code 3 when a personal access token may read but not write: only the workflow token degrades', async () => {
      const token = 'github_pat_fakeReadOnly0123456789';
      const fake = await fakeGitHub({ tokens: { [token]: { login: 'mona', access: 'read' } } });
      const error = await failureOf(posterFor(fake, { token }).upsert(PR, MARKER, 'report'));

      expect(error.message).toBe(`GitHub API ${fake.url}: POST /repos/octo/widgets/issues/7/comments failed with HTTP 403: Resource not accessible by personal access token`);
      expect(fake.comments).toEqual([]);
    });

    it.each([
      ['the primary rate limit', 'API rate limit exceeded for installation ID 1.', { 'x-ratelimit-remaining': '0' }],
      ['a secondary rate limit', 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.', {}],
    ])('does not mistake a 403 for %s for a read-only token', async (_case, message, headers) => {
      const fake = await fakeGitHub();
      fake.failNext(2, { status: 403, message, headers });
      const error = await failureOf(posterFor(fake).upsert(PR, MARKER, 'report'));
      expect(error.message).toContain(`HTTP 403: ${message}`);
    });
  });

  describe('failures', () => {
    it('retries once after a 5xx', async () => {
      const fake = await fakeGitHub();
      fake.failNext(1, { status: 502 });
      const outcome = await posterFor(fake).upsert(PR, MARKER, 'report');

      expect(outcome.kind).toBe('created');
      expect(fake.requests.map((r) => `${r.method} ${r.status}`)).toEqual(['GET 502', 'GET 200', 'POST 201']);
    });

    it('does not duplicate a comment whose creation was answered with a 5xx', async () => {
      const fake = await fakeGitHub();
      fake.failNext(1, { status: 502, method: 'POST', afterApplying: true });
      const outcome = await posterFor(fake).upsert(PR, MARKER, 'report');

      expect(outcome.kind).toBe('updated');
      expect(fake.commentsOn(PR)).toHaveLength(1);
      expect(fake.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
        'GET /repos/octo/widgets/issues/7/comments 200',
        'POST /repos/octo/widgets/issues/7/comments 502',
        'GET /repos/octo/widgets/issues/7/comments 200',
        'GET /user 403',
        `PATCH /repos/octo/widgets/issues/comments/${fake.commentsOn(PR)[0]!.id} 200`,
      ]);
    });

    it.each([
      ['a 500 that persists', { status: 500, message: 'Internal failure' }, 'HTTP 500: Internal failure', 2],
      ['an unprocessable request', { status: 422, message: 'Validation Failed' }, 'HTTP 422: Validation Failed', 1],
    ])('fails with exit code 3 on %s, naming the API and the status but never the token', async (_case, failure, expected, attempts) => {
      const fake = await fakeGitHub();
      fake.failNext(10, failure);
      const error = await failureOf(posterFor(fake).upsert(PR, MARKER, 'report'));

      expect(error.exitCode).toBe(ExitCode.Infrastructure);
      expect(error.message).toBe(`GitHub API ${fake.url}: GET /repos/octo/widgets/issues/7/comments?per_page=100 failed with ${expected}`);
      expect(error.message).not.toContain(WRITE_TOKEN);
      expect(JSON.stringify(error.cause)).not.toContain(WRITE_TOKEN);
      expect(fake.requests).toHaveLength(attempts);
      expect(fake.comments).toEqual([]);
    });

    it('fails with exit code 3 on an unknown token (401), without echoing it', async () => {
      const fake = await fakeGitHub();
      const token = 'ghp_notAKnownToken987654321';
      const error = await failureOf(posterFor(fake, { token }).upsert(PR, MARKER, 'report'));

      expect(error.exitCode).toBe(ExitCode.Infrastructure);
      expect(error.message).toContain('HTTP 401: Bad credentials');
      expect(error.message).not.toContain(token);
    });

    it('fails with exit code 3 when the API cannot be reached', async () => {
      const fake = await fakeGitHub();
      await fake.stop();
      const error = await failureOf(posterFor(fake).upsert(PR, MARKER, 'report'));

      expect(error.exitCode).toBe(ExitCode.Infrastructure);
      expect(error.message).toMatch(new RegExp(`^GitHub API ${fake.url} is unreachable \\(GET /repos/octo/widgets/issues/7/comments\\?per_page=100\\): .*ECONNREFUSED`));
      expect(error.message).not.toContain(WRITE_TOKEN);
    });
  });

  describe('deadlines', () => {
    const LIST = 'GET /repos/octo/widgets/issues/7/comments?per_page=100';

    it.each([
      ['before answering', 'nothing'],
      ['after the headers, in the middle of the body', 'headers'],
    ] as const)('fails with exit code 3 when GitHub stalls %s, naming the API and the request, and writes nothing', async (_case, after) => {
      const fake = await fakeGitHub();
      fake.stallNext(1, { after });
      const error = await failureOf(posterFor(fake, { timeoutSeconds: 1 }).upsert(PR, MARKER, 'report'));

      expect(error.exitCode).toBe(ExitCode.Infrastructure);
      expect(error.message).toBe(`GitHub API ${fake.url} did not answer ${LIST} within 1 s (MLSHIP_NETWORK_TIMEOUT)`);
      expect(writes(fake)).toEqual([]);
      expect(fake.comments).toEqual([]);
    });

    it('gives the pages Octokit follows by itself a deadline too', async () => {
      const fake = await fakeGitHub();
      fake.seed(PR, Array.from({ length: 150 }, (_, i) => `comment ${i}`));
      fake.stallNext(1, { path: '/repositories/1000/issues/7/comments' });
      const error = await failureOf(posterFor(fake, { timeoutSeconds: 1 }).upsert(PR, MARKER, 'report'));

      expect(error.message).toBe(`GitHub API ${fake.url} did not answer GET /repositories/1000/issues/7/comments?per_page=100&page=2 within 1 s (MLSHIP_NETWORK_TIMEOUT)`);
      expect(writes(fake)).toEqual([]);
    });

    it.each([
      ['GET /user', { path: '/user' }, (_id: number): string => 'GET /user'],
      ['the update', { method: 'PATCH' }, (id: number): string => `PATCH /repos/octo/widgets/issues/comments/${id}`],
    ])('gives %s its own deadline', async (_case, filter, request) => {
      const fake = await fakeGitHub();
      const [ours] = fake.seed(PR, [{ body: '<!-- mlship:evaluate/main -->\nold', login: BOT_LOGIN }]);
      fake.stallNext(1, filter);
      const error = await failureOf(posterFor(fake, { timeoutSeconds: 1 }).upsert(PR, MARKER, 'new'));

      expect(error.message).toBe(`GitHub API ${fake.url} did not answer ${request(ours!.id)} within 1 s (MLSHIP_NETWORK_TIMEOUT)`);
    });

    it('fails with exit code 3 against a server that accepts the connection and never says a word', async () => {
      const sockets = new Set<Socket>();
      const silent = createServer((socket) => sockets.add(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const apiUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      try {
        const error = await failureOf(new GitHubCommentPoster({ token: WRITE_TOKEN, apiUrl, timeoutSeconds: 1 }).upsert(PR, MARKER, 'report'));
        expect(error.exitCode).toBe(ExitCode.Infrastructure);
        expect(error.message).toBe(`GitHub API ${apiUrl} did not answer ${LIST} within 1 s (MLSHIP_NETWORK_TIMEOUT)`);
        expect(error.message).not.toContain(WRITE_TOKEN);
      } finally {
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => silent.close(resolve));
      }
    });

    it('takes the deadline from MLSHIP_NETWORK_TIMEOUT in the environment it is given', async () => {
      const fake = await fakeGitHub();
      fake.stallNext(1);
      const error = await failureOf(posterFor(fake, { env: { MLSHIP_NETWORK_TIMEOUT: '1.5' } }).upsert(PR, MARKER, 'report'));
      expect(error.message).toBe(`GitHub API ${fake.url} did not answer ${LIST} within 1.5 s (MLSHIP_NETWORK_TIMEOUT)`);
    });

    it.each([
      [{}, 30],
      [{ MLSHIP_NETWORK_TIMEOUT: '5' }, 5],
      [{ MLSHIP_NETWORK_TIMEOUT: 'soon' }, 30],
    ])('waits %j → %i s for each call', (env, seconds) => {
      expect(new GitHubCommentPoster({ token: WRITE_TOKEN, env }).timeoutSeconds).toBe(seconds);
    });

    it('stops waiting as soon as the run is interrupted', async () => {
      const fake = await fakeGitHub();
      fake.stallNext(1);
      const interrupt = new AbortController();
      const upsert = posterFor(fake, { timeoutSeconds: 600, signal: interrupt.signal }).upsert(PR, MARKER, 'report');
      await vi.waitFor(() => expect(fake.requests).toHaveLength(1));
      interrupt.abort();

      const error = await upsert.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(InterruptedError);
      expect(fake.comments).toEqual([]);
    });
  });

  describe('GitHub Enterprise Server', () => {
    it('works under /api/v3, pages included', async () => {
      const fake = await fakeGitHub({ prefix: '/api/v3' });
      fake.seed(PR, [...Array.from({ length: 120 }, (_, i) => `comment ${i}`), { body: '<!-- mlship:evaluate/main -->\nold', login: BOT_LOGIN }]);

      const outcome = await posterFor(fake, { apiUrl: `${fake.url}/` }).upsert(PR, MARKER, 'new');

      expect(outcome.kind).toBe('updated');
      expect(fake.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
        'GET /api/v3/repos/octo/widgets/issues/7/comments 200',
        'GET /api/v3/repositories/1000/issues/7/comments 200',
        'GET /api/v3/user 403',
        `PATCH /api/v3/repos/octo/widgets/issues/comments/${fake.commentsOn(PR).at(-1)!.id} 200`,
      ]);
    });

    it('takes the API root from GITHUB_API_URL, as the runner sets it', async () => {
      const fake = await fakeGitHub({ prefix: '/api/v3' });
      vi.stubEnv('GITHUB_API_URL', fake.url);
      const poster = new GitHubCommentPoster({ token: WRITE_TOKEN, retryDelayMs: 5 });

      expect(poster.apiUrl).toBe(fake.url);
      expect((await poster.upsert(PR, MARKER, 'report')).kind).toBe('created');
      expect(fake.commentsOn(PR)).toHaveLength(1);
    });

    it('defaults to api.github.com', () => {
      vi.stubEnv('GITHUB_API_URL', '');
      expect(new GitHubCommentPoster({ token: WRITE_TOKEN }).apiUrl).toBe('https://api.github.com');
    });
  });

  it('refuses to start without a token', () => {
    expect(() => new GitHubCommentPoster({ token: '' })).toThrow(ConfigurationError);
  });
});

describe('truncation', () => {
  const lines = (n: number, width = 99): string => Array.from({ length: n }, (_, i) => `${String(i).padStart(6, '0')}${'x'.repeat(width - 6)}\n`).join('');

  it.each([
    ['plain lines', lines(1000)],
    ['one long line', 'y'.repeat(100_000)],
    ['a code fence left open', `## Log\n\n\`\`\`text\n${lines(1000)}\`\`\`\n`],
    ['a longer fence of tildes', `~~~~ text\n${lines(1000)}~~~~\n`],
    ['details with a fence inside', `<details><summary>Log</summary>\n\n\`\`\`\n${lines(1000)}\`\`\`\n</details>\n`],
    ['astral characters', '🙂'.repeat(50_000)],
    ['astral characters at an odd offset', `a${'🙂'.repeat(50_000)}`],
    ['text that mentions <details> inside a fence', `\`\`\`\n<details>\n${lines(1000)}\`\`\`\n`],
  ])('cuts a 100,000-character report with %s to fit, keeping the marker and closing what is open', (_case, report) => {
    expect(report.length).toBeGreaterThanOrEqual(100_000);
    const body = composeCommentBody(MARKER, report);

    expect(body.length).toBeLessThanOrEqual(COMMENT_LENGTH_LIMIT);
    expect(body.length).toBeGreaterThan(COMMENT_LENGTH_LIMIT - 1_000);
    expect(body.startsWith('<!-- mlship:evaluate/main -->\n')).toBe(true);
    expect(body).toMatch(NOTE);
    expect(openBlocks(body)).toEqual({ fence: undefined, details: 0 });
    expect(body).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
    const kept = body.slice('<!-- mlship:evaluate/main -->\n'.length, body.search(NOTE));
    expect(report.startsWith(kept.replace(/\n?(?:(?:`{3,}|~{3,})\n)?(?:<\/details>\n)*$/, ''))).toBe(true);
  });

  it('cuts at a line boundary and counts what it cut', () => {
    const report = lines(1000);
    const body = composeCommentBody(MARKER, report);
    const kept = body.slice('<!-- mlship:evaluate/main -->\n'.length, body.search(NOTE));
    expect(kept).toMatch(/^(\d{6}x{93}\n)+$/);
    const omitted = Number(/truncated: ([\d,]+)/.exec(body)![1]!.replaceAll(',', ''));
    expect(omitted).toBe(report.length - kept.length);
  });

  it('leaves a report that fits exactly untouched, and cuts one character more', () => {
    const head = '<!-- mlship:evaluate/main -->\n';
    const fits = 'z'.repeat(COMMENT_LENGTH_LIMIT - head.length);
    expect(composeCommentBody(MARKER, fits)).toBe(head + fits);
    expect(composeCommentBody(MARKER, `${fits}z`)).toMatch(NOTE);
  });

  it('posts a 100,000-character report that GitHub accepts, and updates it the same way', async () => {
    const fake = await fakeGitHub();
    const report = `\`\`\`\n${lines(1000)}\`\`\`\n`;
    expect((await posterFor(fake).upsert(PR, MARKER, report)).kind).toBe('created');
    expect((await posterFor(fake).upsert(PR, MARKER, report)).kind).toBe('updated');

    const [comment] = fake.commentsOn(PR);
    expect(fake.commentsOn(PR)).toHaveLength(1);
    expect(comment!.body.length).toBeLessThanOrEqual(COMMENT_LENGTH_LIMIT);
    expect(comment!.body.startsWith('<!-- mlship:evaluate/main -->\n')).toBe(true);
    expect(comment!.body).toMatch(NOTE);
    expect(openBlocks(comment!.body).fence).toBeUndefined();
  });
});

describe('markerLine', () => {
  it.each([
    ['evaluate/main', '<!-- mlship:evaluate/main -->'],
    ['CI: evaluate (mlship.yml)', '<!-- mlship:CI: evaluate (mlship.yml) -->'],
    ['a-->b', '<!-- mlship:a-_b -->'],
    ['x --!> y', '<!-- mlship:x -__ y -->'],
    ['two\nlines', '<!-- mlship:two_lines -->'],
    ['trailing--', '<!-- mlship:trailing -->'],
    ['  padded  ', '<!-- mlship:padded -->'],
  ])('keeps %j inside one HTML comment', (marker, expected) => {
    const line = markerLine(marker);
    expect(line).toBe(expected);
    const inner = line.slice('<!-- '.length, -' -->'.length);
    expect(inner).not.toMatch(/--|>|\n/);
  });

  it('caps long markers', () => {
    expect(markerLine('k'.repeat(1000))).toBe(`<!-- mlship:${'k'.repeat(200)} -->`);
  });

  it.each(['', '   ', '---'])('refuses the empty marker %j', (marker) => {
    expect(() => markerLine(marker)).toThrow(ConfigurationError);
  });

  it('finds a comment again by a marker that needed sanitising', async () => {
    const fake = await fakeGitHub();
    await posterFor(fake).upsert(PR, 'eval --> <b>', 'one');
    expect((await posterFor(fake).upsert(PR, 'eval --> <b>', 'two')).kind).toBe('updated');
    expect(fake.commentsOn(PR)).toHaveLength(1);
  });
});

/** The code fence and the number of <details> blocks left open at the end of `markdown`. */
function openBlocks(markdown: string): { fence: string | undefined; details: number } {
  let fence: string | undefined;
  let details = 0;
  for (const line of markdown.split('\n')) {
    const run = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence !== undefined) {
      if (run !== undefined && run[0] === fence[0] && run.length >= fence.length && line.trim() === run) fence = undefined;
      continue;
    }
    if (run !== undefined) {
      fence = run;
      continue;
    }
    details += (line.match(/<details[\s>]/g)?.length ?? 0) - (line.match(/<\/details>/g)?.length ?? 0);
  }
  return { fence, details };
}
