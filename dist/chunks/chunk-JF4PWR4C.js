#!/usr/bin/env node
import { createRequire as __mlshipCreateRequire } from 'node:module';
import { fileURLToPath as __mlshipFileURLToPath } from 'node:url';
import { dirname as __mlshipDirname } from 'node:path';
const require = __mlshipCreateRequire(import.meta.url);
const __filename = __mlshipFileURLToPath(import.meta.url);
const __dirname = __mlshipDirname(__filename);

// src/errors.ts
var ExitCode = {
  Ok: 0,
  CheckFailed: 1,
  Usage: 2,
  Infrastructure: 3,
  /** An error mlship did not expect (a TypeError, a broken invariant): a bug, not the world's fault. */
  Internal: 4,
  /** Stopped by SIGINT or SIGTERM (128 + 2, as shells report it). */
  Interrupted: 130
};
var MlshipError = class extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = new.target.name;
  }
};
var ConfigurationError = class extends MlshipError {
  exitCode = ExitCode.Usage;
};
var InfrastructureError = class extends MlshipError {
  exitCode = ExitCode.Infrastructure;
};
var CheckFailedError = class extends MlshipError {
  exitCode = ExitCode.CheckFailed;
};
var InterruptedError = class extends MlshipError {
  exitCode = ExitCode.Interrupted;
};
function exitCodeOf(error) {
  if (error instanceof MlshipError) return error.exitCode;
  if (error instanceof Error && error.name === "AbortError") return ExitCode.Interrupted;
  if (isSystemError(error)) return ExitCode.Infrastructure;
  return ExitCode.Internal;
}
function isSystemError(error) {
  return /^E[A-Z0-9]+$/.test(errnoCode(error) ?? "");
}
function describeError(error) {
  if (error instanceof Error) return error.message;
  return String(error);
}
function describeFailure(error, version) {
  if (exitCodeOf(error) !== ExitCode.Internal) return describeError(error);
  const name = error instanceof Error ? error.name : typeof error;
  return `internal error in mlship ${version} (a bug, not your configuration; please report it with the output of --verbose): ${name}: ${describeError(error)}`;
}
function errnoCode(error) {
  if (typeof error === "object" && error !== null && "code" in error) {
    const code = error.code;
    return typeof code === "string" ? code : void 0;
  }
  return void 0;
}

export {
  ExitCode,
  ConfigurationError,
  InfrastructureError,
  CheckFailedError,
  InterruptedError,
  exitCodeOf,
  isSystemError,
  describeError,
  describeFailure,
  errnoCode
};
