/** Reading templates/workflows/mlship-retrain.yml the way the tests need it: its mlship steps, their commands and expressions. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { COMMANDS } from '../../src/commands/index.js';
import { REPO_ROOT } from '../helpers/bundle.js';

export const RETRAIN_WORKFLOW = path.join(REPO_ROOT, 'templates/workflows/mlship-retrain.yml');

export interface WorkflowStep {
  readonly id?: string;
  readonly name?: string;
  readonly if?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, string>;
  readonly env?: Record<string, string>;
}

export interface Workflow {
  readonly on: Record<string, unknown>;
  readonly permissions?: Record<string, string>;
  readonly concurrency?: unknown;
  readonly jobs: Record<string, { permissions?: Record<string, string>; steps: WorkflowStep[] }>;
}

export function retrainWorkflow(): { text: string; workflow: Workflow } {
  const text = readFileSync(RETRAIN_WORKFLOW, 'utf8');
  return { text, workflow: parse(text) as Workflow };
}

export function isMlshipStep(step: WorkflowStep): boolean {
  return step.uses?.startsWith('mlship/mlship@') === true;
}

/** Commands this branch does not have yet (built elsewhere in parallel): their steps are checked once they exist. */
export const PENDING_COMMANDS = ['drift'];

export function isKnownCommand(word: string): boolean {
  return COMMANDS.some((command) => command.words[0] === word);
}

/** Every `${{ … }}` of a text. */
export function expressions(text: string): string[] {
  return [...text.matchAll(/\$\{\{\s*(.*?)\s*\}\}/g)].map((m) => m[1]!);
}
