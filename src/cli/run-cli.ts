import { CliReporter } from '../adapters/runtime/cli-reporter.js';
import { COMMANDS } from '../commands/index.js';
import { execute, outputText, startSecrets } from './execute.js';
import { interruptSignal } from './interrupt.js';
import { parseInvocation } from './invocation.js';
import { bugStack, outcomeOfError, outcomeOfResult, type Outcome } from './outcome.js';
import { ExitCode } from '../errors.js';
import { VERSION } from '../version.js';

/**
 * The `mlship` command. stdout carries only results (the `--json` object, or the command's main
 * value for `$(mlship …)`); everything for people goes to stderr, through the secret masker.
 */
async function main(argv: readonly string[]): Promise<number> {
  const reporter = new CliReporter(process.stderr, argv.includes('--verbose') || argv.includes('-v'));
  const secrets = reporter.masker;
  let outcome: Outcome;
  try {
    const parsed = parseInvocation(argv, COMMANDS, VERSION);
    if (parsed.kind === 'version') {
      process.stdout.write(`${VERSION}\n`);
      return ExitCode.Ok;
    }
    if (parsed.kind === 'help') {
      process.stdout.write(`${parsed.text}\n`);
      return ExitCode.Ok;
    }
    const { invocation } = parsed;
    const githubToken = process.env.GITHUB_TOKEN || process.env.GH_TOKEN || undefined;
    startSecrets(secrets, reporter, process.env, githubToken);
    const signal = interruptSignal((message) => reporter.warning(message));
    const result = await execute(invocation, { cwd: process.cwd(), reporter, env: process.env, githubToken, secrets, signal });
    if (invocation.json) {
      process.stdout.write(`${secrets.mask(JSON.stringify(result.outputs))}\n`);
    } else if (invocation.command.primaryText !== undefined) {
      process.stdout.write(`${secrets.mask(invocation.command.primaryText(result.outputs)).trimEnd()}\n`);
    } else if (invocation.command.primaryOutput !== undefined) {
      const value = result.outputs[invocation.command.primaryOutput];
      if (value !== undefined) process.stdout.write(`${secrets.mask(outputText(value))}\n`);
    }
    outcome = outcomeOfResult(result, VERSION);
    if (result.error) debugStack(result.error);
  } catch (error) {
    outcome = outcomeOfError(error, VERSION);
    debugStack(error);
  }
  const [first, ...more] = outcome.messages;
  if (first !== undefined) {
    const prefix = outcome.exitCode === ExitCode.CheckFailed ? 'mlship: ' : 'mlship: error: ';
    process.stderr.write(`${secrets.mask([`${prefix}${first}`, ...more.map((m) => `mlship: ${m}`)].join('\n'))}\n`);
  }
  return outcome.exitCode;

  function debugStack(error: unknown): void {
    const stack = bugStack(error);
    if (stack) reporter.debug(stack);
  }
}

process.exitCode = await main(process.argv.slice(2));
