/** Judges a load run's numbers against absolute limits and the last good release's numbers. Pure. */

import { isGoodStatus, type LoadMetrics } from './load-metrics.js';

export interface LoadLimits {
  /** Requested requests per second. */
  readonly rate: number;
  readonly connections: number;
  readonly maxP95Ms?: number;
  readonly maxP99Ms?: number;
  readonly maxErrorRate: number;
  /** Allowed worsening against the baseline, as a fraction. */
  readonly regression: number;
}

/** The numbers of the last good release's run that a new run is compared with. */
export interface LoadBaseline {
  readonly rate: number;
  readonly throughput: number;
  readonly p95Ms: number;
}

export type BaselineLookup =
  | { readonly found: true; readonly baseline: LoadBaseline }
  | { readonly found: false; readonly reason: string };

export type LoadCheck =
  | 'p95'
  | 'p99'
  | 'error-rate'
  | 'throughput'
  | 'p95-regression'
  | 'throughput-regression';

export interface LoadVerdict {
  readonly check: LoadCheck;
  readonly ok: boolean;
  /** Milliseconds, a fraction (error rate) or requests per second; null when nothing was answered. */
  readonly measured: number | null;
  readonly limit: number;
  readonly baseline?: number;
  /** Change against the baseline as a fraction: +0.6 is 60% higher. */
  readonly change?: number;
  readonly message: string;
}

/** Below this share of the requested rate the run did not apply the load it was asked to, so it fails. */
export const MIN_THROUGHPUT_SHARE = 0.9;
/**
 * A p95 that grew by less than this is not a regression, whatever the percentage: on a fast service, scheduler
 * and timer jitter alone moves a 2 ms p95 by more than 20% (seen: 2.4 ms → 4.4 ms with nothing changed).
 */
export const MIN_REGRESSION_MS = 5;

/** Reads a baseline from the `details` a load step recorded; only a run at the same rate is comparable. */
export function pickBaseline(
  details: Readonly<Record<string, unknown>> | undefined,
  rate: number,
): BaselineLookup {
  if (details === undefined) return { found: false, reason: 'no earlier successful run of this step' };
  const latency = details.latencyMs as Record<string, unknown> | null | undefined;
  const baseline = { rate: details.rate, throughput: details.throughput, p95Ms: latency?.p95 };
  if (
    !isFiniteNumber(baseline.rate) ||
    !isFiniteNumber(baseline.throughput) ||
    !isFiniteNumber(baseline.p95Ms)
  ) {
    return { found: false, reason: 'the last good run recorded no load numbers' };
  }
  if (baseline.rate !== rate) {
    // Latency and throughput depend on the rate: numbers from another rate would flag or hide changes falsely.
    return { found: false, reason: `the last good run was at ${baseline.rate}/s, this one at ${rate}/s` };
  }
  return { found: true, baseline: baseline as LoadBaseline };
}

export function judgeLoad(
  m: LoadMetrics,
  limits: LoadLimits,
  baseline: LoadBaseline | undefined,
): LoadVerdict[] {
  const verdicts: LoadVerdict[] = [];
  const p95 = m.latencyMs?.p95 ?? null;
  const p99 = m.latencyMs?.p99 ?? null;
  if (limits.maxP95Ms !== undefined) verdicts.push(latencyLimit('p95', p95, limits.maxP95Ms));
  if (limits.maxP99Ms !== undefined) verdicts.push(latencyLimit('p99', p99, limits.maxP99Ms));

  const errorsOk = m.errorRate <= limits.maxErrorRate;
  verdicts.push({
    check: 'error-rate',
    ok: errorsOk,
    measured: m.errorRate,
    limit: limits.maxErrorRate,
    message: errorsOk
      ? `error rate ${formatPercent(m.errorRate)} within ${formatPercent(limits.maxErrorRate)}`
      : `error rate ${formatPercent(m.errorRate)} (${m.failures} of ${m.requests}: ${describeFailures(m)}) is above the limit of ${formatPercent(limits.maxErrorRate)}`,
  });

  const floor = limits.rate * MIN_THROUGHPUT_SHARE;
  const sustained = m.throughput >= floor;
  verdicts.push({
    check: 'throughput',
    ok: sustained,
    measured: m.throughput,
    limit: round1(floor),
    message: sustained
      ? `${formatRate(m.throughput)} sustained (requested ${limits.rate}/s)`
      : `the service could not sustain ${limits.rate}/s: ${formatRate(m.throughput)} achieved (${formatPercent(
          m.throughput / limits.rate,
          0,
        )} of the rate, at least ${formatPercent(MIN_THROUGHPUT_SHARE, 0)} needed) because ${whyUnsustained(m, limits)}`,
  });

  if (baseline) {
    if (p95 !== null && baseline.p95Ms > 0) {
      const change = (p95 - baseline.p95Ms) / baseline.p95Ms;
      const ok = change <= limits.regression || p95 - baseline.p95Ms < MIN_REGRESSION_MS;
      verdicts.push({
        check: 'p95-regression',
        ok,
        measured: p95,
        limit: limits.regression,
        baseline: baseline.p95Ms,
        change: round4(change),
        message: `p95 ${ok ? 'against' : 'regressed against'} the last good release: ${formatMs(baseline.p95Ms)} → ${formatMs(
          p95,
        )} (${formatChange(change)})${ok ? `, within +${formatPercent(limits.regression, 0)}` : `, more than the allowed +${formatPercent(limits.regression, 0)}`}`,
      });
    }
    if (baseline.throughput > 0) {
      const change = (m.throughput - baseline.throughput) / baseline.throughput;
      const ok = change >= -limits.regression;
      verdicts.push({
        check: 'throughput-regression',
        ok,
        measured: m.throughput,
        limit: limits.regression,
        baseline: baseline.throughput,
        change: round4(change),
        message: `throughput ${ok ? 'against' : 'regressed against'} the last good release: ${formatRate(
          baseline.throughput,
        )} → ${formatRate(m.throughput)} (${formatChange(change)})${ok ? `, within -${formatPercent(limits.regression, 0)}` : `, more than the allowed -${formatPercent(limits.regression, 0)}`}`,
      });
    }
  }
  return verdicts;
}

function latencyLimit(check: 'p95' | 'p99', measured: number | null, limit: number): LoadVerdict {
  if (measured === null) {
    return { check, ok: false, measured, limit, message: `${check} unknown: no request was answered` };
  }
  const ok = measured <= limit;
  return {
    check,
    ok,
    measured,
    limit,
    message: ok
      ? `${check} ${formatMs(measured)} within ${formatMs(limit)}`
      : `${check} ${formatMs(measured)} is above the limit of ${formatMs(limit)}`,
  };
}

function whyUnsustained(m: LoadMetrics, limits: LoadLimits): string {
  if (m.responses === 0) return 'no request was answered';
  const lost = m.timeouts + m.connectionErrors;
  if (lost > 0) return `${lost} requests timed out or lost their connection`;
  const p50 = m.latencyMs?.p50 ?? 0;
  // The generator waits for each answer before a connection sends again: slow answers cap the rate.
  const connections = Math.min(limits.connections, Math.max(1, Math.round(limits.rate)));
  const capacity = p50 > 0 ? (connections * 1000) / p50 : Number.POSITIVE_INFINITY;
  if (capacity < limits.rate * 1.1) {
    return `each of the ${connections} connections waits for its answer (p50 ${formatMs(p50)}), so at most ~${Math.floor(
      capacity,
    )}/s fit`;
  }
  return 'answers did not come back fast enough (or the machine running Slipway was too busy to send the load)';
}

function describeFailures(m: LoadMetrics): string {
  const parts: string[] = [];
  for (const [status, count] of Object.entries(m.statusCounts)) {
    if (!isGoodStatus(Number(status))) parts.push(`${count} × HTTP ${status}`);
  }
  if (m.timeouts > 0) parts.push(`${m.timeouts} timed out`);
  if (m.connectionErrors > 0) parts.push(`${m.connectionErrors} connection errors`);
  return parts.join(', ');
}

/** "0.4ms", "12ms": one decimal only where it matters. */
export function formatMs(ms: number): string {
  return ms < 10 ? `${round1(ms)}ms` : `${Math.round(ms)}ms`;
}

export function formatPercent(fraction: number, digits = 1): string {
  return `${(fraction * 100).toFixed(digits)}%`;
}

export function formatChange(fraction: number): string {
  const pct = Math.round(fraction * 100);
  return `${pct >= 0 ? '+' : ''}${pct}%`;
}

function formatRate(rps: number): string {
  return `${rps.toFixed(1)} req/s`;
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

function round4(v: number): number {
  return Math.round(v * 10_000) / 10_000;
}
