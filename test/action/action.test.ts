import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { allOutputs, COMMANDS } from '../../src/commands/index.js';
import { Inputs } from '../../src/constants.js';
import { runAction } from '../helpers/actions-runner.js';
import { REPO_ROOT } from '../helpers/bundle.js';
import { makeProject, storeObjects, writeTree } from '../helpers/project.js';

interface ActionYml {
  runs: { using: string; main: string };
  inputs: Record<string, { description: string; required?: boolean; default?: string }>;
  outputs: Record<string, { description: string }>;
}
const actionYml = parse(readFileSync(path.join(REPO_ROOT, 'action.yml'), 'utf8')) as ActionYml;

describe('action.yml', () => {
  it('runs the committed bundle on node24', () => {
    expect(actionYml.runs).toEqual({ using: 'node24', main: 'dist/index.js' });
  });

  it('declares exactly the inputs the code reads', () => {
    expect(Object.keys(actionYml.inputs).sort()).toEqual(Object.values(Inputs).sort());
    for (const input of Object.values(actionYml.inputs)) expect(input.description.length).toBeGreaterThan(10);
  });

  it("declares every command's outputs, with the same descriptions, and nothing else", () => {
    const declared = Object.fromEntries(Object.entries(actionYml.outputs).map(([name, o]) => [name, o.description]));
    expect(declared).toEqual(Object.fromEntries(allOutputs()));
    for (const command of COMMANDS) for (const name of Object.keys(command.outputs)) expect(name).toMatch(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
  });
});

describe('the action, run as the runner runs it', () => {
  it('snapshots data: step outputs, job summary, exit 0', () => {
    const project = makeProject({ 'data/a.csv': 'a,b\n1,2\n', 'data/b.csv': 'c\n3\n' });
    const run = runAction({ [Inputs.Command]: 'data snapshot' }, { workspace: project.root });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.outputs['data-version']).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(run.outputs.changed).toBe('true');
    expect(run.summary).toContain('### mlship data snapshot');
    expect(run.summary).toContain('`data/a.csv` | ➕ added');
    expect(readFileSync(path.join(project.root, 'mlship.lock'), 'utf8')).toContain(run.outputs['data-version']);
  });

  it('honours working-directory and config, and takes options inside the command input', () => {
    const project = makeProject({ 'ml/data/a.csv': 'a' });
    writeTree(project.root, { 'ml/project.yml': `version: 1\nname: t\ndata:\n  paths: [data]\n  store: file://${project.store}\n` });
    const snapshot = runAction(
      { [Inputs.Command]: 'data snapshot', [Inputs.WorkingDirectory]: 'ml', [Inputs.Config]: 'project.yml' },
      { workspace: project.root },
    );
    expect(snapshot.status).toBe(0);
    const push = runAction({ [Inputs.Command]: 'data push', [Inputs.WorkingDirectory]: 'ml', [Inputs.Config]: 'project.yml' }, { workspace: project.root });
    expect(push.outputs['uploaded-objects']).toBe('2');
    expect(storeObjects(project.store).size).toBe(2);
    writeTree(project.root, { 'ml/data/b.csv': 'b' });
    const status = runAction(
      { [Inputs.Command]: 'data status --exit-code', [Inputs.WorkingDirectory]: 'ml', [Inputs.Config]: 'project.yml' },
      { workspace: project.root },
    );
    expect(status.status).toBe(1);
    expect(JSON.parse(status.outputs.added!)).toEqual(['data/b.csv']);
    expect(status.stdout).toContain('::error::data differs from mlship.lock');
  });

  it('fails the step with exit 2 and the config position on bad config, and masks the token', () => {
    const project = makeProject({ 'data/a.csv': 'a' });
    writeTree(project.root, { 'mlship.yml': 'version: 1\nname: t\ndata:\n  paths: [data, 42]\n' });
    const token = 'ghs_supersecrettokenvalue123';
    const run = runAction({ [Inputs.Command]: 'data snapshot', [Inputs.GithubToken]: token }, { workspace: project.root });
    expect(run.status).toBe(2);
    expect(run.stdout).toContain(`::add-mask::${token}`);
    expect(run.stdout).toContain('::error::invalid config:%0A  mlship.yml:4:17 data.paths[1]: expected a file or directory path relative to the repository, got 42');
    expect(run.summary).toContain('### mlship failed');
    expect(run.summary).not.toContain(token);
    expect(run.outputs).toEqual({});
  });

  it('rejects an empty or unknown command with exit 2', () => {
    const project = makeProject({ 'data/a.csv': 'a' });
    expect(runAction({ [Inputs.Command]: ' ' }, { workspace: project.root }).status).toBe(2);
    const unknown = runAction({ [Inputs.Command]: 'data frobnicate' }, { workspace: project.root });
    expect(unknown.status).toBe(2);
    expect(unknown.stdout).toContain('`mlship data frobnicate` is not a command');
  });
});

describe('the action, given unusual surroundings', () => {
  it('refuses a working-directory that leads outside the workspace, by name (exit 2)', () => {
    const project = makeProject({ 'data/a.csv': 'a' });
    const run = runAction({ [Inputs.Command]: 'data snapshot', [Inputs.WorkingDirectory]: '../..' }, { workspace: project.root });
    expect(run.status).toBe(2);
    expect(run.stdout).toContain('input "working-directory": "../.." leads outside the workspace');
  });

  it('runs without GITHUB_STEP_SUMMARY (a runner that offers none): outputs still written, exit 0', () => {
    const project = makeProject({ 'data/a.csv': 'a' });
    const run = runAction({ [Inputs.Command]: 'data snapshot' }, { workspace: project.root, env: { GITHUB_STEP_SUMMARY: '' } });
    expect(run.status, run.stdout).toBe(0);
    expect(run.outputs['data-version']).toMatch(/^sha256:/);
    expect(run.stdout).toContain('GITHUB_STEP_SUMMARY is not set: no job summary written');
  });
});
