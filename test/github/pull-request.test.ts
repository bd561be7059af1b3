import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pullRequestFromEvent, type PullRequestRef } from '../../src/adapters/github/pull-request.js';
import { ConfigurationError } from '../../src/errors.js';
import { temporaryDirectory } from '../helpers/project.js';

const SHA = 'a'.repeat(40);
const repository = { name: 'widgets', owner: { login: 'octo' } };

/** Writes `payload` where the runner would and returns the environment pointing at it. */
function eventEnv(name: string, payload: unknown, extra: Record<string, string> = {}): Record<string, string> {
  const file = path.join(temporaryDirectory(), 'event.json');
  writeFileSync(file, typeof payload === 'string' ? payload : JSON.stringify(payload));
  return { GITHUB_EVENT_NAME: name, GITHUB_EVENT_PATH: file, GITHUB_REPOSITORY: 'octo/widgets', ...extra };
}

describe('pullRequestFromEvent', () => {
  it.each<[string, string, unknown, Record<string, string>, PullRequestRef]>([
    ['pull_request', 'pull_request', { number: 7, pull_request: { number: 7, head: { sha: SHA } }, repository }, {}, { owner: 'octo', repo: 'widgets', number: 7, headSha: SHA }],
    ['pull_request_target', 'pull_request_target', { pull_request: { number: 8, head: { sha: SHA } }, repository }, {}, { owner: 'octo', repo: 'widgets', number: 8, headSha: SHA }],
    ['pull_request_review', 'pull_request_review', { pull_request: { number: 9, head: { sha: SHA } }, repository }, {}, { owner: 'octo', repo: 'widgets', number: 9, headSha: SHA }],
    [
      'issue_comment on a pull request',
      'issue_comment',
      { issue: { number: 10, pull_request: { url: 'https://api.github.com/repos/octo/widgets/pulls/10' } }, repository },
      {},
      { owner: 'octo', repo: 'widgets', number: 10 },
    ],
    [
      'a payload without repository (GITHUB_REPOSITORY is used)',
      'pull_request',
      { pull_request: { number: 11, head: { sha: SHA } } },
      { GITHUB_REPOSITORY: 'fork-owner/widgets' },
      { owner: 'fork-owner', repo: 'widgets', number: 11, headSha: SHA },
    ],
    ['the payload repository over GITHUB_REPOSITORY', 'pull_request', { pull_request: { number: 12 }, repository }, { GITHUB_REPOSITORY: 'x/y' }, { owner: 'octo', repo: 'widgets', number: 12 }],
  ])('reads %s', (_case, name, payload, extra, expected) => {
    expect(pullRequestFromEvent(eventEnv(name, payload, extra))).toEqual(expected);
  });

  it.each<[string, () => Record<string, string>]>([
    ['a push', () => eventEnv('push', { ref: 'refs/heads/main', repository })],
    ['a schedule', () => eventEnv('schedule', { schedule: '0 0 * * *' })],
    ['issue_comment on a plain issue', () => eventEnv('issue_comment', { issue: { number: 3, pull_request: null }, repository })],
    ['issue_comment on an issue without the pull_request key', () => eventEnv('issue_comment', { issue: { number: 3 }, repository })],
    ['no event at all', () => ({})],
    ['another event, without reading its payload', () => ({ GITHUB_EVENT_NAME: 'workflow_dispatch', GITHUB_EVENT_PATH: '/nonexistent/event.json' })],
  ])('returns undefined for %s', (_case, makeEnv) => {
    expect(pullRequestFromEvent(makeEnv())).toBeUndefined();
  });

  it.each<[string, string | undefined, RegExp]>([
    ['a missing payload file', undefined, /^cannot read the event payload .*event\.json: ENOENT/],
    ['a payload that is not JSON', '{"pull_request": ', /^the event payload .*event\.json is not valid JSON/],
    ['a payload that is not an object', '[]', /^the event payload .*event\.json is not a JSON object/],
    ['a pull request without a number', JSON.stringify({ pull_request: { head: { sha: SHA } }, repository }), /^the event payload .*event\.json \(pull_request\) has no pull request number/],
    ['no repository anywhere', JSON.stringify({ pull_request: { number: 1 } }), /^the event payload .*event\.json names no repository/],
  ])('fails with a configuration error naming the file on %s', (_case, content, message) => {
    // The first case writes no file at all.
    const file = path.join(temporaryDirectory(), 'event.json');
    if (content !== undefined) writeFileSync(file, content);
    const env = { GITHUB_EVENT_NAME: 'pull_request', GITHUB_EVENT_PATH: file };
    expect(() => pullRequestFromEvent(env)).toThrow(ConfigurationError);
    expect(() => pullRequestFromEvent(env)).toThrow(message);
  });

  it('fails with a configuration error on a pull request event without GITHUB_EVENT_PATH', () => {
    expect(() => pullRequestFromEvent({ GITHUB_EVENT_NAME: 'pull_request' })).toThrow(ConfigurationError);
    expect(() => pullRequestFromEvent({ GITHUB_EVENT_NAME: 'pull_request' })).toThrow(/GITHUB_EVENT_PATH is not set/);
  });
});
