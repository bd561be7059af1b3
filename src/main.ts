import * as core from '@actions/core';
import { ActionsReporter } from './adapters/runtime/actions-reporter.js';
import { COMMANDS } from './commands/index.js';
import { commandName } from './commands/command.js';
import { execute, outputText, startSecrets } from './cli/execute.js';
import { interruptSignal } from './cli/interrupt.js';
import { parseInvocation } from './cli/invocation.js';
import { bugStack, outcomeOfError, outcomeOfResult, type Outcome } from './cli/outcome.js';
import { getActionSettings } from './input-helper.js';
import { ConfigurationError } from './errors.js';
import { VERSION } from './version.js';
import { dropBundledUrlParseWarning } from './adapters/runtime/node-warnings.js';

/**
 * The action: the runner calls `node dist/index.js` with INPUT_* variables. It runs the same
 * command as the CLI, then maps the result to step outputs, a job summary and the exit code.
 * Everything it writes goes through the run's secret masker.
 */
async function run(): Promise<number> {
  const reporter = new ActionsReporter();
  const secrets = reporter.masker;
  let outcome: Outcome;
  try {
    const settings = getActionSettings();
    startSecrets(secrets, reporter, process.env, settings.githubToken);
    const parsed = parseInvocation(settings.commandWords, COMMANDS, VERSION);
    if (parsed.kind !== 'run') {
      throw new ConfigurationError(`command: expected an mlship command such as "data push", got ${JSON.stringify(settings.commandWords.join(' '))}`);
    }
    const invocation = { ...parsed.invocation, config: parsed.invocation.config ?? settings.config };
    core.info(`mlship ${VERSION}: ${commandName(invocation.command)}`);
    const signal = interruptSignal((message) => reporter.warning(message));
    const result = await execute(invocation, { cwd: settings.workingDirectory, reporter, env: process.env, githubToken: settings.githubToken, secrets, signal });
    for (const [name, value] of Object.entries(result.outputs)) core.setOutput(name, secrets.mask(outputText(value)));
    await writeSummary(secrets.mask(result.summary));
    outcome = outcomeOfResult(result, VERSION);
    if (result.error) debugStack(result.error);
  } catch (error) {
    outcome = outcomeOfError(error, VERSION);
    debugStack(error);
    await writeSummary(`### mlship failed\n\n\`\`\`\n${secrets.mask(outcome.messages.join('\n'))}\n\`\`\`\n`);
  }
  if (outcome.messages.length > 0) core.setFailed(secrets.mask(outcome.messages.join('\n')));
  return outcome.exitCode;

  function debugStack(error: unknown): void {
    const stack = bugStack(error);
    if (stack) core.debug(secrets.mask(stack));
  }
}

/** The job summary; outside a runner (no GITHUB_STEP_SUMMARY) there is none, and that is no failure. */
async function writeSummary(markdown: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) {
    core.info('GITHUB_STEP_SUMMARY is not set: no job summary written');
    return;
  }
  try {
    await core.summary.addRaw(markdown, true).write();
  } catch (error) {
    core.warning(`the job summary could not be written: ${error instanceof Error ? error.message : String(error)}`);
  }
}

dropBundledUrlParseWarning();
process.exitCode = await run();
