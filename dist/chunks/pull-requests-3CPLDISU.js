#!/usr/bin/env node
import { createRequire as __mlshipCreateRequire } from 'node:module';
import { fileURLToPath as __mlshipFileURLToPath } from 'node:url';
import { dirname as __mlshipDirname } from 'node:path';
const require = __mlshipCreateRequire(import.meta.url);
const __filename = __mlshipFileURLToPath(import.meta.url);
const __dirname = __mlshipDirname(__filename);
import {
  DEFAULT_GITHUB_API_URL,
  classify,
  failureMessage,
  githubOctokit,
  notFoundHint
} from "./chunk-AARZUNHX.js";
import "./chunk-KQO5UGCV.js";
import "./chunk-5DC5KTWX.js";
import {
  networkTimeoutSeconds
} from "./chunk-TPGXKFNT.js";
import {
  SecretMasker
} from "./chunk-5RO3G7CI.js";
import {
  InfrastructureError,
  InterruptedError
} from "./chunk-JF4PWR4C.js";
import "./chunk-GXDHUWLY.js";

// src/adapters/github/pull-requests.ts
var PROPOSAL_PERMISSIONS = "contents: write and pull-requests: write";
var KEEPALIVE_PERMISSIONS = "actions: write";
var GitHubPullRequests = class {
  apiUrl;
  octokit;
  masker;
  signal;
  constructor(options) {
    this.apiUrl = (options.apiUrl || options.env["GITHUB_API_URL"] || DEFAULT_GITHUB_API_URL).replace(/\/+$/, "");
    this.signal = options.signal;
    this.masker = new SecretMasker().addAll([options.token]);
    this.octokit = githubOctokit({ token: options.token, apiUrl: this.apiUrl, timeoutSeconds: networkTimeoutSeconds(options.env), signal: options.signal });
  }
  /** The open pull request whose head is `branch` of `repository` itself (not a fork's). */
  async findOpen(repository, branch, base) {
    return this.call(PROPOSAL_PERMISSIONS, repository, async () => {
      const { data } = await this.octokit.rest.pulls.list({ ...repository, state: "open", head: `${repository.owner}:${branch}`, base, per_page: 100 });
      const open = data.find((pr) => pr.head.ref === branch);
      return open && { number: open.number, url: open.html_url, title: open.title };
    });
  }
  async create(repository, branch, base, content) {
    return this.call(PROPOSAL_PERMISSIONS, repository, async () => {
      const { data } = await this.octokit.rest.pulls.create({ ...repository, head: branch, base, title: content.title, body: content.body, maintainer_can_modify: true });
      return { number: data.number, url: data.html_url, title: data.title };
    });
  }
  async update(repository, number, content) {
    return this.call(PROPOSAL_PERMISSIONS, repository, async () => {
      const { data } = await this.octokit.rest.pulls.update({ ...repository, pull_number: number, title: content.title, body: content.body });
      return { number: data.number, url: data.html_url, title: data.title };
    });
  }
  /** Adds labels (GitHub creates those the repository lacks); labels already there stay. */
  async addLabels(repository, number, labels) {
    if (labels.length === 0) return;
    await this.call(PROPOSAL_PERMISSIONS, repository, () => this.octokit.rest.issues.addLabels({ ...repository, issue_number: number, labels: [...labels] }));
  }
  /** `PUT /repos/{owner}/{repo}/actions/workflows/{workflow}/enable`: a workflow file name or id. */
  async enableWorkflow(repository, workflow) {
    await this.call(
      KEEPALIVE_PERMISSIONS,
      repository,
      () => this.octokit.request("PUT /repos/{owner}/{repo}/actions/workflows/{workflow_id}/enable", { ...repository, workflow_id: workflow })
    );
  }
  async call(permissions, repository, work) {
    try {
      return await work();
    } catch (error) {
      if (this.signal?.aborted) throw new InterruptedError("interrupted while talking to GitHub", { cause: error });
      throw this.failure(error, permissions, repository);
    }
  }
  failure(error, permissions, repository) {
    const hint = (status) => {
      if (status === 404) return notFoundHint(this.apiUrl, `${repository.owner}/${repository.repo}`);
      if (status !== 403) return "";
      const settings = permissions === PROPOSAL_PERMISSIONS ? ` (and, for the GITHUB_TOKEN, "Allow GitHub Actions to create and approve pull requests" in the repository's Actions settings)` : "";
      return `; the token lacks permission: the workflow's job needs \`permissions: ${permissions}\`${settings}`;
    };
    return new InfrastructureError(this.masker.mask(failureMessage(this.apiUrl, error, classify(error), hint)), { cause: error });
  }
};
export {
  GitHubPullRequests,
  KEEPALIVE_PERMISSIONS,
  PROPOSAL_PERMISSIONS
};
