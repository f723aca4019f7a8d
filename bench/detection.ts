/**
 * Detection benchmarks (issue 6): how fast a bake catches a regression and the previous release serves again,
 * and whether it cries wolf. Real engine, SQLite store, local target, a real HTTP service whose behaviour is the
 * release `current` points at, and a real Prometheus (scraping every 250 ms, rates over 1 s).
 *
 * - `benchDetection()`: a regression starts at the switch (latency +50%, or 10% of requests failing); measured
 *   from the switch to the rollback's `start` action (the previous release serving again). Interval 2 s.
 *   Target: at most 2 intervals plus the restart time (the rollback's stop + switch + start).
 * - `benchFalseAlarms(n)`: n healthy deployments with ±15% latency jitter (target 0 rollbacks), then n with a
 *   real +30% latency regression (target: all rolled back), judged on Prometheus' mean answer time over the last
 *   second (traffic: 50 requests/s of 50 ms ± 15%). The interval is shortened to 750 ms (4 samples, a bake of
 *   4 intervals, a 2 s baseline) so 100 deployments take minutes, not hours; the rule (2 failing of the last 3)
 *   is the default one.
 */

import path from 'node:path';
import type { AnyStoredEvent } from '../src/core/events.js';
import { processYaml, type Workspace, workspace } from '../test/engine-fixtures.js';
import { type PrometheusServer, startPrometheus } from '../test/servers/prometheus.js';
import {
  type Behaviour,
  type ReleaseService,
  startReleaseService,
  steadyTraffic,
} from '../test/servers/release-service.js';
import { median, round } from './bench-util.js';
import type { BenchSection } from './section.js';

export const DETECTION_INTERVAL_MS = 2000;
export const FALSE_ALARM_INTERVAL_MS = 750;
export const FALSE_ALARM_DEPLOYMENTS = 50;

export interface DetectionRun {
  readonly scenario: 'latency +50%' | 'error rate 10%';
  readonly rolledBack: boolean;
  readonly trigger: string | null;
  /** Switch (restart step done) → the interval whose verdict fired the trigger. */
  readonly detectMs: number;
  /** Switch → rollback `start` done: the previous release serves again. */
  readonly restoreMs: number;
  /** The rollback's stop + switch + start. */
  readonly restartMs: number;
  readonly intervals: number;
  /** 2 × interval + restartMs. */
  readonly targetMs: number;
}

export interface FalseAlarmResult {
  readonly healthy: number;
  readonly healthyRolledBack: number;
  readonly regressed: number;
  readonly regressedRolledBack: number;
  /** Median switch → restored time of the regressed ones. */
  readonly medianRestoreMs: number;
  readonly intervalMs: number;
}

const SERVICE = `
service:
  start: [sh, -c, 'true']
  stop: [sh, -c, 'true']
`;

interface Rig {
  readonly ws: Workspace;
  readonly service: ReleaseService;
  readonly prometheus?: PrometheusServer;
  release: number;
  stop(): Promise<void>;
}

async function rig(
  monitors: (service: ReleaseService, prometheus?: PrometheusServer) => string,
  bake: string,
  baseline: string,
  withPrometheus: boolean,
): Promise<Rig> {
  const ws = await workspace();
  const service = await startReleaseService(path.join(ws.dir, 'target'));
  const prometheus = withPrometheus
    ? await startPrometheus({ targets: [`127.0.0.1:${service.port}`], scrapeInterval: '250ms' })
    : undefined;
  // Users: a steady stream of requests, so rates have something to count.
  const stopTraffic = steadyTraffic(service, 20);
  ws.yaml = `${processYaml(
    `
  - id: deploy
    steps:
      - id: ship
        release: {}
      - id: baseline
        baseline: { ${baseline} }
      - id: restart
        restart: {}
      - id: bake
        bake: { ${bake} }
`,
    monitors(service, prometheus),
  )}${SERVICE}`;
  return {
    ws,
    service,
    ...(prometheus ? { prometheus } : {}),
    release: 0,
    async stop() {
      stopTraffic();
      await prometheus?.stop();
      await service.close();
      await ws.cleanup();
    },
  };
}

async function deploy(r: Rig, behaviour: Behaviour): Promise<readonly AnyStoredEvent[]> {
  const release = `r${++r.release}`;
  const view = await r.ws.deploy(release, { 'behaviour.json': JSON.stringify(behaviour) });
  return r.ws.store.readEvents(view.id);
}

function timing(events: readonly AnyStoredEvent[]) {
  const at = (pick: (e: AnyStoredEvent) => boolean) => {
    const e = events.find(pick);
    return e ? Date.parse(e.at) : undefined;
  };
  const switched = at((e) => e.type === 'step.succeeded' && e.payload.step === 'restart');
  const fired = at((e) => e.type === 'analysis.interval' && e.payload.trigger !== undefined);
  const stopped = at((e) => e.type === 'rollback.started');
  const restored = at((e) => e.type === 'rollback.step' && e.payload.action === 'start' && e.payload.ok);
  const started = events.find((e) => e.type === 'rollback.started');
  return {
    rolledBack: events.some((e) => e.type === 'deployment.rolled-back'),
    trigger: started?.type === 'rollback.started' ? started.payload.trigger : null,
    detectMs: switched !== undefined && fired !== undefined ? fired - switched : Number.NaN,
    restoreMs: switched !== undefined && restored !== undefined ? restored - switched : Number.NaN,
    restartMs: stopped !== undefined && restored !== undefined ? restored - stopped : Number.NaN,
    intervals: events.filter((e) => e.type === 'analysis.interval').length,
  };
}

/** Both regressions, each against a fresh healthy release, with a 2 s interval. */
export async function benchDetection(): Promise<DetectionRun[]> {
  const bake = `duration: 20s, interval: ${DETECTION_INTERVAL_MS}ms, samples: 4`;
  const runs: DetectionRun[] = [];

  const latency = await rig(
    (s) => `    monitors:
      - id: latency
        http: { url: '${s.url}/' }
`,
    bake,
    'duration: 2s, every: 100ms',
    false,
  );
  try {
    await deploy(latency, { delayMs: 20, jitter: 0.1 });
    const t = timing(await deploy(latency, { delayMs: 30, jitter: 0.1 }));
    runs.push({ scenario: 'latency +50%', ...t, targetMs: 2 * DETECTION_INTERVAL_MS + t.restartMs });
  } finally {
    await latency.stop();
  }

  const errors = await rig(
    (_s, p) => `    monitors:
      - id: error-rate
        prometheus:
          url: ${p?.url}
          query: '(sum(rate(http_requests_total{code="500"}[1s])) or vector(0)) / sum(rate(http_requests_total[1s]))'
        compare: { max: 0.03 }
`,
    bake,
    'duration: 2s, every: 250ms',
    true,
  );
  try {
    await deploy(errors, { delayMs: 5 });
    await new Promise((r) => setTimeout(r, 2500)); // the rate window fills with the healthy release
    const t = timing(await deploy(errors, { delayMs: 5, errorRate: 0.1 }));
    runs.push({ scenario: 'error rate 10%', ...t, targetMs: 2 * DETECTION_INTERVAL_MS + t.restartMs });
  } finally {
    await errors.stop();
  }
  return runs;
}

/** `n` healthy deployments with ±15% jitter, then `n` with +30% latency; interval shortened to 750 ms. */
export async function benchFalseAlarms(n = FALSE_ALARM_DEPLOYMENTS): Promise<FalseAlarmResult> {
  // Mean answer time over the last second as Prometheus computes it from the service's histogram (~50 requests).
  const r = await rig(
    (_s, p) => `    monitors:
      - id: mean-latency
        prometheus:
          url: ${p?.url}
          query: '1000 * sum(rate(http_request_duration_seconds_sum[1s])) / sum(rate(http_request_duration_seconds_count[1s]))'
`,
    `duration: ${4 * FALSE_ALARM_INTERVAL_MS}ms, interval: ${FALSE_ALARM_INTERVAL_MS}ms, samples: 4`,
    'duration: 2s, every: 100ms',
    true,
  );
  try {
    // 50 ms answers: the machine's own jitter (a ms or two on a busy box) stays small beside the ±15% under test.
    const healthy = { delayMs: 50, jitter: 0.15 };
    let healthyRolledBack = 0;
    for (let i = 0; i < n; i++) {
      const events = await deploy(r, healthy);
      if (!timing(events).rolledBack) continue;
      healthyRolledBack++;
      if (process.env.SLIPWAY_BENCH_DEBUG) console.error('false alarm', JSON.stringify(intervalsOf(events)));
    }
    let regressedRolledBack = 0;
    const restores: number[] = [];
    // +30% against what is live: a regression that slipped through would be the next one's baseline.
    let live = healthy.delayMs;
    for (let i = 0; i < n; i++) {
      const events = await deploy(r, { delayMs: live * 1.3, jitter: 0.15 });
      const t = timing(events);
      if (process.env.SLIPWAY_BENCH_DEBUG) console.error(JSON.stringify(intervalsOf(events)));
      if (t.rolledBack) {
        regressedRolledBack++;
        restores.push(t.restoreMs);
      } else live *= 1.3;
    }
    return {
      healthy: n,
      healthyRolledBack,
      regressed: n,
      regressedRolledBack,
      medianRestoreMs: restores.length ? median(restores) : Number.NaN,
      intervalMs: FALSE_ALARM_INTERVAL_MS,
    };
  } finally {
    await r.stop();
  }
}

function intervalsOf(events: readonly AnyStoredEvent[]) {
  return events.flatMap((e) =>
    e.type === 'analysis.baseline'
      ? [e.payload.monitors.map((m) => `base ${m.median} mad ${m.mad}`)]
      : e.type === 'analysis.interval'
        ? [e.payload.monitors.map((m) => `${m.verdict} ${m.detail}`)]
        : [],
  );
}

const s = (ms: number) => `${round(ms / 1000, 2)} s`;

export const detectionSection: BenchSection = {
  name: 'detection',
  title: 'detection: latency +50% and error rate 10% after the switch, interval 2 s',
  async run() {
    const runs = await benchDetection();
    const pass: Record<string, boolean> = {};
    const rows = runs.map((r) => {
      const ok = r.rolledBack && r.restoreMs <= r.targetMs;
      pass[r.scenario === 'latency +50%' ? 'detectLatency' : 'detectErrors'] = ok;
      return `| ${r.scenario}: switch → previous release serving again (trigger ${r.trigger ?? 'none'}, ${r.intervals} intervals of 2 s) | ${s(r.restoreMs)} (detected after ${s(r.detectMs)}) | rollback restart ${s(r.restartMs)} | ≤ 2 intervals + restart = ${s(r.targetMs)} | ${ok ? 'yes' : 'NO'} |`;
    });
    return { rows, json: { runs }, pass };
  },
};

export const falseAlarmSection: BenchSection = {
  name: 'false-alarms',
  title: `false alarms: ${FALSE_ALARM_DEPLOYMENTS} healthy (±15% jitter) and ${FALSE_ALARM_DEPLOYMENTS} regressed (+30%) deployments, interval 750 ms`,
  async run() {
    const r = await benchFalseAlarms();
    const quiet = r.healthyRolledBack === 0;
    const caught = r.regressedRolledBack === r.regressed;
    return {
      rows: [
        `| healthy deployments rolled back (±15% latency jitter, interval ${r.intervalMs} ms) | ${r.healthyRolledBack} of ${r.healthy} | — | 0 | ${quiet ? 'yes' : 'NO'} |`,
        `| regressed deployments rolled back (+30% latency, interval ${r.intervalMs} ms) | ${r.regressedRolledBack} of ${r.regressed} (median ${s(r.medianRestoreMs)} to restore) | — | all | ${caught ? 'yes' : 'NO'} |`,
      ],
      json: { ...r },
      pass: { noFalseAlarms: quiet, allRegressionsCaught: caught },
    };
  },
};
