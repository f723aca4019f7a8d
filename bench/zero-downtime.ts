/**
 * Zero-downtime benchmark: a blue-green deploy and its rollback across 3 hosts behind real nginx and real
 * HAProxy, switched by Slipway's traffic switches, under constant autocannon load for the whole time;
 * plus a negative control (a naive stop-then-start restart of the same services behind the same
 * balancer), which must show failures, proving the benchmark sees them.
 *
 *     const rows = await runZeroDowntimeBench();  // ZeroDowntimeRow[] (also: zeroDowntimeSection for bench/run.ts)
 *
 * Each "host" is two slots (blue, green) of a small Node HTTP service in its own process, on loopback:
 * it answers its release name, and on SIGTERM stops accepting, finishes requests in flight and exits,
 * like a well-behaved service. Load: autocannon, 10 keep-alive connections, 400 req/s offered.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import autocannon from 'autocannon';
import type { Backend, TrafficSwitch } from '../src/core/ports.js';
import { HaproxySwitch } from '../src/traffic/haproxy/haproxy-switch.js';
import { NginxSwitch } from '../src/traffic/nginx/nginx-switch.js';
import { startHaproxy } from '../test/servers/haproxy.js';
import { startNginx } from '../test/servers/nginx.js';
import { freePort, get } from '../test/traffic-backends.js';
import { round } from './bench-util.js';
import type { BenchSection } from './section.js';

const HOSTS = 3;
export const CONNECTIONS = 10;
const OFFERED_RATE = 400;
/** Target from the issue: at least this many requests per second over the whole scenario. */
const MIN_RATE = 200;
const DRAIN_TIMEOUT_MS = 10_000;

export interface ZeroDowntimeRow {
  readonly balancer: 'nginx' | 'haproxy';
  /** `blue-green + rollback` (Slipway) or `naive restart` (negative control). */
  readonly scenario: 'blue-green + rollback' | 'naive restart';
  readonly requests: number;
  readonly seconds: number;
  readonly requestsPerSecond: number;
  readonly non2xx: number;
  readonly connectionErrors: number;
  /** Up to 5 distinct error codes / statuses seen. */
  readonly sample: readonly string[];
  /** Slipway's scenario must see 0 failures, the negative control more than 0; both at ≥ MIN_RATE req/s. */
  readonly pass: boolean;
}

/** The service: answers RELEASE; SIGTERM = graceful stop. Started with `node -e`. */
const SERVICE = `
const http = require('node:http');
const server = http.createServer((req, res) => { res.writeHead(200, {'content-type': 'text/plain'}); res.end(process.env.RELEASE); });
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => { server.close(() => process.exit(0)); server.closeIdleConnections(); });
`;

interface Service {
  readonly backend: Backend;
  readonly release: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function service(id: string, port: number, release: string): Service {
  let child: ChildProcess | undefined;
  return {
    backend: { id, address: '127.0.0.1', port },
    release,
    async start() {
      child = spawn(process.execPath, ['-e', SERVICE], {
        env: { PATH: process.env.PATH ?? '', PORT: String(port), RELEASE: release },
        stdio: 'ignore',
      });
      // Health check: the slot takes traffic only once it answers.
      const until = Date.now() + 10_000;
      for (;;) {
        try {
          if ((await get(`http://127.0.0.1:${port}/`)).status === 200) return;
        } catch {
          if (Date.now() > until) throw new Error(`${id} did not start on port ${port}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      const c = child;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await exited;
    },
  };
}

interface Fleet {
  readonly blue: readonly Service[];
  readonly green: readonly Service[];
  readonly backends: readonly Backend[];
}

async function fleet(): Promise<Fleet> {
  const blue: Service[] = [];
  const green: Service[] = [];
  for (let h = 1; h <= HOSTS; h++) {
    blue.push(service(`web${h}-blue`, await freePort(), 'v1'));
    green.push(service(`web${h}-green`, await freePort(), 'v2'));
  }
  return { blue, green, backends: [...blue, ...green].map((s) => s.backend) };
}

const weightsFor = (on: readonly Service[], off: readonly Service[]) =>
  Object.fromEntries([...on.map((s) => [s.backend.id, 100]), ...off.map((s) => [s.backend.id, 0])]);

/** Blue-green as Slipway runs it: start the idle slot, health-check, switch, drain, stop the old slot. */
async function blueGreen(
  sw: TrafficSwitch,
  url: string,
  from: readonly Service[],
  to: readonly Service[],
): Promise<void> {
  await Promise.all(to.map((s) => s.start()));
  await sw.setWeights(weightsFor(to, from));
  // The switch really happened: every new request is answered by the new slot's release.
  const release = to[0]?.release;
  for (let i = 0; i < 10; i++) {
    const r = await get(url);
    if (r.body !== release)
      throw new Error(`after the switch ${url} answered ${r.status} ${r.body}, not ${release}`);
  }
  for (const s of from) {
    const left = await sw.drain(s.backend.id, DRAIN_TIMEOUT_MS);
    if (left > 0) throw new Error(`${s.backend.id} still had ${left} in flight after ${DRAIN_TIMEOUT_MS} ms`);
  }
  await Promise.all(from.map((s) => s.stop()));
}

/** What teams do without a switch: stop every instance, start the new one on the same port. */
async function naiveRestart(services: readonly Service[]): Promise<void> {
  await Promise.all(services.map((s) => s.stop()));
  await Promise.all(services.map((s) => s.start()));
}

export interface LoadResult {
  readonly requests: number;
  readonly seconds: number;
  readonly non2xx: number;
  readonly errors: number;
  /** Up to 5 distinct failures seen, e.g. "HTTP 502" or "ECONNRESET". */
  readonly sample: string[];
}

interface Load {
  stop(): Promise<LoadResult>;
}

/** Constant autocannon load on `url` (keep-alive, OFFERED_RATE req/s) until stopped; counts every failure. */
export function startLoad(url: string): Load {
  const started = performance.now();
  let requests = 0;
  let non2xx = 0;
  let errors = 0;
  const sample = new Set<string>();
  const instance = autocannon({
    url,
    connections: CONNECTIONS,
    overallRate: OFFERED_RATE,
    duration: 3_600,
    timeout: 10,
  });
  instance.on('response', (_client, statusCode) => {
    requests++;
    if (statusCode < 200 || statusCode >= 300) {
      non2xx++;
      if (sample.size < 5) sample.add(`HTTP ${statusCode}`);
    }
  });
  instance.on('reqError', (e) => {
    requests++;
    errors++;
    if (sample.size < 5) sample.add(e.code ?? e.message);
  });
  return {
    async stop() {
      instance.stop();
      await instance;
      return { requests, seconds: (performance.now() - started) / 1000, non2xx, errors, sample: [...sample] };
    },
  };
}

async function scenario(
  balancer: ZeroDowntimeRow['balancer'],
  name: ZeroDowntimeRow['scenario'],
  url: string,
  work: () => Promise<void>,
): Promise<ZeroDowntimeRow> {
  const load = startLoad(url);
  await new Promise((r) => setTimeout(r, 1_000)); // steady load before anything changes
  await work();
  await new Promise((r) => setTimeout(r, 1_000));
  const l = await load.stop();
  const rate = l.requests / l.seconds;
  const failures = l.non2xx + l.errors;
  return {
    balancer,
    scenario: name,
    requests: l.requests,
    seconds: round(l.seconds, 1),
    requestsPerSecond: round(rate, 0),
    non2xx: l.non2xx,
    connectionErrors: l.errors,
    sample: l.sample,
    pass: rate >= MIN_RATE && (name === 'naive restart' ? failures > 0 : failures === 0),
  };
}

async function runBalancer(balancer: ZeroDowntimeRow['balancer']): Promise<ZeroDowntimeRow[]> {
  const f = await fleet();
  const initial = weightsFor(f.blue, f.green);
  let stopBalancer = async (): Promise<void> => undefined;
  let sw: TrafficSwitch | undefined;
  let url: string;
  try {
    // Inside the try: a service or balancer that fails to start must not leave the others running.
    await Promise.all(f.blue.map((s) => s.start()));
    if (balancer === 'nginx') {
      const nginx = await startNginx({ backends: f.backends, weights: initial, workerProcesses: 2 });
      sw = new NginxSwitch({
        upstreamFile: nginx.upstreamFile,
        upstream: nginx.upstream,
        config: nginx.config,
        pidFile: nginx.pidFile,
        backends: f.backends,
      });
      url = nginx.url;
      stopBalancer = () => nginx.stop();
    } else {
      const haproxy = await startHaproxy({ backends: f.backends, weights: initial });
      sw = new HaproxySwitch({ socket: haproxy.socket, backend: haproxy.backend, backends: f.backends });
      url = haproxy.url;
      stopBalancer = () => haproxy.stop();
    }
    const live = sw;
    const rows: ZeroDowntimeRow[] = [];
    rows.push(
      await scenario(balancer, 'blue-green + rollback', url, async () => {
        await blueGreen(live, url, f.blue, f.green); // deploy v2
        await new Promise((r) => setTimeout(r, 1_000));
        await blueGreen(live, url, f.green, f.blue); // roll back to v1
      }),
    );
    rows.push(await scenario(balancer, 'naive restart', url, () => naiveRestart(f.blue)));
    return rows;
  } finally {
    await sw?.close();
    await stopBalancer();
    await Promise.all([...f.blue, ...f.green].map((s) => s.stop()));
  }
}

/** Runs nginx then HAProxy (one after the other: the machine has 2 cores). */
export async function runZeroDowntimeBench(): Promise<ZeroDowntimeRow[]> {
  return [...(await runBalancer('nginx')), ...(await runBalancer('haproxy'))];
}

/** The section for bench/run.ts: `| what | Slipway | baseline | ratio / target | pass? |` rows. */
export const zeroDowntimeSection: BenchSection = {
  name: 'zero-downtime',
  title: `zero downtime: blue-green + rollback across ${HOSTS} hosts behind nginx and HAProxy, under load`,
  async run() {
    const rows = await runZeroDowntimeBench();
    const failed = (r: ZeroDowntimeRow) =>
      `${r.non2xx} non-2xx, ${r.connectionErrors} connection errors of ${r.requests} (${r.requestsPerSecond} req/s)`;
    const pass: Record<string, boolean> = {};
    const table: string[] = [];
    for (const balancer of ['nginx', 'haproxy'] as const) {
      const slipway = rows.find((r) => r.balancer === balancer && r.scenario === 'blue-green + rollback');
      const naive = rows.find((r) => r.balancer === balancer && r.scenario === 'naive restart');
      if (!slipway || !naive) continue;
      table.push(
        `| blue-green deploy + rollback, ${HOSTS} hosts behind ${balancer}, autocannon ${CONNECTIONS} connections | ${failed(slipway)} | naive stop-then-start: ${failed(naive)}${naive.sample.length ? ` (${naive.sample.join(', ')})` : ''} | 0 failed, ≥ ${MIN_RATE} req/s; control must fail | ${slipway.pass && naive.pass ? 'yes' : 'NO'} |`,
      );
      pass[`zeroDowntime${balancer === 'nginx' ? 'Nginx' : 'Haproxy'}`] = slipway.pass && naive.pass;
    }
    return { rows: table, json: { rows }, pass };
  },
};
