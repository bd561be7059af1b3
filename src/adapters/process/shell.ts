import { exec } from '@actions/exec';
import { InfrastructureError, describeError } from '../../errors.js';

export interface ShellResult {
  readonly exitCode: number;
  /** The last lines printed (stdout and stderr interleaved as they came). */
  readonly tail: readonly string[];
}

/**
 * Runs a shell command line (`sh -c`) in `cwd`, handing each line it prints to `onLine` as it
 * comes and keeping the last `tailLines`. A command that cannot start is an infrastructure error;
 * one that runs and fails returns its exit code.
 */
export async function runShell(
  command: string,
  options: { cwd: string; env: Record<string, string>; onLine: (line: string) => void; tailLines?: number },
): Promise<ShellResult> {
  const keep = options.tailLines ?? 50;
  const tail: string[] = [];
  const take = (line: string): void => {
    options.onLine(line);
    tail.push(line);
    if (tail.length > keep) tail.shift();
  };
  try {
    const exitCode = await exec('sh', ['-c', command], {
      cwd: options.cwd,
      env: options.env,
      ignoreReturnCode: true,
      silent: true,
      listeners: { stdline: take, errline: take },
    });
    return { exitCode, tail };
  } catch (error) {
    throw new InfrastructureError(`could not start the shell for ${JSON.stringify(command)}: ${describeError(error)}`, { cause: error });
  }
}
