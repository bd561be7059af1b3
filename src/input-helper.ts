import path from 'node:path';
import * as core from '@actions/core';
import { splitWords } from './cli/words.js';
import { DEFAULT_CONFIG_FILE, Inputs } from './constants.js';
import { ConfigurationError } from './errors.js';

/** Every action input, read and checked once. */
export interface ActionSettings {
  readonly commandWords: readonly string[];
  readonly config: string;
  readonly workingDirectory: string;
  readonly environment: string | undefined;
  readonly githubToken: string | undefined;
}

export function getActionSettings(): ActionSettings {
  const command = core.getInput(Inputs.Command);
  if (command.trim() === '') {
    throw new ConfigurationError(`input "${Inputs.Command}" is required: an mlship command such as "data push"`);
  }
  const workspace = process.env.GITHUB_WORKSPACE ?? process.cwd();
  const environment = core.getInput(Inputs.Environment);
  const token = core.getInput(Inputs.GithubToken);
  return {
    commandWords: splitWords(command),
    config: core.getInput(Inputs.Config) || DEFAULT_CONFIG_FILE,
    workingDirectory: path.resolve(workspace, core.getInput(Inputs.WorkingDirectory) || '.'),
    environment: environment === '' ? undefined : environment,
    githubToken: token === '' ? undefined : token,
  };
}
