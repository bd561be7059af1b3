import * as core from '@actions/core';
import { ActionsReporter } from './adapters/runtime/actions-reporter.js';
import { COMMANDS } from './commands/index.js';
import { commandName } from './commands/command.js';
import { execute, outputText } from './cli/execute.js';
import { parseInvocation } from './cli/invocation.js';
import { getActionSettings } from './input-helper.js';
import { ConfigurationError, ExitCode, describeError, exitCodeOf } from './errors.js';
import { VERSION } from './version.js';

/**
 * The action: the runner calls `node dist/index.js` with INPUT_* variables. It runs the same
 * command as the CLI, then maps the result to step outputs, a job summary and the exit code.
 */
async function run(): Promise<number> {
  const reporter = new ActionsReporter();
  try {
    const settings = getActionSettings();
    if (settings.githubToken) core.setSecret(settings.githubToken);
    const parsed = parseInvocation(settings.commandWords, COMMANDS, VERSION);
    if (parsed.kind !== 'run') {
      throw new ConfigurationError(`command: expected an mlship command such as "data push", got ${JSON.stringify(settings.commandWords.join(' '))}`);
    }
    const invocation = { ...parsed.invocation, config: parsed.invocation.config ?? settings.config };
    core.info(`mlship ${VERSION}: ${commandName(invocation.command)}`);
    const result = await execute(invocation, { cwd: settings.workingDirectory, reporter, env: process.env, githubToken: settings.githubToken });
    for (const [name, value] of Object.entries(result.outputs)) core.setOutput(name, outputText(value));
    await core.summary.addRaw(result.summary, true).write();
    if (result.error !== undefined) {
      core.setFailed(describeError(result.error));
      return exitCodeOf(result.error);
    }
    if (result.failure !== undefined) {
      core.setFailed(result.failure);
      return ExitCode.CheckFailed;
    }
    return ExitCode.Ok;
  } catch (error) {
    const message = describeError(error);
    core.setFailed(message);
    await core.summary
      .addRaw(`### mlship failed\n\n\`\`\`\n${message}\n\`\`\`\n`, true)
      .write()
      .catch(() => undefined);
    return exitCodeOf(error);
  }
}

process.exitCode = await run();
