/** Prometheus monitors against a real Prometheus scraping the real notes sample service. */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MonitorSpec } from '../src/core/process.js';
import { createMonitor } from '../src/monitors/create-monitor.js';
import { monitorContext, monitorSpecs, type NotesServer, startNotes } from './monitor-fixtures.js';
import { freePort } from './servers/free-port.js';
import { type PrometheusServer, startPrometheus } from './servers/prometheus.js';

let notes: NotesServer;
let prom: PrometheusServer;

beforeAll(async () => {
  notes = await startNotes('v2');
  prom = await startPrometheus({ targets: [`127.0.0.1:${notes.port}`] });
});
afterAll(async () => {
  await prom?.stop();
  await notes?.stop();
});

/** `n` requests to the notes service's `path`, in parallel batches. */
async function traffic(path: string, n: number): Promise<void> {
  for (let done = 0; done < n; done += 10) {
    await Promise.all(
      Array.from({ length: Math.min(10, n - done) }, async () => {
        const res = await fetch(`${notes.url}${path}`);
        await res.text();
      }),
    );
  }
}

const HEALTH = 'sum(notes_http_requests_total{job="notes",route="/health",status="200"})';

function prometheusMonitor(body: string) {
  const [spec] = monitorSpecs(`      - id: m\n        prometheus: { url: '${prom.url}', ${body} }`);
  return createMonitor(spec as MonitorSpec, monitorContext());
}

describe('prometheus monitor (real Prometheus scraping the notes service)', () => {
  it('starts Prometheus on loopback, scraping the service', async () => {
    expect(prom.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const targets = await prom.targets();
    expect(targets).toEqual([expect.objectContaining({ instance: `127.0.0.1:${notes.port}`, health: 'up' })]);
  });

  it('an instant query returns the number of requests the service answered', async () => {
    await traffic('/health', 37);
    await prom.waitForScrape();
    const monitor = prometheusMonitor(`query: '${HEALTH}'`);
    const sample = await monitor.sample(AbortSignal.timeout(10_000));
    expect(sample).toMatchObject({ ok: true, value: 37, detail: '37' });
    expect(sample.atMs).toBeGreaterThan(Date.now() - 10_000);

    await traffic('/health', 13);
    await prom.waitForScrape();
    expect((await monitor.sample(AbortSignal.timeout(10_000))).value).toBe(50);
  });

  it('a range query aggregates the points of its window', async () => {
    const before = (await prom.query(HEALTH)) ?? 0;
    await traffic('/health', 20);
    await prom.waitForScrape();
    await prom.waitForScrape(); // two points with the new count inside the window
    const max = prometheusMonitor(`range: { query: '${HEALTH}', window: 20s, step: 1s, aggregate: max }`);
    const avg = prometheusMonitor(`range: { query: '${HEALTH}', window: 20s, step: 500ms }`);
    const maxSample = await max.sample(AbortSignal.timeout(10_000));
    expect(maxSample).toMatchObject({ ok: true, value: before + 20 });
    expect(maxSample.detail).toMatch(/^max \d+ of \d+ points$/);
    const avgSample = await avg.sample(AbortSignal.timeout(10_000));
    expect(avgSample.ok).toBe(true);
    // The window holds points from before the traffic and after it.
    expect(avgSample.value).toBeGreaterThanOrEqual(before > 0 ? before : 1);
    expect(avgSample.value).toBeLessThanOrEqual(before + 20);
    expect(avgSample.detail).toMatch(/^avg /);
  });

  it('a latency quantile from the service histogram is a small positive number of seconds', async () => {
    // rate() needs the counters to grow between two scrapes: traffic before and after one.
    await traffic('/notes', 10);
    await prom.waitForScrape();
    await traffic('/notes', 30);
    await prom.waitForScrape();
    const monitor = prometheusMonitor(
      `query: 'histogram_quantile(0.95, sum by (le) (rate(notes_http_request_duration_seconds_bucket{route="/notes"}[30s])))'`,
    );
    const sample = await monitor.sample(AbortSignal.timeout(10_000));
    expect(sample.ok).toBe(true);
    expect(sample.value).toBeGreaterThan(0);
    expect(sample.value).toBeLessThanOrEqual(0.25);
  });

  it('a query Prometheus refuses is a failed sample naming the error and the query', async () => {
    const query = 'sum(rate(notes_http_requests_total[1m])';
    const sample = await prometheusMonitor(`query: '${query}'`).sample(AbortSignal.timeout(10_000));
    expect(sample.ok).toBe(false);
    expect(sample.value).toBeUndefined();
    expect(sample.detail).toContain('Prometheus refused the query (bad_data)');
    expect(sample.detail).toContain('parse error');
    expect(sample.detail).toContain(`(query: ${query})`);
  });

  it('several series fail with a hint to aggregate; an empty result and NaN are "no data"', async () => {
    const many = await prometheusMonitor(`query: 'notes_http_requests_total'`).sample(
      AbortSignal.timeout(10_000),
    );
    expect(many.ok).toBe(false);
    expect(many.detail).toMatch(/returned \d+ series/);

    const none = await prometheusMonitor(`query: 'no_such_metric_total'`).sample(AbortSignal.timeout(10_000));
    expect(none).toMatchObject({ ok: true, detail: 'no data (the query matched no series)' });
    expect(none.value).toBeUndefined();

    const nan = await prometheusMonitor(`query: '0/0'`).sample(AbortSignal.timeout(10_000));
    expect(nan.ok).toBe(true);
    expect(nan.value).toBeUndefined();

    const inf = await prometheusMonitor(`query: '1/0'`).sample(AbortSignal.timeout(10_000));
    expect(inf.ok).toBe(false);
    expect(inf.detail).toContain('+Inf');
  });

  it('setTargets moves scraping to another service while Prometheus runs', async () => {
    const v3 = await startNotes('v3');
    try {
      await prom.setTargets([`127.0.0.1:${v3.port}`]);
      expect((await prom.targets()).map((t) => t.instance)).toEqual([`127.0.0.1:${v3.port}`]);
      const res = await fetch(`${v3.url}/health`);
      await res.text();
      await prom.waitForScrape();
      const monitor = prometheusMonitor(
        `query: 'sum(notes_http_requests_total{instance="127.0.0.1:${v3.port}",route="/health"})'`,
      );
      expect(await monitor.sample(AbortSignal.timeout(10_000))).toMatchObject({ ok: true, value: 1 });
    } finally {
      await prom.setTargets([`127.0.0.1:${notes.port}`]);
      await v3.stop();
    }
  });

  it('an unreachable Prometheus is a failed sample; an aborted one throws', async () => {
    const closed = await freePort();
    const [spec] = monitorSpecs(
      `      - id: m\n        prometheus: { url: 'http://127.0.0.1:${closed}', query: up }`,
    );
    const monitor = createMonitor(spec as MonitorSpec, monitorContext());
    const sample = await monitor.sample(AbortSignal.timeout(10_000));
    expect(sample.ok).toBe(false);
    expect(sample.detail).toBe(`Prometheus at http://127.0.0.1:${closed}: connection refused`);

    const aborted = AbortSignal.abort(new Error('deployment cancelled'));
    await expect(prometheusMonitor(`query: up`).sample(aborted)).rejects.toThrow('deployment cancelled');
  });
});
