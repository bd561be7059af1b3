import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InfrastructureError } from '../../errors.js';

/**
 * The `templates/` directory mlship ships (workflows, the example project). It sits at the top of
 * the package, beside `dist/` and `src/`: found by walking up from this module, wherever the
 * bundler put it (dist/cli.js, dist/chunks/…, or src/ under the tests).
 */
export function templatesDirectory(start = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let directory = start; ; directory = path.dirname(directory)) {
    if (existsSync(path.join(directory, 'templates', 'workflows'))) return path.join(directory, 'templates');
    if (path.dirname(directory) === directory) {
      throw new InfrastructureError(`mlship's templates/ directory is missing (looked in every parent of ${start}); reinstall mlship`);
    }
  }
}

/** Every file under `directory`, as POSIX paths relative to it, sorted. */
export function filesUnder(directory: string): string[] {
  return (readdirSync(directory, { recursive: true }) as string[])
    .filter((name) => statSync(path.join(directory, name)).isFile())
    .map((name) => name.split(path.sep).join('/'))
    .sort();
}

