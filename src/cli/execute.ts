import path from 'node:path';
import type { Reporter } from '../adapters/runtime/reporter.js';
import type { CommandResult, OutputValue } from '../commands/command.js';
import { DEFAULT_CONFIG_FILE } from '../constants.js';
import type { Invocation } from './invocation.js';

/** Runs a parsed invocation from `cwd`: the one path both entry points share. */
export async function execute(
  invocation: Invocation,
  environment: {
    readonly cwd: string;
    readonly reporter: Reporter;
    readonly env: Readonly<Record<string, string | undefined>>;
    readonly githubToken?: string | undefined;
  },
): Promise<CommandResult> {
  const directory = path.resolve(environment.cwd, invocation.directory ?? '.');
  const config = invocation.config ?? DEFAULT_CONFIG_FILE;
  return invocation.command.run(invocation.options, {
    configFile: path.resolve(directory, config),
    configDisplay: config,
    reporter: environment.reporter,
    env: environment.env,
    githubToken: environment.githubToken,
  });
}

/** A step output is a string: lists and objects become JSON, the rest their plain text. */
export function outputText(value: OutputValue): string {
  return typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
}
