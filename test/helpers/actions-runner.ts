import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ACTION, nodeBinary } from './bundle.js';
import { temporaryDirectory } from './project.js';

export interface ActionRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly outputs: Record<string, string>;
  readonly summary: string;
}

/** Reads a GITHUB_OUTPUT file as the runner does: `name<<DELIM`, value lines, `DELIM`. */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const match = /^([^<=]+)<<(.+)$/.exec(lines[i]!);
    if (!match) continue;
    const [, name, delimiter] = match;
    const value: string[] = [];
    for (i += 1; i < lines.length && lines[i] !== delimiter; i += 1) value.push(lines[i]!);
    outputs[name!] = value.join('\n');
  }
  return outputs;
}

interface RunnerFiles {
  readonly env: NodeJS.ProcessEnv;
  readonly outputFile: string;
  readonly summaryFile: string;
}

/** The environment the runner gives an action: inputs as INPUT_*, files for outputs and the summary. */
function runnerEnvironment(inputs: Record<string, string>, options: { workspace: string; env?: Record<string, string> }): RunnerFiles {
  const files = temporaryDirectory('mlship-runner-');
  const outputFile = path.join(files, 'output');
  const summaryFile = path.join(files, 'summary');
  writeFileSync(outputFile, '');
  writeFileSync(summaryFile, '');
  const inputEnv = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.replace(/ /g, '_').toUpperCase()}`, v]));
  return {
    outputFile,
    summaryFile,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/root',
      GITHUB_ACTIONS: 'true',
      GITHUB_WORKSPACE: options.workspace,
      GITHUB_OUTPUT: outputFile,
      GITHUB_STEP_SUMMARY: summaryFile,
      RUNNER_TEMP: files,
      ...inputEnv,
      ...options.env,
    },
  };
}

function collect(files: RunnerFiles, status: number | null, stdout: string, stderr: string): ActionRun {
  return {
    status,
    stdout,
    stderr,
    outputs: parseOutputFile(readFileSync(files.outputFile, 'utf8')),
    summary: readFileSync(files.summaryFile, 'utf8'),
  };
}

/**
 * Runs the bundled action the way the runner does: `node dist/index.js` with inputs as
 * INPUT_* variables and the runner's files for outputs and the job summary.
 */
export function runAction(inputs: Record<string, string>, options: { workspace: string; env?: Record<string, string> }): ActionRun {
  const files = runnerEnvironment(inputs, options);
  const result = spawnSync(nodeBinary(), [ACTION], { cwd: options.workspace, encoding: 'utf8', timeout: 120_000, env: files.env });
  return collect(files, result.status, result.stdout, result.stderr);
}

/** The same, without blocking this process: for tests whose servers (a fake GitHub) run in it. */
export function runActionAsync(inputs: Record<string, string>, options: { workspace: string; env?: Record<string, string> }): Promise<ActionRun> {
  const files = runnerEnvironment(inputs, options);
  return new Promise((resolve, reject) => {
    const child = spawn(nodeBinary(), [ACTION], { cwd: options.workspace, env: files.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve(collect(files, status, stdout, stderr));
    });
  });
}
