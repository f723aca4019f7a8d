/** `bake`: watches the monitors after the switch and fails (so the deployment rolls back) when a trigger fires. */

import { runBake } from '../analysis/bake-runner.js';
import { closeAll } from '../analysis/sample-rounds.js';
import type { AnalysisTrigger, IntervalVerdict } from '../core/analysis.js';
import { formatDuration } from '../core/duration.js';
import { SlipwayError } from '../core/errors.js';
import type { BakeStep } from '../core/process.js';
import { openMonitors } from './baseline-step.js';
import type { StepExecutor } from './step-executor.js';

export const bakeStep: StepExecutor<BakeStep> = {
  kind: 'bake',
  async execute(step, rt) {
    const watched = openMonitors(rt, step.monitors, step.id);
    try {
      const measured = rt.measuredBaseline?.() ?? [];
      const baseline = new Map(measured.map((b) => [b.monitor, b]));
      const without = watched.filter((w) => !baseline.get(w.monitor.id)?.usable).map((w) => w.monitor.id);
      rt.output(
        `baking for ${formatDuration(step.durationMs)}: every ${formatDuration(step.intervalMs)} the median of ` +
          `${step.samplesPerInterval} samples per monitor is judged; ${step.failureLimit} failing of the last ` +
          `${step.window} intervals roll back\n`,
      );
      if (without.length) {
        rt.output(
          `no usable baseline for ${without.join(', ')}: compared on absolute limits and failed checks only\n`,
        );
      }
      const result = await runBake({
        monitors: watched,
        baseline,
        durationMs: step.durationMs,
        intervalMs: step.intervalMs,
        samplesPerInterval: step.samplesPerInterval,
        rule: {
          failureLimit: step.failureLimit,
          window: step.window,
          criticalFailures: step.criticalFailures,
        },
        signal: rt.signal,
        onInterval: async (interval) => {
          rt.output(
            `interval ${interval.index}/${interval.of}: ${interval.monitors.map(describeVerdict).join(' · ')}\n`,
          );
          if (interval.trigger) rt.output(`TRIGGER ${interval.trigger.kind}: ${interval.trigger.message}\n`);
          await rt.recordAnalysis?.({ type: 'analysis.interval', payload: interval });
        },
      });
      if (result.trigger) throw triggerError(result.trigger, result.intervals);
      return {
        summary: `${result.intervals} intervals healthy: ${result.last.map(describeVerdict).join(' · ')}`,
        details: { intervals: result.intervals, last: result.last },
      };
    } finally {
      await closeAll(watched.map((w) => w.monitor));
    }
  },
};

export function describeVerdict(v: IntervalVerdict): string {
  const mark = v.verdict === 'pass' ? '✓' : v.verdict === 'fail' ? '✗' : '?';
  return `${v.monitor} ${v.detail} ${mark}`;
}

function triggerError(trigger: AnalysisTrigger, intervals: number): SlipwayError {
  const critical = trigger.kind === 'critical-check';
  return new SlipwayError(
    critical ? 'SLW_ANALYSIS_CRITICAL' : 'SLW_ANALYSIS_DEGRADATION',
    `${critical ? 'critical check failed' : 'degradation'}: ${trigger.message}`,
    {
      hint: critical
        ? 'the new release fails a critical check: its logs say why'
        : "the new release is worse than the one before it; if that is intended, raise the monitor's compare.maxDegradation",
      details: { trigger, intervals },
    },
  );
}
