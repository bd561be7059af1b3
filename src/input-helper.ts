import { realpathSync } from 'node:fs';
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
  readonly githubToken: string | undefined;
}

export function getActionSettings(): ActionSettings {
  const command = core.getInput(Inputs.Command);
  if (command.trim() === '') {
    throw new ConfigurationError(`input "${Inputs.Command}" is required: an mlship command such as "data push"`);
  }
  const workspace = path.resolve(process.env.GITHUB_WORKSPACE ?? process.cwd());
  const token = core.getInput(Inputs.GithubToken);
  return {
    commandWords: splitWords(command),
    config: core.getInput(Inputs.Config) || DEFAULT_CONFIG_FILE,
    workingDirectory: insideWorkspace(workspace, core.getInput(Inputs.WorkingDirectory) || '.'),
    githubToken: token === '' ? undefined : token,
  };
}

/**
 * The working directory, which must stay inside the workspace (symlinks resolved): a workflow
 * input must not point mlship at files the checkout does not hold.
 */
function insideWorkspace(workspace: string, input: string): string {
  const resolved = path.resolve(workspace, input);
  const real = (p: string): string => {
    try {
      return realpathSync(p);
    } catch {
      return p;
    }
  };
  const base = real(workspace);
  const target = real(resolved);
  if (target !== base && !target.startsWith(`${base}${path.sep}`)) {
    throw new ConfigurationError(`input "${Inputs.WorkingDirectory}": ${JSON.stringify(input)} leads outside the workspace ${workspace}; give a directory inside the checkout`);
  }
  return resolved;
}
