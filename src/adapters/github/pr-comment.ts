import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigurationError, InfrastructureError, InterruptedError } from '../../errors.js';
import { classify, failureMessage, githubOctokit, isIntegrationRefusal, notFoundHint, type Failure, type Octokit, type Refusal } from './client.js';
import { networkTimeoutSeconds } from '../deadlines.js';
import type { PullRequestRef } from './pull-request.js';
import { SecretMasker } from '../../domain/secrets.js';

export type CommentOutcome =
  | { kind: 'created' | 'updated'; url: string; id: number }
  | { kind: 'skipped'; reason: string };

/** Keeps one comment per marker on a pull request: created the first time, edited afterwards. */
export interface CommentPoster {
  upsert(pr: PullRequestRef, marker: string, body: string): Promise<CommentOutcome>;
}

export const DEFAULT_GITHUB_API_URL = 'https://api.github.com';

/** Who the workflow's GITHUB_TOKEN writes as; being an installation token, it cannot ask GitHub (GET /user). */
export const WORKFLOW_TOKEN_LOGIN = 'github-actions[bot]';

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
   * Login the comments are written as; only a comment by this author is ever updated. Default: the
   * token's user (GET /user), or github-actions[bot] for an installation token such as the
   * workflow's GITHUB_TOKEN. A GitHub App's own installation token writes as `<app-slug>[bot]`.
   */
  authorLogin?: string;
  /** Pause before the one retry after a 5xx answer. */
  retryDelayMs?: number;
  /** Seconds each GitHub call may take, answer included. Default: MLSHIP_NETWORK_TIMEOUT in `env`, else 30. */
  timeoutSeconds?: number;
  /** The environment (MLSHIP_NETWORK_TIMEOUT, GITHUB_API_URL); default the process's. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Aborted when the run is interrupted: the call under way stops and upsert throws InterruptedError. */
  signal?: AbortSignal;
}

type IssueComment = Awaited<ReturnType<Octokit['rest']['issues']['listComments']>>['data'][number];

/** A pull request comment through GitHub's REST API, via the Actions toolkit's Octokit. */
export class GitHubCommentPoster implements CommentPoster {
  readonly apiUrl: string;
  readonly timeoutSeconds: number;
  private readonly octokit: Octokit;
  private readonly token: string;
  private readonly retryDelayMs: number;
  private readonly signal: AbortSignal | undefined;
  private authorLogin: string | undefined;

  constructor(options: GitHubCommentPosterOptions) {
    if (!options.token) throw new ConfigurationError('a GitHub token is needed to comment on pull requests');
    const env = options.env ?? process.env;
    this.token = options.token;
    this.apiUrl = (options.apiUrl || env['GITHUB_API_URL'] || DEFAULT_GITHUB_API_URL).replace(/\/+$/, '');
    this.timeoutSeconds = options.timeoutSeconds ?? networkTimeoutSeconds(env);
    this.retryDelayMs = options.retryDelayMs ?? 1000;
    this.signal = options.signal;
    this.authorLogin = options.authorLogin;
    this.octokit = githubOctokit({
      token: options.token,
      apiUrl: this.apiUrl,
      userAgent: options.userAgent,
      timeoutSeconds: this.timeoutSeconds,
      signal: options.signal,
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
        if (this.signal?.aborted) throw new InterruptedError(`interrupted while commenting on ${pr.owner}/${pr.repo}#${pr.number}`, { cause: error });
        const failure = classify(error);
        if (failure.kind === 'refused') return { kind: 'skipped', reason: this.refusalReason(pr, failure) };
        if (failure.kind === 'transient' && attempt === 1) {
          await sleep(this.retryDelayMs);
          continue;
        }
        throw this.failure(error, failure, pr);
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
    // GitHub recorded the token's identity as the author: later upserts need not ask for it.
    this.authorLogin ??= data.user?.login;
    return { kind: 'created', url: data.html_url, id: data.id };
  }

  /**
   * The first comment carrying the marker written by the token's own identity; anyone can paste
   * the marker, and their comment is not ours to overwrite. Stops reading pages at that comment:
   * a busy PR has hundreds.
   */
  private async find(pr: PullRequestRef, line: string): Promise<IssueComment | undefined> {
    const pages = this.octokit.paginate.iterator(this.octokit.rest.issues.listComments, {
      owner: pr.owner,
      repo: pr.repo,
      issue_number: pr.number,
      per_page: 100,
    });
    for await (const page of pages) {
      for (const comment of page.data) {
        if (!carriesMarker(comment.body, line)) continue;
        // Logins are case-insensitive on GitHub.
        if (comment.user?.login.toLowerCase() === (await this.ownLogin()).toLowerCase()) return comment;
      }
    }
    return undefined;
  }

  /** Asked only once a comment with the marker turns up: a first run needs no extra call. */
  private async ownLogin(): Promise<string> {
    this.authorLogin ??= await this.lookUpLogin();
    return this.authorLogin;
  }

  private async lookUpLogin(): Promise<string> {
    try {
      return (await this.octokit.rest.users.getAuthenticated()).data.login;
    } catch (error) {
      if (isIntegrationRefusal(error)) return WORKFLOW_TOKEN_LOGIN;
      throw error;
    }
  }

  private refusalReason(pr: PullRequestRef, failure: Refusal): string {
    return (
      `GitHub refused the pull request comment on ${pr.owner}/${pr.repo}#${pr.number} ` +
      `(HTTP ${failure.status}: ${this.scrub(failure.message)}); ` +
      `the token is probably a read-only token (pull requests from forks get one) or lacks pull-requests: write permission`
    );
  }

  private failure(error: unknown, failure: Exclude<Failure, Refusal>, pr: PullRequestRef): InfrastructureError {
    const hint = (status: number): string => (status === 404 ? notFoundHint(this.apiUrl, `${pr.owner}/${pr.repo}`) : '');
    return new InfrastructureError(this.scrub(failureMessage(this.apiUrl, error, failure, hint)), { cause: error });
  }

  /** Octokit redacts the token from what it reports; this is a second guard for any text we pass on. */
  private scrub(text: string): string {
    return new SecretMasker().addAll([this.token]).mask(text);
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
