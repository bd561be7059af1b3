// One autocannon run in a process of its own, as `mlship smoke` runs in its own: POST the body to
// the URL over N keep-alive connections, `amount` requests in all, each latency recorded in an HDR
// histogram built exactly as smoke builds its own (microseconds, 3 significant digits). Prints
// {"p50-ms", "p95-ms", "p99-ms", "requests", "errors"} as JSON.
//
//   node bench/autocannon-percentiles.mjs <url> <body> <connections> <amount>
import autocannon from 'autocannon';
import * as hdr from 'hdr-histogram-js';

const [url, body, connections, amount] = process.argv.slice(2);
const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
const result = await new Promise((resolve, reject) => {
  const instance = autocannon(
    { url, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections: Number(connections), amount: Number(amount) },
    (error, done) => (error ? reject(error) : resolve(done)),
  );
  instance.on('response', (_client, _status, _bytes, responseTimeMs) => histogram.recordValue(Math.max(1, Math.round(responseTimeMs * 1000))));
});
const at = (p) => histogram.getValueAtPercentile(p) / 1000;
console.log(JSON.stringify({ 'p50-ms': at(50), 'p95-ms': at(95), 'p99-ms': at(99), requests: result.requests.total, errors: result.errors + result.non2xx }));
