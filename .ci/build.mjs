// Builds the committed bundle: dist/index.js (the action), dist/cli.js (the `mlship` command),
// their shared chunks, and dist/mlship.schema.json (the config's JSON Schema for editors).
// `node .ci/build.mjs [--outdir DIR]`; the staleness test builds into a temp dir and compares.
import { build } from 'esbuild';
import { mkdtemp, rm, writeFile, mkdir, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outIndex = process.argv.indexOf('--outdir');
const outdir = outIndex > 0 ? path.resolve(process.argv[outIndex + 1]) : path.join(root, 'dist');

// CommonJS dependencies (dockerode, ssh2, the AWS SDK) call require() for Node builtins and read
// __dirname; in an ES module those come from import.meta.url.
const banner = [
  '#!/usr/bin/env node',
  "import { createRequire as __mlshipCreateRequire } from 'node:module';",
  "import { fileURLToPath as __mlshipFileURLToPath } from 'node:url';",
  "import { dirname as __mlshipDirname } from 'node:path';",
  'const require = __mlshipCreateRequire(import.meta.url);',
  'const __filename = __mlshipFileURLToPath(import.meta.url);',
  'const __dirname = __mlshipDirname(__filename);',
].join('\n');

// ssh2 (under dockerode) loads optional native addons inside try/catch and falls back to
// JavaScript. Whether npm compiled them depends on the machine, so the bundle never includes them:
// each `.node` require becomes a module that throws, and the fallback runs. The same source then
// always gives the same dist/.
const nativeAddonsStub = {
  name: 'native-addons-stub',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /\.node$/ }, (args) => ({ path: args.path, namespace: 'native-addon' }));
    pluginBuild.onLoad({ filter: /.*/, namespace: 'native-addon' }, () => ({
      contents: "throw new Error('native addons are not bundled; the JavaScript fallback is used');",
      loader: 'js',
    }));
  },
};

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });
await build({
  absWorkingDir: root,
  entryPoints: { index: 'src/main.ts', cli: 'src/cli.ts' },
  outdir,
  bundle: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node24',
  banner: { js: banner },
  legalComments: 'linked',
  logLevel: 'warning',
  metafile: false,
  plugins: [nativeAddonsStub],
});
// Chunks are imported, not run: they need no shebang, but the require shim does no harm.

// The JSON Schema comes from the same zod schema the code validates with.
const scratch = await mkdtemp(path.join(tmpdir(), 'mlship-schema-'));
try {
  const schemaModule = path.join(scratch, 'schema.mjs');
  await build({
    absWorkingDir: root,
    entryPoints: ['src/config/schema.ts'],
    outfile: schemaModule,
    bundle: true,
    format: 'esm',
    platform: 'node',
    logLevel: 'warning',
  });
  const { configJsonSchema } = await import(pathToFileURL(schemaModule).href);
  await writeFile(path.join(outdir, 'mlship.schema.json'), `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
} finally {
  await rm(scratch, { recursive: true, force: true });
}
const files = await readdir(outdir, { recursive: true });
console.log(`built ${files.length} files in ${path.relative(root, outdir) || outdir}`);
