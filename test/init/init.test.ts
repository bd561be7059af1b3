import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { projectName } from '../../src/commands/init/init.js';
import { filesUnder, templatesDirectory } from '../../src/adapters/fs/templates.js';
import { CLI, nodeBinary, REPO_ROOT } from '../helpers/bundle.js';
import { runIn, temporaryDirectory, treeHashes, writeTree } from '../helpers/project.js';
import { actionlintFindings, TEMPLATE_DIRECTORY } from '../helpers/actionlint.js';

function gitRepository(files: Record<string, string> = {}, origin?: string): string {
  const root = temporaryDirectory('mlship-init-');
  const git = (...args: string[]): void => {
    const run = spawnSync('git', args, { cwd: root, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(run.stderr);
  };
  git('init', '-q');
  if (origin) git('remote', 'add', 'origin', origin);
  writeTree(root, files);
  return root;
}

const workflowTemplates = (): string[] => readdirSync(TEMPLATE_DIRECTORY).filter((n) => n.endsWith('.yml')).sort();

describe('mlship init', () => {
  it('in an empty repository with a train.py: mlship.yml that validates, the workflows actionlint accepts, a serving skeleton', async () => {
    const root = gitRepository({ 'train.py': 'print("training")\n' });
    const { exitCode, error, result, reporter } = await runIn(root, ['init']);
    expect(error).toBeUndefined();
    expect(exitCode).toBe(0);
    const workflows = workflowTemplates().map((n) => `.github/workflows/${n}`);
    expect(result!.outputs.written).toEqual(['mlship.yml', ...workflows, '.dockerignore', 'Dockerfile', 'serve.py']);
    expect(result!.outputs.skipped).toEqual([]);
    for (const workflow of workflows) {
      expect(readFileSync(path.join(root, workflow), 'utf8')).toBe(readFileSync(path.join(TEMPLATE_DIRECTORY, path.basename(workflow)), 'utf8'));
      expect(await actionlintFindings(path.join(root, workflow))).toEqual([]);
    }
    const config = parseYaml(readFileSync(path.join(root, 'mlship.yml'), 'utf8'));
    expect(config.name).toBe(projectName(path.basename(root)));
    expect(config.train.command).toBe('python3 train.py');
    expect(config.data).toBeUndefined();
    expect(reporter.lines.filter((l) => l.level === 'warning').map((l) => l.message).join('\n')).toMatch(/no data\/ or datasets\/ folder found/);
    const validation = await runIn(root, ['validate']);
    expect(validation.error).toBeUndefined();
    expect(validation.exitCode).toBe(0);
    // The serving skeleton follows the contract.
    const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/HEALTHCHECK[\s\S]*\/health/);
    expect(dockerfile).toContain('COPY model/ /srv/model/');
    const server = readFileSync(path.join(root, 'serve.py'), 'utf8');
    for (const part of ['@app.get("/health")', '@app.post("/predict")', 'X-Model-Version', '"model_version"', 'MLSHIP_MODEL_VERSION', '"PORT"']) expect(server).toContain(part);
  });

  it('writes a serving server that is valid Python', () => {
    const root = temporaryDirectory('mlship-init-');
    return runIn(root, ['init', '--train-command', 'make train']).then(() => {
      const compiled = spawnSync('python3', ['-c', 'import ast, sys; ast.parse(open(sys.argv[1]).read())', path.join(root, 'serve.py')], { encoding: 'utf8' });
      expect(compiled.stderr).toBe('');
      expect(compiled.status).toBe(0);
    });
  });

  it('uses what it finds: data folders, a Dockerfile of its own, the GitHub owner for the image', async () => {
    const root = gitRepository({ 'train/train.py': '', 'data/a.csv': 'x\n', 'datasets/b.csv': 'y\n', Dockerfile: 'FROM scratch\n' }, 'git@github.com:Acme/Churn-Model.git');
    const { exitCode, result } = await runIn(root, ['init', '--name', 'churn']);
    expect(exitCode).toBe(0);
    expect(result!.outputs.written).not.toContain('Dockerfile');
    expect(result!.outputs.written).not.toContain('serve.py');
    expect(readFileSync(path.join(root, 'Dockerfile'), 'utf8')).toBe('FROM scratch\n');
    const config = parseYaml(readFileSync(path.join(root, 'mlship.yml'), 'utf8'));
    expect(config.data.paths).toEqual(['data', 'datasets']);
    expect(config.train.command).toBe('python3 train/train.py');
    expect(config.image).toEqual({ repository: 'ghcr.io/acme/churn', username: 'acme', password_env: 'REGISTRY_PASSWORD' });
    expect(readFileSync(path.join(root, '.dockerignore'), 'utf8').split('\n')).toEqual(expect.arrayContaining(['.git', '.mlship/', 'data', 'datasets']));
    expect((await runIn(root, ['validate'])).exitCode).toBe(0);
  });

  it('takes every choice as a flag, and asks nothing', async () => {
    const root = gitRepository({ 'features/x.csv': '1\n', 'labels.csv': '0\n', 'extra/y.csv': '2\n', 'src/fit.py': '' });
    const { exitCode, error } = await runIn(root, [
      'init', '--name', 'fraud', '--train-command', 'python3 src/fit.py --epochs 3', '--data', 'features', '--data', 'labels.csv,extra',
      '--registry', 'file:///srv/mlship-registry', '--image', 'registry.example.com/team/fraud',
    ]);
    expect(error).toBeUndefined();
    expect(exitCode).toBe(0);
    const config = parseYaml(readFileSync(path.join(root, 'mlship.yml'), 'utf8'));
    expect(config).toMatchObject({
      name: 'fraud',
      train: { command: 'python3 src/fit.py --epochs 3' },
      data: { paths: ['features', 'labels.csv', 'extra'] },
      registry: { store: 'file:///srv/mlship-registry' },
      image: { repository: 'registry.example.com/team/fraud' },
    });
    expect((await runIn(root, ['validate'])).exitCode).toBe(0);
  });

  it('never overwrites a file: it lists what it skipped; --force overwrites, except a .dockerignore', async () => {
    const root = gitRepository({ 'train.py': '', 'mlship.yml': '# mine\n', '.github/workflows/mlship-pr.yml': '# mine\n', '.dockerignore': '# mine\n' });
    const first = await runIn(root, ['init']);
    expect(first.exitCode).toBe(0);
    expect(first.result!.outputs.skipped).toEqual(['mlship.yml', '.github/workflows/mlship-pr.yml', '.dockerignore']);
    expect(first.reporter.lines.map((l) => l.message)).toContain('skipped mlship.yml: it exists (--force overwrites it)');
    expect(readFileSync(path.join(root, 'mlship.yml'), 'utf8')).toBe('# mine\n');
    expect(readFileSync(path.join(root, '.github/workflows/mlship-pr.yml'), 'utf8')).toBe('# mine\n');

    const forced = await runIn(root, ['init', '--force']);
    expect(forced.result!.outputs.skipped).toEqual(['.dockerignore']);
    expect(readFileSync(path.join(root, 'mlship.yml'), 'utf8')).toMatch(/^# yaml-language-server/);
    expect(readFileSync(path.join(root, '.dockerignore'), 'utf8')).toBe('# mine\n');
  });

  it('refuses a name mlship.yml would refuse, before writing anything', async () => {
    const root = gitRepository({ 'train.py': '' });
    const { exitCode, error } = await runIn(root, ['init', '--name', 'My Model']);
    expect(exitCode).toBe(2);
    expect(error!.message).toMatch(/--name: expected a name of lowercase letters/);
    expect(readdirSync(root).sort()).toEqual(['.git', 'train.py']);
  });

  it.each([
    ['churn', 'churn'],
    ['My Model', 'my-model'],
    ['_x', 'x'],
    ['---', 'model'],
  ])('names a project from its directory: %s → %s', (directory, name) => {
    expect(projectName(directory)).toBe(name);
  });
});

describe('mlship init --example', () => {
  it('copies the example project, dotfiles included, and the copy validates', async () => {
    const parent = temporaryDirectory('mlship-init-');
    const { exitCode, error, result } = await runIn(parent, ['init', '--example', 'churn', 'churn']);
    expect(error).toBeUndefined();
    expect(exitCode).toBe(0);
    const source = path.join(REPO_ROOT, 'templates/churn');
    const expected = filesUnder(source).filter((f) => !f.split('/').includes('.mlship'));
    expect(result!.outputs.written).toEqual(expected);
    expect(Object.keys(treeHashes(path.join(parent, 'churn'))).sort()).toEqual(expected);
    expect(existsSync(path.join(parent, 'churn/.dockerignore'))).toBe(true);
    expect((await runIn(path.join(parent, 'churn'), ['validate'])).exitCode).toBe(0);
  });

  it('refuses a directory that is not empty unless --force, and an example that does not exist', async () => {
    const parent = temporaryDirectory('mlship-init-');
    mkdirSync(path.join(parent, 'taken'));
    writeFileSync(path.join(parent, 'taken/notes.txt'), 'mine\n');
    const refused = await runIn(parent, ['init', '--example', 'churn', 'taken']);
    expect(refused.exitCode).toBe(2);
    expect(refused.error!.message).toMatch(/taken: the directory is not empty; choose another, or pass --force/);
    expect(readdirSync(path.join(parent, 'taken'))).toEqual(['notes.txt']);
    expect((await runIn(parent, ['init', '--example', 'churn', 'taken', '--force'])).exitCode).toBe(0);
    expect(readFileSync(path.join(parent, 'taken/notes.txt'), 'utf8')).toBe('mine\n');

    const unknown = await runIn(parent, ['init', '--example', 'fraud', 'elsewhere']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.error!.message).toBe('--example fraud: no such example (there is churn)');
  });
});

describe('templates in the bundle', () => {
  it('are found from the source tree and from dist/, which ship beside templates/', () => {
    expect(templatesDirectory()).toBe(path.join(REPO_ROOT, 'templates'));
    expect(templatesDirectory(path.join(REPO_ROOT, 'dist', 'chunks'))).toBe(path.join(REPO_ROOT, 'templates'));
  });

  it('the bundled CLI (dist/cli.js, rebuilt by npm run build) writes the workflows', () => {
    const root = gitRepository({ 'train.py': '' });
    const run = spawnSync(nodeBinary(), [CLI, 'init', '--json'], { cwd: root, encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
    expect(run.stderr).not.toMatch(/error/);
    expect(run.status).toBe(0);
    const outputs = JSON.parse(run.stdout) as { written: string[] };
    expect(outputs.written).toEqual(expect.arrayContaining(workflowTemplates().map((n) => `.github/workflows/${n}`)));
  });
});
