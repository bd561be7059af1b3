// Steady load through an edge while the example promotes: `node .ci/example-load.mjs URL CASES OUT`.
// Sends the first rows of CASES (smoke.jsonl) to URL/predict from 4 connections, at most 25 requests
// a second (a steady production-like load, not a stress test of a 2-core machine), until SIGTERM, then
// writes {sent, failed, statuses, rate} to OUT. Bounded: it stops by itself after 15 minutes.
import { readFileSync, writeFileSync } from 'node:fs';

const [url, casesFile, out] = process.argv.slice(2);
const rows = readFileSync(casesFile, 'utf8').split('\n').filter(Boolean).slice(0, 8).map((line) => JSON.parse(line).input);
const statuses = {};
const started = Date.now();
let running = true;
const stop = () => (running = false);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setTimeout(stop, 15 * 60_000).unref();

const PER_WORKER_INTERVAL_MS = 160; // 4 workers: at most 25 requests a second

async function worker(offset) {
  for (let i = offset; running; i += 4) {
    const sentAt = Date.now();
    let key;
    try {
      // Node's own fetch: the users' traffic, sent by a client other than the one mlship measures with.
      const answer = await fetch(`${url}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ rows: [rows[i % rows.length]] }),
        signal: AbortSignal.timeout(10_000),
      });
      await answer.text();
      key = String(answer.status);
    } catch (error) {
      key = `error: ${error.cause?.code ?? error.code ?? error.name}`;
    }
    statuses[key] = (statuses[key] ?? 0) + 1;
    const wait = PER_WORKER_INTERVAL_MS - (Date.now() - sentAt);
    if (wait > 0 && running) await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

await Promise.all([0, 1, 2, 3].map(worker));
const sent = Object.values(statuses).reduce((a, b) => a + b, 0);
const seconds = (Date.now() - started) / 1000;
writeFileSync(out, JSON.stringify({ sent, failed: sent - (statuses['200'] ?? 0), statuses, rate: Math.round(sent / seconds) }));
