import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/commands/index.js';
import { CLI, nodeBinary } from '../helpers/bundle.js';
import { makeProject } from '../helpers/project.js';
import { makeTrainingProject } from '../helpers/git-project.js';

function cli(cwd: string, ...argv: string[]) {
  return spawnSync(nodeBinary(), [CLI, ...argv], { cwd, encoding: 'utf8', timeout: 60_000 });
}

describe('the mlship CLI (bundled)', () => {
  it('prints the data version on stdout and people-facing lines on stderr', () => {
    const project = makeProject({ 'data/a.csv': 'a' });
    const run = cli(project.root, 'data', 'snapshot');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(run.stderr).toContain('written to mlship.lock');
  });

  it("--json prints one object whose keys are exactly the command's output names", () => {
    const project = makeProject({ 'data/a.csv': 'a', 'data/sub/b.csv': 'b' });
    for (const words of [['data', 'snapshot'], ['data', 'status'], ['data', 'push'], ['data', 'pull'], ['data', 'verify']]) {
      const run = cli(project.root, ...words, '--json');
      expect(run.status, run.stderr).toBe(0);
      const command = COMMANDS.find((c) => c.words.join(' ') === words.join(' '))!;
      const object = JSON.parse(run.stdout) as Record<string, unknown>;
      expect(Object.keys(object).sort()).toEqual(Object.keys(command.outputs).sort());
    }
  });

  it('exits 2 with a message on stderr for usage errors, and 0 for --help and --version', () => {
    const project = makeProject({});
    const bad = cli(project.root, 'data', 'snapshot', '--nope');
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain("mlship: error: mlship data snapshot: Unknown option '--nope'");
    const help = cli(project.root, '--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: mlship');
    const version = cli(project.root, '--version');
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('masks credentials from the environment in everything it prints, the final error included', async () => {
    const secret = 'sk-live-9a8b7c6d5e4f';
    const project = await makeTrainingProject({ files: { 'train.py': 'import os\nprint("key is", os.environ["PAYMENT_API_KEY"])\nraise SystemExit(3)\n' } });
    const run = spawnSync(nodeBinary(), [CLI, 'train'], { cwd: project.root, encoding: 'utf8', timeout: 60_000, env: { ...process.env, PAYMENT_API_KEY: secret } });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('key is ***');
    expect(run.stderr).toContain('mlship: the training command exited with code 3');
    expect(`${run.stdout}${run.stderr}`).not.toContain(secret);
  });

  it('runs under Node 24, the runtime the action declares', () => {
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(24);
  });
});
