/**
 * Error types carry the process exit code, so every layer can fail precisely and only the
 * entry points decide how to exit. Exit codes: 0 ok, 1 a check failed, 2 usage or config error,
 * 3 infrastructure error (engine, registry, store, network).
 */
export const ExitCode = {
  Ok: 0,
  CheckFailed: 1,
  Usage: 2,
  Infrastructure: 3,
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

export function exitCodeOf(error: unknown): ExitCode {
  return error instanceof MlshipError ? error.exitCode : ExitCode.Infrastructure;
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Node's system errors carry a `code` such as ENOENT; this reads it without `any`. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
