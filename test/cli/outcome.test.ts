import { describe, expect, it } from 'vitest';
import { bugStack, outcomeOfError, outcomeOfResult } from '../../src/cli/outcome.js';
import { CheckFailedError, ConfigurationError, ExitCode, InfrastructureError, InterruptedError } from '../../src/errors.js';

const systemError = (code: string): Error => Object.assign(new Error(`${code}: it failed`), { code });

describe('one mapping from what happened to the exit code', () => {
  it.each([
    ['a configuration error', new ConfigurationError('mlship.yml:1:1 name: required'), ExitCode.Usage],
    ['an infrastructure error', new InfrastructureError('the store is unreachable'), ExitCode.Infrastructure],
    ['a failed check', new CheckFailedError('the gate failed'), ExitCode.CheckFailed],
    ['an interruption', new InterruptedError('interrupted by SIGINT'), ExitCode.Interrupted],
    ['a failed system call (disk full)', systemError('ENOSPC'), ExitCode.Infrastructure],
    ['a connection reset', systemError('ECONNRESET'), ExitCode.Infrastructure],
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'x')"), ExitCode.Internal],
    ['a RangeError', new RangeError('Invalid array length'), ExitCode.Internal],
    ['a thrown string', 'nope', ExitCode.Internal],
  ])('%s', (_name, error, code) => {
    expect(outcomeOfError(error, '9.9.9').exitCode).toBe(code);
  });

  it('says a bug is a bug, and keeps its stack for debug output', () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'x')");
    expect(outcomeOfError(bug, '9.9.9').messages).toEqual([
      "internal error in mlship 9.9.9 (a bug, not your configuration; please report it with the output of --verbose): TypeError: Cannot read properties of undefined (reading 'x')",
    ]);
    expect(bugStack(bug)).toContain('TypeError');
    expect(bugStack(new InfrastructureError('down'))).toBeUndefined();
  });

  it('a failing check beside a later error is exit 1 (the check), with both messages', () => {
    const outcome = outcomeOfResult(
      { outputs: {}, summary: '', failure: '1 of 2 gates failed: auc min 0.8', error: new InfrastructureError('GitHub API https://api.github.com: POST … failed with HTTP 500') },
      '9.9.9',
    );
    expect(outcome).toEqual({
      exitCode: ExitCode.CheckFailed,
      messages: ['1 of 2 gates failed: auc min 0.8', 'also: GitHub API https://api.github.com: POST … failed with HTTP 500'],
    });
  });

  it('an error after the work was done keeps its own code; success is 0 with nothing to say', () => {
    expect(outcomeOfResult({ outputs: {}, summary: '', error: new InfrastructureError('comment not posted') }, '1').exitCode).toBe(ExitCode.Infrastructure);
    expect(outcomeOfResult({ outputs: {}, summary: '' }, '1')).toEqual({ exitCode: ExitCode.Ok, messages: [] });
  });
});
