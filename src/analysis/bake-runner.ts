/** The bake: samples the monitors after the switch, judges each interval against the baseline, and stops at a trigger. */

import {
  type AnalysisCriteria,
  type AnalysisTrigger,
  criticalTrigger,
  degradationTrigger,
  type IntervalVerdict,
  judgeInterval,
  type MonitorBaseline,
  type NoiseRule,
} from '../core/analysis.js';
import type { Monitor, MonitorSample } from '../core/ports.js';
import { sampleAll, sleepUntil } from './sample-rounds.js';

export interface BakeOptions {
  readonly monitors: readonly { readonly monitor: Monitor; readonly criteria: AnalysisCriteria }[];
  /** Per monitor id; a monitor without one is judged on its absolute limits only. */
  readonly baseline: ReadonlyMap<string, MonitorBaseline>;
  readonly durationMs: number;
  readonly intervalMs: number;
  readonly samplesPerInterval: number;
  readonly rule: NoiseRule;
  readonly signal: AbortSignal;
  /** Called after every interval (and when a critical trigger cuts one short), before the next begins. */
  readonly onInterval: (interval: BakeInterval) => Promise<void>;
  readonly onSample?: (monitor: string, sample: MonitorSample) => void;
}

export interface BakeInterval {
  /** 1-based. */
  readonly index: number;
  readonly of: number;
  readonly monitors: readonly IntervalVerdict[];
  readonly trigger?: AnalysisTrigger;
}

export interface BakeResult {
  readonly intervals: number;
  readonly trigger?: AnalysisTrigger;
  /** The last interval's verdicts (for the step's summary). */
  readonly last: readonly IntervalVerdict[];
}

export async function runBake(options: BakeOptions): Promise<BakeResult> {
  const { monitors, rule, signal } = options;
  const of = Math.max(1, Math.ceil(options.durationMs / options.intervalMs));
  const every = options.intervalMs / Math.max(1, options.samplesPerInterval);
  const history = new Map<string, IntervalVerdict[]>(monitors.map((m) => [m.monitor.id, []]));
  // Critical monitors are judged on consecutive samples, across interval boundaries.
  const streaks = new Map<string, MonitorSample[]>(monitors.map((m) => [m.monitor.id, []]));
  const started = Date.now();
  let last: IntervalVerdict[] = [];
  for (let index = 1; index <= of; index++) {
    const intervalStart = started + (index - 1) * options.intervalMs;
    const taken = new Map<string, MonitorSample[]>(monitors.map((m) => [m.monitor.id, []]));
    let critical: AnalysisTrigger | undefined;
    for (let k = 0; k < options.samplesPerInterval && !critical; k++) {
      await sleepUntil(intervalStart + k * every, signal);
      const round = await sampleAll(
        monitors.map((m) => m.monitor),
        signal,
      );
      for (const m of monitors) {
        const sample = round.get(m.monitor.id);
        if (!sample) continue;
        taken.get(m.monitor.id)?.push(sample);
        options.onSample?.(m.monitor.id, sample);
        const streak = streaks.get(m.monitor.id) as MonitorSample[];
        streak.push(sample);
        if (streak.length > rule.criticalFailures) streak.shift();
        critical ??= criticalTrigger(m.criteria, streak, rule);
      }
    }
    last = monitors.map((m) =>
      judgeInterval(m.criteria, options.baseline.get(m.monitor.id), taken.get(m.monitor.id) ?? []),
    );
    let trigger = critical;
    for (const [i, m] of monitors.entries()) {
      const h = history.get(m.monitor.id) as IntervalVerdict[];
      h.push(last[i] as IntervalVerdict);
      trigger ??= degradationTrigger(m.criteria, h, rule);
    }
    await options.onInterval({ index, of, monitors: last, ...(trigger ? { trigger } : {}) });
    if (trigger) return { intervals: index, trigger, last };
    if (index < of) await sleepUntil(intervalStart + options.intervalMs, signal);
  }
  return { intervals: of, last };
}
