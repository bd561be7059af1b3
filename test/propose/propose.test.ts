import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BOT_LOGIN, READ_TOKEN, WRITE_TOKEN, startFakeGitHub, type FakeGitHub } from '../helpers/fake-github.js';
import { git } from '../helpers/git-project.js';
import { ageFiles, makeProject, runIn, temporaryDirectory, writeTree, type Project, type RunResult } from '../helpers/project.js';

const REPO = { owner: 'octo', repo: 'widgets' };
const BRANCH = 'mlship/retrain';
/** A token with contents and pull-requests write but no actions permission, like the retrain job's. */
const NO_ACTIONS_TOKEN = 'ghs_fakeNoActionsToken0123456789';
const SECRET = 'hunter2-very-secret-value';

let github: FakeGitHub;
beforeEach(async () => {
  github = await startFakeGitHub({
    tokens: {
      [WRITE_TOKEN]: { login: BOT_LOGIN, access: 'write' },
      [READ_TOKEN]: { login: BOT_LOGIN, access: 'read' },
      [NO_ACTIONS_TOKEN]: { login: BOT_LOGIN, access: 'write', permissions: { actions: 'none' } },
    },
  });
});
afterEach(async () => github.stop());

interface Checkout {
  readonly project: Project;
  readonly origin: string;
  /** Writes new data and snapshots it: mlship.lock changes in the working tree. */
  newData(rows: string): Promise<void>;
  propose(args?: string[], options?: { token?: string; env?: Record<string, string> }): Promise<RunResult>;
}

/** A committed repository with a data lock, pushed to a bare file:// origin, checked out on main. */
async function checkout(): Promise<Checkout> {
  const project = makeProject({ 'data/train.csv': 'x,label\n1,0\n2,1\n', '.gitignore': '/data/\n.mlship/\n' });
  const origin = path.join(temporaryDirectory('mlship-origin-'), 'origin.git');
  git(path.dirname(origin), 'init', '-q', '--bare', origin);
  git(project.root, 'init', '-q');
  git(project.root, 'remote', 'add', 'origin', `file://${origin}`);
  expect((await project.run('data', 'snapshot')).exitCode).toBe(0);
  git(project.root, 'add', '-A');
  git(project.root, 'commit', '-qm', 'model project');
  git(project.root, 'push', '-q', 'origin', 'main');
  const env = { GITHUB_REPOSITORY: 'octo/widgets', GITHUB_API_URL: github.url, GITHUB_REF: 'refs/heads/main', MLSHIP_NETWORK_TIMEOUT: '10' };
  return {
    project,
    origin,
    newData: async (rows) => {
      writeTree(project.root, { 'data/train.csv': `x,label\n${rows}` });
      ageFiles(project.root);
      expect((await project.run('data', 'snapshot')).exitCode).toBe(0);
    },
    propose: (args = [], options = {}) => runIn(project.root, ['propose', ...args], { githubToken: options.token ?? WRITE_TOKEN, env: { ...env, ...options.env } }),
  };
}

function remoteBranch(origin: string, branch = BRANCH): string | undefined {
  try {
    return git(origin, 'rev-parse', '--verify', `refs/heads/${branch}`).trim();
  } catch {
    return undefined;
  }
}

/** The short data version mlship.lock pins now. */
function lockedData(root: string): string {
  return /^\s*version: sha256:([0-9a-f]{12})/m.exec(readFileSync(path.join(root, 'mlship.lock'), 'utf8').split('data:')[1] ?? '')![1]!;
}

function evaluationReport(root: string, text: string, passed = true): string {
  const dir = path.join(root, '.mlship', 'reports', 'run-1');
  writeTree(dir, {
    'report.md': text,
    'metrics.json': JSON.stringify({ passed, metrics: { auc: 0.9 }, gates: [{ metric: 'auc', rule: '≥ 0.8', verdict: passed ? 'pass' : 'fail', reason: '0.9 ≥ 0.8' }] }),
  });
  return path.join(dir, 'report.md');
}

describe('mlship propose against a bare git remote and a fake GitHub', { timeout: 180_000 }, () => {
  it('opens a pull request from mlship/retrain with the new lock, its labels and one report comment; the checkout is left as it was', async () => {
    const c = await checkout();
    const main = git(c.project.root, 'rev-parse', 'HEAD').trim();
    await c.newData('1,0\n2,1\n3,1\n');
    const lock = readFileSync(path.join(c.project.root, 'mlship.lock'), 'utf8');
    const report = evaluationReport(c.project.root, '### ✅ mlship evaluate: test\n\nauc 0.9\n');
    writeTree(c.project.root, { '.mlship/reports/drift/drift.md': '### mlship drift\n\nage drifted\n' });

    const run = await c.propose(['--report', report, '--drift-report', '.mlship/reports/drift', '--drift-share', '0.5', '--drifted-features', '["age","plan"]', '--label', 'retrain,data', '--label', 'mlship']);

    expect(run.exitCode, run.error?.message).toBe(0);
    const outputs = run.result!.outputs;
    expect(outputs.proposed).toBe(true);
    expect(outputs['pull-request-number']).toBe(1);
    expect(outputs.branch).toBe(BRANCH);
    const tip = remoteBranch(c.origin)!;
    expect(outputs.commit).toBe(tip);
    expect(git(c.origin, 'show', `${tip}:mlship.lock`)).toBe(lock);
    expect(git(c.origin, 'rev-parse', `${tip}^`).trim()).toBe(main);
    expect(git(c.origin, 'log', '-1', '--format=%B', tip)).toContain(`Mlship-Proposal: ${BRANCH}`);
    // The user's checkout: same HEAD, same branch, the lock still a working-tree change.
    expect(git(c.project.root, 'rev-parse', 'HEAD').trim()).toBe(main);
    expect(git(c.project.root, 'status', '--porcelain')).toBe(' M mlship.lock\n');
    expect(git(c.project.root, 'for-each-ref', '--format=%(refname)', 'refs/heads', 'refs/remotes')).not.toContain('retrain');

    expect(github.pulls).toHaveLength(1);
    const pull = github.pulls[0]!;
    expect(pull).toMatchObject({ head: BRANCH, base: 'main', state: 'open' });
    expect(pull.title).toMatch(/^Retrain test: drift in 2 features \(50% of features\): age, plan \(data [0-9a-f]{12}\)$/);
    expect(pull.body).toContain('**Gates:** ✅ all 1 passed.');
    expect(pull.body).toContain('| auc ≥ 0.8 | ✅ pass |');
    expect(pull.body).toContain('`mlship.lock` (modified)');
    expect(pull.labels.sort()).toEqual(['data', 'mlship', 'retrain']);
    const comments = github.commentsOn({ ...REPO, number: 1 });
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain('age drifted');
    expect(comments[0]!.body).toContain('### ✅ mlship evaluate: test');
    expect(outputs['comment-url']).toMatch(/#issuecomment-\d+$/);
  });

  it('on the next run with newer data, updates the same pull request, branch and comment', async () => {
    const c = await checkout();
    await c.newData('1,0\n2,1\n3,1\n');
    const first = await c.propose(['--report', evaluationReport(c.project.root, 'first report\n')]);
    expect(first.exitCode, first.error?.message).toBe(0);
    const firstTip = remoteBranch(c.origin);

    await c.newData('1,0\n2,1\n3,1\n4,0\n');
    const second = await c.propose(['--report', evaluationReport(c.project.root, 'second report\n')]);

    expect(second.exitCode, second.error?.message).toBe(0);
    expect(second.result!.outputs['pull-request-number']).toBe(1);
    expect(second.result!.outputs['pull-request-url']).toBe(first.result!.outputs['pull-request-url']);
    expect(github.pulls).toHaveLength(1);
    const tip = remoteBranch(c.origin)!;
    expect(tip).not.toBe(firstTip);
    expect(git(c.origin, 'show', `${tip}:mlship.lock`)).toBe(readFileSync(path.join(c.project.root, 'mlship.lock'), 'utf8'));
    // mlship replaced its own commit: one commit on top of main, not a pile.
    expect(git(c.origin, 'rev-list', '--count', `main..${BRANCH}`).trim()).toBe('1');
    const comments = github.commentsOn({ ...REPO, number: 1 });
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain('second report');
    expect(second.result!.outputs['comment-url']).toBe(first.result!.outputs['comment-url']);
    expect(github.pulls[0]!.title).toBe(`Retrain test: scheduled (data ${lockedData(c.project.root)})`);
  });

  it('proposes nothing, and exits 0 saying so, when mlship.lock is as committed', async () => {
    const c = await checkout();
    const run = await c.propose(['--reason', 'scheduled']);
    expect(run.exitCode, run.error?.message).toBe(0);
    expect(run.result!.outputs.proposed).toBe(false);
    expect(run.result!.outputs['pull-request-url']).toBe('');
    expect(run.reporter.text()).toContain('nothing to propose: mlship.lock is as committed');
    expect(remoteBranch(c.origin)).toBeUndefined();
    expect(github.requests.filter((r) => r.path.includes('/pulls'))).toEqual([]);
  });

  it('fails with exit 3 naming the permissions when the token may not open pull requests (403)', async () => {
    const c = await checkout();
    await c.newData('1,0\n2,1\n3,1\n');
    const run = await c.propose([], { token: READ_TOKEN });
    expect(run.exitCode).toBe(3);
    expect(run.error?.message).toContain('POST /repos/octo/widgets/pulls failed with HTTP 403: Resource not accessible by integration');
    expect(run.error?.message).toContain('permissions: contents: write and pull-requests: write');
    expect(github.pulls).toHaveLength(0);
  });

  it("never overwrites someone else's commit on the proposal branch: exit 3 naming it, the branch untouched", async () => {
    const c = await checkout();
    await c.newData('1,0\n2,1\n3,1\n');
    expect((await c.propose()).exitCode).toBe(0);
    // A reviewer pushes a fix to the proposal branch.
    const other = temporaryDirectory('mlship-reviewer-');
    git(other, 'clone', '-q', '--branch', BRANCH, `file://${c.origin}`, 'work');
    writeTree(path.join(other, 'work'), { 'NOTES.md': 'checked the data\n' });
    git(path.join(other, 'work'), 'add', 'NOTES.md');
    git(path.join(other, 'work'), 'commit', '-qm', 'reviewer notes');
    git(path.join(other, 'work'), 'push', '-q', 'origin', BRANCH);
    const theirs = remoteBranch(c.origin);

    await c.newData('1,0\n2,1\n3,1\n4,0\n');
    const run = await c.propose();

    expect(run.exitCode).toBe(3);
    expect(run.error?.message).toMatch(/branch mlship\/retrain on origin has a commit that mlship did not make: [0-9a-f]{12} "reviewer notes" by mlship test <test@localhost>/);
    expect(run.error?.message).toContain('never overwrites');
    expect(remoteBranch(c.origin)).toBe(theirs);
    expect(github.pulls[0]!.body).not.toContain('4,0');
  });

  it('keeps secrets out of the title, body, labels, comment and outputs', async () => {
    const c = await checkout();
    await c.newData('1,0\n2,1\n3,1\n');
    const report = evaluationReport(c.project.root, `report that leaked ${SECRET}\n`);
    const run = await c.propose(['--report', report, '--reason', `because ${SECRET}`, '--drifted-features', `["${SECRET}"]`, '--label', SECRET], {
      env: { STORE_PASSWORD: SECRET },
    });
    expect(run.exitCode, run.error?.message).toBe(0);
    const pull = github.pulls[0]!;
    const written = [pull.title, pull.body, ...pull.labels, ...github.comments.map((x) => x.body), JSON.stringify(run.result!.outputs), run.result!.summary];
    for (const text of written) expect(text).not.toContain(SECRET);
    expect(pull.title).toContain('because ***');
    expect(git(c.origin, 'log', '-1', '--format=%B', BRANCH)).not.toContain(SECRET);
  });

  it('re-enables its scheduled workflow on each run (keepalive), and only warns when the token may not', async () => {
    const c = await checkout();
    const env = { GITHUB_WORKFLOW_REF: 'octo/widgets/.github/workflows/mlship-retrain.yml@refs/heads/main' };
    const quiet = await c.propose([], { env });
    expect(quiet.exitCode, quiet.error?.message).toBe(0);
    expect(quiet.result!.outputs.keepalive).toBe('enabled');
    expect(github.enabledWorkflows).toEqual(['octo/widgets:mlship-retrain.yml']);
    expect(quiet.reporter.text()).toContain('keepalive: re-enabled workflow mlship-retrain.yml');

    const only = await c.propose(['--keepalive-only', '--keepalive-workflow', 'retrain.yml']);
    expect(only.exitCode, only.error?.message).toBe(0);
    expect(github.enabledWorkflows).toEqual(['octo/widgets:mlship-retrain.yml', 'octo/widgets:retrain.yml']);

    await c.newData('1,0\n2,1\n3,1\n');
    const refused = await c.propose([], { env, token: NO_ACTIONS_TOKEN });
    expect(refused.exitCode, refused.error?.message).toBe(0);
    expect(refused.result!.outputs.keepalive).toBe('failed');
    expect(refused.result!.outputs.proposed).toBe(true);
    expect(refused.reporter.warnings().join('\n')).toMatch(/keepalive: workflow mlship-retrain.yml not re-enabled .*HTTP 403.*permissions: actions: write/);
  });

  it('pushes nothing when the branch already proposes exactly these files on this commit, and still updates the pull request', async () => {
    const c = await checkout();
    await c.newData('1,0\n2,1\n3,1\n');
    const first = await c.propose();
    const tip = remoteBranch(c.origin);
    const again = await c.propose(['--reason', 'forced']);
    expect(again.exitCode, again.error?.message).toBe(0);
    expect(remoteBranch(c.origin)).toBe(tip);
    expect(again.result!.outputs.commit).toBe(first.result!.outputs.commit);
    expect(again.reporter.text()).toContain('already proposes these files');
    expect(github.pulls).toHaveLength(1);
    expect(github.pulls[0]!.title).toMatch(/^Retrain test: forced \(data /);
  });

  it('in a shallow checkout of a newer main (actions/checkout with depth 1), still tells its own commits from others and replaces them', async () => {
    const c = await checkout();
    await c.newData('1,0\n2,1\n3,1\n');
    expect((await c.propose()).exitCode).toBe(0);
    // main moves on after the proposal was made.
    writeTree(c.project.root, { 'README.md': 'docs\n' });
    git(c.project.root, 'add', 'README.md');
    git(c.project.root, 'commit', '-qm', 'docs');
    git(c.project.root, 'push', '-q', 'origin', 'main');
    const shallow = path.join(temporaryDirectory('mlship-shallow-'), 'work');
    git(path.dirname(shallow), 'clone', '-q', '--depth', '1', `file://${c.origin}`, 'work');
    expect(git(shallow, 'rev-parse', '--is-shallow-repository').trim()).toBe('true');
    writeTree(shallow, { 'data/train.csv': 'x,label\n1,0\n2,1\n3,1\n9,0\n' });
    ageFiles(shallow);
    expect((await runIn(shallow, ['data', 'snapshot'])).exitCode).toBe(0);

    const run = await runIn(shallow, ['propose'], { githubToken: WRITE_TOKEN, env: { GITHUB_REPOSITORY: 'octo/widgets', GITHUB_API_URL: github.url, GITHUB_REF: 'refs/heads/main' } });

    expect(run.exitCode, run.error?.message).toBe(0);
    const tip = remoteBranch(c.origin)!;
    expect(git(c.origin, 'rev-parse', `${tip}^`).trim()).toBe(git(c.origin, 'rev-parse', 'main').trim());
    expect(git(c.origin, 'show', `${tip}:mlship.lock`)).toBe(readFileSync(path.join(shallow, 'mlship.lock'), 'utf8'));
    expect(github.pulls).toHaveLength(1);
  });

  it('commits the changed --add files with the lock, leaves unchanged ones out, and refuses one that does not exist', async () => {
    const c = await checkout();
    writeTree(c.project.root, { 'params.yaml': 'depth: 3\n', 'notes.md': 'same\n' });
    git(c.project.root, 'add', 'params.yaml', 'notes.md');
    git(c.project.root, 'commit', '-qm', 'params');
    git(c.project.root, 'push', '-q', 'origin', 'main');
    writeTree(c.project.root, { 'params.yaml': 'depth: 5\n', 'new.txt': 'new\n' });
    await c.newData('1,0\n2,1\n3,1\n');

    const missing = await c.propose(['--add', 'nope.yaml']);
    expect(missing.exitCode).toBe(2);
    expect(missing.error?.message).toBe('--add nope.yaml: no such file, and none in the checked-out commit');

    const run = await c.propose(['--add', 'params.yaml,notes.md', '--add', 'new.txt']);
    expect(run.exitCode, run.error?.message).toBe(0);
    expect(git(c.origin, 'diff', '--name-status', 'main', BRANCH)).toBe('M\tmlship.lock\nA\tnew.txt\nM\tparams.yaml\n');
    expect(github.pulls[0]!.body).toContain('`mlship.lock` (modified), `params.yaml` (modified), `new.txt` (added)');
  });

  it('rejects a bad propose section of mlship.yml with the path of the field', async () => {
    const c = await checkout();
    const config = readFileSync(path.join(c.project.root, 'mlship.yml'), 'utf8');
    writeTree(c.project.root, { 'mlship.yml': `${config}propose:\n  branch: "bad branch"\n  title: "Retrain {model}"\n` });
    const run = await c.propose();
    expect(run.exitCode).toBe(2);
    expect(run.error?.message).toMatch(/mlship\.yml:\d+:\d+ propose\.branch: expected a git branch name/);
    expect(run.error?.message).toMatch(/mlship\.yml:\d+:\d+ propose\.title: expected a title whose \{placeholders\} are among/);
  });
});
