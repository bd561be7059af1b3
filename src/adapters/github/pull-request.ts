import { readFileSync } from 'node:fs';
import { ConfigurationError, describeError } from '../../errors.js';

/** The pull request a run belongs to: where its comment goes. */
export interface PullRequestRef {
  readonly owner: string;
  readonly repo: string;
  readonly number: number;
  /** The commit under review; absent for events (issue_comment) whose payload does not carry it. */
  readonly headSha?: string;
}

/** Events whose payload has a `pull_request` object. */
const PULL_REQUEST_EVENTS = new Set([
  'pull_request',
  'pull_request_target',
  'pull_request_review',
  'pull_request_review_comment',
]);

/** The parts of a webhook payload we read; everything is optional because payloads are input. */
interface EventPayload {
  pull_request?: { number?: unknown; head?: { sha?: unknown } };
  issue?: { number?: unknown; pull_request?: unknown };
  repository?: { name?: unknown; owner?: { login?: unknown } };
}

/**
 * The pull request of the workflow run described by the runner's environment (GITHUB_EVENT_NAME,
 * GITHUB_EVENT_PATH, GITHUB_REPOSITORY), or undefined when the run is not about a pull request
 * (a push, a schedule, a comment on a plain issue, or no Actions environment at all).
 */
export function pullRequestFromEvent(env: Record<string, string | undefined>): PullRequestRef | undefined {
  const eventName = env['GITHUB_EVENT_NAME'];
  const isPullRequestEvent = eventName !== undefined && PULL_REQUEST_EVENTS.has(eventName);
  if (!isPullRequestEvent && eventName !== 'issue_comment') return undefined;

  const eventPath = env['GITHUB_EVENT_PATH'];
  if (!eventPath) {
    throw new ConfigurationError(`GITHUB_EVENT_NAME is ${eventName} but GITHUB_EVENT_PATH is not set, so the pull request is unknown`);
  }
  const payload = readPayload(eventPath);

  let number: unknown;
  let headSha: unknown;
  if (isPullRequestEvent) {
    number = payload.pull_request?.number;
    headSha = payload.pull_request?.head?.sha;
  } else {
    // A comment on a plain issue is no pull request; GitHub marks a PR's issue with `pull_request`.
    if (payload.issue?.pull_request === undefined || payload.issue.pull_request === null) return undefined;
    number = payload.issue.number;
  }
  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number <= 0) {
    throw new ConfigurationError(`the event payload ${eventPath} (${eventName}) has no pull request number`);
  }

  const { owner, repo } = repositoryOf(payload, env, eventPath);
  return { owner, repo, number, ...(typeof headSha === 'string' && headSha !== '' ? { headSha } : {}) };
}

function readPayload(eventPath: string): EventPayload {
  let text: string;
  try {
    text = readFileSync(eventPath, 'utf8');
  } catch (error) {
    throw new ConfigurationError(`cannot read the event payload ${eventPath}: ${describeError(error)}`, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigurationError(`the event payload ${eventPath} is not valid JSON: ${describeError(error)}`, { cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigurationError(`the event payload ${eventPath} is not a JSON object`);
  }
  return parsed as EventPayload;
}

/** The payload's repository, else GITHUB_REPOSITORY ("owner/repo"), which the runner always sets. */
function repositoryOf(payload: EventPayload, env: Record<string, string | undefined>, eventPath: string): { owner: string; repo: string } {
  const owner = payload.repository?.owner?.login;
  const repo = payload.repository?.name;
  if (typeof owner === 'string' && owner !== '' && typeof repo === 'string' && repo !== '') return { owner, repo };
  const [envOwner, envRepo, ...rest] = (env['GITHUB_REPOSITORY'] ?? '').split('/');
  if (envOwner && envRepo && rest.length === 0) return { owner: envOwner, repo: envRepo };
  throw new ConfigurationError(`the event payload ${eventPath} names no repository and GITHUB_REPOSITORY is not "owner/repo"`);
}
