// Benchmark for mlship's ranking metrics (issue: evaluation metrics): ROC AUC + ROC curve +
// average precision on N predictions, beside scikit-learn's roc_auc_score +
// average_precision_score on the same data in the same run. Prints a table; asserts nothing.
//
//   node bench/evaluate-metrics.mjs [--rows 10000000]
//
// The labels and scores are generated once, deterministically, and written to binary files both
// sides read (Float64 and Uint8, little-endian), so the values can be compared to the last bit.
// mlship's side is src/domain/metrics bundled with esbuild; each side runs in its own process,
// whose peak RSS (getrusage's maxrss) is reported as its memory.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const rows = arg('rows', 10_000_000);
const python = '/usr/bin/python3'; // Debian's, which has numpy and scikit-learn

/**
 * A plausible classifier's output: 30% positives; the score is a logistic of a normal margin
 * shifted by the label, so AUC is about 0.84 and nearly every score is distinct (the hard case:
 * one ROC point per row). Seeded xorshift-style generator; Box–Muller for the normals.
 */
function generate(n) {
  const labels = new Uint8Array(n);
  const scores = new Float64Array(n);
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
    scores[i] = 1 / (1 + Math.exp(-(normal + (label === 1 ? 1.4 : 0) - 1.2)));
  }
  return { labels, scores };
}

const mlshipRunner = `
import { readFileSync, writeFileSync } from 'node:fs';
const [bundle, dir] = process.argv.slice(2);
const m = await import(bundle);
const read = (file, Type) => {
  const bytes = readFileSync(dir + '/' + file);
  return new Type(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};
const labels = read('labels.u8', Uint8Array);
const scores = read('scores.f64', Float64Array);
const seconds = (work) => { const t = process.hrtime.bigint(); const value = work(); return [Number(process.hrtime.bigint() - t) / 1e9, value]; };
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
// One sort serves all three: the way evaluateBinary computes them.
const shared = [];
let result;
for (let run = 0; run < 3; run += 1) {
  const [time, value] = seconds(() => {
    const ranking = m.rank(labels, scores);
    return { auc: m.rocAucOf(ranking), curve: m.rocCurveOf(ranking), ap: m.averagePrecisionOf(ranking) };
  });
  shared.push(time);
  result = value;
}
// The three public functions, each sorting on its own (as scikit-learn's calls do).
const separate = [];
for (let run = 0; run < 3; run += 1) {
  separate.push(seconds(() => { m.rocAuc(labels, scores); m.rocCurve(labels, scores); m.averagePrecision(labels, scores); })[0]);
}
writeFileSync(dir + '/fpr.f64', result.curve.fpr);
writeFileSync(dir + '/tpr.f64', result.curve.tpr);
writeFileSync(dir + '/thresholds.f64', result.curve.thresholds);
console.log(JSON.stringify({
  shared: median(shared), separate: median(separate), auc: result.auc, ap: result.ap,
  rocPoints: result.curve.fpr.length, maxRssMiB: process.resourceUsage().maxRSS / 1024,
}));
`;

const sklearnRunner = `
import json, resource, sys, time
import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve
d = sys.argv[1]
labels = np.fromfile(d + '/labels.u8', dtype=np.uint8)
scores = np.fromfile(d + '/scores.f64', dtype='<f8')
started = time.perf_counter()
auc = roc_auc_score(labels, scores)
ap = average_precision_score(labels, scores)
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
# Untimed: the curve, compared point by point with mlship's.
fpr, tpr, thresholds = roc_curve(labels, scores)
ours = {k: np.fromfile(d + '/' + k + '.f64', dtype='<f8') for k in ('fpr', 'tpr', 'thresholds')}
same_length = all(len(ours[k]) == len(v) for k, v in (('fpr', fpr), ('tpr', tpr), ('thresholds', thresholds)))
diff = lambda a, b: float(np.max(np.abs(a - b))) if same_length else None
print(json.dumps({
    'seconds': seconds, 'auc': float(auc), 'ap': float(ap), 'maxRssMiB': peak, 'rocPoints': len(fpr),
    'fprDiff': diff(ours['fpr'], fpr), 'tprDiff': diff(ours['tpr'], tpr), 'thresholdDiff': diff(ours['thresholds'], thresholds),
}))
`;

function run(command, args) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (result.status !== 0) throw new Error(`${command} failed (${result.status}): ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop());
}

const dir = mkdtempSync(path.join(tmpdir(), 'mlship-bench-metrics-'));
try {
  const { labels, scores } = generate(rows);
  writeFileSync(path.join(dir, 'labels.u8'), labels);
  writeFileSync(path.join(dir, 'scores.f64'), scores);
  const bundle = path.join(dir, 'metrics.mjs');
  await build({ absWorkingDir: root, entryPoints: ['src/domain/metrics/index.ts'], outfile: bundle, bundle: true, format: 'esm', platform: 'node', target: 'node24', logLevel: 'warning' });
  writeFileSync(path.join(dir, 'mlship-runner.mjs'), mlshipRunner);
  writeFileSync(path.join(dir, 'sklearn-runner.py'), sklearnRunner);

  console.log(`ROC AUC + ROC curve + average precision on ${rows.toLocaleString('en')} predictions; node ${process.version}`);
  const mlship = run(process.execPath, [path.join(dir, 'mlship-runner.mjs'), pathToFileURL(bundle).href, dir]);
  const sklearnVersion = spawnSync(python, ['-c', 'import sklearn; print(sklearn.__version__)'], { encoding: 'utf8' }).stdout.trim();
  const sklearn = run(python, [path.join(dir, 'sklearn-runner.py'), dir]);

  const mib = (value) => `${value.toFixed(0)} MiB`;
  console.table([
    { tool: 'mlship (one sort: rank + AUC + ROC curve + AP)', seconds: mlship.shared.toFixed(2), 'peak RSS': mib(mlship.maxRssMiB), auc: mlship.auc, 'average precision': mlship.ap },
    { tool: 'mlship (rocAuc + rocCurve + averagePrecision, a sort each)', seconds: mlship.separate.toFixed(2), 'peak RSS': '', auc: '', 'average precision': '' },
    { tool: `scikit-learn ${sklearnVersion} (roc_auc_score + average_precision_score)`, seconds: sklearn.seconds.toFixed(2), 'peak RSS': mib(sklearn.maxRssMiB), auc: sklearn.auc, 'average precision': sklearn.ap },
  ]);
  console.log(`mlship vs scikit-learn: ${(sklearn.seconds / mlship.shared).toFixed(1)}x faster with one sort, ${(sklearn.seconds / mlship.separate).toFixed(1)}x with a sort per metric (target >= 4x)`);
  console.log(`|AUC difference| ${Math.abs(mlship.auc - sklearn.auc).toExponential(2)}, |AP difference| ${Math.abs(mlship.ap - sklearn.ap).toExponential(2)} (target <= 1e-9)`);
  console.log(
    `ROC curve: ${mlship.rocPoints.toLocaleString('en')} points (scikit-learn ${sklearn.rocPoints.toLocaleString('en')}); ` +
      (sklearn.fprDiff === null
        ? 'lengths differ'
        : `max |difference| fpr ${sklearn.fprDiff.toExponential(2)}, tpr ${sklearn.tprDiff.toExponential(2)}, thresholds ${sklearn.thresholdDiff.toExponential(2)}`),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
