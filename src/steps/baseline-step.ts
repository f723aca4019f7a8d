/** `baseline`: measures the environment's monitors against the release serving now, before the switch. */

import { measureBaseline } from '../analysis/baseline-runner.js';
import { criteriaFor, monitorsFor } from '../analysis/monitor-criteria.js';
import { closeAll } from '../analysis/sample-rounds.js';
import { formatNumber, type MonitorBaseline } from '../core/analysis.js';
import { formatDuration } from '../core/duration.js';
import type { BaselineStep } from '../core/process.js';
import { createMonitor } from '../monitors/create-monitor.js';
import type { StepExecutor, StepRuntime } from './step-executor.js';

export const baselineStep: StepExecutor<BaselineStep> = {
  kind: 'baseline',
  async execute(step, rt) {
    const watched = openMonitors(rt, step.monitors, step.id);
    const started = Date.now();
    try {
      const serving = await rt.target.currentRelease(rt.signal).catch(() => null);
      rt.output(
        `measuring ${watched.map((w) => w.monitor.id).join(', ')} for ${formatDuration(step.durationMs)} ` +
          `against ${serving ?? 'whatever serves now'}\n`,
      );
      const baselines = await measureBaseline({
        monitors: watched,
        durationMs: step.durationMs,
        everyMs: step.everyMs,
        signal: rt.signal,
        onRound: (round, of, samples) =>
          rt.output(
            `  ${round}/${of}: ${[...samples].map(([id, s]) => `${id} ${s.ok ? '' : '✗ '}${s.detail}`).join(' · ')}\n`,
          ),
      });
      const lines = baselines.map(describeBaseline);
      for (const line of lines) rt.output(`${line}\n`);
      await rt.recordAnalysis?.({
        type: 'analysis.baseline',
        payload: {
          release: serving,
          durationMs: Date.now() - started,
          monitors: baselines,
        },
      });
      return {
        summary: lines.join('; '),
        details: { release: serving, monitors: baselines },
      };
    } finally {
      await closeAll(watched.map((w) => w.monitor));
    }
  },
};

/** The environment's monitors a step names, built with the step's scope and redactor. */
export function openMonitors(rt: StepRuntime, ids: readonly string[], where: string) {
  return monitorsFor(rt.environment, ids, where).map((spec) => ({
    monitor: createMonitor(spec, {
      scope: rt.scope,
      redact: rt.redact,
      baseDir: rt.process.baseDir,
      target: rt.target,
      commandEnv: rt.commandEnv,
    }),
    criteria: criteriaFor(spec),
  }));
}

export function describeBaseline(b: MonitorBaseline): string {
  if (b.median === undefined || !b.usable) {
    return `${b.monitor}: no usable baseline (${b.valued} of ${b.samples} samples with a value${
      b.failed ? `, ${b.failed} failed` : ''
    }) — compared on absolute limits only`;
  }
  return `${b.monitor}: baseline ${formatNumber(b.median)} ± ${formatNumber(b.mad ?? 0)} (${b.valued} samples${
    b.failed ? `, ${b.failed} failed` : ''
  })`;
}
