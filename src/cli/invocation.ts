import { parseArgs } from 'node:util';
import { ConfigurationError } from '../errors.js';
import { commandName, type CommandDefinition, type OptionSpec, type OptionValues } from '../commands/command.js';

/** Options every command takes. */
export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  config: { type: 'string', short: 'c', value: 'FILE', description: 'Path of the config file (default mlship.yml).' },
  directory: { type: 'string', short: 'C', value: 'DIR', description: 'Run as if started in DIR.' },
  json: { type: 'boolean', description: "Print one JSON object on stdout whose keys are the action's output names." },
  verbose: { type: 'boolean', short: 'v', description: 'Show debug output.' },
  help: { type: 'boolean', short: 'h', description: 'Show help.' },
};

export interface Invocation {
  readonly command: CommandDefinition;
  readonly options: OptionValues;
  readonly config: string | undefined;
  readonly directory: string | undefined;
  readonly json: boolean;
  readonly verbose: boolean;
}

export type Parsed =
  | { readonly kind: 'run'; readonly invocation: Invocation }
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'version' };

/**
 * Reads `mlship [global options] <command words> [options]`. Command words are found first (they
 * may follow global options), then everything else is parsed strictly against that command.
 */
export function parseInvocation(argv: readonly string[], commands: readonly CommandDefinition[], version: string): Parsed {
  const { words, wordIndexes } = leadingWords(argv);
  const command = longestMatch(words, commands);
  const rest = argv.filter((_, i) => !wordIndexes.slice(0, command?.words.length ?? 0).includes(i));
  if (!command) {
    if (argv.includes('--version') || argv.includes('-V')) return { kind: 'version' };
    const asksHelp = argv.includes('--help') || argv.includes('-h') || argv.length === 0;
    const group = commands.filter((c) => words.length > 0 && c.words[0] === words[0]);
    if (asksHelp && words.length === 0) return { kind: 'help', text: mainHelp(commands, version) };
    if (group.length > 0 && (asksHelp || words.length === 1)) {
      if (asksHelp) return { kind: 'help', text: mainHelp(group, version) };
      throw new ConfigurationError(`\`mlship ${words[0]}\` needs a subcommand: ${group.map((c) => c.words.slice(1).join(' ')).join(', ')}`);
    }
    const tried = words.length > 0 ? `\`mlship ${words.join(' ')}\` is not a command` : 'no command given';
    throw new ConfigurationError(`${tried}; commands: ${commands.map(commandName).join(', ')} (see mlship --help)`);
  }
  const specs = { ...GLOBAL_OPTIONS, ...command.options };
  let parsed;
  try {
    parsed = parseArgs({
      args: [...rest],
      options: Object.fromEntries(
        Object.entries(specs).map(([name, spec]) => [name, { type: spec.type, ...(spec.short ? { short: spec.short } : {}), ...(spec.multiple ? { multiple: true } : {}) }]),
      ),
      strict: true,
      allowPositionals: (command.arguments ?? []).length > 0,
    });
  } catch (error) {
    throw new ConfigurationError(`mlship ${commandName(command)}: ${(error as Error).message.split('\n')[0]} (see mlship ${commandName(command)} --help)`);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help) return { kind: 'help', text: commandHelp(command) };
  const expected = command.arguments ?? [];
  const required = expected.filter((a) => !a.optional).length;
  if (parsed.positionals.length < required || parsed.positionals.length > expected.length) {
    const usage = `mlship ${commandName(command)} ${expected.map((a) => (a.optional ? `[<${a.name}>]` : `<${a.name}>`)).join(' ')}`.trim();
    const problem = parsed.positionals.length < required ? `missing <${expected[parsed.positionals.length]!.name}>` : `unexpected argument ${JSON.stringify(parsed.positionals[expected.length])}`;
    throw new ConfigurationError(`${problem}; usage: ${usage}`);
  }
  const options: Record<string, string | boolean | undefined> = {};
  for (const name of Object.keys(command.options)) {
    const value: unknown = values[name];
    options[name] = Array.isArray(value) ? value.join(',') : (value as string | boolean | undefined);
  }
  expected.forEach((argument, i) => {
    options[argument.name] = parsed.positionals[i];
  });
  return {
    kind: 'run',
    invocation: {
      command,
      options,
      config: values.config as string | undefined,
      directory: values.directory as string | undefined,
      json: values.json === true,
      verbose: values.verbose === true,
    },
  };
}

/** Non-option words before the first option that is not a global one, with their positions. */
function leadingWords(argv: readonly string[]): { words: string[]; wordIndexes: number[] } {
  const words: string[] = [];
  const wordIndexes: number[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === '--') break;
    if (arg.startsWith('-')) {
      const name = arg.replace(/^--?/, '').split('=')[0]!;
      const global = Object.entries(GLOBAL_OPTIONS).find(([long, spec]) => long === name || spec.short === name);
      if (!global) break;
      if (global[1].type === 'string' && !arg.includes('=')) i += 1;
      continue;
    }
    words.push(arg);
    wordIndexes.push(i);
  }
  return { words, wordIndexes };
}

function longestMatch(words: readonly string[], commands: readonly CommandDefinition[]): CommandDefinition | undefined {
  let best: CommandDefinition | undefined;
  for (const command of commands) {
    const matches = command.words.every((w, i) => words[i] === w);
    if (matches && command.words.length <= words.length && (!best || command.words.length > best.words.length)) best = command;
  }
  return best;
}

function optionLines(specs: Readonly<Record<string, OptionSpec>>): string[] {
  return Object.entries(specs).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.type === 'string' ? ` ${spec.value ?? 'VALUE'}` : ''}${spec.multiple ? ' …' : ''}`;
    return `  ${flag.padEnd(26)} ${spec.description}`;
  });
}

export function mainHelp(commands: readonly CommandDefinition[], version: string): string {
  const width = Math.max(...commands.map((c) => commandName(c).length)) + 2;
  return [
    `mlship ${version}: take a model from a pull request to production.`,
    '',
    'Usage: mlship [options] <command> [command options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${commandName(c).padEnd(width)} ${c.description}`),
    '',
    'Options:',
    ...optionLines(GLOBAL_OPTIONS),
    '  -V, --version              Show the version.',
    '',
    'Exit codes: 0 ok, 1 a check failed, 2 usage or config error, 3 infrastructure error, 4 a bug in mlship, 130 interrupted.',
    'Run `mlship <command> --help` for a command\'s options and outputs.',
  ].join('\n');
}

export function commandHelp(command: CommandDefinition): string {
  const outputs = Object.entries(command.outputs);
  const width = Math.max(...outputs.map(([name]) => name.length)) + 2;
  const args = (command.arguments ?? []).map((a) => (a.optional ? `[<${a.name}>]` : `<${a.name}>`)).join(' ');
  return [
    `Usage: mlship ${commandName(command)}${args ? ` ${args}` : ''} [options]`,
    '',
    command.description,
    '',
    ...(command.arguments?.length ? ['Arguments:', ...command.arguments.map((a) => `  ${`<${a.name}>`.padEnd(26)} ${a.description}`), ''] : []),
    'Options:',
    ...optionLines({ ...command.options, ...GLOBAL_OPTIONS }),
    '',
    'Outputs (step outputs in Actions, keys of --json):',
    ...outputs.map(([name, description]) => `  ${name.padEnd(width)} ${description}`),
  ].join('\n');
}
