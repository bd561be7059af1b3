import { InfrastructureError, InterruptedError } from '../../errors.js';
import { SecretMasker } from '../../domain/secrets.js';
import { networkTimeoutSeconds } from '../deadlines.js';
import { DEFAULT_GITHUB_API_URL } from './pr-comment.js';
import { classify, failureMessage, githubOctokit, notFoundHint, type Octokit } from './client.js';

export interface Repository {
  readonly owner: string;
  readonly repo: string;
}

export interface PullRequest {
  readonly number: number;
  readonly url: string;
  readonly title: string;
}

export interface PullRequestContent {
  readonly title: string;
  readonly body: string;
}

export interface GitHubPullRequestsOptions {
  readonly token: string;
  /** REST API root; default GITHUB_API_URL in `env`, else api.github.com. */
  readonly apiUrl?: string;
  /** MLSHIP_NETWORK_TIMEOUT, GITHUB_API_URL. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal?: AbortSignal;
}

/** What the token needs for a proposal: pushing the branch, then opening the pull request. */
export const PROPOSAL_PERMISSIONS = 'contents: write and pull-requests: write';
/** What the token needs to re-enable a scheduled workflow. */
export const KEEPALIVE_PERMISSIONS = 'actions: write';

/**
 * The pull request of a proposal branch, and the workflow keepalive, through GitHub's REST API.
 * Every failure is an InfrastructureError saying which call failed and, for a 403, which
 * permissions the workflow's token needs.
 */
export class GitHubPullRequests {
  readonly apiUrl: string;
  private readonly octokit: Octokit;
  private readonly masker: SecretMasker;
  private readonly signal: AbortSignal | undefined;

  constructor(options: GitHubPullRequestsOptions) {
    this.apiUrl = (options.apiUrl || options.env['GITHUB_API_URL'] || DEFAULT_GITHUB_API_URL).replace(/\/+$/, '');
    this.signal = options.signal;
    this.masker = new SecretMasker().addAll([options.token]);
    this.octokit = githubOctokit({ token: options.token, apiUrl: this.apiUrl, timeoutSeconds: networkTimeoutSeconds(options.env), signal: options.signal });
  }

  /** The open pull request whose head is `branch` of `repository` itself (not a fork's). */
  async findOpen(repository: Repository, branch: string, base: string): Promise<PullRequest | undefined> {
    return this.call(PROPOSAL_PERMISSIONS, repository, async () => {
      const { data } = await this.octokit.rest.pulls.list({ ...repository, state: 'open', head: `${repository.owner}:${branch}`, base, per_page: 100 });
      const open = data.find((pr) => pr.head.ref === branch);
      return open && { number: open.number, url: open.html_url, title: open.title };
    });
  }

  async create(repository: Repository, branch: string, base: string, content: PullRequestContent): Promise<PullRequest> {
    return this.call(PROPOSAL_PERMISSIONS, repository, async () => {
      const { data } = await this.octokit.rest.pulls.create({ ...repository, head: branch, base, title: content.title, body: content.body, maintainer_can_modify: true });
      return { number: data.number, url: data.html_url, title: data.title };
    });
  }

  async update(repository: Repository, number: number, content: PullRequestContent): Promise<PullRequest> {
    return this.call(PROPOSAL_PERMISSIONS, repository, async () => {
      const { data } = await this.octokit.rest.pulls.update({ ...repository, pull_number: number, title: content.title, body: content.body });
      return { number: data.number, url: data.html_url, title: data.title };
    });
  }

  /** Adds labels (GitHub creates those the repository lacks); labels already there stay. */
  async addLabels(repository: Repository, number: number, labels: readonly string[]): Promise<void> {
    if (labels.length === 0) return;
    await this.call(PROPOSAL_PERMISSIONS, repository, () => this.octokit.rest.issues.addLabels({ ...repository, issue_number: number, labels: [...labels] }));
  }

  /** `PUT /repos/{owner}/{repo}/actions/workflows/{workflow}/enable`: a workflow file name or id. */
  async enableWorkflow(repository: Repository, workflow: string): Promise<void> {
    await this.call(KEEPALIVE_PERMISSIONS, repository, () =>
      this.octokit.request('PUT /repos/{owner}/{repo}/actions/workflows/{workflow_id}/enable', { ...repository, workflow_id: workflow }),
    );
  }

  private async call<T>(permissions: string, repository: Repository, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (this.signal?.aborted) throw new InterruptedError('interrupted while talking to GitHub', { cause: error });
      throw this.failure(error, permissions, repository);
    }
  }

  private failure(error: unknown, permissions: string, repository: Repository): InfrastructureError {
    const hint = (status: number): string => {
      if (status === 404) return notFoundHint(this.apiUrl, `${repository.owner}/${repository.repo}`);
      if (status !== 403) return '';
      const settings =
        permissions === PROPOSAL_PERMISSIONS
          ? ' (and, for the GITHUB_TOKEN, "Allow GitHub Actions to create and approve pull requests" in the repository\'s Actions settings)'
          : '';
      return `; the token lacks permission: the workflow's job needs \`permissions: ${permissions}\`${settings}`;
    };
    return new InfrastructureError(this.masker.mask(failureMessage(this.apiUrl, error, classify(error), hint)), { cause: error });
  }
}
