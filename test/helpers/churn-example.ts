/**
 * The bundled example (templates/churn) as a user's repository: a copy with a bare git origin (the
 * example keeps its registry on a branch of it), its data snapshot committed, trained with Debian's
 * python3 (scikit-learn and pandas come from Debian's packages, as in .ci/example).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { git } from './git-project.js';
import { runIn, type RunResult } from './project.js';

export const TEMPLATE = fileURLToPath(new URL('../../templates/churn/', import.meta.url));
/** Under pyenv, "system" selects Debian's python3, where apt installs scikit-learn and pandas. */
export const DEBIAN_PYTHON_ENV = { PYENV_VERSION: 'system' } as const;
/** What training writes: never copied from a template directory that someone trained in. */
const OUTPUTS = new Set(['model', 'metrics.json', 'predictions.csv', 'smoke.jsonl', '.mlship', '__pycache__', 'mlship.lock']);

export interface SmokeCase {
  readonly input: Record<string, number | string>;
  readonly label: 0 | 1;
  readonly score: number;
}

export interface ChurnExample {
  readonly root: string;
  run(...argv: string[]): Promise<RunResult>;
  smokeCases(): SmokeCase[];
  /** Removes the copy and its origin. */
  remove(): void;
}

/** Runs Debian's python3 with a script; its stdout, or an error with its stderr. */
export function debianPython(script: string, cwd: string): string {
  return execFileSync('python3', ['-c', script], { cwd, encoding: 'utf8', env: { ...process.env, ...DEBIAN_PYTHON_ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** scikit-learn and pandas for Debian's python3: installed with apt when missing (as root), as .ci/example does. */
export function ensureDebianScikitLearn(): void {
  const importable = (): boolean => {
    try {
      debianPython('import sklearn, pandas', tmpdir());
      return true;
    } catch {
      return false;
    }
  };
  if (importable()) return;
  if (process.getuid?.() !== 0) throw new Error('the churn example trains with scikit-learn: sudo apt-get install python3-sklearn python3-pandas');
  const apt = (...args: string[]): void => {
    execFileSync('apt-get', ['-o', 'DPkg::Lock::Timeout=300', ...args], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 15 * 60_000 });
  };
  apt('update', '-qq');
  apt('install', '-y', '-qq', 'python3-sklearn', 'python3-pandas');
  if (!importable()) throw new Error('python3-sklearn and python3-pandas were installed, but Debian\'s python3 still cannot import sklearn and pandas');
}

/**
 * A copy of the example, committed, with `image.repository` set, its data snapshot locked and a bare
 * origin for its registry branch. Not trained yet: call `run('train')`.
 */
export async function churnExample(imageRepository: string): Promise<ChurnExample> {
  const base = mkdtempSync(path.join(tmpdir(), 'mlship-churn-'));
  const root = path.join(base, 'churn');
  cpSync(TEMPLATE, root, { recursive: true, filter: (source) => !OUTPUTS.has(path.relative(TEMPLATE, source).split(path.sep)[0]!) });
  const configFile = path.join(root, 'mlship.yml');
  const config = parseDocument(readFileSync(configFile, 'utf8'));
  config.setIn(['image', 'repository'], imageRepository);
  writeFileSync(configFile, config.toString());
  git(base, 'init', '-q', '--bare', 'origin.git');
  git(root, 'init', '-q');
  git(root, 'remote', 'add', 'origin', path.join(base, 'origin.git'));
  const run = async (...argv: string[]): Promise<RunResult> => {
    const saved = process.env.PYENV_VERSION;
    process.env.PYENV_VERSION = DEBIAN_PYTHON_ENV.PYENV_VERSION;
    try {
      return await runIn(root, argv);
    } finally {
      if (saved === undefined) delete process.env.PYENV_VERSION;
      else process.env.PYENV_VERSION = saved;
    }
  };
  const snapshot = await run('data', 'snapshot');
  if (snapshot.error) throw snapshot.error;
  git(root, 'add', '-A');
  git(root, 'commit', '-qm', 'churn model');
  return {
    root,
    run,
    smokeCases: () =>
      readFileSync(path.join(root, 'smoke.jsonl'), 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as SmokeCase),
    remove: () => rmSync(base, { recursive: true, force: true }),
  };
}
