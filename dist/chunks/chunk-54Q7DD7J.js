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
  Infrastructure: 3
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
function exitCodeOf(error) {
  return error instanceof MlshipError ? error.exitCode : ExitCode.Infrastructure;
}
function describeError(error) {
  if (error instanceof Error) return error.message;
  return String(error);
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
  exitCodeOf,
  describeError,
  errnoCode
};
