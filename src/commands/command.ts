import type { Reporter } from '../adapters/runtime/reporter.js';
import type { SecretMasker } from '../domain/secrets.js';

/** A value a command reports: a step output in Actions, a key of the CLI's `--json` object. */
export type OutputValue = string | number | boolean | readonly unknown[] | { readonly [key: string]: unknown };

export interface CommandResult {
  /** Keyed by the action's output names (kebab-case). */
  readonly outputs: Readonly<Record<string, OutputValue>>;
  /** Markdown for the job summary. */
  readonly summary: string;
  /** Set when a check ran and failed: the process exits 1 with this message. */
  readonly failure?: string;
  /**
   * Set when the command did its work but a last step failed (say, posting a pull-request
   * comment): outputs and summary are still written, then the process fails with this error.
   */
  readonly error?: Error;
}

export interface CommandContext {
  /** Absolute path of mlship.yml (it may not exist; commands that need it load it). */
  readonly configFile: string;
  /** How errors name the config file (as the user gave it). */
  readonly configDisplay: string;
  readonly reporter: Reporter;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** For the GitHub API (pull-request comments): the action's github-token input, or GITHUB_TOKEN on the CLI. */
  readonly githubToken?: string | undefined;
  /**
   * Every value that must never be written: registered secrets, the GitHub token, credential-looking
   * environment variables. Records, reports, comments, labels and exports go through it.
   */
  readonly secrets: SecretMasker;
  /** Aborted when the run is interrupted (SIGINT, SIGTERM): long work stops, cleans up and says what it did. */
  readonly signal: AbortSignal;
}

export interface OptionSpec {
  readonly type: 'boolean' | 'string';
  readonly short?: string;
  readonly description: string;
  /** Name of the value in help text, for string options. */
  readonly value?: string;
  /** A string option that may be given more than once: its values arrive joined by commas. */
  readonly multiple?: boolean;
}

export type OptionValues = Readonly<Record<string, string | boolean | undefined>>;

/** A positional argument; its value arrives in OptionValues under `name`. */
export interface ArgumentSpec {
  readonly name: string;
  readonly description: string;
  /** May be left out (only after the required ones). */
  readonly optional?: boolean;
}

export interface CommandDefinition {
  /** The words that name it: `['data', 'snapshot']` is `mlship data snapshot`. */
  readonly words: readonly string[];
  readonly description: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Positional arguments, in order. */
  readonly arguments?: readonly ArgumentSpec[];
  /** Output name → description; the same names appear in action.yml. */
  readonly outputs: Readonly<Record<string, string>>;
  /** The output printed on stdout by the CLI without --json (for `$(mlship …)`), if any. */
  readonly primaryOutput?: string;
  /** How the CLI prints the primary output without --json, when not as its plain text (say, YAML). */
  readonly primaryText?: (outputs: Readonly<Record<string, OutputValue>>) => string;
  /**
   * The command writes the workspace or its outputs: it runs holding the workspace lock
   * (`.mlship/workspace.lock`), so two such commands never interleave. Such a command takes
   * WORKSPACE_LOCK_OPTIONS (`--wait`).
   */
  readonly locksWorkspace?: boolean;
  run(options: OptionValues, context: CommandContext): Promise<CommandResult>;
}

/** The options of a command that locks the workspace. */
export const WORKSPACE_LOCK_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  wait: {
    type: 'string',
    value: 'DURATION',
    description: 'When another mlship command is using the workspace, wait up to DURATION (30s, 5m, 1h) for it to finish instead of failing.',
  },
};

export function commandName(definition: CommandDefinition): string {
  return definition.words.join(' ');
}
