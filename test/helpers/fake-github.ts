import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback HTTP server speaking the slice of GitHub's REST API that pull request comments use:
 * list (paginated, with Link headers in GitHub's `/repositories/{id}/…` form), create, update, and
 * `GET /user`; and what `mlship propose` uses: pull requests (list by head and base, create,
 * update), issue labels, and re-enabling a workflow. It checks tokens like GitHub (401 unknown, 403 read-only on writes), can answer errors
 * or stall on demand, records every request, and can serve under a prefix as GitHub Enterprise
 * Server does (`/api/v3`).
 */

/**
 * A token and the account it acts as. A `[bot]` login makes it a GitHub App installation token (the
 * workflow's GITHUB_TOKEN acts as `github-actions[bot]`), which has no user: `GET /user` answers 403.
 * Any other login makes it a personal access token of that user.
 */
export interface FakeToken {
  readonly login: string;
  readonly access: 'read' | 'write';
  /**
   * A workflow token's `permissions:` per scope; a scope not listed gets `access`. GitHub checks
   * `pull-requests` for pull requests and their comments and labels, `actions` for workflows.
   */
  readonly permissions?: Partial<Record<'pull-requests' | 'issues' | 'actions' | 'contents', 'read' | 'write' | 'none'>>;
}

export interface FakePullRequest {
  readonly number: number;
  readonly owner: string;
  readonly repo: string;
  /** The head branch (in the same repository). */
  readonly head: string;
  base: string;
  title: string;
  body: string;
  state: 'open' | 'closed';
  labels: string[];
  readonly user: string;
}

export interface FakeComment {
  readonly id: number;
  readonly owner: string;
  readonly repo: string;
  readonly issueNumber: number;
  body: string;
  readonly user: { readonly login: string; readonly type: 'User' | 'Bot' };
  readonly created_at: string;
  updated_at: string;
}

export interface RecordedRequest {
  readonly method: string;
  /** The path as received, prefix included. */
  readonly path: string;
  readonly query: Record<string, string>;
  readonly body: unknown;
  readonly authorization: string | undefined;
  /** The status the fake answered; 0 while it has not (a stalled request). */
  status: number;
}

export interface PullRequestKey {
  readonly owner: string;
  readonly repo: string;
  readonly number: number;
}

/** An error answer queued by failNext. */
export interface InjectedFailure extends RequestFilter {
  readonly status: number;
  readonly message?: string;
  readonly headers?: Record<string, string>;
  /** Carry out the request, then answer the error anyway: a write whose answer was lost. */
  readonly afterApplying?: boolean;
}

/** Which requests an injected failure or stall applies to (and counts); all when empty. */
export interface RequestFilter {
  readonly method?: string;
  /** The path without the prefix, e.g. `/user`. */
  readonly path?: string;
}

/** A request the fake takes and never finishes answering, as a stuck proxy or server does. */
export interface InjectedStall extends RequestFilter {
  /** `headers`: send the status line and headers and the start of the body, then nothing more. */
  readonly after?: 'nothing' | 'headers';
}

export interface FakeGitHubOptions {
  /** Path the API lives under, like GHES's `/api/v3`; requests outside it get 404. */
  readonly prefix?: string;
  readonly tokens?: Readonly<Record<string, FakeToken>>;
  /** "owner/repo" names that exist; others answer 404. */
  readonly repositories?: readonly string[];
}

export interface FakeGitHub {
  /** `http://127.0.0.1:PORT`. */
  readonly origin: string;
  /** The API root to give a client: origin plus prefix. */
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Every comment on every issue, in creation order. */
  readonly comments: FakeComment[];
  /** Adds existing comments to a pull request, oldest first; a string is a comment by `someone`. */
  seed(pr: PullRequestKey, comments: readonly (string | { body: string; login: string; type?: 'User' | 'Bot' })[]): FakeComment[];
  commentsOn(pr: PullRequestKey): FakeComment[];
  /** Every pull request, in creation order (numbers shared with issues, from 1 per repository). */
  readonly pulls: FakePullRequest[];
  /** Workflows re-enabled through `PUT …/actions/workflows/{id}/enable`, as "owner/repo:id", in order. */
  readonly enabledWorkflows: string[];
  /** Answers the next `count` (matching) requests with an error instead. */
  failNext(count: number, failure?: InjectedFailure): void;
  /** Leaves the next `count` (matching) requests unanswered, connection open, until `stop`. */
  stallNext(count: number, stall?: InjectedStall): void;
  stop(): Promise<void>;
}

/** The workflow's GITHUB_TOKEN, with and without `pull-requests: write` (pull requests from forks get the latter). */
export const WRITE_TOKEN = 'ghs_fakeWriteToken0123456789';
export const READ_TOKEN = 'ghs_fakeReadOnlyToken0123456789';
export const BOT_LOGIN = 'github-actions[bot]';
/** A personal access token of PERSONAL_LOGIN. */
export const PERSONAL_TOKEN = 'ghp_fakePersonalToken0123456789';
export const PERSONAL_LOGIN = 'mona';

const DEFAULT_TOKENS: Record<string, FakeToken> = {
  [WRITE_TOKEN]: { login: BOT_LOGIN, access: 'write' },
  [READ_TOKEN]: { login: BOT_LOGIN, access: 'read' },
  [PERSONAL_TOKEN]: { login: PERSONAL_LOGIN, access: 'write' },
};

const DOCS = 'https://docs.github.com/rest/issues/comments';
const PULLS_DOCS = 'https://docs.github.com/rest/pulls/pulls';
const WORKFLOWS_DOCS = 'https://docs.github.com/rest/actions/workflows#enable-a-workflow';
const USER_DOCS = 'https://docs.github.com/rest/users/users#get-the-authenticated-user';
const GITHUB_BODY_LIMIT = 65_536;

class HttpAnswer extends Error {
  constructor(
    readonly status: number,
    readonly payload: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP ${status}`);
  }
}

export async function startFakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const prefix = (options.prefix ?? '').replace(/\/+$/, '');
  const tokens = options.tokens ?? DEFAULT_TOKENS;
  const repositories = options.repositories ?? ['octo/widgets'];
  const repoIds = new Map(repositories.map((name, i) => [name.toLowerCase(), 1000 + i]));
  const requests: RecordedRequest[] = [];
  const comments: FakeComment[] = [];
  const pulls: FakePullRequest[] = [];
  const enabledWorkflows: string[] = [];
  const injections: { remaining: number; injection: { failure: InjectedFailure } | { stall: InjectedStall } }[] = [];
  let nextId = 5_000_000;
  let origin = '';

  const commentsOn = (pr: PullRequestKey): FakeComment[] =>
    comments.filter((c) => c.owner === pr.owner && c.repo === pr.repo && c.issueNumber === pr.number);

  const addComment = (pr: PullRequestKey, body: string, user: FakeComment['user']): FakeComment => {
    const now = new Date().toISOString();
    const comment: FakeComment = { id: nextId++, owner: pr.owner, repo: pr.repo, issueNumber: pr.number, body, user, created_at: now, updated_at: now };
    comments.push(comment);
    return comment;
  };

  const toJson = (c: FakeComment): Record<string, unknown> => {
    const api = `${origin}${prefix}`;
    return {
      id: c.id,
      node_id: `IC_${c.id}`,
      url: `${api}/repos/${c.owner}/${c.repo}/issues/comments/${c.id}`,
      html_url: `${origin}/${c.owner}/${c.repo}/pull/${c.issueNumber}#issuecomment-${c.id}`,
      issue_url: `${api}/repos/${c.owner}/${c.repo}/issues/${c.issueNumber}`,
      body: c.body,
      user: { login: c.user.login, id: loginId(c.user.login), type: c.user.type },
      created_at: c.created_at,
      updated_at: c.updated_at,
      author_association: c.user.type === 'Bot' ? 'NONE' : 'CONTRIBUTOR',
    };
  };

  /** The repository named by `owner/repo` or by `/repositories/{id}`, or a 404. */
  const repository = (ref: { owner: string; repo: string } | { id: number }): { owner: string; repo: string; id: number } => {
    if ('id' in ref) {
      const name = repositories.find((n) => repoIds.get(n.toLowerCase()) === ref.id);
      if (name) {
        const [owner = '', repo = ''] = name.split('/');
        return { owner, repo, id: ref.id };
      }
    } else {
      const id = repoIds.get(`${ref.owner}/${ref.repo}`.toLowerCase());
      if (id !== undefined) return { ...ref, id };
    }
    throw new HttpAnswer(404, { message: 'Not Found', documentation_url: DOCS });
  };

  const listComments = (repo: { owner: string; repo: string; id: number }, issueNumber: number, query: Record<string, string>): HttpAnswer => {
    const perPage = Math.min(100, Math.max(1, Number(query['per_page'] ?? 30) || 30));
    const page = Math.max(1, Number(query['page'] ?? 1) || 1);
    const all = commentsOn({ owner: repo.owner, repo: repo.repo, number: issueNumber });
    const lastPage = Math.max(1, Math.ceil(all.length / perPage));
    const link = (n: number, rel: string): string =>
      `<${origin}${prefix}/repositories/${repo.id}/issues/${issueNumber}/comments?per_page=${perPage}&page=${n}>; rel="${rel}"`;
    const links: string[] = [];
    if (page > 1) links.push(link(page - 1, 'prev'));
    if (page < lastPage) links.push(link(page + 1, 'next'), link(lastPage, 'last'));
    if (page > 1) links.push(link(1, 'first'));
    const headers: Record<string, string> = links.length > 0 ? { link: links.join(', ') } : {};
    return new HttpAnswer(200, all.slice((page - 1) * perPage, page * perPage).map(toJson), headers);
  };

  const validBody = (body: unknown): string => {
    const text = typeof body === 'object' && body !== null ? (body as { body?: unknown }).body : undefined;
    if (typeof text !== 'string') {
      throw new HttpAnswer(422, { message: 'Invalid request.\n\n"body" wasn\'t supplied.', documentation_url: DOCS });
    }
    // GitHub counts characters (code points), not UTF-16 units.
    if ([...text].length > GITHUB_BODY_LIMIT) {
      throw new HttpAnswer(422, {
        message: 'Validation Failed',
        errors: [{ resource: 'IssueComment', code: 'unprocessable', field: 'data', message: `Body is too long (maximum is ${GITHUB_BODY_LIMIT} characters)` }],
        documentation_url: DOCS,
      });
    }
    return text;
  };

  const pullJson = (p: FakePullRequest): Record<string, unknown> => {
    const api = `${origin}${prefix}`;
    return {
      id: 90_000 + p.number,
      node_id: `PR_${p.number}`,
      number: p.number,
      state: p.state,
      title: p.title,
      body: p.body,
      url: `${api}/repos/${p.owner}/${p.repo}/pulls/${p.number}`,
      html_url: `${origin}/${p.owner}/${p.repo}/pull/${p.number}`,
      issue_url: `${api}/repos/${p.owner}/${p.repo}/issues/${p.number}`,
      user: { login: p.user, id: loginId(p.user), type: typeOf(p.user) },
      labels: p.labels.map(labelJson),
      head: { label: `${p.owner}:${p.head}`, ref: p.head, repo: { full_name: `${p.owner}/${p.repo}` } },
      base: { label: `${p.owner}:${p.base}`, ref: p.base, repo: { full_name: `${p.owner}/${p.repo}` } },
      draft: false,
      merged: false,
    };
  };

  const labelJson = (name: string): Record<string, unknown> => ({ id: loginId(`label:${name}`), name, color: 'ededed', default: false });

  /** GitHub's filters: state (default open), head as `owner:branch`, base. */
  const listPulls = (repo: { owner: string; repo: string }, query: Record<string, string>): HttpAnswer => {
    const state = query['state'] ?? 'open';
    const matching = pulls.filter(
      (p) =>
        p.owner === repo.owner &&
        p.repo === repo.repo &&
        (state === 'all' || p.state === state) &&
        (query['head'] === undefined || query['head'] === `${p.owner}:${p.head}`) &&
        (query['base'] === undefined || query['base'] === p.base),
    );
    return new HttpAnswer(200, matching.map(pullJson));
  };

  const createPull = (repo: { owner: string; repo: string }, body: unknown, login: string): FakePullRequest => {
    const fields = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    for (const field of ['title', 'head', 'base'] as const) {
      if (typeof fields[field] !== 'string' || fields[field] === '') {
        throw new HttpAnswer(422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', code: 'missing_field', field }], documentation_url: PULLS_DOCS });
      }
    }
    const head = String(fields.head).replace(new RegExp(`^${repo.owner}:`), '');
    if (pulls.some((p) => p.owner === repo.owner && p.repo === repo.repo && p.head === head && p.base === fields.base && p.state === 'open')) {
      throw new HttpAnswer(422, {
        message: 'Validation Failed',
        errors: [{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${repo.owner}:${head}.` }],
        documentation_url: PULLS_DOCS,
      });
    }
    const number = Math.max(0, ...pulls.filter((p) => p.owner === repo.owner && p.repo === repo.repo).map((p) => p.number)) + 1;
    const pull: FakePullRequest = {
      number,
      owner: repo.owner,
      repo: repo.repo,
      head,
      base: String(fields.base),
      title: String(fields.title),
      body: typeof fields.body === 'string' ? fields.body : '',
      state: 'open',
      labels: [],
      user: login,
    };
    pulls.push(pull);
    return pull;
  };

  /** GitHub's answer to `GET /user` for a personal token: its "private user" object, trimmed. */
  const userJson = (login: string): Record<string, unknown> => {
    const api = `${origin}${prefix}`;
    return {
      login,
      id: loginId(login),
      node_id: `U_${loginId(login)}`,
      avatar_url: `${origin}/avatars/${login}`,
      gravatar_id: '',
      url: `${api}/users/${login}`,
      html_url: `${origin}/${login}`,
      type: 'User',
      site_admin: false,
      name: null,
      email: null,
      created_at: '2008-01-14T04:33:35Z',
      updated_at: '2008-01-14T04:33:35Z',
    };
  };

  const route = (method: string, path: string, query: Record<string, string>, body: unknown, token: FakeToken): HttpAnswer => {
    const installation = typeOf(token.login) === 'Bot';
    const requireScope = (scope: 'pull-requests' | 'actions'): void => {
      if ((token.permissions?.[scope] ?? token.access) === 'write') return;
      const message = installation ? 'Resource not accessible by integration' : 'Resource not accessible by personal access token';
      throw new HttpAnswer(403, { message, documentation_url: scope === 'actions' ? WORKFLOWS_DOCS : PULLS_DOCS, status: '403' });
    };
    const requireWrite = (): void => {
      if (token.permissions !== undefined) return requireScope('pull-requests');
      if (token.access === 'write') return;
      // GitHub names the kind of token that lacks the permission.
      const message = installation ? 'Resource not accessible by integration' : 'Resource not accessible by personal access token';
      throw new HttpAnswer(403, { message, documentation_url: DOCS, status: '403' });
    };
    if (path === '/user' && method === 'GET') {
      // An installation token acts for an app, not a user.
      if (installation) throw new HttpAnswer(403, { message: 'Resource not accessible by integration', documentation_url: USER_DOCS, status: '403' });
      return new HttpAnswer(200, userJson(token.login));
    }
    let m: RegExpExecArray | null;
    if ((m = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/.exec(path))) {
      const repo = repository({ owner: decodeURIComponent(m[1]!), repo: decodeURIComponent(m[2]!) });
      const issueNumber = Number(m[3]);
      if (method === 'GET') return listComments(repo, issueNumber, query);
      if (method === 'POST') {
        requireWrite();
        const comment = addComment({ owner: repo.owner, repo: repo.repo, number: issueNumber }, validBody(body), { login: token.login, type: typeOf(token.login) });
        return new HttpAnswer(201, toJson(comment), { location: `${origin}${prefix}/repos/${repo.owner}/${repo.repo}/issues/comments/${comment.id}` });
      }
    }
    if ((m = /^\/repositories\/(\d+)\/issues\/(\d+)\/comments$/.exec(path)) && method === 'GET') {
      return listComments(repository({ id: Number(m[1]) }), Number(m[2]), query);
    }
    if ((m = /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/.exec(path))) {
      const repo = repository({ owner: decodeURIComponent(m[1]!), repo: decodeURIComponent(m[2]!) });
      const comment = comments.find((c) => c.id === Number(m![3]) && c.owner === repo.owner && c.repo === repo.repo);
      if (!comment) throw new HttpAnswer(404, { message: 'Not Found', documentation_url: DOCS });
      if (method === 'GET') return new HttpAnswer(200, toJson(comment));
      if (method === 'PATCH') {
        requireWrite();
        comment.body = validBody(body);
        comment.updated_at = new Date().toISOString();
        return new HttpAnswer(200, toJson(comment));
      }
    }
    if ((m = /^\/repos\/([^/]+)\/([^/]+)\/pulls$/.exec(path))) {
      const repo = repository({ owner: decodeURIComponent(m[1]!), repo: decodeURIComponent(m[2]!) });
      if (method === 'GET') return listPulls(repo, query);
      if (method === 'POST') {
        requireScope('pull-requests');
        return new HttpAnswer(201, pullJson(createPull(repo, body, token.login)));
      }
    }
    if ((m = /^\/repos\/([^/]+)\/([^/]+)\/pulls\/(\d+)$/.exec(path))) {
      const repo = repository({ owner: decodeURIComponent(m[1]!), repo: decodeURIComponent(m[2]!) });
      const pull = pulls.find((p) => p.owner === repo.owner && p.repo === repo.repo && p.number === Number(m![3]));
      if (!pull) throw new HttpAnswer(404, { message: 'Not Found', documentation_url: PULLS_DOCS });
      if (method === 'GET') return new HttpAnswer(200, pullJson(pull));
      if (method === 'PATCH') {
        requireScope('pull-requests');
        const fields = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
        if (typeof fields.title === 'string') pull.title = fields.title;
        if (typeof fields.body === 'string') pull.body = fields.body;
        if (fields.state === 'open' || fields.state === 'closed') pull.state = fields.state;
        if (typeof fields.base === 'string') pull.base = fields.base;
        return new HttpAnswer(200, pullJson(pull));
      }
    }
    if ((m = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/labels$/.exec(path)) && method === 'POST') {
      const repo = repository({ owner: decodeURIComponent(m[1]!), repo: decodeURIComponent(m[2]!) });
      const pull = pulls.find((p) => p.owner === repo.owner && p.repo === repo.repo && p.number === Number(m![3]));
      if (!pull) throw new HttpAnswer(404, { message: 'Not Found', documentation_url: PULLS_DOCS });
      requireScope('pull-requests');
      const labels = (typeof body === 'object' && body !== null ? (body as { labels?: unknown }).labels : undefined) ?? [];
      if (!Array.isArray(labels) || labels.some((l) => typeof l !== 'string' || l === '')) {
        throw new HttpAnswer(422, { message: 'Invalid request.\n\nFor \'items\', nil is not a string.', documentation_url: PULLS_DOCS });
      }
      for (const label of labels as string[]) if (!pull.labels.includes(label)) pull.labels.push(label);
      return new HttpAnswer(200, pull.labels.map(labelJson));
    }
    if ((m = /^\/repos\/([^/]+)\/([^/]+)\/actions\/workflows\/([^/]+)\/enable$/.exec(path)) && method === 'PUT') {
      const repo = repository({ owner: decodeURIComponent(m[1]!), repo: decodeURIComponent(m[2]!) });
      requireScope('actions');
      enabledWorkflows.push(`${repo.owner}/${repo.repo}:${decodeURIComponent(m[3]!)}`);
      return new HttpAnswer(204, undefined);
    }
    throw new HttpAnswer(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
  };

  const handle = (method: string, rawPath: string, query: Record<string, string>, body: unknown, authorization: string | undefined): HttpAnswer => {
    if (prefix !== '' && !rawPath.startsWith(`${prefix}/`)) {
      throw new HttpAnswer(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
    }
    const path = rawPath.slice(prefix.length);
    const credentials = /^(?:token|bearer)\s+(\S+)$/i.exec(authorization ?? '');
    if (!credentials) throw new HttpAnswer(401, { message: 'Requires authentication', documentation_url: 'https://docs.github.com/rest' });
    const token = tokens[credentials[1]!];
    if (!token) throw new HttpAnswer(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
    return route(method, path, query, body, token);
  };

  /** The queued failure or stall this request consumes, if any. */
  const takeInjection = (method: string, rawPath: string): { failure: InjectedFailure } | { stall: InjectedStall } | undefined => {
    const path = rawPath.startsWith(`${prefix}/`) ? rawPath.slice(prefix.length) : rawPath;
    const queued = injections.find(({ remaining, injection }) => {
      const filter = 'failure' in injection ? injection.failure : injection.stall;
      return remaining > 0 && (filter.method === undefined || filter.method === method) && (filter.path === undefined || filter.path === path);
    });
    if (!queued) return undefined;
    queued.remaining--;
    return queued.injection;
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const method = req.method ?? 'GET';
      const url = new URL(req.url ?? '/', origin);
      const query = Object.fromEntries(url.searchParams);
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        body = text;
      }
      const authorization = req.headers.authorization;
      const recorded: RecordedRequest = { method, path: url.pathname, query, body, authorization, status: 0 };
      requests.push(recorded);

      const injection = takeInjection(method, url.pathname);
      if (injection && 'stall' in injection) {
        // Nothing more is sent; stop() closes the connection.
        if (injection.stall.after === 'headers') {
          recorded.status = 200;
          res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
          res.write('[');
        }
        return;
      }
      const failure = injection?.failure;
      let answer: HttpAnswer;
      try {
        if (failure && !failure.afterApplying) throw injected(failure);
        answer = handle(method, url.pathname, query, body, authorization);
        if (failure) throw injected(failure);
      } catch (error) {
        // A bug in the fake surfaces as a 500 naming it, not as a hung request.
        answer = error instanceof HttpAnswer ? error : new HttpAnswer(500, { message: `fake GitHub failed: ${String(error)}` });
      }
      recorded.status = answer.status;
      res.writeHead(answer.status, {
        'content-type': 'application/json; charset=utf-8',
        'x-github-media-type': 'github.v3; format=json',
        'x-ratelimit-limit': '5000',
        'x-ratelimit-remaining': '4999',
        ...answer.headers,
      });
      res.end(answer.status === 204 ? undefined : JSON.stringify(answer.payload));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    origin,
    url: `${origin}${prefix}`,
    requests,
    comments,
    pulls,
    enabledWorkflows,
    seed: (pr, seeded) =>
      seeded.map((c) =>
        typeof c === 'string'
          ? addComment(pr, c, { login: 'someone', type: 'User' })
          : addComment(pr, c.body, { login: c.login, type: c.type ?? typeOf(c.login) }),
      ),
    commentsOn,
    failNext: (count, failure = { status: 500 }) => {
      injections.push({ remaining: count, injection: { failure } });
    },
    stallNext: (count, stall = {}) => {
      injections.push({ remaining: count, injection: { stall } });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function injected(failure: InjectedFailure): HttpAnswer {
  const message = failure.message ?? (failure.status >= 500 ? 'Server Error' : `HTTP ${failure.status}`);
  return new HttpAnswer(failure.status, { message, documentation_url: 'https://docs.github.com/rest' }, failure.headers);
}

function typeOf(login: string): 'User' | 'Bot' {
  return login.endsWith('[bot]') ? 'Bot' : 'User';
}

function loginId(login: string): number {
  let hash = 7;
  for (const char of login) hash = (hash * 31 + char.charCodeAt(0)) % 1_000_000;
  return hash;
}
