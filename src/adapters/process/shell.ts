import { InfrastructureError, describeError } from '../../errors.js';
import { runProcess } from './run.js';

export interface ShellResult {
  readonly exitCode: number;
  /** The last lines printed (stdout and stderr interleaved as they came). */
  readonly tail: readonly string[];
  /** Stopped because the run was interrupted. */
  readonly interrupted: boolean;
}

/**
 * Runs a shell command line (`sh -c`) in `cwd`, handing each line it prints to `onLine` as it
 * comes and keeping the last `tailLines`. A command that cannot start is an infrastructure error;
 * one that runs and fails returns its exit code (128 + n when a signal ended it, as shells say).
 * When `signal` aborts, the command and everything it started are stopped.
 */
export async function runShell(
  command: string,
  options: { cwd: string; env: Record<string, string>; onLine: (line: string) => void; tailLines?: number; signal?: AbortSignal },
): Promise<ShellResult> {
  const keep = options.tailLines ?? 50;
  const tail: string[] = [];
  try {
    const result = await runProcess('sh', ['-c', command], {
      cwd: options.cwd,
      env: options.env,
      ownProcessGroup: true,
      ...(options.signal ? { signal: options.signal } : {}),
      onLine: (line) => {
        options.onLine(line);
        if (keep === 0) return;
        tail.push(line);
        if (tail.length > keep) tail.shift();
      },
    });
    const exitCode = result.exitCode ?? 128 + signalNumber(result.signal);
    return { exitCode, tail, interrupted: result.aborted };
  } catch (error) {
    throw new InfrastructureError(`could not start the shell for ${JSON.stringify(command)}: ${describeError(error)}`, { cause: error });
  }
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal === 'SIGINT' ? 2 : signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : 1;
}
