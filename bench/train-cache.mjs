// Benchmark for `mlship train` (issue 3): a cache hit on a repository with 1 GiB of data and a
// 100 MB model, beside `train --force` with a trivial training command; and registry lookups
// (`registry alias get`, the run-key lookup a cache hit does) with 10,000 recorded runs.
//
//   node bench/train-cache.mjs [--data-mib 1024] [--model-mib 100] [--runs 10000]
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, utimesSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist/cli.js');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const dataMiB = arg('data-mib', 1024);
const modelMiB = arg('model-mib', 100);
const runCount = arg('runs', 10_000);

const repo = mkdtempSync(path.join(tmpdir(), 'mlship-bench-train-'));
const git = (...args) => execFileSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@localhost', ...args], { cwd: repo, stdio: 'pipe' });
function mlship(...args) {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: repo, encoding: 'utf8', maxBuffer: 1 << 26 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`mlship ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return { ms, stdout: result.stdout, stderr: result.stderr };
}
const median = (n, f) => {
  const v = Array.from({ length: n }, f).sort((a, b) => a - b);
  return v[Math.floor(n / 2)];
};

try {
  console.log(`mlship train benchmark: ${dataMiB} MiB of data in 16 files, a ${modelMiB} MB model, ${runCount} runs in the registry; node ${process.version}`);
  mkdirSync(path.join(repo, 'data'));
  const shard = Buffer.allocUnsafe(Math.floor((dataMiB << 20) / 16));
  for (let i = 0; i < 16; i += 1) {
    randomFillSync(shard);
    writeFileSync(path.join(repo, 'data', `part-${i}.bin`), shard);
  }
  const past = new Date(Date.now() - 3600_000);
  for (const f of readdirSync(path.join(repo, 'data'))) utimesSync(path.join(repo, 'data', f), past, past);
  // A trivial training command: writes a model of the given size and a metric.
  writeFileSync(
    path.join(repo, 'train.sh'),
    `mkdir -p model && head -c ${modelMiB * 1000 * 1000} /dev/urandom > model/weights.bin && echo '{"auc": 0.9}' > metrics.json\n`,
  );
  writeFileSync(path.join(repo, '.gitignore'), '/data/\n/model/\n/metrics.json\n.mlship/\n');
  writeFileSync(
    path.join(repo, 'mlship.yml'),
    'version: 1\nname: bench\ndata:\n  paths: [data]\ntrain:\n  command: sh train.sh\n  outputs: { model: model, metrics: metrics.json }\n',
  );
  git('init', '-q');
  mlship('data', 'snapshot');
  git('add', '-A');
  git('commit', '-qm', 'bench');

  // 10,000 earlier runs in the registry, in its documented layout, plus an alias.
  const registry = path.join(repo, '.mlship/registry');
  for (const dir of ['runs', 'run-keys', 'models', 'aliases', 'history']) mkdirSync(path.join(registry, dir), { recursive: true });
  let lastModel = '';
  for (let i = 0; i < runCount; i += 1) {
    const id = `2026${String(1 + (i % 12)).padStart(2, '0')}01T${String(i).padStart(6, '0')}Z-${randomBytes(3).toString('hex')}`;
    const key = createHash('sha256').update(`key ${i}`).digest('hex');
    lastModel = createHash('sha256').update(`model ${i}`).digest('hex');
    const record = { schema: 1, id, key: `sha256:${key}`, project: 'bench', status: 'succeeded', startedAt: new Date().toISOString(), finishedAt: new Date().toISOString(), durationSeconds: 1, command: 'sh train.sh', git: { sha: 'a'.repeat(40), ref: 'main', tree: 'b'.repeat(40), dirty: false }, dataVersion: `sha256:${'d'.repeat(64)}`, params: { i }, metrics: { auc: 0.8 }, modelVersion: `sha256:${lastModel}`, outputs: {}, host: 'h', user: 'u', logTail: [] };
    writeFileSync(path.join(registry, 'runs', `${id}.json`), JSON.stringify(record));
    writeFileSync(path.join(registry, 'run-keys', key), `${id}\n`);
    writeFileSync(path.join(registry, 'models', `${lastModel}.json`), JSON.stringify({ schema: 1, version: `sha256:${lastModel}`, runId: id }));
  }
  writeFileSync(path.join(registry, 'aliases', 'production.json'), JSON.stringify({ alias: 'production', version: `sha256:${lastModel}`, setAt: 'now', setBy: 'bench' }));

  const first = mlship('train');
  const forced = median(3, () => mlship('train', '--force').ms);
  const hit = median(5, () => mlship('train', '--json').ms);
  const hitOutputs = JSON.parse(mlship('train', '--json').stdout);
  const restore = median(3, () => {
    rmSync(path.join(repo, 'model'), { recursive: true, force: true });
    return mlship('train').ms;
  });
  const aliasGet = median(5, () => mlship('registry', 'alias', 'get', 'production').ms);
  const nodeStart = median(5, () => {
    const s = process.hrtime.bigint();
    spawnSync(process.execPath, ['-e', '0']);
    return Number(process.hrtime.bigint() - s) / 1e6;
  });

  console.table([
    { case: `first train (trains, hashes and stores the ${modelMiB} MB model)`, ms: first.ms.toFixed(0) },
    { case: 'train --force (trivial command, same work as a real run)', ms: forced.toFixed(0) },
    { case: `cache hit, outputs on disk (target < 2000 ms)`, ms: hit.toFixed(0), 'vs --force': `${(forced / hit).toFixed(1)}x faster` },
    { case: `cache hit, model deleted: restored from the store`, ms: restore.toFixed(0), 'vs --force': `${(forced / restore).toFixed(1)}x faster` },
    { case: `registry alias get production, ${runCount} runs (target < 200 ms)`, ms: aliasGet.toFixed(0) },
    { case: 'bare node start-up, for reference', ms: nodeStart.toFixed(0) },
  ]);
  console.log(`cache hit reported: cache-hit=${hitOutputs['cache-hit']}, run ${hitOutputs['run-id']} (the run-key lookup among ${runCount + 1} runs is part of every cache-hit time above)`);
} finally {
  rmSync(repo, { recursive: true, force: true });
}
