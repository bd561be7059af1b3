// Benchmark for `mlship data snapshot` and `data push` (issue 2), beside sha256sum and b3sum run
// on the same files in the same run. Prints a table; asserts nothing.
//
//   node bench/data-snapshot.mjs [--big-mib 1024] [--small-files 10000]
//
// The page cache is warmed before each timed pass so every tool reads from memory: the
// comparison is of hashing and file handling, not of the disk.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readdirSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist/cli.js');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const bigMiB = arg('big-mib', 1024);
const smallFiles = arg('small-files', 10_000);

function has(tool) {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

function time(command, args, options = {}) {
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, { maxBuffer: 1 << 30, encoding: 'utf8', ...options });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.status !== 0) throw new Error(`${command} ${args.slice(0, 3).join(' ')} failed: ${result.stderr}`);
  return { seconds, stdout: result.stdout };
}

/** Median of `runs` timings: robust to one noisy run on a shared machine. */
function median(runs, measure) {
  const values = [];
  for (let i = 0; i < runs; i += 1) values.push(measure());
  values.sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)];
}

function makeProject(name, write) {
  const dir = mkdtempSync(path.join(tmpdir(), `mlship-bench-${name}-`));
  write(path.join(dir, 'data'));
  writeFileSync(path.join(dir, 'mlship.yml'), `version: 1\nname: bench\ndata:\n  paths: [data]\n  store: file://${dir}-store\n`);
  // Data that has sat on disk a while (the stat cache does not trust files written this second).
  const past = new Date(Date.now() - 3600_000);
  for (const f of readdirSync(path.join(dir, 'data'))) utimesSync(path.join(dir, 'data', f), past, past);
  return dir;
}

function fileList(dir) {
  return readdirSync(path.join(dir, 'data')).sort().map((f) => path.join('data', f));
}

function mbps(bytes, seconds) {
  return bytes / 1e6 / seconds;
}

const rows = [];
function compare(label, dir, bytes) {
  const files = fileList(dir);
  const hashAll = (tool) => {
    // xargs keeps the argument list under the limit for 10,000 files; one process at a time, as a user would run it.
    return time('sh', ['-c', `printf '%s\\0' "$@" | xargs -0 ${tool} > /dev/null`, 'sh', ...files], { cwd: dir }).seconds;
  };
  hashAll('cat'); // warm the page cache
  const mlship = median(3, () => {
    rmSync(path.join(dir, '.mlship'), { recursive: true, force: true });
    return time(process.execPath, [cli, 'data', 'snapshot'], { cwd: dir }).seconds;
  });
  const sha = median(3, () => hashAll('sha256sum'));
  const b3 = has('b3sum') ? median(3, () => hashAll('b3sum')) : undefined;
  rows.push({
    label,
    mlship: `${mlship.toFixed(2)} s (${mbps(bytes, mlship).toFixed(0)} MB/s)`,
    sha256sum: `${sha.toFixed(2)} s (${mbps(bytes, sha).toFixed(0)} MB/s)`,
    b3sum: b3 === undefined ? 'not installed' : `${b3.toFixed(2)} s (${mbps(bytes, b3).toFixed(0)} MB/s)`,
    'mlship vs sha256sum': `${(sha / mlship).toFixed(2)}x faster`,
  });
}

console.log(`mlship data benchmark: ${bigMiB} MiB in 64 files, and ${smallFiles} small files; ${execFileSync('nproc').toString().trim()} cores, node ${process.version}`);
if (!has('b3sum')) console.log('(b3sum is not installed: apt-get install b3sum to include it)');

const big = makeProject('big', (data) => {
  mkdirSync(data, { recursive: true });
  const size = Math.floor((bigMiB * 1024 * 1024) / 64);
  const buffer = Buffer.allocUnsafe(size);
  for (let i = 0; i < 64; i += 1) {
    randomFillSync(buffer);
    writeFileSync(path.join(data, `shard-${String(i).padStart(2, '0')}.bin`), buffer);
  }
});
compare(`cold snapshot, ${bigMiB} MiB in 64 files`, big, bigMiB * 1024 * 1024);

let smallBytes = 0;
const small = makeProject('small', (data) => {
  mkdirSync(data, { recursive: true });
  for (let i = 0; i < smallFiles; i += 1) {
    const content = Buffer.allocUnsafe(1024 + (i % 8) * 512);
    randomFillSync(content);
    smallBytes += content.length;
    writeFileSync(path.join(data, `row-${String(i).padStart(5, '0')}.json`), content);
  }
});
compare(`cold snapshot, ${smallFiles} small files`, small, smallBytes);

// No-op re-snapshot: every file is in the stat cache; the whole CLI process is timed.
time(process.execPath, [cli, 'data', 'snapshot'], { cwd: small });
const noop = median(5, () => time(process.execPath, [cli, 'data', 'snapshot'], { cwd: small }).seconds);
const nodeStartup = median(5, () => time(process.execPath, ['-e', '0']).seconds);

// Push twice: the second must upload nothing.
time(process.execPath, [cli, 'data', 'push'], { cwd: small });
const repush = time(process.execPath, [cli, 'data', 'push', '--json'], { cwd: small });
const repushOutputs = JSON.parse(repush.stdout);

console.table(rows);
console.log(`no-op re-snapshot of ${smallFiles} files (whole CLI process): ${(noop * 1000).toFixed(0)} ms (target < 300 ms; bare node startup ${(nodeStartup * 1000).toFixed(0)} ms)`);
console.log(`push of the unchanged data set: ${repushOutputs['uploaded-bytes']} bytes, ${repushOutputs['uploaded-objects']} objects uploaded in ${(repush.seconds * 1000).toFixed(0)} ms (target: 0 bytes)`);

for (const dir of [big, small]) {
  rmSync(dir, { recursive: true, force: true });
  rmSync(`${dir}-store`, { recursive: true, force: true });
}
