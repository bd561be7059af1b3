/**
 * Error types carry the process exit code, so every layer can fail precisely and only the
 * entry points decide how to exit. Exit codes: 0 ok, 1 a check failed, 2 usage or config error,
 * 3 infrastructure error (engine, registry, store, network), 4 a bug in mlship, 130 interrupted.
 */
export const ExitCode = {
  Ok: 0,
  CheckFailed: 1,
  Usage: 2,
  Infrastructure: 3,
  /** An error mlship did not expect (a TypeError, a broken invariant): a bug, not the world's fault. */
  Internal: 4,
  /** Stopped by SIGINT or SIGTERM (128 + 2, as shells report it). */
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export abstract class MlshipError extends Error {
  abstract readonly exitCode: ExitCode;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The user asked for something impossible: bad config, bad arguments, bad input files. Exit 2. */
export class ConfigurationError extends MlshipError {
  readonly exitCode = ExitCode.Usage;
}

/** The outside world failed: store, engine, registry or network. Exit 3. */
export class InfrastructureError extends MlshipError {
  readonly exitCode = ExitCode.Infrastructure;
}

/** A check ran and said no (a gate, a smoke test, a rollout). Exit 1. */
export class CheckFailedError extends MlshipError {
  readonly exitCode = ExitCode.CheckFailed;
}

/** The run was stopped (Ctrl-C, a cancelled workflow) and cleaned up after itself. Exit 130. */
export class InterruptedError extends MlshipError {
  readonly exitCode = ExitCode.Interrupted;
}

/**
 * The one mapping from an error to an exit code. mlship's own errors carry theirs; a system call
 * that failed (ENOSPC, ECONNRESET…) is the outside world; anything else is a bug.
 */
export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof MlshipError) return error.exitCode;
  if (error instanceof Error && error.name === 'AbortError') return ExitCode.Interrupted;
  if (isSystemError(error)) return ExitCode.Infrastructure;
  return ExitCode.Internal;
}

/** Node's errors from a failed system call carry a code such as ENOSPC or ECONNRESET. */
export function isSystemError(error: unknown): boolean {
  return /^E[A-Z0-9]+$/.test(errnoCode(error) ?? '');
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** What people are told: the message, and for a bug, that it is one and how to report it. */
export function describeFailure(error: unknown, version: string): string {
  if (exitCodeOf(error) !== ExitCode.Internal) return describeError(error);
  const name = error instanceof Error ? error.name : typeof error;
  return `internal error in mlship ${version} (a bug, not your configuration; please report it with the output of --verbose): ${name}: ${describeError(error)}`;
}

/** Node's system errors carry a `code` such as ENOENT; this reads it without `any`. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
