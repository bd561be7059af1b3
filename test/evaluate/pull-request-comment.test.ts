import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Inputs } from '../../src/constants.js';
import { runActionAsync as runAction } from '../helpers/actions-runner.js';
import { READ_TOKEN, WRITE_TOKEN, startFakeGitHub, type FakeGitHub } from '../helpers/fake-github.js';
import { makeProject, temporaryDirectory, writeTree } from '../helpers/project.js';

const PR = { owner: 'octo', repo: 'widgets', number: 42 };
let github: FakeGitHub;
beforeEach(async () => {
  github = await startFakeGitHub();
});
afterEach(async () => github.stop());

function pullRequestEvent(): Record<string, string> {
  const eventPath = path.join(temporaryDirectory('mlship-event-'), 'event.json');
  writeFileSync(eventPath, JSON.stringify({ pull_request: { number: PR.number, head: { sha: 'a'.repeat(40) } }, repository: { name: PR.repo, owner: { login: PR.owner } } }));
  return { GITHUB_EVENT_NAME: 'pull_request', GITHUB_EVENT_PATH: eventPath, GITHUB_REPOSITORY: `${PR.owner}/${PR.repo}`, GITHUB_API_URL: github.url, GITHUB_WORKFLOW: 'ci' };
}

/** The log as the runner shows it reads everything but the add-mask command, which it consumes. */
function unmasked(stdout: string): string {
  return stdout.replace(/^::add-mask::.*$/gm, '');
}

function project(minAuc: number) {
  const rows = ['label,score'];
  for (let i = 0; i < 100; i += 1) rows.push(`${i % 3 === 0 ? 1 : 0},${((i % 3 === 0 ? 0.6 : 0.3) + ((i * 37) % 10) / 40).toFixed(3)}`);
  const p = makeProject({ 'preds.csv': `${rows.join('\n')}\n` });
  writeTree(p.root, { 'mlship.yml': `version: 1\nname: churn\nevaluate:\n  gates:\n    - { metric: auc, min: ${minAuc} }\n` });
  return p;
}

describe('the evaluation comment on a pull request (action, fake GitHub REST API)', () => {
  it('creates the comment once, then updates the same comment on every later run', async () => {
    const p = project(0.5);
    const env = pullRequestEvent();
    const first = await runAction({ [Inputs.Command]: 'evaluate --predictions preds.csv', [Inputs.GithubToken]: WRITE_TOKEN }, { workspace: p.root, env });
    expect(first.status, first.stdout).toBe(0);
    expect(first.outputs['comment-url']).toMatch(/^https?:\/\/.+#issuecomment-\d+$/);
    expect(github.commentsOn(PR)).toHaveLength(1);
    expect(github.commentsOn(PR)[0]!.body).toContain('### ✅ mlship evaluate: churn');

    writeTree(p.root, { 'mlship.yml': 'version: 1\nname: churn\nevaluate:\n  gates:\n    - { metric: brier, max: 0.001 }\n' });
    const second = await runAction({ [Inputs.Command]: 'evaluate --predictions preds.csv', [Inputs.GithubToken]: WRITE_TOKEN }, { workspace: p.root, env });
    expect(second.status).toBe(1); // the gate fails: the step fails, and the comment says so
    const comments = github.commentsOn(PR);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain('### ❌ mlship evaluate: churn');
    expect(second.outputs['comment-url']).toBe(first.outputs['comment-url']);
    expect(github.requests.some((r) => r.method === 'PATCH')).toBe(true);
    // The token never reaches logs, outputs or the summary.
    expect(first.stdout).toContain(`::add-mask::${WRITE_TOKEN}`); // the runner masks it from here on
    for (const text of [unmasked(first.stdout), unmasked(second.stdout), first.summary, JSON.stringify(second.outputs)]) expect(text).not.toContain(WRITE_TOKEN);
  });

  it('with a read-only token (a fork), writes the summary and a warning, and does not fail for that', async () => {
    const p = project(0.5);
    const run = await runAction({ [Inputs.Command]: 'evaluate --predictions preds.csv', [Inputs.GithubToken]: READ_TOKEN }, { workspace: p.root, env: pullRequestEvent() });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/::warning::pull-request comment skipped: .*read-only/);
    expect(run.summary).toContain('### ✅ mlship evaluate: churn');
    expect(github.commentsOn(PR)).toHaveLength(0);
  });

  it('never overwrites a comment someone else wrote with the marker in it: it creates its own', async () => {
    const p = project(0.5);
    const env = pullRequestEvent();
    const inputs = { [Inputs.Command]: 'evaluate --predictions preds.csv', [Inputs.GithubToken]: WRITE_TOKEN };
    expect((await runAction(inputs, { workspace: p.root, env })).status).toBe(0);
    // A maintainer deletes the report; someone pastes it back, marker line and all.
    const [ours] = github.comments.splice(0, 1);
    const [pasted] = github.seed(PR, [{ body: ours!.body, login: 'alice' }]);

    const second = await runAction(inputs, { workspace: p.root, env });

    expect(second.status, second.stdout).toBe(0);
    expect(pasted!.body).toBe(ours!.body);
    expect(github.requests.some((r) => r.method === 'PATCH')).toBe(false);
    expect(github.commentsOn(PR).map((c) => c.user.login)).toEqual(['alice', 'github-actions[bot]']);
    expect(second.outputs['comment-url']).toMatch(new RegExp(`#issuecomment-${github.commentsOn(PR)[1]!.id}$`));
  });

  it('fails with exit 3 on a 404 (a wrong API URL), saying what to check, with the report still in the job summary', async () => {
    const p = project(0.5);
    const apiUrl = `${github.url}/not-the-api`;
    const run = await runAction(
      { [Inputs.Command]: 'evaluate --predictions preds.csv', [Inputs.GithubToken]: WRITE_TOKEN },
      { workspace: p.root, env: { ...pullRequestEvent(), GITHUB_API_URL: apiUrl } },
    );
    expect(run.status).toBe(3);
    expect(run.stdout).toContain(`::error::GitHub API ${apiUrl}: GET /repos/octo/widgets/issues/42/comments?per_page=100 failed with HTTP 404: Not Found; check that`);
    expect(run.stdout).not.toContain('::warning::pull-request comment skipped');
    expect(run.summary).toContain('### ✅ mlship evaluate: churn');
  });

  it('gives up on a GitHub that never answers after MLSHIP_NETWORK_TIMEOUT seconds: exit 3, the report still in the job summary', async () => {
    const p = project(0.5);
    github.stallNext(1);
    const run = await runAction(
      { [Inputs.Command]: 'evaluate --predictions preds.csv', [Inputs.GithubToken]: WRITE_TOKEN },
      { workspace: p.root, env: { ...pullRequestEvent(), MLSHIP_NETWORK_TIMEOUT: '1' } },
    );
    expect(run.status).toBe(3);
    expect(run.stdout).toContain(`::error::GitHub API ${github.url} did not answer GET /repos/octo/widgets/issues/42/comments?per_page=100 within 1 s (MLSHIP_NETWORK_TIMEOUT)`);
    expect(run.summary).toContain('### ✅ mlship evaluate: churn');
  });

  it('fails with exit 3 on other API errors, with the report still in the job summary', async () => {
    const p = project(0.5);
    github.failNext(10, { status: 500, message: 'Internal Server Error' });
    const run = await runAction({ [Inputs.Command]: 'evaluate --predictions preds.csv', [Inputs.GithubToken]: WRITE_TOKEN }, { workspace: p.root, env: pullRequestEvent() });
    expect(run.status).toBe(3);
    expect(run.stdout).toContain('::error::');
    expect(run.stdout).toContain('500');
    expect(run.summary).toContain('### ✅ mlship evaluate: churn');
    expect(unmasked(run.stdout)).not.toContain(WRITE_TOKEN);
  });
});
