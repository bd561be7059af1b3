import path from 'node:path';
import type { Reporter } from '../adapters/runtime/reporter.js';
import type { CommandResult, OutputValue } from '../commands/command.js';
import { DEFAULT_CONFIG_FILE } from '../constants.js';
import { SecretMasker, credentialValues } from '../domain/secrets.js';
import type { Invocation } from './invocation.js';

export interface ExecutionEnvironment {
  readonly cwd: string;
  readonly reporter: Reporter;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly githubToken?: string | undefined;
  /** The masker the reporter writes through; a new one when absent. */
  readonly secrets?: SecretMasker;
  readonly signal?: AbortSignal;
}

/**
 * The masker a run starts with: the GitHub token and the values of credential-looking environment
 * variables, registered with the reporter too (so the Actions runner masks them in its log).
 */
export function startSecrets(secrets: SecretMasker, reporter: Reporter, env: Readonly<Record<string, string | undefined>>, githubToken: string | undefined): SecretMasker {
  for (const value of [...(githubToken ? [githubToken] : []), ...credentialValues(env)]) {
    secrets.add(value);
    reporter.setSecret(value);
  }
  return secrets;
}

/** Runs a parsed invocation from `cwd`: the one path both entry points share. */
export async function execute(invocation: Invocation, environment: ExecutionEnvironment): Promise<CommandResult> {
  const directory = path.resolve(environment.cwd, invocation.directory ?? '.');
  const config = invocation.config ?? DEFAULT_CONFIG_FILE;
  const secrets = environment.secrets ?? startSecrets(new SecretMasker(), environment.reporter, environment.env, environment.githubToken);
  return invocation.command.run(invocation.options, {
    configFile: path.resolve(directory, config),
    configDisplay: config,
    reporter: environment.reporter,
    env: environment.env,
    githubToken: environment.githubToken,
    secrets,
    signal: environment.signal ?? new AbortController().signal,
  });
}

/** A step output is a string: lists and objects become JSON, the rest their plain text. */
export function outputText(value: OutputValue): string {
  return typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
}
