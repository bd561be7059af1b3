import type { CommandResult } from '../commands/command.js';
import { ExitCode, describeFailure, exitCodeOf, type ExitCode as ExitCodeType } from '../errors.js';

/** How a run ends: its exit code, and the messages that say why (empty when it succeeded). */
export interface Outcome {
  readonly exitCode: ExitCodeType;
  readonly messages: readonly string[];
}

/**
 * A command's result as an exit code. When a check failed and a later step broke too (a failing
 * gate, then a GitHub API error), the check decides the code and both are said: the user must fix
 * the model, and should know the comment was not posted.
 */
export function outcomeOfResult(result: CommandResult, version: string): Outcome {
  const error = result.error === undefined ? [] : [describeFailure(result.error, version)];
  if (result.failure !== undefined) return { exitCode: ExitCode.CheckFailed, messages: [result.failure, ...error.map((m) => `also: ${m}`)] };
  if (result.error !== undefined) return { exitCode: exitCodeOf(result.error), messages: error };
  return { exitCode: ExitCode.Ok, messages: [] };
}

export function outcomeOfError(error: unknown, version: string): Outcome {
  return { exitCode: exitCodeOf(error), messages: [describeFailure(error, version)] };
}

/** The stack of an unexpected error, for debug output; undefined for mlship's own errors. */
export function bugStack(error: unknown): string | undefined {
  return exitCodeOf(error) === ExitCode.Internal && error instanceof Error ? error.stack : undefined;
}
