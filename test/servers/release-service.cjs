'use strict';
// The release service's process (see release-service.ts): node release-service.cjs <target root>.
// Prints its port on the first line of stdout; stops on SIGTERM.
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const root = process.argv[2];
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const counts = new Map();
const buckets = BUCKETS.map(() => 0);
let sum = 0;
let total = 0;

function behaviour() {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, 'current', 'behaviour.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

const server = http.createServer((req, res) => {
  const started = performance.now();
  const b = behaviour();
  if (req.url === '/metrics') {
    const lines = ['# TYPE http_request_duration_seconds histogram'];
    BUCKETS.forEach((le, i) => {
      lines.push(`http_request_duration_seconds_bucket{le="${le}"} ${buckets[i]}`);
    });
    lines.push(`http_request_duration_seconds_bucket{le="+Inf"} ${total}`);
    lines.push(`http_request_duration_seconds_sum ${sum}`, `http_request_duration_seconds_count ${total}`);
    lines.push('# TYPE http_requests_total counter');
    for (const [code, n] of counts) lines.push(`http_requests_total{code="${code}"} ${n}`);
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(`${lines.join('\n')}\n`);
    return;
  }
  if (!b) {
    res.writeHead(503).end('no release is live');
    return;
  }
  if (req.url === '/health') {
    const status = b.healthStatus ?? 200;
    res.writeHead(status).end(status === 200 ? 'ok' : 'unhealthy');
    return;
  }
  const jitter = b.jitter ?? 0;
  const delay = b.delayMs * (1 + (Math.random() * 2 - 1) * jitter);
  setTimeout(() => {
    const status = Math.random() < (b.errorRate ?? 0) ? 500 : 200;
    const seconds = (performance.now() - started) / 1000;
    total++;
    sum += seconds;
    BUCKETS.forEach((le, i) => {
      if (seconds <= le) buckets[i]++;
    });
    counts.set(String(status), (counts.get(String(status)) ?? 0) + 1);
    res.writeHead(status).end(status === 200 ? 'hello' : 'boom');
  }, delay);
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
