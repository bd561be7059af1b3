import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, nodeBinary } from './helpers/bundle.js';
import { temporaryDirectory } from './helpers/project.js';

function listFiles(root: string): string[] {
  return (readdirSync(root, { recursive: true }) as string[]).filter((name) => statSync(path.join(root, name)).isFile()).sort();
}

describe('dist/', () => {
  it('is exactly what the build makes from src/ (rebuild and commit it with every src change)', () => {
    const fresh = temporaryDirectory('mlship-dist-');
    execFileSync(nodeBinary(), [path.join(REPO_ROOT, '.ci/build.mjs'), '--outdir', fresh], { cwd: REPO_ROOT, stdio: 'pipe' });
    const committed = path.join(REPO_ROOT, 'dist');
    const files = listFiles(fresh);
    expect(listFiles(committed)).toEqual(files);
    for (const file of files) {
      const a = readFileSync(path.join(fresh, file));
      const b = readFileSync(path.join(committed, file));
      expect(b.equals(a), `dist/${file} is stale: run npm run build`).toBe(true);
    }
  }, 120_000);
});
