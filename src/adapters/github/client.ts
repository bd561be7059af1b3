import { getOctokit } from '@actions/github';
import { describeError } from '../../errors.js';
import { VERSION } from '../../version.js';

/**
 * What every GitHub REST call of mlship shares: the Actions toolkit's Octokit (so the runner's
 * proxy settings apply), a deadline per call, and one reading of what a failure means.
 */

export type Octokit = ReturnType<typeof getOctokit>;

/** GitHub's answer to an installation token (the workflow's GITHUB_TOKEN) for what it may not do. */
export const INTEGRATION_REFUSAL = 'Resource not accessible by integration';

export interface OctokitOptions {
  readonly token: string;
  /** REST API root, without a trailing slash. */
  readonly apiUrl: string;
  readonly userAgent?: string | undefined;
  /** Seconds each call may take, answer included. */
  readonly timeoutSeconds: number;
  /** Aborted when the run is interrupted: the call under way stops. */
  readonly signal?: AbortSignal | undefined;
}

/** An Octokit whose every call is abandoned after `timeoutSeconds` (DeadlineExceeded) or on interrupt. */
export function githubOctokit(options: OctokitOptions): Octokit {
  // No `request` option here: it would replace the toolkit's default one, whose fetch goes through
  // the runner's proxy (HTTPS_PROXY, NO_PROXY). Deadlines are set per call, in a hook, instead.
  const octokit = getOctokit(options.token, { baseUrl: options.apiUrl, userAgent: options.userAgent ?? `mlship/${VERSION}` });
  octokit.hook.wrap('request', (request, callOptions) =>
    withDeadline(
      async (signal) => {
        // The auth hook inside reads this call's options object, not what a wrapper passes on, so
        // the signal goes onto that object (made per call; its `request` may be the shared default).
        callOptions.request = { ...callOptions.request, signal };
        return request(callOptions);
      },
      () => octokit.request.endpoint.parse(callOptions),
      options,
    ),
  );
  return octokit;
}

/**
 * One GitHub call, abandoned after `timeoutSeconds` or on interrupt. Set per call in a hook
 * because Octokit drops a per-call `request.signal` on the pages it follows by itself.
 */
async function withDeadline<T>(call: (signal: AbortSignal) => Promise<T>, name: () => RequestName, options: OctokitOptions): Promise<T> {
  const deadline = AbortSignal.timeout(options.timeoutSeconds * 1000);
  const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
  const timedOut = (): DeadlineExceeded => {
    const { method, url } = name();
    return new DeadlineExceeded({ method, url }, options.timeoutSeconds);
  };
  try {
    const response = await call(signal);
    // Octokit reads a body cut short by the abort as an empty one, and would return it as an answer.
    if (deadline.aborted) throw timedOut();
    return response;
  } catch (error) {
    if (deadline.aborted && !(error instanceof DeadlineExceeded)) throw timedOut();
    throw error;
  }
}

/**
 * What failed, in words: the API, the call, and GitHub's answer or the network's. For an HTTP
 * answer, `hint(status)` may add what to check.
 */
export function failureMessage(apiUrl: string, error: unknown, failure: Failure, hint: (status: number) => string = () => ''): string {
  const where = `GitHub API ${apiUrl}`;
  switch (failure.kind) {
    case 'network':
      return `${where} is unreachable (${requestName(apiUrl, failure.request)}): ${failure.message}`;
    case 'timeout':
      return `${where} did not answer ${requestName(apiUrl, failure.request)} within ${failure.seconds} s (MLSHIP_NETWORK_TIMEOUT)`;
    case 'unknown':
      return `${where} failed: ${describeError(error)}`;
    default:
      return `${where}: ${requestName(apiUrl, failure.request)} failed with HTTP ${failure.status}: ${failure.message}${hint(failure.status)}`;
  }
}

/** The hint for a 404: which repository, and whether the API root is right. */
export function notFoundHint(apiUrl: string, repository: string): string {
  return (
    `; check that the repository ${repository} exists and the token can read it, and that ${apiUrl} is the REST API root ` +
    `(GITHUB_API_URL; GitHub Enterprise Server serves it at https://HOST/api/v3)`
  );
}

/** "GET /repos/o/r/issues/1/comments": the method and the URL without the API root already named. */
export function requestName(apiUrl: string, request: { method: string; url: string }): string {
  const url = request.url.startsWith(apiUrl) ? request.url.slice(apiUrl.length) : request.url;
  return `${request.method} ${url}`;
}

export interface RequestName {
  method: string;
  url: string;
}
export type Refusal = { kind: 'refused'; status: number; message: string; request: RequestName };
export type Failure =
  | Refusal
  | { kind: 'transient' | 'http'; status: number; message: string; request: RequestName }
  | { kind: 'network'; message: string; request: RequestName }
  | { kind: 'timeout'; seconds: number; request: RequestName }
  | { kind: 'unknown' };

/** A GitHub call that got no complete answer in time. */
export class DeadlineExceeded extends Error {
  constructor(
    readonly request: RequestName,
    readonly seconds: number,
  ) {
    super(`${request.method} ${request.url} got no answer within ${seconds} s`);
    this.name = 'DeadlineExceeded';
  }
}

/** The fields of Octokit's RequestError (not exported by @actions/github) that we read. */
export interface OctokitRequestError extends Error {
  status: number;
  request?: { method?: string; url?: string };
  response?: { status: number; data?: unknown; headers?: Record<string, string | number | undefined> };
}

export function isOctokitRequestError(error: unknown): error is OctokitRequestError {
  return error instanceof Error && typeof (error as { status?: unknown }).status === 'number';
}

/**
 * Only the 403 an installation token gets for what it may not do (the read-only GITHUB_TOKEN of a
 * pull request from a fork) is not the run's failure; any other refusal (a 404 from a wrong
 * repository or API URL, a 403 for SSO or a rate limit) is. 5xx answers may pass: one retry.
 * Octokit reports network failures as status 500 too, but without a response. A timeout is not
 * retried, so a silent server costs one deadline.
 */
export function classify(error: unknown): Failure {
  if (error instanceof DeadlineExceeded) return { kind: 'timeout', seconds: error.seconds, request: error.request };
  if (!isOctokitRequestError(error)) return { kind: 'unknown' };
  const request = { method: error.request?.method ?? 'request', url: error.request?.url ?? '' };
  const response = error.response;
  if (response === undefined) return { kind: 'network', message: networkMessage(error), request };
  const status = response.status;
  const message = githubMessage(response.data) ?? error.message;
  if (isIntegrationRefusal(error)) return { kind: 'refused', status, message, request };
  if (status >= 500) return { kind: 'transient', status, message, request };
  return { kind: 'http', status, message, request };
}

export function isIntegrationRefusal(error: unknown): boolean {
  return isOctokitRequestError(error) && error.response?.status === 403 && githubMessage(error.response.data) === INTEGRATION_REFUSAL;
}

/** GitHub's `message`, with field errors (422) appended; undefined when the body has none. */
export function githubMessage(data: unknown): string | undefined {
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
export function networkMessage(error: OctokitRequestError): string {
  const cause = error.cause;
  const inner = cause instanceof Error ? cause.cause : undefined;
  if (inner instanceof Error && inner.message && !error.message.includes(inner.message)) return `${error.message}: ${inner.message}`;
  return error.message;
}
