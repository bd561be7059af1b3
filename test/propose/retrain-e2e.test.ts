/**
 * The retrain workflow's steps, read from templates/workflows/mlship-retrain.yml and run in order
 * through the bundled CLI (dist/cli.js, `npm run build`) in a scratch repository with a bare
 * file:// origin and a loopback fake of GitHub's REST API, the way the runner would run them.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { splitWords } from '../../src/cli/words.js';
import { CLI, nodeBinary } from '../helpers/bundle.js';
import { BOT_LOGIN, WRITE_TOKEN, startFakeGitHub, type FakeGitHub } from '../helpers/fake-github.js';
import { TRAIN_CONFIG, git, makeTrainingProject } from '../helpers/git-project.js';
import { ageFiles, temporaryDirectory, writeTree, type Project } from '../helpers/project.js';
import { isKnownCommand, isMlshipStep, retrainWorkflow, type WorkflowStep } from './workflow-template.js';

type StepOutputs = Record<string, Record<string, string>>;

let github: FakeGitHub;
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`);
});
beforeEach(async () => {
  github = await startFakeGitHub({ tokens: { [WRITE_TOKEN]: { login: BOT_LOGIN, access: 'write' } } });
});
afterEach(async () => github.stop());

/** The bundled CLI, asynchronously: the fake GitHub answers from this same process meanwhile. */
function cli(cwd: string, argv: readonly string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(nodeBinary(), [CLI, ...argv], { cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 240_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

/** A step output as the runner holds it: text, with lists and objects as JSON. */
function outputText(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

/** The few expressions the template uses, evaluated as GitHub would; any other one fails the test. */
function expression(text: string, outputs: StepOutputs, inputs: { force: boolean }): string | boolean {
  let m: RegExpExecArray | null;
  if ((m = /^steps\.([\w-]+)\.outputs\.([\w-]+)$/.exec(text))) return outputs[m[1]!]?.[m[2]!] ?? '';
  if ((m = /^toJSON\(steps\.([\w-]+)\.outputs\.([\w-]+)\)$/.exec(text))) return JSON.stringify(outputs[m[1]!]?.[m[2]!] ?? '');
  if (text === "inputs.force && 'forced' || 'scheduled'") return inputs.force ? 'forced' : 'scheduled';
  if (text === 'inputs.force') return inputs.force;
  if ((m = /^(.+?) == '([^']*)'$/.exec(text))) return expression(m[1]!, outputs, inputs) === m[2];
  if (text.includes(' || ')) return text.split(' || ').some((part) => expression(part.trim(), outputs, inputs) === true);
  throw new Error(`the test does not know the expression ${JSON.stringify(text)} of the template`);
}

function substitute(command: string, outputs: StepOutputs, inputs: { force: boolean }): string {
  return command.replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_, text: string) => String(expression(text, outputs, inputs)));
}

const ENV = (github: FakeGitHub): Record<string, string> => ({
  GITHUB_TOKEN: WRITE_TOKEN,
  GITHUB_REPOSITORY: 'octo/widgets',
  GITHUB_API_URL: github.url,
  GITHUB_REF: 'refs/heads/main',
  GITHUB_WORKFLOW_REF: 'octo/widgets/.github/workflows/mlship-retrain.yml@refs/heads/main',
  MLSHIP_NETWORK_TIMEOUT: '30',
});

/** `count` rows of x (shifted by `shift`), y and a label: y and the label never move. */
function table(count: number, shift: number): string {
  return Array.from({ length: count }, (_, i) => `${(i % 10) + shift},${(i * 7) % 10},${i % 2}\n`).join('');
}

/**
 * One run of the retrain job: the user's step (new data), then every mlship step of the template
 * whose `if` holds, each with `--json` for its outputs. The drift step needs `mlship drift`; while
 * this branch lacks it, its outputs are given as drift would report a drifted feature.
 */
async function retrain(project: Project, rows: string, steps: readonly WorkflowStep[]): Promise<StepOutputs> {
  writeTree(project.root, { 'data/train.csv': `x,y,label\n${rows}`, 'reference.csv': `x,y,label\n${table(100, 0)}` });
  ageFiles(project.root);
  const outputs: StepOutputs = {};
  const inputs = { force: false };
  for (const step of steps) {
    const words = splitWords(substitute(step.with!.command!, outputs, inputs));
    if (words[0] === 'drift' && !isKnownCommand('drift')) {
      outputs[step.id!] = { drifted: 'true', 'drift-share': '0.5', 'drifted-features': '["x"]' };
      writeTree(project.root, { '.mlship/reports/drift/report.md': `### mlship drift\n\nx drifted (${rows.split('\n').length - 1} rows)\n` });
      continue;
    }
    if (step.if !== undefined && expression(step.if, outputs, inputs) !== true) continue;
    if (words[0] === 'drift') words.push('--reference', 'reference.csv', '--current', 'data/train.csv');
    const run = await cli(project.root, [...words, '--json'], ENV(github));
    expect(run.code, `${words.join(' ')}\n${run.stderr}`).toBe(0);
    outputs[step.id!] = Object.fromEntries(Object.entries(JSON.parse(run.stdout) as Record<string, unknown>).map(([k, v]) => [k, outputText(v)]));
  }
  return outputs;
}

describe('the retrain workflow through the bundled CLI (bare git remote, fake GitHub)', () => {
  it('opens a pull request on the first run and updates the same one (same branch, one comment) on the second', async () => {
    const { workflow } = retrainWorkflow();
    const steps = workflow.jobs.retrain!.steps.filter(isMlshipStep);
    const gates = 'evaluate:\n  gates:\n    - { metric: auc, min: 0.1 }\n    - { metric: auc, baseline: production, max_drop: 0.5 }\ndrift:\n  ignore: [label]\n';
    const project = await makeTrainingProject({ config: TRAIN_CONFIG(`file://${temporaryDirectory('mlship-store-')}`, gates) });
    const origin = path.join(temporaryDirectory('mlship-origin-'), 'origin.git');
    git(path.dirname(origin), 'init', '-q', '--bare', origin);
    git(project.root, 'remote', 'add', 'origin', `file://${origin}`);
    git(project.root, 'push', '-q', 'origin', 'main');
    const lockOnBranch = (): string => git(origin, 'show', 'mlship/retrain:mlship.lock');
    const workingLock = (): string => readFileSync(path.join(project.root, 'mlship.lock'), 'utf8');

    const first = await retrain(project, table(100, 20), steps);

    expect(first.propose).toMatchObject({ proposed: 'true', 'pull-request-number': '1', branch: 'mlship/retrain' });
    expect(github.pulls).toHaveLength(1);
    expect(github.pulls[0]).toMatchObject({ head: 'mlship/retrain', base: 'main', state: 'open' });
    expect(github.pulls[0]!.title).toMatch(/^Retrain churn: scheduled; drift in 1 feature \(50% of features\): x \(data [0-9a-f]{12}\)$/);
    expect(github.pulls[0]!.body).toContain('**Gates:** ✅ all 2 passed.');
    expect(github.pulls[0]!.labels.sort()).toEqual(['mlship', 'retrain']);
    expect(lockOnBranch()).toBe(workingLock());
    const comments = github.commentsOn({ owner: 'octo', repo: 'widgets', number: 1 });
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain(`mlship evaluate: churn`);
    expect(comments[0]!.body).toContain(first.train!['run-id']!);
    const firstTip = first.propose!.commit;

    // Next week: the data moved again. The checkout is fresh (the workflow checks out main anew).
    git(project.root, 'checkout', '-q', '--', 'mlship.lock');
    const second = await retrain(project, table(101, 30), steps);

    expect(second.propose).toMatchObject({ proposed: 'true', 'pull-request-number': '1', 'pull-request-url': first.propose!['pull-request-url'] });
    expect(second.propose!.commit).not.toBe(firstTip);
    expect(github.pulls).toHaveLength(1);
    expect(lockOnBranch()).toBe(workingLock());
    const updated = github.commentsOn({ owner: 'octo', repo: 'widgets', number: 1 });
    expect(updated).toHaveLength(1);
    expect(updated[0]!.id).toBe(comments[0]!.id);
    expect(updated[0]!.body).toContain(second.train!['run-id']!);
    expect(second.propose!['comment-url']).toBe(first.propose!['comment-url']);

    // The keepalive job re-enables the schedule of the workflow that runs it.
    const keepalive = workflow.jobs.keepalive!.steps.filter(isMlshipStep)[0]!;
    const alive = await cli(temporaryDirectory('mlship-workspace-'), [...splitWords(keepalive.with!.command!), '--json'], ENV(github));
    expect(alive.code, alive.stderr).toBe(0);
    expect(JSON.parse(alive.stdout)).toMatchObject({ keepalive: 'enabled' });
    expect(github.enabledWorkflows).toEqual(['octo/widgets:mlship-retrain.yml']);
  }, 600_000);
});
