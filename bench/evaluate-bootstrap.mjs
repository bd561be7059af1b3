// Benchmark for evaluate's bootstrap confidence intervals (issue 8), N rows × R resamples, in two parts:
// 1. the paired bootstrap of the ROC AUC difference between a candidate and a baseline, beside the
//    implementation before the resample kernel (commit 7b930d0, one thread) and a numpy/scikit-learn
//    bootstrap loop of the same size;
// 2. every interval `mlship evaluate` computes for gates "auc >= 0.80 at 95%" and "auc no worse than
//    production at 95%" (the report's interval of each standard metric and the paired difference),
//    before (one bootstrap per interval, as 842f21f's evaluate ran them when the issue was filed)
//    and now (one bootstrap for all, services/scoring.ts as evaluate calls it).
// All in the same run. Prints tables and the ratios; asserts nothing but equal intervals.
//
//   node bench/evaluate-bootstrap.mjs [--rows 200000] [--resamples 1000] [--no-sklearn]
//
// The labels and scores are generated once, deterministically, and written to binary files every
// side reads. Each side runs in its own process; CPU seconds are the process's (all its threads).
// Old and new draw the same resamples from the same seed, so their intervals must be equal to the
// last bit; scikit-learn's loop draws its own (numpy's generator), so its interval only agrees
// to within the bootstrap's noise.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const rows = arg('rows', 200_000);
const resamples = arg('resamples', 1000);
const withSklearn = !process.argv.includes('--no-sklearn');
const reference = '7b930d0'; // the last commit before the resample kernel (its metrics are 842f21f's, when the issue was filed)
const python = '/usr/bin/python3'; // Debian's, with numpy and scikit-learn (apt-get install python3-sklearn)

/**
 * A candidate with AUC about 0.84 and a baseline that shares most of its signal: 30% positives,
 * scores a logistic of a normal margin, nearly all distinct (one ranking group per row, the hard case).
 */
function generate(n) {
  const labels = new Uint8Array(n);
  const candidate = new Float64Array(n);
  const baseline = new Float64Array(n);
  let s = 0x9e3779b9;
  const uniform = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) + 0.5) / 2 ** 32;
  };
  for (let i = 0; i < n; i += 1) {
    const label = uniform() < 0.3 ? 1 : 0;
    const normal = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
    labels[i] = label;
    candidate[i] = 1 / (1 + Math.exp(-(normal + (label === 1 ? 1.4 : 0) - 1.2)));
    baseline[i] = 1 / (1 + Math.exp(-(normal + 0.5 * (uniform() - 0.5) + (label === 1 ? 1.2 : 0) - 1.2)));
  }
  return { labels, candidate, baseline };
}

const readInputs = `
import { readFileSync } from 'node:fs';
const read = (dir, file, Type) => {
  const bytes = readFileSync(dir + '/' + file);
  return new Type(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};
export const inputs = (dir) => ({ labels: read(dir, 'labels.u8', Uint8Array), candidate: read(dir, 'candidate.f64', Float64Array), baseline: read(dir, 'baseline.f64', Float64Array) });
export const timed = async (work) => {
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  const value = await work();
  const used = process.cpuUsage(cpu);
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, cpuSeconds: (used.user + used.system) / 1e6, value };
};
`;

// The implementation before: its own pairedBootstrapDifference, on one thread.
const oldRunner = `
import { inputs, timed } from './inputs.mjs';
const [bundle, dir, resamples] = process.argv.slice(2);
const m = await import(bundle);
const { labels, candidate, baseline } = inputs(dir);
const run = await timed(() => m.pairedBootstrapDifference(labels, candidate, baseline, m.rocAuc, { resamples: Number(resamples), seed: 1, confidence: 0.95 }));
console.log(JSON.stringify({ seconds: run.seconds, cpuSeconds: run.cpuSeconds, low: run.value.low, high: run.value.high, estimate: run.value.estimate }));
`;

// Evaluate's intervals before (842f21f's commands/evaluate: the same metric code as 7b930d0): with a
// gate at some confidence, the report showed an interval for each of the eight standard metrics,
// each its own bootstrap, and each paired gate had its own paired bootstrap.
const oldEvaluateRunner = `
import { inputs, timed } from './inputs.mjs';
const [bundle, dir, resamples] = process.argv.slice(2);
const m = await import(bundle);
const { labels, candidate, baseline } = inputs(dir);
const options = { resamples: Number(resamples), seed: 1, confidence: 0.95 };
const threshold = 0.5;
const functions = {
  auc: m.rocAuc, average_precision: m.averagePrecision, log_loss: m.logLoss, brier: m.brierScore,
  accuracy: (l, s) => m.accuracy(l, s, threshold), precision: (l, s) => m.precision(l, s, threshold),
  recall: (l, s) => m.recall(l, s, threshold), f1: (l, s) => m.f1(l, s, threshold),
};
const run = await timed(() => {
  const intervals = {};
  for (const [metric, fn] of Object.entries(functions)) {
    const { low, high } = m.bootstrapInterval({ labels, scores: candidate }, fn, options);
    intervals[metric] = [low, high];
  }
  const { low, high } = m.pairedBootstrapDifference(labels, candidate, baseline, m.rocAuc, options);
  intervals['auc − production'] = [low, high];
  return intervals;
});
console.log(JSON.stringify({ seconds: run.seconds, cpuSeconds: run.cpuSeconds, intervals: run.value }));
`;

// Evaluate's intervals now: services/scoring's bootstrapIntervals as evaluate calls it (one seeded
// bootstrap for every metric and the paired difference, on worker threads, comparing with the
// baseline only the metrics the gates compare), scoring both files included.
const newEvaluateRunner = `
import { inputs, timed } from './inputs.mjs';
const [bundle, dir, resamples] = process.argv.slice(2);
const m = await import(bundle);
const { labels, candidate, baseline } = inputs(dir);
const settings = { threshold: 0.5, scores: 'probability', resamples: Number(resamples), seed: 1 };
const run = await timed(async () => {
  const scored = m.scorePredictions({ labels, scores: candidate }, settings);
  const production = m.scorePredictions({ labels, scores: baseline }, settings);
  const gates = [{ metric: 'auc', min: 0.8, confidence: 0.95 }, { metric: 'auc', baseline: 'production', max_drop: 0.01, confidence: 0.95 }];
  const found = await m.bootstrapIntervals(scored, [production], settings, { pairedMetrics: m.pairedIntervalMetrics(gates) });
  const intervals = {};
  for (const metric of m.STANDARD_METRICS) {
    const { low, high } = found.interval(metric, 0.95);
    intervals[metric] = [low, high];
  }
  const { low, high } = found.difference(production, 'auc', 0.95);
  intervals['auc − production'] = [low, high];
  return intervals;
});
console.log(JSON.stringify({ seconds: run.seconds, cpuSeconds: run.cpuSeconds, intervals: run.value }));
`;

// Today's: the same function (the kernel on this thread), and the kernel on worker threads as evaluate runs it.
const newRunner = `
import { inputs, timed } from './inputs.mjs';
const [bundle, dir, resamples, mode] = process.argv.slice(2);
const m = await import(bundle);
const { labels, candidate, baseline } = inputs(dir);
const options = { resamples: Number(resamples), seed: 1, confidence: 0.95 };
let run;
if (mode === 'one-thread') {
  run = await timed(() => m.pairedBootstrapDifference(labels, candidate, baseline, m.rocAuc, options));
} else {
  run = await timed(async () => {
    const views = [m.resampleView({ labels, scores: candidate }, 'rows', ['auc']), m.resampleView({ labels, scores: baseline }, 'rows', ['auc'])];
    const plan = m.resamplePlan(views);
    const values = await m.resampleOnThreads(plan, m.seedState(options.seed), options.resamples, {});
    return new m.ResampleValues(values, options.resamples, views.length).difference(0, 1, 'auc', options.confidence);
  });
}
console.log(JSON.stringify({ seconds: run.seconds, cpuSeconds: run.cpuSeconds, low: run.value.low, high: run.value.high }));
`;
const newEntry = `
export { pairedBootstrapDifference, rocAuc, resampleView, resamplePlan, seedState, ResampleValues } from '${path.join(root, 'src/domain/metrics/index.ts')}';
export { resampleOnThreads } from '${path.join(root, 'src/adapters/threads/resample-pool.ts')}';
export { scorePredictions, bootstrapIntervals, STANDARD_METRICS } from '${path.join(root, 'src/services/scoring.ts')}';
export { pairedIntervalMetrics } from '${path.join(root, 'src/domain/gate/gates.ts')}';
`;

const sklearnRunner = `
import json, resource, sys, time
import numpy as np
import sklearn
from sklearn.metrics import roc_auc_score
d, resamples = sys.argv[1], int(sys.argv[2])
labels = np.fromfile(d + '/labels.u8', dtype=np.uint8)
candidate = np.fromfile(d + '/candidate.f64', dtype='<f8')
baseline = np.fromfile(d + '/baseline.f64', dtype='<f8')
n = len(labels)
rng = np.random.default_rng(1)
started, cpu = time.perf_counter(), time.process_time()
differences = []
for _ in range(resamples):
    rows = rng.integers(0, n, n)
    y = labels[rows]
    if y.min() == y.max():
        continue
    differences.append(roc_auc_score(y, candidate[rows]) - roc_auc_score(y, baseline[rows]))
low, high = np.percentile(differences, [2.5, 97.5])
print(json.dumps({'seconds': time.perf_counter() - started, 'cpuSeconds': time.process_time() - cpu, 'low': float(low), 'high': float(high), 'version': sklearn.__version__}))
`;

function run(command, args) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop());
}

/** The reference's metrics (and the errors module they import) as they were at that commit, bundled. */
async function bundleReference(dir) {
  const source = path.join(dir, 'reference');
  const files = execFileSync('git', ['ls-tree', '--name-only', '-r', reference, 'src/domain/metrics/', 'src/errors.ts'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const file of files) {
    mkdirSync(path.join(source, path.dirname(file)), { recursive: true });
    writeFileSync(path.join(source, file), execFileSync('git', ['show', `${reference}:${file}`], { cwd: root }));
  }
  const outfile = path.join(dir, 'reference.mjs');
  await build({ entryPoints: [path.join(source, 'src/domain/metrics/index.ts')], outfile, bundle: true, format: 'esm', platform: 'node', target: 'node24', logLevel: 'warning' });
  return outfile;
}

const dir = mkdtempSync(path.join(tmpdir(), 'mlship-bench-bootstrap-'));
try {
  const { labels, candidate, baseline } = generate(rows);
  writeFileSync(path.join(dir, 'labels.u8'), labels);
  writeFileSync(path.join(dir, 'candidate.f64'), candidate);
  writeFileSync(path.join(dir, 'baseline.f64'), baseline);
  writeFileSync(path.join(dir, 'inputs.mjs'), readInputs);
  writeFileSync(path.join(dir, 'old-runner.mjs'), oldRunner);
  writeFileSync(path.join(dir, 'new-runner.mjs'), newRunner);
  writeFileSync(path.join(dir, 'old-evaluate-runner.mjs'), oldEvaluateRunner);
  writeFileSync(path.join(dir, 'new-evaluate-runner.mjs'), newEvaluateRunner);
  writeFileSync(path.join(dir, 'new-entry.mjs'), newEntry);
  writeFileSync(path.join(dir, 'sklearn-runner.py'), sklearnRunner);
  const oldBundle = await bundleReference(dir);
  const newBundle = path.join(dir, 'current.mjs');
  await build({ absWorkingDir: root, entryPoints: [path.join(dir, 'new-entry.mjs')], outfile: newBundle, bundle: true, format: 'esm', platform: 'node', target: 'node24', logLevel: 'warning' });

  const load = (await import('node:os')).loadavg()[0].toFixed(1);
  console.log(`paired bootstrap of the ROC AUC difference: ${rows.toLocaleString('en')} rows × ${resamples.toLocaleString('en')} resamples, 95%; node ${process.version}, ${(await import('node:os')).availableParallelism()} cores, load average ${load}`);
  const old = run(process.execPath, [path.join(dir, 'old-runner.mjs'), pathToFileURL(oldBundle).href, dir, String(resamples)]);
  const oneThread = run(process.execPath, [path.join(dir, 'new-runner.mjs'), pathToFileURL(newBundle).href, dir, String(resamples), 'one-thread']);
  const threads = run(process.execPath, [path.join(dir, 'new-runner.mjs'), pathToFileURL(newBundle).href, dir, String(resamples), 'threads']);
  const sklearnOk = withSklearn && spawnSync(python, ['-c', 'import sklearn'], { encoding: 'utf8' }).status === 0;
  const sklearn = sklearnOk ? run(python, [path.join(dir, 'sklearn-runner.py'), dir, String(resamples)]) : undefined;

  const rowOf = (tool, r) => ({ tool, seconds: r.seconds.toFixed(2), 'CPU seconds': r.cpuSeconds.toFixed(2), low: r.low, high: r.high });
  console.table([
    rowOf(`before (${reference}), one thread`, old),
    rowOf('now, one thread (pairedBootstrapDifference)', oneThread),
    rowOf('now, worker threads (as evaluate runs it)', threads),
    ...(sklearn ? [rowOf(`numpy + scikit-learn ${sklearn.version} loop (roc_auc_score × 2 per resample)`, sklearn)] : []),
  ]);
  const same = (r) => r.low === old.low && r.high === old.high;
  console.log(`now vs before: ${(old.seconds / threads.seconds).toFixed(1)}x faster with worker threads, ${(old.seconds / oneThread.seconds).toFixed(1)}x on one thread (target >= 10x); CPU ${(old.cpuSeconds / threads.cpuSeconds).toFixed(1)}x less`);
  if (sklearn) console.log(`now vs scikit-learn: ${(sklearn.seconds / threads.seconds).toFixed(1)}x faster with worker threads, ${(sklearn.seconds / oneThread.seconds).toFixed(1)}x on one thread`);
  else console.log('scikit-learn: not run (Debian python3-sklearn not installed, or --no-sklearn)');
  console.log(`intervals equal to the last bit (same seed, same resamples): one thread ${same(oneThread) ? 'yes' : 'NO'}, worker threads ${same(threads) ? 'yes' : 'NO'}`);
  if (!same(oneThread) || !same(threads)) process.exitCode = 1;

  // 2. What `mlship evaluate` computes with gates at a confidence (the issue's 28.7 s was this, measured before).
  console.log('');
  console.log(`evaluate's intervals, gates "auc >= 0.80 at 95%" and "auc no worse than production at 95%": the report's interval of each of the 8 standard metrics and the paired difference`);
  const oldEvaluate = run(process.execPath, [path.join(dir, 'old-evaluate-runner.mjs'), pathToFileURL(oldBundle).href, dir, String(resamples)]);
  const newEvaluate = run(process.execPath, [path.join(dir, 'new-evaluate-runner.mjs'), pathToFileURL(newBundle).href, dir, String(resamples)]);
  console.table([
    { tool: `before (${reference}: 8 bootstraps + 1 paired), one thread`, seconds: oldEvaluate.seconds.toFixed(2), 'CPU seconds': oldEvaluate.cpuSeconds.toFixed(2) },
    { tool: 'now (one bootstrap for every interval, worker threads)', seconds: newEvaluate.seconds.toFixed(2), 'CPU seconds': newEvaluate.cpuSeconds.toFixed(2) },
  ]);
  const differing = Object.keys(oldEvaluate.intervals).filter((k) => String(oldEvaluate.intervals[k]) !== String(newEvaluate.intervals[k]));
  console.log(`now vs before: ${(oldEvaluate.seconds / newEvaluate.seconds).toFixed(1)}x faster (target >= 10x); CPU ${(oldEvaluate.cpuSeconds / newEvaluate.cpuSeconds).toFixed(1)}x less`);
  console.log(`all ${Object.keys(oldEvaluate.intervals).length} intervals equal to the last bit: ${differing.length === 0 ? 'yes' : `NO (${differing.join(', ')})`}`);
  if (differing.length > 0) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
