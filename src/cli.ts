import module from 'node:module';

// The `mlship` command. Compiled code is cached between runs (in the OS temp directory): compiling
// the bundle costs more than a no-op `data snapshot` of 10,000 files. The cache must be enabled
// before the code is loaded, hence the dynamic import.
module.enableCompileCache?.();
const { dropBundledUrlParseWarning } = await import('./adapters/runtime/node-warnings.js');
dropBundledUrlParseWarning();
await import('./cli/run-cli.js');
