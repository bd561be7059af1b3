// Benchmark for `mlship drift` (issue 11): N rows × F numeric features, reference vs a shifted
// current, as CSV. mlship's whole run (the bundled CLI: reading both files, every statistic, the
// report) beside SciPy's ks_2samp over the same columns (Debian's python3-scipy) in the same run.
// Prints per-feature times, the ratio, whether the KS statistics and p-values agree, and each
// side's peak memory (/usr/bin/time -v's maximum resident set). Asserts nothing.
//
//   npm run build && node_modules/.bin/node bench/drift.mjs [--rows 1000000] [--features 20]
//
// mlship runs under the Node that runs this script (Node 24 from node_modules/.bin, as the action
// runs it; the machine's `node` may be older).
//
// The machine has 2 cores and may be running other work: run it more than once and read the
// figures as a range. The data is written once to bench/out/drift and reused while its size matches.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, writeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const rows = arg('rows', 1_000_000);
const features = arg('features', 20);
const python = '/usr/bin/python3'; // Debian's, which has SciPy 1.10
const out = path.join(root, 'bench', 'out', 'drift');
const cli = path.join(root, 'dist', 'cli.js');
if (!existsSync(cli)) throw new Error('dist/cli.js is missing: run `npm run build` first');

/** Seeded xorshift; Box–Muller normals. Feature k of the current data is shifted by 0.01·k sd. */
function writeCsv(file, seed, shifted) {
  let s = seed >>> 0 || 1;
  const uniform = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) + 0.5) / 2 ** 32;
  };
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, `${Array.from({ length: features }, (_, k) => `f${k}`).join(',')}\n`);
    let chunk = [];
    for (let i = 0; i < rows; i++) {
      const row = new Array(features);
      for (let k = 0; k < features; k++) {
        const normal = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
        row[k] = (normal + (shifted ? 0.01 * k : 0)).toFixed(5);
      }
      chunk.push(row.join(','));
      if (chunk.length === 50_000) {
        writeSync(fd, `${chunk.join('\n')}\n`);
        chunk = [];
      }
    }
    if (chunk.length > 0) writeSync(fd, `${chunk.join('\n')}\n`);
  } finally {
    closeSync(fd);
  }
}

mkdirSync(out, { recursive: true });
const reference = path.join(out, `reference-${rows}x${features}.csv`);
const current = path.join(out, `current-${rows}x${features}.csv`);
if (!existsSync(reference) || !existsSync(current)) {
  process.stderr.write(`writing ${rows.toLocaleString('en-US')} rows × ${features} features, twice …\n`);
  writeCsv(reference, 0x9e3779b9, false);
  writeCsv(current, 0x85ebca6b, true);
}

/** Runs a command under /usr/bin/time -v: its wall time (s), peak RSS (MiB) and stdout. */
function timed(command, args, options = {}) {
  const started = process.hrtime.bigint();
  const result = spawnSync('/usr/bin/time', ['-v', command, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...options });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(result.stderr)?.[1];
  const user = Number(/User time \(seconds\): ([\d.]+)/.exec(result.stderr)?.[1]);
  const system = Number(/System time \(seconds\): ([\d.]+)/.exec(result.stderr)?.[1]);
  if (result.status !== 0 && result.status !== 1) throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${result.stderr}`);
  return { seconds, cpu: user + system, rssMiB: rss ? Number(rss) / 1024 : NaN, stdout: result.stdout };
}

// Other work on the machine slows both sides, the two-threaded one more: say how busy it was.
const loadAtStart = loadavg();

// mlship: the whole command, from the bundled CLI, in a throwaway project.
const project = path.join(out, 'project');
rmSync(project, { recursive: true, force: true });
mkdirSync(project, { recursive: true });
writeFileSync(path.join(project, 'mlship.yml'), 'version: 1\nname: bench\n');
const mlship = timed(process.execPath, [cli, 'drift', '--reference', reference, '--current', current, '--json'], { cwd: project });
const outputs = JSON.parse(mlship.stdout);
const scores = typeof outputs.scores === 'string' ? JSON.parse(outputs.scores) : outputs.scores;

// SciPy: read the same files (pandas, C parser), then ks_2samp column by column, each timed.
const scipyScript = `
import json, resource, sys, time
import numpy as np, pandas as pd
from scipy import stats
t = time.perf_counter(); c = time.process_time()
a = pd.read_csv(sys.argv[1], engine="c"); b = pd.read_csv(sys.argv[2], engine="c")
read = time.perf_counter() - t; read_cpu = time.process_time() - c
out = {"read": read, "readCpu": read_cpu, "features": {}}
for name in a.columns:
    x = a[name].to_numpy(); y = b[name].to_numpy()
    t = time.perf_counter(); c = time.process_time()
    r = stats.ks_2samp(x, y, method="auto")
    out["features"][name] = {"seconds": time.perf_counter() - t, "cpu": time.process_time() - c, "statistic": float(r.statistic), "pvalue": float(r.pvalue)}
print(json.dumps(out))
`;
const scipy = timed(python, ['-c', scipyScript, reference, current]);
const sp = JSON.parse(scipy.stdout);

const names = Object.keys(sp.features);
let maxStatisticGap = 0;
let maxPGap = 0;
for (const name of names) {
  const mine = scores[name].statistics;
  maxStatisticGap = Math.max(maxStatisticGap, Math.abs(mine.ks - sp.features[name].statistic));
  maxPGap = Math.max(maxPGap, Math.abs(mine.ks_pvalue - sp.features[name].pvalue));
}
const scipyKs = names.reduce((t, n) => t + sp.features[n].seconds, 0);
const scipyKsCpu = names.reduce((t, n) => t + sp.features[n].cpu, 0);
const perFeature = (seconds) => `${((seconds / names.length) * 1000).toFixed(1)} ms`;
const line = (label, value) => console.log(`${label.padEnd(58)}${value}`);
console.log(`mlship drift vs SciPy ks_2samp: ${rows.toLocaleString('en-US')} rows × ${features} numeric features (reference vs shifted current), CSV`);
line('mlship drift, whole run (read + every statistic + report)', `${mlship.seconds.toFixed(2)} s  = ${perFeature(mlship.seconds)} per feature`);
line('SciPy ks_2samp only (arrays in memory)', `${scipyKs.toFixed(2)} s  = ${perFeature(scipyKs)} per feature`);
line('SciPy read_csv (pandas, C) + ks_2samp', `${(scipyKs + sp.read).toFixed(2)} s  = ${perFeature(scipyKs + sp.read)} per feature`);
line('ratio (wall): SciPy ks_2samp only / mlship whole run', `${(scipyKs / mlship.seconds).toFixed(2)}×`);
line('ratio (wall): SciPy read + ks_2samp / mlship whole run', `${((scipyKs + sp.read) / mlship.seconds).toFixed(2)}×`);
// CPU seconds (user + system) are steadier than wall time on a shared machine.
line('CPU: mlship whole run / SciPy ks_2samp only', `${mlship.cpu.toFixed(2)} s / ${scipyKsCpu.toFixed(2)} s = ${perFeature(mlship.cpu)} / ${perFeature(scipyKsCpu)} per feature`);
line('ratio (CPU): SciPy ks_2samp only / mlship whole run', `${(scipyKsCpu / mlship.cpu).toFixed(2)}×`);
line('ratio (CPU): SciPy read + ks_2samp / mlship whole run', `${((scipyKsCpu + sp.readCpu) / mlship.cpu).toFixed(2)}×`);
line('max |KS statistic − SciPy|', `${maxStatisticGap.toExponential(2)} (target ≤ 1e-12)`);
line('max |KS p-value − SciPy|', `${maxPGap.toExponential(2)} (target ≤ 1e-6)`);
line('peak memory (max RSS): mlship / SciPy process', `${mlship.rssMiB.toFixed(0)} MiB / ${scipy.rssMiB.toFixed(0)} MiB`);
line('verdict', `${outputs['drift-verdict']}: ${outputs['drifted-features'].length} of ${names.length} features drifted`);
line('machine load (1, 5, 15 min) at start', loadAtStart.map((l) => l.toFixed(2)).join(', '));
