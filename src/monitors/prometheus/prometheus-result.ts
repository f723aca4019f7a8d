/**
 * Reads a Prometheus HTTP API answer (`/api/v1/query`, `/api/v1/query_range`) down to one number. Pure.
 *
 * - `vector`/`scalar` (instant) and `matrix` (range, aggregated) with exactly one series give a value.
 * - An empty result, or NaN (e.g. 0/0 when there was no traffic), is "no data": `ok: true` without a
 *   value — the analysis counts it as missing, not as failing.
 * - ±Inf, several series, a string result and Prometheus' error JSON (`errorType`, `error`) are failed
 *   samples whose detail names the query.
 */

import { formatValue, type ProbeResult } from '../monitor-sampling.js';

export type RangeAggregate = 'avg' | 'max' | 'min' | 'last';

interface ApiAnswer {
  readonly status?: unknown;
  readonly errorType?: unknown;
  readonly error?: unknown;
  readonly data?: { readonly resultType?: unknown; readonly result?: unknown };
}

type Point = readonly [unknown, unknown];
interface Series {
  readonly metric?: Record<string, string>;
  readonly value?: Point;
  readonly values?: readonly Point[];
}

/** `httpStatus` and `body` as received; `aggregate` for range queries. */
export function readPrometheusAnswer(
  httpStatus: number,
  body: string,
  query: string,
  aggregate?: RangeAggregate,
): ProbeResult {
  const failed = (why: string): ProbeResult => ({ ok: false, detail: `${why} (query: ${query})` });
  let answer: ApiAnswer;
  try {
    answer = JSON.parse(body) as ApiAnswer;
  } catch {
    return failed(`Prometheus answered ${httpStatus} with a body that is not its API's JSON: ${short(body)}`);
  }
  if (answer === null || typeof answer !== 'object')
    return failed(`Prometheus answered ${httpStatus}: ${short(body)}`);
  if (answer.status !== 'success') {
    const type = typeof answer.errorType === 'string' ? answer.errorType : 'error';
    const message = typeof answer.error === 'string' ? answer.error : short(body);
    return failed(`Prometheus refused the query (${type}): ${message}`);
  }
  const type = answer.data?.resultType;
  const result = answer.data?.result;
  if (type === 'scalar') return fromPoints([result as Point], 'last', query);
  if (type === 'vector' || type === 'matrix') {
    if (!Array.isArray(result)) return failed('Prometheus answered without a result list');
    const series = result as Series[];
    if (series.length === 0) return { ok: true, detail: 'no data (the query matched no series)' };
    if (series.length > 1) {
      const shown = series
        .slice(0, 3)
        .map((s) => labels(s.metric))
        .join(', ');
      return failed(
        `the query returned ${series.length} series (${shown}${series.length > 3 ? ', …' : ''}); ` +
          'a monitor needs one number: aggregate them, e.g. sum(...) or max(...)',
      );
    }
    const only = series[0] as Series;
    const points = type === 'vector' ? (only.value ? [only.value] : []) : (only.values ?? []);
    return fromPoints(points, type === 'vector' ? 'last' : (aggregate ?? 'avg'), query);
  }
  return failed(`Prometheus returned a ${String(type)} result; a monitor needs a vector, scalar or matrix`);
}

/** Aggregates the finite points; NaN points are skipped (no data), an infinite one fails the sample. */
function fromPoints(points: readonly Point[], aggregate: RangeAggregate, query: string): ProbeResult {
  const numbers: number[] = [];
  for (const p of points) {
    const n = promFloat(Array.isArray(p) ? p[1] : undefined);
    if (Number.isNaN(n)) continue;
    if (!Number.isFinite(n)) {
      return {
        ok: false,
        detail:
          `the query returned ${n > 0 ? '+Inf' : '-Inf'} (a division by zero, or a quantile beyond the ` +
          `largest histogram bucket) (query: ${query})`,
      };
    }
    numbers.push(n);
  }
  if (numbers.length === 0) {
    return { ok: true, detail: points.length === 0 ? 'no data' : 'no data (NaN: e.g. 0/0 with no traffic)' };
  }
  const value = aggregateOf(numbers, aggregate);
  if (points.length === 1) return { ok: true, value, detail: formatValue(value) };
  return { ok: true, value, detail: `${aggregate} ${formatValue(value)} of ${numbers.length} points` };
}

function aggregateOf(numbers: readonly number[], aggregate: RangeAggregate): number {
  switch (aggregate) {
    case 'avg':
      return numbers.reduce((a, b) => a + b, 0) / numbers.length;
    case 'max':
      return Math.max(...numbers);
    case 'min':
      return Math.min(...numbers);
    case 'last':
      return numbers[numbers.length - 1] as number;
  }
}

/** Prometheus writes infinities as "+Inf"/"-Inf", which `Number()` would read as NaN. */
function promFloat(v: unknown): number {
  if (typeof v !== 'string') return Number.NaN;
  if (v === '+Inf' || v === 'Inf') return Number.POSITIVE_INFINITY;
  if (v === '-Inf') return Number.NEGATIVE_INFINITY;
  return v.trim() === '' ? Number.NaN : Number(v);
}

function labels(metric: Record<string, string> | undefined): string {
  const entries = Object.entries(metric ?? {});
  return `{${entries.map(([k, v]) => `${k}="${v}"`).join(',')}}`;
}

function short(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > 200 ? `${one.slice(0, 200)}…` : one || '(empty)';
}
