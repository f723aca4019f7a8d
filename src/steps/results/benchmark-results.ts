/** Reads benchmark results (github-action-benchmark's `[{name, value, unit}]`, hyperfine's `--export-json`) and compares them with a baseline. */

import { looksLike, malformedReport, parseJsonReport } from './malformed-report.js';

const WHAT = 'a benchmark result file';

export interface BenchmarkMetric {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
}

export interface BenchmarkResults {
  readonly format: 'github-action-benchmark' | 'hyperfine';
  readonly metrics: readonly BenchmarkMetric[];
}

/** What a previous run stored in its step details: the numbers this run is compared with. */
export interface BenchmarkBaseline {
  readonly values: Readonly<Record<string, number>>;
  readonly units: Readonly<Record<string, string>>;
}

export interface BenchmarkOptions {
  readonly better: 'smaller' | 'bigger';
  /** Allowed worsening as a fraction (0.2 = 20%). */
  readonly threshold: number;
}

export interface MetricComparison extends BenchmarkMetric {
  readonly baseline: number | null;
  /** (value − baseline) / baseline; null without a comparable baseline. */
  readonly change: number | null;
  readonly status: 'new' | 'better' | 'ok' | 'regressed' | 'not-compared';
  /** Why a metric was not compared (unit changed, baseline zero). */
  readonly note?: string;
}

export interface BenchmarkVerdict {
  readonly comparisons: readonly MetricComparison[];
  /** In the baseline but not in these results: mentioned, never a failure (benchmarks get renamed). */
  readonly missing: readonly string[];
  readonly regressed: readonly MetricComparison[];
  readonly hasBaseline: boolean;
  readonly passed: boolean;
}

type Json = Record<string, unknown>;

export function parseBenchmarkResults(text: string, file: string): BenchmarkResults {
  const doc = parseJsonReport(text, file, WHAT);
  const expected = `expected an array of {name, value, unit} or hyperfine's {"results": [...]}${looksLike(text)}`;
  let format: BenchmarkResults['format'];
  let metrics: BenchmarkMetric[];
  if (Array.isArray(doc)) {
    format = 'github-action-benchmark';
    metrics = doc.map((item: unknown, i) => {
      if (!isObject(item) || typeof item.name !== 'string' || item.name === '') {
        throw malformedReport(file, WHAT, `entry ${i} has no "name"; ${expected}`);
      }
      return { name: item.name, value: finite(item.value, `"${item.name}"`, file), unit: unitOf(item.unit) };
    });
  } else if (isObject(doc) && Array.isArray(doc.results)) {
    format = 'hyperfine';
    metrics = doc.results.map((item: unknown, i) => {
      if (!isObject(item) || typeof item.command !== 'string') {
        throw malformedReport(
          file,
          WHAT,
          `results[${i}] has no "command" (is this hyperfine --export-json?)`,
        );
      }
      // hyperfine reports seconds; its mean is what its own summary compares.
      return { name: item.command, value: finite(item.mean, `"${item.command}" mean`, file), unit: 's' };
    });
  } else {
    throw malformedReport(file, WHAT, expected);
  }
  if (metrics.length === 0) throw malformedReport(file, WHAT, 'it holds no results');
  const seen = new Set<string>();
  for (const m of metrics) {
    // The baseline is keyed by name: two results with one name could not be told apart next time.
    if (seen.has(m.name)) throw malformedReport(file, WHAT, `the name "${m.name}" appears twice`);
    seen.add(m.name);
  }
  return { format, metrics };
}

/** The baseline stored by `benchmarkDetails`, or undefined when `details` holds none (first run, other step). */
export function baselineFromDetails(
  details: Readonly<Record<string, unknown>> | undefined,
): BenchmarkBaseline | undefined {
  if (!details || !isObject(details.values)) return undefined;
  const values: Record<string, number> = {};
  for (const [k, v] of Object.entries(details.values))
    if (typeof v === 'number' && Number.isFinite(v)) values[k] = v;
  const units: Record<string, string> = {};
  if (isObject(details.units)) {
    for (const [k, v] of Object.entries(details.units)) if (typeof v === 'string') units[k] = v;
  }
  return Object.keys(values).length > 0 ? { values, units } : undefined;
}

/**
 * Each metric against the baseline: worse by more than `threshold` (bigger when smaller is better, and the
 * reverse) is a regression; exactly at the threshold is not (the seed's rule: "more than 20% slower").
 */
export function compareBenchmarks(
  results: BenchmarkResults,
  baseline: BenchmarkBaseline | undefined,
  options: BenchmarkOptions,
): BenchmarkVerdict {
  const comparisons = results.metrics.map((m): MetricComparison => {
    const base = baseline?.values[m.name];
    if (base === undefined) return { ...m, baseline: null, change: null, status: 'new' };
    const baseUnit = baseline?.units[m.name];
    if (baseUnit !== undefined && baseUnit !== m.unit) {
      return {
        ...m,
        baseline: base,
        change: null,
        status: 'not-compared',
        note: `unit changed from ${baseUnit}`,
      };
    }
    if (base === 0) {
      return { ...m, baseline: base, change: null, status: 'not-compared', note: 'baseline is 0' };
    }
    const change = (m.value - base) / Math.abs(base);
    const worsening = options.better === 'smaller' ? change : -change;
    // A hair of tolerance so that 1.2 / 1.0 - 1 (0.19999999999999996 or 0.2000000000000001) counts as 20%.
    const status = worsening > options.threshold + 1e-9 ? 'regressed' : worsening < 0 ? 'better' : 'ok';
    return { ...m, baseline: base, change, status };
  });
  const names = new Set(results.metrics.map((m) => m.name));
  const missing = baseline ? Object.keys(baseline.values).filter((n) => !names.has(n)) : [];
  const regressed = comparisons.filter((c) => c.status === 'regressed');
  return {
    comparisons,
    missing,
    regressed,
    hasBaseline: baseline !== undefined,
    passed: regressed.length === 0,
  };
}

/** "+25.0%". */
export function formatChange(change: number): string {
  const pct = change * 100;
  return `${pct >= 0 ? '+' : ''}${pct.toFixed(1)}%`;
}

/** A value with its unit, to four significant digits: "0.05603 s", "1234 ops/s". */
export function formatValue(value: number, unit: string): string {
  const shown = Math.abs(value) >= 1e4 ? String(Math.round(value)) : String(Number(value.toPrecision(4)));
  return unit ? `${shown} ${unit}` : shown;
}

function finite(value: unknown, what: string, file: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw malformedReport(file, WHAT, `${what} is ${JSON.stringify(value) ?? 'missing'}, not a number`);
  }
  return value;
}

function unitOf(unit: unknown): string {
  return typeof unit === 'string' ? unit : '';
}

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
