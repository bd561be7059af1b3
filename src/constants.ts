/** Action input names, as declared in action.yml. */
export const Inputs = {
  Command: 'command',
  Config: 'config',
  WorkingDirectory: 'working-directory',
  GithubToken: 'github-token',
} as const;

export const DEFAULT_CONFIG_FILE = 'mlship.yml';
