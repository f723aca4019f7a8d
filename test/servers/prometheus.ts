/**
 * Starts a real, throw-away Prometheus server for tests, benchmarks and the demo.
 *
 *     const prom = await startPrometheus({ targets: ['127.0.0.1:4312'] });  // ready, every target scraped once
 *     await prom.waitForScrape();                 // every target scraped again after this moment
 *     const v = await prom.query('sum(notes_http_requests_total)');       // number | undefined
 *     await prom.setTargets(['127.0.0.1:4313']);  // scrape other targets (file_sd: takes up to ~5 s)
 *     await prom.stop();                          // SIGTERM (SIGKILL after 5 s) + remove the folder (afterAll)
 *
 * - The binary is `/usr/bin/prometheus` (Debian's `prometheus` package; `scripts/ensure-system-packages.sh`
 *   installs it).
 * - Listens on 127.0.0.1 only, on a free port picked at start (retried when another process takes it first).
 * - Scrapes every `scrapeInterval` (@default 1s) the `metricsPath` (@default /metrics) of each target, as
 *   job `job` (@default notes): queries can say `{job="notes"}`. Targets come from a file_sd file, so
 *   `setTargets` changes them while it runs.
 * - TSDB in a temp folder, removed by `stop()`; a server left running by a crashed test is killed when the
 *   Node process exits.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.js';
import { killOnExit } from './server-process.js';

export const PROMETHEUS_BINARY = '/usr/bin/prometheus';

export interface PrometheusOptions {
  /** `host:port` of each service to scrape (loopback). May be empty and set later with `setTargets`. */
  readonly targets: readonly string[];
  /** @default '1s' */
  readonly scrapeInterval?: string;
  /** @default '/metrics' */
  readonly metricsPath?: string;
  /** @default 'notes' */
  readonly job?: string;
  /** How long starting (ready + first scrape of every target) may take. @default 30000 */
  readonly startTimeoutMs?: number;
}

export interface PrometheusTarget {
  readonly instance: string;
  readonly health: 'up' | 'down' | 'unknown';
  /** Epoch ms of the last scrape, 0 before the first. */
  readonly lastScrapeMs: number;
  readonly lastError: string;
}

export interface PrometheusServer {
  /** `http://127.0.0.1:<port>`: the base URL a prometheus monitor is given. */
  readonly url: string;
  readonly port: number;
  /** Folder holding the config, targets file, TSDB and `prometheus.log`. */
  readonly dir: string;
  /** Active scrape targets as Prometheus reports them (`/api/v1/targets`). */
  targets(): Promise<PrometheusTarget[]>;
  /**
   * Waits until every target has been scraped (health up) after this call: the values a query sees then
   * include everything the services counted before it. @default timeoutMs 15000
   */
  waitForScrape(timeoutMs?: number): Promise<void>;
  /** Replaces the scraped targets and waits until exactly those are scraped and up. */
  setTargets(targets: readonly string[], timeoutMs?: number): Promise<void>;
  /** An instant query's single number, or undefined for an empty result; throws on a Prometheus error. */
  query(promql: string): Promise<number | undefined>;
  /** Stops the server and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
}

const POLL_MS = 100;
const STARTS = 5;

export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusServer> {
  if (!fs.existsSync(PROMETHEUS_BINARY)) {
    throw new Error(
      `Prometheus is not installed (no ${PROMETHEUS_BINARY}): run scripts/ensure-system-packages.sh`,
    );
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slipway-prometheus-'));
  const targetsFile = path.join(dir, 'targets.json');
  writeTargets(targetsFile, options.targets, options.job ?? 'notes');
  const interval = options.scrapeInterval ?? '1s';
  fs.writeFileSync(
    path.join(dir, 'prometheus.yml'),
    [
      'global:',
      `  scrape_interval: ${interval}`,
      `  evaluation_interval: ${interval}`,
      'scrape_configs:',
      `  - job_name: ${JSON.stringify(options.job ?? 'notes')}`,
      `    metrics_path: ${JSON.stringify(options.metricsPath ?? '/metrics')}`,
      `    scrape_timeout: ${interval}`,
      '    file_sd_configs:',
      `      - files: [${JSON.stringify(targetsFile)}]`,
      '        refresh_interval: 1s',
      '',
    ].join('\n'),
  );

  let lastProblem = '';
  for (let attempt = 1; attempt <= STARTS; attempt++) {
    const port = await freePort();
    const started = await launch(dir, port, options.startTimeoutMs ?? 30_000);
    if ('child' in started) {
      const server = makeServer(dir, port, started.child, targetsFile, options.job ?? 'notes');
      try {
        if (options.targets.length > 0) await server.waitForScrape(options.startTimeoutMs ?? 30_000);
      } catch (e) {
        await server.stop();
        throw e;
      }
      return server;
    }
    lastProblem = started.problem;
    // Another process took the port between our probe and Prometheus' bind: try another one.
    if (!/address already in use/i.test(lastProblem)) break;
  }
  fs.rmSync(dir, { recursive: true, force: true });
  throw new Error(`Prometheus did not start: ${lastProblem}`);
}

function writeTargets(file: string, targets: readonly string[], job: string): void {
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify([{ targets: [...targets], labels: { service: job } }]));
  fs.renameSync(tmp, file); // atomic: Prometheus never reads half a file
}

async function launch(
  dir: string,
  port: number,
  timeoutMs: number,
): Promise<{ child: ChildProcess } | { problem: string }> {
  const logFile = path.join(dir, 'prometheus.log');
  const log = fs.openSync(logFile, 'a');
  const child = spawn(
    PROMETHEUS_BINARY,
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1d',
      '--log.level=warn',
    ],
    { stdio: ['ignore', log, log] },
  );
  fs.closeSync(log);
  let exited: string | null = null;
  child.on('exit', (code, signal) => {
    exited = signal ? `killed by ${signal}` : `exited with ${code}`;
  });
  child.on('error', (e) => {
    exited = `could not start: ${e.message}`;
  });
  killOnExit(child);

  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited !== null) {
      return {
        problem: `${exited}: ${fs.readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join('\n')}`,
      };
    }
    try {
      const res = await fetch(`http://127.0.0.1:${port}/-/ready`, { signal: AbortSignal.timeout(1000) });
      await res.text();
      if (res.status === 200) return { child };
    } catch {
      // not listening yet
    }
    await sleep(POLL_MS);
  }
  child.kill('SIGKILL');
  return {
    problem: `not ready within ${timeoutMs} ms; log: ${fs.readFileSync(logFile, 'utf8').slice(-500)}`,
  };
}

function makeServer(
  dir: string,
  port: number,
  child: ChildProcess,
  targetsFile: string,
  job: string,
): PrometheusServer {
  const url = `http://127.0.0.1:${port}`;
  let stopped = false;

  const api = async (pathAndQuery: string): Promise<{ status: string; data: unknown; error?: string }> => {
    const res = await fetch(`${url}${pathAndQuery}`, { signal: AbortSignal.timeout(5000) });
    return (await res.json()) as { status: string; data: unknown; error?: string };
  };

  const targets = async (): Promise<PrometheusTarget[]> => {
    const answer = await api('/api/v1/targets?state=active');
    const active = (answer.data as { activeTargets: Record<string, unknown>[] }).activeTargets;
    return active.map((t) => ({
      instance: String((t.labels as Record<string, string>).instance),
      health: t.health as PrometheusTarget['health'],
      lastScrapeMs: Date.parse(String(t.lastScrape)) || 0,
      lastError: String(t.lastError ?? ''),
    }));
  };

  /** Until the active targets are exactly `want` (when given), each scraped and up after `sinceMs`. */
  const waitUntil = async (sinceMs: number, timeoutMs: number, want?: readonly string[]): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    let seen: PrometheusTarget[] = [];
    while (Date.now() < deadline) {
      seen = await targets();
      const sameSet =
        want === undefined ||
        (seen.length === want.length && want.every((w) => seen.some((t) => t.instance === w)));
      if (sameSet && seen.length > 0 && seen.every((t) => t.health === 'up' && t.lastScrapeMs > sinceMs))
        return;
      await sleep(POLL_MS);
    }
    const shown = seen.map((t) => `${t.instance} ${t.health}${t.lastError ? ` (${t.lastError})` : ''}`);
    throw new Error(
      `Prometheus at ${url}: targets not all scraped and up within ${timeoutMs} ms: ${shown.join(', ') || 'no targets'}`,
    );
  };

  return {
    url,
    port,
    dir,
    targets,
    waitForScrape: (timeoutMs = 15_000) => waitUntil(Date.now(), timeoutMs),
    async setTargets(list, timeoutMs = 15_000) {
      const since = Date.now();
      writeTargets(targetsFile, list, job);
      if (list.length > 0) await waitUntil(since, timeoutMs, list);
    },
    async query(promql) {
      const answer = await api(`/api/v1/query?${new URLSearchParams({ query: promql })}`);
      if (answer.status !== 'success') throw new Error(`Prometheus query ${promql} failed: ${answer.error}`);
      const data = answer.data as { resultType: string; result: unknown };
      if (data.resultType === 'scalar') return Number((data.result as [number, string])[1]);
      const series = data.result as { value: [number, string] }[];
      if (series.length === 0) return undefined;
      if (series.length > 1) throw new Error(`Prometheus query ${promql} returned ${series.length} series`);
      return Number((series[0] as { value: [number, string] }).value[1]);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await gone;
        clearTimeout(timer);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
