import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, cpSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { execute } from '../../src/cli/execute.js';
import { parseInvocation } from '../../src/cli/invocation.js';
import { COMMANDS } from '../../src/commands/index.js';
import type { CommandResult } from '../../src/commands/command.js';
import { exitCodeOf, type ExitCode } from '../../src/errors.js';
import { RecordingReporter } from './recording-reporter.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

/** A fresh temporary directory, removed after the test. */
export function temporaryDirectory(prefix = 'mlship-test-'): string {
  const directory = mkdtempSync(path.join(tmpdir(), prefix));
  cleanups.push(() => rmSync(directory, { recursive: true, force: true }));
  return directory;
}

/** Writes files (path → content) under `root`, creating directories. */
export function writeTree(root: string, files: Record<string, string | Buffer>): void {
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(root, name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
}

/** Sets every file's times an hour back, as data that has sat on disk (outside the racy window). */
export function ageFiles(root: string): void {
  const past = new Date(Date.now() - 3600_000);
  for (const name of readdirSync(root, { recursive: true }) as string[]) {
    if (name.split(path.sep).includes('.mlship')) continue;
    utimesSync(path.join(root, name), past, past);
  }
}

export interface Project {
  readonly root: string;
  readonly store: string;
  run(...argv: string[]): Promise<RunResult>;
}

export interface RunResult {
  readonly result?: CommandResult;
  readonly exitCode: ExitCode;
  readonly error?: Error;
  readonly reporter: RecordingReporter;
}

/** A repository with mlship.yml tracking `data/` (or the given paths) and a file store beside it. */
export function makeProject(files: Record<string, string | Buffer>, options: { paths?: string[]; storeUrl?: string; root?: string } = {}): Project {
  const root = options.root ?? temporaryDirectory();
  const store = path.join(path.dirname(root), `${path.basename(root)}-store`);
  cleanups.push(() => rmSync(store, { recursive: true, force: true }));
  const paths = options.paths ?? ['data'];
  writeTree(root, {
    'mlship.yml': `version: 1\nname: test\ndata:\n  paths: [${paths.join(', ')}]\n  store: ${options.storeUrl ?? `file://${store}`}\n`,
    ...files,
  });
  ageFiles(root);
  return { root, store, run: (...argv) => runIn(root, argv) };
}

/** Runs a command in-process, as the CLI would, and captures what it reported. */
export async function runIn(cwd: string, argv: string[], options: { githubToken?: string; env?: Record<string, string> } = {}): Promise<RunResult> {
  const reporter = new RecordingReporter();
  try {
    const parsed = parseInvocation(argv, COMMANDS, 'test');
    if (parsed.kind !== 'run') throw new Error(`not a run: ${argv.join(' ')}`);
    const result = await execute(parsed.invocation, { cwd, reporter, env: { ...process.env, ...options.env }, githubToken: options.githubToken });
    if (result.error) return { result, exitCode: exitCodeOf(result.error), error: result.error, reporter };
    return { result, exitCode: result.failure === undefined ? 0 : 1, reporter };
  } catch (error) {
    return { exitCode: exitCodeOf(error), error: error as Error, reporter };
  }
}

export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Every file under `root` (except mlship's state) with its sha256: a tree's exact content. */
export function treeHashes(root: string, under = ''): Record<string, string> {
  const out: Record<string, string> = {};
  const base = path.join(root, under);
  for (const name of (readdirSync(base, { recursive: true }) as string[]).sort()) {
    const file = path.join(base, name);
    if (name.split(path.sep).includes('.mlship')) continue;
    if (statSync(file).isFile()) out[path.posix.join(under, name.split(path.sep).join('/'))] = sha256File(file);
  }
  return out;
}

/** Copies a repository's committed files (config and lock) to a fresh clone without the data. */
export function cloneWithoutData(project: Project): Project {
  const root = temporaryDirectory('mlship-clone-');
  cpSync(path.join(project.root, 'mlship.yml'), path.join(root, 'mlship.yml'));
  cpSync(path.join(project.root, 'mlship.lock'), path.join(root, 'mlship.lock'));
  return { root, store: project.store, run: (...argv) => runIn(root, argv) };
}

/** Every object file in a file store, by hash. */
export function storeObjects(store: string): Map<string, string> {
  const objects = new Map<string, string>();
  const base = path.join(store, 'sha256');
  let fans: string[] = [];
  try {
    fans = readdirSync(base);
  } catch {
    return objects;
  }
  for (const fan of fans) for (const rest of readdirSync(path.join(base, fan))) objects.set(fan + rest, path.join(base, fan, rest));
  return objects;
}
