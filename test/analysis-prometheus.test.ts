/**
 * A bake judged by a real Prometheus: it scrapes the release service every second while traffic flows;
 * a release whose answers are three times slower is rolled back by the degradation trigger, a healthy one stays.
 */

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processYaml, type Workspace, workspace } from './engine-fixtures.js';
import { type PrometheusServer, startPrometheus } from './servers/prometheus.js';
import {
  type Behaviour,
  type ReleaseService,
  startReleaseService,
  steadyTraffic,
} from './servers/release-service.js';

let ws: Workspace;
let service: ReleaseService;
let prometheus: PrometheusServer;
let stopTraffic: (() => void) | undefined;

const MEAN_LATENCY =
  'sum(rate(http_request_duration_seconds_sum[3s])) / sum(rate(http_request_duration_seconds_count[3s]))';

beforeAll(async () => {
  ws = await workspace();
  service = await startReleaseService(path.join(ws.dir, 'target'));
  prometheus = await startPrometheus({ targets: [`127.0.0.1:${service.port}`], scrapeInterval: '1s' });
  // Users: a steady trickle of requests, so the rate has something to measure.
  stopTraffic = steadyTraffic(service, 40);
  ws.yaml = `${processYaml(
    `
  - id: deploy
    steps:
      - id: ship
        release: {}
      - id: baseline
        baseline: { duration: 3s, every: 500ms }
      - id: restart
        restart: {}
      - id: bake
        bake: { duration: 8s, interval: 2s, samples: 4 }
`,
    `    monitors:
      - id: mean-latency
        prometheus:
          url: ${prometheus.url}
          query: ${JSON.stringify(MEAN_LATENCY)}
        compare: { direction: lower-is-better, maxDegradation: 20% }
`,
  )}
service:
  start: [sh, -c, 'true']
  stop: [sh, -c, 'true']
`;
}, 60_000);

afterAll(async () => {
  stopTraffic?.();
  await prometheus?.stop();
  await service?.close();
  await ws?.cleanup();
});

async function deploy(release: string, behaviour: Behaviour) {
  const view = await ws.deploy(release, { 'behaviour.json': JSON.stringify(behaviour) });
  return { view, events: await ws.store.readEvents(view.id) };
}

describe('bake against a real Prometheus', () => {
  it('keeps a release as fast as the last, and rolls back one three times slower', async () => {
    await deploy('v1', { delayMs: 20, jitter: 0.1 });
    // Wait until Prometheus has seen v1's traffic long enough for the rate window.
    await new Promise((r) => setTimeout(r, 3500));
    const same = await deploy('v2', { delayMs: 20, jitter: 0.1 });
    expect(same.view.state).toBe('succeeded');
    const baseline = same.view.analysis?.baseline?.monitors[0];
    expect(baseline?.usable).toBe(true);
    expect(baseline?.median).toBeGreaterThan(0.015);
    expect(baseline?.median).toBeLessThan(0.04);

    const slow = await deploy('v3', { delayMs: 60, jitter: 0.1 });
    expect(slow.view.state).toBe('rolled-back');
    const started = slow.events.find((e) => e.type === 'rollback.started');
    expect(started?.type === 'rollback.started' && started.payload.trigger).toBe('degradation');
    const analysis = started?.type === 'rollback.started' ? started.payload.analysis : undefined;
    expect(analysis?.monitor).toBe('mean-latency');
    expect(analysis?.change).toBeGreaterThan(0.2);
    expect(analysis?.value).toBeGreaterThan(analysis?.baseline ?? Number.POSITIVE_INFINITY);
    // Detected within the bake, not at its end.
    expect(slow.view.analysis?.intervals.length).toBeLessThanOrEqual(3);
  }, 90_000);
});
