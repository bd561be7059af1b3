import { setTimeout as sleep } from 'node:timers/promises';
import { getOctokit } from '@actions/github';
import { ConfigurationError, InfrastructureError, describeError } from '../../errors.js';
import { VERSION } from '../../version.js';
import type { PullRequestRef } from './pull-request.js';

export type CommentOutcome =
  | { kind: 'created' | 'updated'; url: string; id: number }
  | { kind: 'skipped'; reason: string };

/** Keeps one comment per marker on a pull request: created the first time, edited afterwards. */
export interface CommentPoster {
  upsert(pr: PullRequestRef, marker: string, body: string): Promise<CommentOutcome>;
}

export const DEFAULT_GITHUB_API_URL = 'https://api.github.com';

/**
 * GitHub refuses comment bodies over 65,536 characters; reports say it counts code points, others
 * 262,144 UTF-8 bytes. Staying at or under 65,000 UTF-16 code units (String#length) is within both:
 * code units are never fewer than code points, and each is at most 3 UTF-8 bytes.
 */
export const COMMENT_LENGTH_LIMIT = 65_000;

/** Longest marker kept: markers are keys, and a long one only costs report space in every comment. */
const MARKER_MAX_LENGTH = 200;

export interface GitHubCommentPosterOptions {
  token: string;
  /** REST API root; GitHub Enterprise Server has it at https://HOST/api/v3. Default: GITHUB_API_URL, else api.github.com. */
  apiUrl?: string;
  userAgent?: string;
  /**
   * Login the comments are written as (github-actions[bot] for the workflow's GITHUB_TOKEN). When
   * several comments carry the marker, this author's is the one kept up to date.
   */
  authorLogin?: string;
  /** Pause before the one retry after a 5xx answer or a network failure. */
  retryDelayMs?: number;
}

type Octokit = ReturnType<typeof getOctokit>;
type IssueComment = Awaited<ReturnType<Octokit['rest']['issues']['listComments']>>['data'][number];

/** A pull request comment through GitHub's REST API, via the Actions toolkit's Octokit. */
export class GitHubCommentPoster implements CommentPoster {
  readonly apiUrl: string;
  private readonly octokit: Octokit;
  private readonly token: string;
  private readonly retryDelayMs: number;
  private authorLogin: string | undefined;

  constructor(options: GitHubCommentPosterOptions) {
    if (!options.token) throw new ConfigurationError('a GitHub token is needed to comment on pull requests');
    this.token = options.token;
    this.apiUrl = (options.apiUrl || process.env['GITHUB_API_URL'] || DEFAULT_GITHUB_API_URL).replace(/\/+$/, '');
    this.retryDelayMs = options.retryDelayMs ?? 1000;
    this.authorLogin = options.authorLogin;
    this.octokit = getOctokit(options.token, {
      baseUrl: this.apiUrl,
      userAgent: options.userAgent ?? `mlship/${VERSION}`,
    });
  }

  async upsert(pr: PullRequestRef, marker: string, body: string): Promise<CommentOutcome> {
    const fullBody = composeCommentBody(marker, body);
    const line = markerLine(marker);
    // Retrying the whole upsert (not the failed call) keeps it idempotent: a create whose answer
    // was lost is found by the second listing and updated instead of duplicated.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.write(pr, line, fullBody);
      } catch (error) {
        const failure = classify(error);
        if (failure.kind === 'refused') return { kind: 'skipped', reason: this.refusalReason(pr, failure) };
        if (failure.kind === 'transient' && attempt === 1) {
          await sleep(this.retryDelayMs);
          continue;
        }
        throw this.failure(error, failure);
      }
    }
  }

  private async write(pr: PullRequestRef, line: string, body: string): Promise<CommentOutcome> {
    const existing = await this.find(pr, line);
    if (existing) {
      const { data } = await this.octokit.rest.issues.updateComment({ owner: pr.owner, repo: pr.repo, comment_id: existing.id, body });
      return { kind: 'updated', url: data.html_url, id: data.id };
    }
    const { data } = await this.octokit.rest.issues.createComment({ owner: pr.owner, repo: pr.repo, issue_number: pr.number, body });
    // Later upserts from this poster then prefer comments by the same author.
    this.authorLogin ??= data.user?.login;
    return { kind: 'created', url: data.html_url, id: data.id };
  }

  /**
   * The comment carrying the marker: the first by our author when it is known, else the first.
   * Stops reading pages as soon as the answer cannot change; a busy PR has hundreds of comments.
   */
  private async find(pr: PullRequestRef, line: string): Promise<IssueComment | undefined> {
    let fallback: IssueComment | undefined;
    const pages = this.octokit.paginate.iterator(this.octokit.rest.issues.listComments, {
      owner: pr.owner,
      repo: pr.repo,
      issue_number: pr.number,
      per_page: 100,
    });
    for await (const page of pages) {
      for (const comment of page.data) {
        if (!carriesMarker(comment.body, line)) continue;
        if (this.authorLogin === undefined || comment.user?.login === this.authorLogin) return comment;
        fallback ??= comment;
      }
    }
    return fallback;
  }

  private refusalReason(pr: PullRequestRef, failure: Refusal): string {
    return (
      `GitHub refused the pull request comment on ${pr.owner}/${pr.repo}#${pr.number} ` +
      `(HTTP ${failure.status}${failure.message ? `: ${this.scrub(failure.message)}` : ''}); ` +
      `the token is probably a read-only token (pull requests from forks get one) or lacks pull-requests: write permission`
    );
  }

  private failure(error: unknown, failure: Exclude<Failure, Refusal>): InfrastructureError {
    const where = `GitHub API ${this.apiUrl}`;
    let message: string;
    switch (failure.kind) {
      case 'network':
        message = `${where} is unreachable (${this.requestName(failure.request)}): ${failure.message}`;
        break;
      case 'unknown':
        message = `${where} failed: ${describeError(error)}`;
        break;
      default:
        message = `${where}: ${this.requestName(failure.request)} failed with HTTP ${failure.status}: ${failure.message}`;
    }
    return new InfrastructureError(this.scrub(message), { cause: error });
  }

  /** "GET /repos/o/r/issues/1/comments": the method and the URL without the API root already named. */
  private requestName(request: { method: string; url: string }): string {
    const url = request.url.startsWith(this.apiUrl) ? request.url.slice(this.apiUrl.length) : request.url;
    return `${request.method} ${url}`;
  }

  /** Octokit redacts the token from what it reports; this is a second guard for any text we pass on. */
  private scrub(text: string): string {
    return this.token.length >= 3 ? text.split(this.token).join('***') : text;
  }
}

/**
 * The hidden line that identifies a comment. Only characters that cannot end the HTML comment or
 * the line survive; runs of `-` shrink to one, as `--` (in `-->` or `--!>`) is what closes it.
 */
export function markerLine(marker: string): string {
  const key = marker
    .replace(/[^A-Za-z0-9._:/@+=,()# -]/g, '_')
    .replace(/-{2,}/g, '-')
    .trim()
    .slice(0, MARKER_MAX_LENGTH)
    .replace(/-+$/, '');
  if (key === '') throw new ConfigurationError(`the pull request comment marker ${JSON.stringify(marker)} is empty once sanitised`);
  return `<!-- mlship:${key} -->`;
}

/**
 * A line of the body that is exactly the marker line. Whole lines only: a reply quoting our
 * comment has `> <!-- mlship:… -->`, and must not be mistaken for ours and overwritten.
 */
function carriesMarker(body: string | undefined | null, line: string): boolean {
  if (!body) return false;
  return body.split('\n').some((candidate) => candidate.trim() === line);
}

/** The marker line, then the report, cut to fit GitHub's limit with a visible note when it does not. */
export function composeCommentBody(marker: string, report: string, limit = COMMENT_LENGTH_LIMIT): string {
  const head = `${markerLine(marker)}\n`;
  if (head.length + report.length <= limit) return head + report;
  let budget = limit - head.length;
  // Each pass shrinks the budget by the overshoot of closers and note, so this ends in a few passes.
  for (;;) {
    const kept = cutAtLineBoundary(report, Math.max(0, budget));
    const body = head + kept + closersFor(kept) + truncationNote(report.length - kept.length);
    if (body.length <= limit || kept === '') return body;
    budget = kept.length - (body.length - limit);
  }
}

function truncationNote(omitted: number): string {
  return `\n_Report truncated: ${omitted.toLocaleString('en-US')} characters cut to fit GitHub's comment limit; the full report is in the job summary._\n`;
}

/** The first `budget` code units, ending at a line break when one is in the second half, never inside a surrogate pair. */
function cutAtLineBoundary(text: string, budget: number): string {
  let kept = text.slice(0, budget);
  const lastBreak = kept.lastIndexOf('\n');
  if (lastBreak >= budget / 2) return kept.slice(0, lastBreak + 1);
  const last = kept.charCodeAt(kept.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) kept = kept.slice(0, -1);
  return kept;
}

/**
 * What closes the code fence and <details> blocks left open at the cut, so the note below renders
 * as text rather than as code inside the fence or hidden inside a collapsed block.
 */
function closersFor(kept: string): string {
  let fence: string | undefined;
  let openDetails = 0;
  for (const line of kept.split('\n')) {
    const match = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line);
    const [, run = '', rest = ''] = match ?? [];
    if (fence !== undefined) {
      if (match && run[0] === fence[0] && run.length >= fence.length && rest.trim() === '') fence = undefined;
      continue;
    }
    // A backtick fence's info string cannot contain backticks (CommonMark); such a line is inline code.
    if (match && !(run[0] === '`' && rest.includes('`'))) {
      fence = run;
      continue;
    }
    const opened = line.match(/<details[\s>]/gi)?.length ?? 0;
    const closed = line.match(/<\/details\s*>/gi)?.length ?? 0;
    openDetails = Math.max(0, openDetails + opened - closed);
  }
  let closers = kept === '' || kept.endsWith('\n') ? '' : '\n';
  if (fence !== undefined) closers += `${fence}\n`;
  closers += '</details>\n'.repeat(openDetails);
  return closers;
}

interface RequestName {
  method: string;
  url: string;
}
type Refusal = { kind: 'refused'; status: number; message: string; request: RequestName };
type Failure =
  | Refusal
  | { kind: 'transient' | 'http'; status: number; message: string; request: RequestName }
  | { kind: 'network'; message: string; request: RequestName }
  | { kind: 'unknown' };

/** The fields of Octokit's RequestError (not exported by @actions/github) that we read. */
interface OctokitRequestError extends Error {
  status: number;
  request?: { method?: string; url?: string };
  response?: { status: number; data?: unknown; headers?: Record<string, string | number | undefined> };
}

function isOctokitRequestError(error: unknown): error is OctokitRequestError {
  return error instanceof Error && typeof (error as { status?: unknown }).status === 'number';
}

/**
 * 403/404 on the comment endpoints mean the token may not write there (fork PRs get a read-only
 * token) and are not the run's failure; 5xx and network failures may pass, so they get one retry.
 * Octokit reports network failures as status 500 too, but without a response.
 */
function classify(error: unknown): Failure {
  if (!isOctokitRequestError(error)) return { kind: 'unknown' };
  const request = { method: error.request?.method ?? 'request', url: error.request?.url ?? '' };
  const response = error.response;
  if (response === undefined) return { kind: 'network', message: networkMessage(error), request };
  const status = response.status;
  const message = githubMessage(response.data) ?? error.message;
  const rateLimited =
    String(response.headers?.['x-ratelimit-remaining'] ?? '') === '0' || /rate limit/i.test(message);
  if ((status === 403 && !rateLimited) || status === 404) return { kind: 'refused', status, message, request };
  if (status >= 500) return { kind: 'transient', status, message, request };
  return { kind: 'http', status, message, request };
}

/** GitHub's `message`, with field errors (422) appended; undefined when the body has none. */
function githubMessage(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null || !('message' in data)) return undefined;
  const { message, errors } = data as { message: unknown; errors?: unknown };
  if (typeof message !== 'string') return undefined;
  if (!Array.isArray(errors) || errors.length === 0) return message;
  const details = errors.map((e: unknown) =>
    typeof e === 'object' && e !== null && 'message' in e ? String((e as { message: unknown }).message) : JSON.stringify(e),
  );
  return `${message} (${details.join('; ')})`;
}

/** Octokit wraps fetch's "fetch failed" and keeps the useful part (ECONNREFUSED…) in the cause. */
function networkMessage(error: OctokitRequestError): string {
  const cause = error.cause;
  const inner = cause instanceof Error ? cause.cause : undefined;
  if (inner instanceof Error && inner.message && !error.message.includes(inner.message)) return `${error.message}: ${inner.message}`;
  return error.message;
}
