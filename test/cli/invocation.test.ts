import { describe, expect, it } from 'vitest';
import { parseInvocation } from '../../src/cli/invocation.js';
import { splitWords } from '../../src/cli/words.js';
import { COMMANDS } from '../../src/commands/index.js';
import { ConfigurationError } from '../../src/errors.js';

const parse = (...argv: string[]) => parseInvocation(argv, COMMANDS, '1.2.3');

describe('parseInvocation', () => {
  it.each([
    [['data', 'snapshot'], { command: 'data snapshot', json: false, config: undefined }],
    [['--json', 'data', 'push'], { command: 'data push', json: true }],
    [['-c', 'other.yml', 'data', 'status', '--exit-code'], { command: 'data status', config: 'other.yml', options: { 'exit-code': true } }],
    [['data', 'pull', '--force', '--config=x.yml', '-C', 'sub'], { command: 'data pull', config: 'x.yml', directory: 'sub', options: { force: true } }],
  ])('reads %j', (argv, expected) => {
    const parsed = parse(...argv);
    expect(parsed.kind).toBe('run');
    if (parsed.kind !== 'run') return;
    const { command, ...rest } = expected;
    expect(parsed.invocation.command.words.join(' ')).toBe(command);
    expect(parsed.invocation).toMatchObject(rest);
  });

  it.each([
    [['data', 'snapshot', '--force'], "Unknown option '--force'"],
    [['data', 'launch'], '`mlship data launch` is not a command'],
    [['data'], '`mlship data` needs a subcommand: snapshot, status, push, pull, verify'],
    [['launch'], '`mlship launch` is not a command; commands: init, validate, data snapshot'],
    [['data', 'push', 'extra'], 'mlship data push: Unexpected argument'],
  ])('rejects %j with a usage error', (argv, message) => {
    expect(() => parse(...argv)).toThrow(ConfigurationError);
    expect(() => parse(...argv)).toThrow(message);
  });

  it('shows help, per command help with outputs, and the version', () => {
    const main = parse('--help');
    expect(main.kind === 'help' && main.text).toContain('data snapshot');
    const command = parse('data', 'status', '--help');
    expect(command.kind === 'help' && command.text).toContain('--exit-code');
    expect(command.kind === 'help' && command.text).toMatch(/Outputs[^\n]*\n(.|\n)*deleted/);
    expect(parse('--version')).toEqual({ kind: 'version' });
  });
});

describe('splitWords', () => {
  it.each([
    ['data push', ['data', 'push']],
    ['  data   status\t--exit-code ', ['data', 'status', '--exit-code']],
    [`evaluate --predictions 'my preds.csv'`, ['evaluate', '--predictions', 'my preds.csv']],
    [`x "a \\"quoted\\" word" b\\ c`, ['x', 'a "quoted" word', 'b c']],
    [`x '' y`, ['x', '', 'y']],
    ['x $HOME `id`', ['x', '$HOME', '`id`']],
  ])('splits %j', (input, words) => {
    expect(splitWords(input)).toEqual(words);
  });

  it('rejects an unterminated quote', () => {
    expect(() => splitWords(`data 'push`)).toThrow('unterminated single quote');
  });
});
