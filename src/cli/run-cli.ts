import { CliReporter } from '../adapters/runtime/cli-reporter.js';
import { COMMANDS } from '../commands/index.js';
import { execute, outputText } from './execute.js';
import { parseInvocation } from './invocation.js';
import { ExitCode, describeError, exitCodeOf } from '../errors.js';
import { VERSION } from '../version.js';

/**
 * The `mlship` command. stdout carries only results (the `--json` object, or the command's main
 * value for `$(mlship …)`); everything for people goes to stderr.
 */
async function main(argv: readonly string[]): Promise<number> {
  let verbose = argv.includes('--verbose') || argv.includes('-v');
  const reporter = new CliReporter(process.stderr, verbose);
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
    verbose = invocation.verbose;
    const githubToken = process.env.GITHUB_TOKEN || process.env.GH_TOKEN || undefined;
    if (githubToken) reporter.setSecret(githubToken);
    const result = await execute(invocation, { cwd: process.cwd(), reporter, env: process.env, githubToken });
    if (invocation.json) {
      process.stdout.write(`${JSON.stringify(result.outputs)}\n`);
    } else if (invocation.command.primaryOutput !== undefined) {
      const value = result.outputs[invocation.command.primaryOutput];
      if (value !== undefined) process.stdout.write(`${outputText(value)}\n`);
    }
    if (result.error !== undefined) {
      process.stderr.write(`mlship: error: ${describeError(result.error)}\n`);
      return exitCodeOf(result.error);
    }
    if (result.failure !== undefined) {
      process.stderr.write(`mlship: ${result.failure}\n`);
      return ExitCode.CheckFailed;
    }
    return ExitCode.Ok;
  } catch (error) {
    process.stderr.write(`mlship: error: ${describeError(error)}\n`);
    if (verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    return exitCodeOf(error);
  }
}

process.exitCode = await main(process.argv.slice(2));
