import { existsSync } from 'node:fs';
import path from 'node:path';
import { LockBusyError, acquireFileLock, describeHolder, type FileLock, type LockRecord } from '../adapters/fs/file-lock.js';
import { StateDirectory } from '../adapters/fs/workspace.js';
import type { Reporter } from '../adapters/runtime/reporter.js';
import { commandName, type CommandContext, type CommandResult, type OutputValue } from '../commands/command.js';
import { DEFAULT_CONFIG_FILE } from '../constants.js';
import { parseDuration } from '../domain/duration.js';
import { SecretMasker, credentialValues } from '../domain/secrets.js';
import { ConfigurationError, InfrastructureError } from '../errors.js';
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
  const context: CommandContext = {
    configFile: path.resolve(directory, config),
    configDisplay: config,
    reporter: environment.reporter,
    env: environment.env,
    githubToken: environment.githubToken,
    secrets,
    signal: environment.signal ?? new AbortController().signal,
  };
  const { command, options } = invocation;
  // Without mlship.yml there is no workspace to protect; the command says what is missing.
  if (!command.locksWorkspace || !existsSync(context.configFile)) return command.run(options, context);

  const waitMs = waitOption(options.wait);
  const lost = new AbortController();
  const lock = await lockWorkspace(path.dirname(context.configFile), `mlship ${commandName(command)}`, waitMs, context, (file, holder) =>
    lost.abort(
      new InfrastructureError(
        `the workspace lock ${file} ${holder ? `was taken over by ${describeHolder(holder)}` : 'was removed'} while this command ran; ` +
          'stopping, as another command may be writing the workspace',
      ),
    ),
  );
  try {
    return await command.run(options, { ...context, signal: AbortSignal.any([context.signal, lost.signal]) });
  } finally {
    lock.release();
  }
}

/**
 * Takes `<root>/.mlship/workspace.lock` for the whole run: one writer per workspace, so a run's
 * record always names the bytes its own command produced. Fails (exit 3) naming the holder, or
 * waits up to `waitMs` for it.
 */
async function lockWorkspace(
  root: string,
  command: string,
  waitMs: number,
  context: CommandContext,
  onLost: (file: string, holder: LockRecord | undefined) => void,
): Promise<FileLock> {
  const state = new StateDirectory(root);
  state.ensure();
  const file = state.path('workspace.lock');
  const take = (wait: number): Promise<FileLock> =>
    acquireFileLock(file, { command, waitMs: wait, signal: context.signal, onLost: (holder) => onLost(file, holder) });
  try {
    return await take(0);
  } catch (error) {
    if (!(error instanceof LockBusyError)) throw error;
    if (waitMs === 0) throw new InfrastructureError(`the workspace ${root} is in use by ${describeHolder(error.holder)}; wait for it, or pass --wait 5m`);
    context.reporter.info(`the workspace is in use by ${describeHolder(error.holder)}: waiting up to ${waitText(waitMs)} for it`);
  }
  try {
    return await take(waitMs);
  } catch (error) {
    if (!(error instanceof LockBusyError)) throw error;
    throw new InfrastructureError(
      `the workspace ${root} is still in use by ${describeHolder(error.holder)} after waiting ${waitText(waitMs)}; wait for it, or pass a longer --wait`,
    );
  }
}

function waitOption(value: string | boolean | undefined): number {
  if (value === undefined || value === false) return 0;
  const ms = typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms === undefined) throw new ConfigurationError(`--wait: expected a duration such as 30s, 5m or 1h, got ${JSON.stringify(value)}`);
  return ms;
}

function waitText(ms: number): string {
  return ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** A step output is a string: lists and objects become JSON, the rest their plain text. */
export function outputText(value: OutputValue): string {
  return typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
}
