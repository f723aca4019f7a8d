/**
 * Baseline and bake through the real engine, a real SQLite store and a local target, against a real HTTP service
 * whose behaviour is whatever release `current` points at: degradation and critical checks roll back by themselves,
 * a jittery but healthy release stays, and a security gate failing after the switch is a `security` trigger.
 */

import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AnyStoredEvent, StoredEvent } from '../src/core/events.js';
import { startDeployment } from '../src/engine/start-deployment.js';
import { DEV, processYaml, type Workspace, workspace } from './engine-fixtures.js';
import { type Behaviour, type ReleaseService, startReleaseService } from './servers/release-service.js';

let ws: Workspace | undefined;
let service: ReleaseService | undefined;
afterEach(async () => {
  await service?.close();
  await ws?.cleanup();
  service = undefined;
  ws = undefined;
});

const MONITORS = (url: string) => `    monitors:
      - id: latency
        http: { url: '${url}/' }
      - id: health
        critical: true
        http: { url: '${url}/health' }
`;

const PHASES = (bake: string, after = '') => `
  - id: deploy
    steps:
      - id: ship
        release: {}
      - id: baseline
        baseline: { duration: 1200ms, every: 100ms }
      - id: restart
        restart: {}
      - id: bake
        bake: { ${bake} }
${after}`;

const SERVICE = `
service:
  start: [sh, -c, 'true']
  stop: [sh, -c, 'true']
`;

async function setup(bake = 'duration: 3s, interval: 500ms, samples: 5', after = '') {
  ws = await workspace();
  service = await startReleaseService(path.join(ws.dir, 'target'));
  ws.yaml = processYaml(PHASES(bake, after), MONITORS(service.url)) + SERVICE;
  return ws;
}

async function deploy(release: string, behaviour: Behaviour, files: Record<string, string> = {}) {
  const w = ws as Workspace;
  await w.artifact(release, { 'behaviour.json': JSON.stringify(behaviour), ...files });
  const process = await w.process(w.yaml);
  const { deployment } = await startDeployment(w.store, {
    process,
    environment: 'prod',
    release,
    actor: DEV,
  });
  const view = await w.engine.run(deployment.id);
  return { view, events: await w.store.readEvents(deployment.id) };
}

function ofType<T extends AnyStoredEvent['type']>(events: readonly AnyStoredEvent[], type: T) {
  return events.filter((e): e is Extract<AnyStoredEvent, StoredEvent<T>> => e.type === type);
}

async function latencyNow(): Promise<number> {
  const started = performance.now();
  await (await fetch(`${(service as ReleaseService).url}/`)).text();
  return performance.now() - started;
}

describe('baseline and bake', () => {
  it('measures the running release, bakes the new one and keeps it when it is as fast, jitter and all', async () => {
    // Intervals of 1 s (8 samples each): long enough that a busy machine's hiccup is not a trend.
    await setup('duration: 3s, interval: 1s, samples: 8');
    await deploy('v1', { delayMs: 30, jitter: 0.15 });
    const { view, events } = await deploy('v2', { delayMs: 30, jitter: 0.15 });
    expect(view.state).toBe('succeeded');

    const [baseline] = ofType(events, 'analysis.baseline');
    expect(baseline?.payload.release).toBe('v1-d1');
    const latency = baseline?.payload.monitors.find((m) => m.monitor === 'latency');
    expect(latency?.usable).toBe(true);
    expect(latency?.median).toBeGreaterThan(25);
    expect(latency?.median).toBeLessThan(60);

    const intervals = ofType(events, 'analysis.interval');
    expect(intervals.length).toBe(3);
    expect(intervals.every((e) => e.payload.trigger === undefined)).toBe(true);
    const first = intervals[0]?.payload.monitors.find((m) => m.monitor === 'latency');
    expect(first).toMatchObject({ samples: 8, baseline: latency?.median });
    expect(first?.values).toHaveLength(8);
    expect(view.analysis?.intervals).toHaveLength(3);
  }, 30_000);

  it('rolls a slower release back with the degradation trigger, naming baseline, value and change', async () => {
    await setup();
    await deploy('v1', { delayMs: 20, jitter: 0.1 });
    const { view, events } = await deploy('v2', { delayMs: 60, jitter: 0.1 });
    expect(view.state).toBe('rolled-back');

    const [started] = ofType(events, 'rollback.started');
    expect(started?.payload.trigger).toBe('degradation');
    const analysis = started?.payload.analysis;
    expect(analysis).toMatchObject({ kind: 'degradation', monitor: 'latency', failures: 2 });
    expect(analysis?.baseline).toBeLessThan(35);
    expect(analysis?.value).toBeGreaterThan(50);
    expect(analysis?.change).toBeGreaterThan(0.5);
    expect(view.outcome).toMatch(/degradation: latency: 2 of the last [23] intervals failed/);

    // Detected after two intervals of the six (three on a very busy machine), not at the end of the bake.
    const intervals = ofType(events, 'analysis.interval');
    expect(intervals.length).toBeGreaterThanOrEqual(2);
    expect(intervals.length).toBeLessThanOrEqual(3);
    expect(intervals.at(-1)?.payload.trigger?.kind).toBe('degradation');

    // The previous release serves again, at its own speed.
    const times = [await latencyNow(), await latencyNow(), await latencyNow()].sort((a, b) => a - b);
    expect(times[1]).toBeLessThan(45);
  }, 30_000);

  it('rolls back at once when a critical check fails twice in a row', async () => {
    await setup('duration: 5s, interval: 1s, samples: 5');
    await deploy('v1', { delayMs: 5 });
    const t0 = Date.now();
    const { view, events } = await deploy('v2', { delayMs: 5, healthStatus: 500 });
    expect(view.state).toBe('rolled-back');
    const [started] = ofType(events, 'rollback.started');
    expect(started?.payload.trigger).toBe('critical-check');
    expect(started?.payload.analysis).toMatchObject({ monitor: 'health', failures: 2 });
    expect(started?.payload.analysis?.message).toContain('500');
    // Two samples 200ms apart, not a whole interval (let alone the bake), after a 1.2s baseline.
    const [interval] = ofType(events, 'analysis.interval');
    expect(interval?.payload.index).toBe(1);
    expect(Date.now() - t0).toBeLessThan(4000);
    expect((await fetch(`${(service as ReleaseService).url}/health`)).status).toBe(200);
  }, 30_000);

  it('does not fail on too few samples: an interval without enough numbers is inconclusive', async () => {
    // One sample per interval, three needed: every interval is inconclusive, and the release stays.
    await setup('duration: 1s, interval: 250ms, samples: 1');
    await deploy('v1', { delayMs: 5 });
    const { view, events } = await deploy('v2', { delayMs: 80 });
    expect(view.state).toBe('succeeded');
    const verdicts = ofType(events, 'analysis.interval').flatMap((e) => e.payload.monitors);
    expect(verdicts.filter((v) => v.monitor === 'latency').every((v) => v.verdict === 'inconclusive')).toBe(
      true,
    );
  }, 30_000);

  it('names a security gate failing after the switch a security trigger', async () => {
    const sarif = (level: string) =>
      JSON.stringify({
        version: '2.1.0',
        runs: [
          {
            tool: { driver: { name: 'scanner', rules: [{ id: 'js/xss' }] } },
            results: [{ ruleId: 'js/xss', level, message: { text: 'reflected XSS' } }],
          },
        ],
      });
    await setup(
      'duration: 500ms, interval: 250ms, samples: 2',
      `      - id: post-deploy-scan
        sarif: { path: 'target/current/scan.sarif', max: { error: 0 } }
`,
    );
    await deploy('v1', { delayMs: 5 }, { 'scan.sarif': sarif('note') });
    const { view, events } = await deploy('v2', { delayMs: 5 }, { 'scan.sarif': sarif('error') });
    expect(view.state).toBe('rolled-back');
    const [started] = ofType(events, 'rollback.started');
    expect(started?.payload.trigger).toBe('security');
    expect(started?.payload.reason).toContain('post-deploy-scan');
  }, 30_000);
});
