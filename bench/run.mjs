// Runs every benchmark in turn. Each prints its own figures and reference-tool ratios.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const benchmarks = ['data-snapshot.mjs', 'train-cache.mjs', 'evaluate-metrics.mjs', 'evaluate-bootstrap.mjs', 'image-build.mjs', 'deploy-smoke.mjs', 'promote.mjs', 'drift.mjs'];
let failed = false;
for (const name of benchmarks) {
  console.log(`\n=== ${name}`);
  const result = spawnSync(process.execPath, [path.join(here, name), ...process.argv.slice(2)], { stdio: 'inherit' });
  if (result.status !== 0) failed = true;
}
process.exitCode = failed ? 1 : 0;
