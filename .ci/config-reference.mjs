// Rewrites the README's mlship.yml reference (between the config-reference markers) from the zod
// schema (src/config/reference.ts), so the reference and what mlship accepts never disagree.
// `node .ci/config-reference.mjs`; test/config/reference.test.ts checks the result.
import { build } from 'esbuild';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Inside the repository, so the bundle's external packages resolve from node_modules.
await mkdir(path.join(root, 'node_modules', '.cache'), { recursive: true });
const scratch = await mkdtemp(path.join(root, 'node_modules', '.cache', 'mlship-reference-'));
try {
  const module = path.join(scratch, 'reference.mjs');
  await build({ absWorkingDir: root, entryPoints: ['src/config/reference.ts'], outfile: module, bundle: true, format: 'esm', platform: 'node', packages: 'external', logLevel: 'warning' });
  const { configReference, replaceReference, REFERENCE_START, REFERENCE_END } = await import(pathToFileURL(module).href);
  const file = path.join(root, 'README.md');
  const text = await readFile(file, 'utf8');
  const updated = replaceReference(text, configReference());
  if (updated === undefined) throw new Error(`README.md has no ${REFERENCE_START} … ${REFERENCE_END} markers`);
  await writeFile(file, updated);
  console.log(`README.md: mlship.yml reference rewritten`);
} finally {
  await rm(scratch, { recursive: true, force: true });
}
