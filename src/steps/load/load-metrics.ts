/** Turns a load run's raw sample into the numbers a load step records and judges: throughput, percentiles, error rate. Pure. */

import type { LoadSample } from './load-generator.js';

export interface LatencySummary {
  readonly p50: number;
  readonly p90: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

export interface LoadMetrics {
  /** Answered requests plus requests lost to connection errors and timeouts. */
  readonly requests: number;
  readonly responses: number;
  /** Answers other than 2xx/3xx, plus connection errors and timeouts. */
  readonly failures: number;
  /** failures / requests, 0 when nothing was sent. */
  readonly errorRate: number;
  /** Answered requests per second over the run. */
  readonly throughput: number;
  /** Milliseconds, of the answers after each connection's first (see LoadSample); null when nothing was answered. */
  readonly latencyMs: LatencySummary | null;
  readonly statusCounts: Readonly<Record<string, number>>;
  readonly connectionErrors: number;
  readonly timeouts: number;
  readonly windowMs: number;
}

export function loadMetrics(sample: LoadSample): LoadMetrics {
  const { responses } = sample;
  let badAnswers = 0;
  for (const [status, count] of Object.entries(sample.statusCounts)) {
    if (!isGoodStatus(Number(status))) badAnswers += count;
  }
  const requests = responses + sample.connectionErrors + sample.timeouts;
  const failures = badAnswers + sample.connectionErrors + sample.timeouts;
  return {
    requests,
    responses,
    failures,
    errorRate: requests === 0 ? 0 : round(failures / requests, 4),
    throughput: sample.windowMs <= 0 ? 0 : round((responses * 1000) / sample.windowMs, 2),
    latencyMs: latencySummary(sample.latenciesMs),
    statusCounts: sample.statusCounts,
    connectionErrors: sample.connectionErrors,
    timeouts: sample.timeouts,
    windowMs: Math.round(sample.windowMs),
  };
}

export function isGoodStatus(status: number): boolean {
  return status >= 200 && status < 400;
}

function latencySummary(latencies: readonly number[]): LatencySummary | null {
  if (latencies.length === 0) return null;
  const sorted = Float64Array.from(latencies).sort();
  return {
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: round(sorted[sorted.length - 1] as number, 2),
  };
}

/** Nearest-rank percentile: the smallest sample with at least p% of the samples at or below it. */
export function percentile(sorted: Float64Array, p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return round(sorted[rank - 1] as number, 2);
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
