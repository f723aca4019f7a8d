/** Metric analysis: baselines from samples, per-interval verdicts per monitor, and the noise rule that fires a rollback trigger. Pure. */

import type { MonitorSample } from './ports.js';

/**
 * How one monitor is judged. Built from the environment's monitor config.
 *
 * Relative comparison needs a baseline median that is not 0 (a change from 0 has no percentage): for
 * values that are 0 when healthy (error ratios) set `max` instead.
 */
export interface AnalysisCriteria {
  readonly monitor: string;
  /** A critical monitor's failing checks fire the `critical-check` trigger on their own (see `criticalFailures`). */
  readonly critical: boolean;
  /** Which way is bad: `increase` for latency and errors, `decrease` for throughput and success ratios. */
  readonly bad: 'increase' | 'decrease';
  /** Allowed change against the baseline in the bad direction, as a fraction. @default 0.2 (the seed's 20%) */
  readonly maxDegradation: number;
  /** Absolute limits on an interval's median, whatever the baseline. */
  readonly max?: number;
  readonly min?: number;
  /** Smallest absolute change that can be a degradation, in the value's unit. @default 0 */
  readonly minChange?: number;
  /** Fewest numeric samples a baseline or an interval needs to be judged; fewer is inconclusive. @default 3 */
  readonly minSamples: number;
}

/**
 * The noise rule, in the style of Argo Rollouts' failureLimit and Flagger's threshold, but over a sliding
 * window so one slow blip in a long bake does not add up with another far away:
 * a monitor fires `degradation` when at least `failureLimit` of its last `window` conclusive intervals
 * failed; a critical monitor fires `critical-check` when `criticalFailures` samples in a row failed.
 */
export interface NoiseRule {
  /** @default 2 */
  readonly failureLimit: number;
  /** @default 3 */
  readonly window: number;
  /** Consecutive failed samples of a critical monitor that trigger at once. @default 2 */
  readonly criticalFailures: number;
}

export const DEFAULT_NOISE_RULE: NoiseRule = { failureLimit: 2, window: 3, criticalFailures: 2 };
/** @default 0.2 */
export const DEFAULT_MAX_DEGRADATION = 0.2;
/** @default 3 */
export const DEFAULT_MIN_SAMPLES = 3;
/**
 * A degradation must also move the median by more than this many median absolute deviations of the baseline:
 * with a baseline of 1 ms ± 0.3 ms, 1.25 ms is +25% but inside the baseline's own spread. (With 1, the rule
 * only bites when the baseline's spread is wider than `maxDegradation` itself.)
 */
export const NOISE_MADS = 1;

/** What a monitor measured before the switch. */
export interface MonitorBaseline {
  readonly monitor: string;
  /** All samples taken, and those with a number. */
  readonly samples: number;
  readonly valued: number;
  /** Samples whose check failed. */
  readonly failed: number;
  /** Median of the numeric samples; absent when there were none. */
  readonly median?: number;
  /** Median absolute deviation: the baseline's own noise, shown next to it. */
  readonly mad?: number;
  /** Whether there were at least `minSamples` numbers to compare against. */
  readonly usable: boolean;
}

export type IntervalReason =
  | 'ok'
  | 'check-failed'
  | 'degradation'
  | 'above-max'
  | 'below-min'
  | 'too-few-samples';

/** One monitor's verdict over one interval. */
export interface IntervalVerdict {
  readonly monitor: string;
  readonly verdict: 'pass' | 'fail' | 'inconclusive';
  readonly reason: IntervalReason;
  readonly samples: number;
  /** Samples whose check failed. */
  readonly failed: number;
  /** The interval's numeric samples, in order (for the timeline). */
  readonly values: readonly number[];
  /** Median of the interval's numeric samples. */
  readonly value?: number;
  readonly baseline?: number;
  /** Relative change against the baseline (0.31 = 31% higher), when both are known and the baseline is not 0. */
  readonly change?: number;
  /** One line for logs: what was measured against what. */
  readonly detail: string;
}

export type AnalysisTriggerKind = 'degradation' | 'critical-check';

/** Why a bake must roll back. */
export interface AnalysisTrigger {
  readonly kind: AnalysisTriggerKind;
  readonly monitor: string;
  readonly reason: IntervalReason;
  readonly baseline?: number;
  /** The measured value that fired it (the last failing interval's median, or the last failed sample's value). */
  readonly value?: number;
  readonly change?: number;
  /** Failing intervals (or failed samples in a row, for `critical-check`) against the rule's limit. */
  readonly failures: number;
  readonly of: number;
  readonly message: string;
}

export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Median absolute deviation from the median. */
export function mad(values: readonly number[]): number | undefined {
  const m = median(values);
  if (m === undefined) return undefined;
  return median(values.map((v) => Math.abs(v - m)));
}

function numbers(samples: readonly MonitorSample[]): number[] {
  return samples.flatMap((s) => (s.ok && s.value !== undefined && Number.isFinite(s.value) ? [s.value] : []));
}

export function computeBaseline(
  criteria: Pick<AnalysisCriteria, 'monitor' | 'minSamples'>,
  samples: readonly MonitorSample[],
): MonitorBaseline {
  const values = numbers(samples);
  const m = median(values);
  const d = mad(values);
  return {
    monitor: criteria.monitor,
    samples: samples.length,
    valued: values.length,
    failed: samples.filter((s) => !s.ok).length,
    ...(m === undefined ? {} : { median: m }),
    ...(d === undefined ? {} : { mad: d }),
    usable: values.length >= criteria.minSamples && values.length > 0,
  };
}

/** Relative change of `value` against `base`; undefined when `base` is 0 (no percentage exists). */
export function relativeChange(value: number, base: number): number | undefined {
  if (base === 0) return undefined;
  return (value - base) / Math.abs(base);
}

/** Judges one monitor's samples of one interval against its baseline and limits. */
export function judgeInterval(
  criteria: AnalysisCriteria,
  baseline: MonitorBaseline | undefined,
  samples: readonly MonitorSample[],
): IntervalVerdict {
  const values = numbers(samples);
  const failed = samples.filter((s) => !s.ok).length;
  const base = baseline?.usable ? baseline.median : undefined;
  const common = { monitor: criteria.monitor, samples: samples.length, failed, values };
  // Most checks failing is a failed interval whatever the numbers say: a dead service has no latency.
  if (samples.length > 0 && failed * 2 > samples.length) {
    return {
      ...common,
      verdict: 'fail',
      reason: 'check-failed',
      ...(base === undefined ? {} : { baseline: base }),
      detail: `${failed} of ${samples.length} checks failed${lastDetail(samples)}`,
    };
  }
  const value = median(values);
  if (value === undefined || values.length < criteria.minSamples) {
    return {
      ...common,
      verdict: 'inconclusive',
      reason: 'too-few-samples',
      ...(value === undefined ? {} : { value }),
      ...(base === undefined ? {} : { baseline: base }),
      detail: `${values.length} numeric samples, ${criteria.minSamples} needed`,
    };
  }
  const change = base === undefined ? undefined : relativeChange(value, base);
  const measured = {
    ...common,
    value,
    ...(base === undefined ? {} : { baseline: base }),
    ...(change === undefined ? {} : { change }),
  };
  const against =
    base === undefined
      ? ''
      : ` vs baseline ${formatNumber(base)}${change === undefined ? '' : ` (${formatChange(change)})`}`;
  if (criteria.max !== undefined && value > criteria.max) {
    return {
      ...measured,
      verdict: 'fail',
      reason: 'above-max',
      detail: `${formatNumber(value)} above max ${formatNumber(criteria.max)}${against}`,
    };
  }
  if (criteria.min !== undefined && value < criteria.min) {
    return {
      ...measured,
      verdict: 'fail',
      reason: 'below-min',
      detail: `${formatNumber(value)} below min ${formatNumber(criteria.min)}${against}`,
    };
  }
  if (change !== undefined && base !== undefined) {
    const worse = criteria.bad === 'increase' ? change : -change;
    // A shift inside the baseline's own noise is no degradation, however large in percent (a 1 ms baseline).
    const floor = Math.max(NOISE_MADS * (baseline?.mad ?? 0), criteria.minChange ?? 0);
    if (worse > criteria.maxDegradation && Math.abs(value - base) <= floor) {
      return {
        ...measured,
        verdict: 'pass',
        reason: 'ok',
        detail: `${formatNumber(value)}${against}, within the baseline's noise (±${formatNumber(floor)})`,
      };
    }
    if (worse > criteria.maxDegradation) {
      return {
        ...measured,
        verdict: 'fail',
        reason: 'degradation',
        detail: `${formatNumber(value)}${against}, beyond ${formatPercent(criteria.maxDegradation)}`,
      };
    }
  }
  return { ...measured, verdict: 'pass', reason: 'ok', detail: `${formatNumber(value)}${against}` };
}

function lastDetail(samples: readonly MonitorSample[]): string {
  const last = [...samples].reverse().find((s) => !s.ok);
  return last ? ` (last: ${last.detail})` : '';
}

/**
 * Applies the noise rule to one monitor's interval verdicts so far (oldest first): a trigger when at least
 * `failureLimit` of the last `window` conclusive intervals failed. Inconclusive intervals are skipped, never failures.
 */
export function degradationTrigger(
  criteria: AnalysisCriteria,
  history: readonly IntervalVerdict[],
  rule: NoiseRule,
): AnalysisTrigger | undefined {
  const conclusive = history.filter((v) => v.verdict !== 'inconclusive');
  const recent = conclusive.slice(-rule.window);
  const failing = recent.filter((v) => v.verdict === 'fail');
  if (failing.length < rule.failureLimit) return undefined;
  const last = failing.at(-1) as IntervalVerdict;
  // A critical monitor whose checks fail is a critical-functionality failure, not a slowdown.
  const kind: AnalysisTriggerKind =
    criteria.critical && last.reason === 'check-failed' ? 'critical-check' : 'degradation';
  return {
    kind,
    monitor: criteria.monitor,
    reason: last.reason,
    ...(last.baseline === undefined ? {} : { baseline: last.baseline }),
    ...(last.value === undefined ? {} : { value: last.value }),
    ...(last.change === undefined ? {} : { change: last.change }),
    failures: failing.length,
    of: recent.length,
    message: `${criteria.monitor}: ${failing.length} of the last ${recent.length} intervals failed — ${last.detail}`,
  };
}

/**
 * For a critical monitor: a trigger once its last `criticalFailures` samples all failed their check. Evaluated
 * after every sample, so a broken critical check does not wait for the end of an interval.
 */
export function criticalTrigger(
  criteria: AnalysisCriteria,
  samples: readonly MonitorSample[],
  rule: NoiseRule,
): AnalysisTrigger | undefined {
  if (!criteria.critical || rule.criticalFailures < 1) return undefined;
  const tail = samples.slice(-rule.criticalFailures);
  if (tail.length < rule.criticalFailures || tail.some((s) => s.ok)) return undefined;
  const last = tail.at(-1) as MonitorSample;
  return {
    kind: 'critical-check',
    monitor: criteria.monitor,
    reason: 'check-failed',
    ...(last.value === undefined ? {} : { value: last.value }),
    failures: tail.length,
    of: rule.criticalFailures,
    message: `${criteria.monitor}: critical check failed ${tail.length} times in a row — ${last.detail}`,
  };
}

/** Checks a noise rule and criteria for sense; returns what is wrong, or nothing. */
export function noiseRuleProblem(rule: NoiseRule): string | undefined {
  if (!Number.isInteger(rule.window) || rule.window < 1)
    return `window must be 1 or more, got ${rule.window}`;
  if (!Number.isInteger(rule.failureLimit) || rule.failureLimit < 1)
    return `failureLimit must be 1 or more, got ${rule.failureLimit}`;
  if (rule.failureLimit > rule.window)
    return `failureLimit ${rule.failureLimit} can never be reached within a window of ${rule.window} intervals`;
  return undefined;
}

export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 100) return String(Math.round(n));
  if (abs >= 1) return String(Math.round(n * 100) / 100);
  return String(Number(n.toPrecision(3)));
}

export function formatPercent(fraction: number): string {
  return `${Math.round(fraction * 1000) / 10}%`;
}

export function formatChange(change: number): string {
  return `${change >= 0 ? '+' : '−'}${formatPercent(Math.abs(change))}`;
}
