// Rewrites the outputs section of action.yml from the commands' own output declarations
// (src/commands/*), so action.yml and `mlship <command> --help` never disagree.
// `node .ci/sync-action-outputs.mjs`; test/action checks the result.
import { build } from 'esbuild';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stringify } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Inside the repository, so the bundle's external packages resolve from node_modules.
await mkdir(path.join(root, 'node_modules', '.cache'), { recursive: true });
const scratch = await mkdtemp(path.join(root, 'node_modules', '.cache', 'mlship-outputs-'));
try {
  const module = path.join(scratch, 'commands.mjs');
  await build({ absWorkingDir: root, entryPoints: ['src/commands/index.ts'], outfile: module, bundle: true, format: 'esm', platform: 'node', packages: 'external', logLevel: 'warning' });
  const { allOutputs } = await import(pathToFileURL(module).href);
  const outputs = Object.fromEntries([...allOutputs()].map(([name, description]) => [name, { description }]));
  const file = path.join(root, 'action.yml');
  const text = await readFile(file, 'utf8');
  const start = text.indexOf('\noutputs:\n');
  const end = text.indexOf('\nruns:\n');
  const section = stringify({ outputs }, { lineWidth: 0 }).trimEnd();
  await writeFile(file, `${text.slice(0, start + 1)}${section}${text.slice(end)}`);
  console.log(`action.yml: ${Object.keys(outputs).length} outputs`);
} finally {
  await rm(scratch, { recursive: true, force: true });
}
