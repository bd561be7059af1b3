import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(REPO_ROOT, 'dist/cli.js');
export const ACTION = path.join(REPO_ROOT, 'dist/index.js');

/** The Node that runs the tests (Node 24, like the action's runtime). */
export function nodeBinary(): string {
  return process.execPath;
}
