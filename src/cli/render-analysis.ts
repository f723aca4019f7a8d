/** The analysis part of `slipway status`: the baseline, the bake's latest interval, and what fired. */

import { formatNumber } from '../core/analysis.js';
import type { AnalysisView } from '../core/deployment-view.js';
import { describeTrigger } from '../report/report-data.js';
import type { Colors } from './output.js';

export function renderAnalysis(analysis: AnalysisView, c: Colors): string[] {
  const lines: string[] = [];
  const base = analysis.baseline;
  if (base) {
    lines.push(
      `${c.bold('baseline')} ${base.monitors
        .map((b) =>
          b.usable && b.median !== undefined
            ? `${b.monitor} ${formatNumber(b.median)} ± ${formatNumber(b.mad ?? 0)} (${b.valued} samples)`
            : `${b.monitor} ${c.dim('no usable baseline')}`,
        )
        .join(' · ')}`,
    );
  }
  const last = analysis.intervals.at(-1);
  if (last) {
    const verdicts = last.monitors.map((m) => {
      const mark = m.verdict === 'pass' ? c.green('✓') : m.verdict === 'fail' ? c.red('✗') : c.dim('?');
      return `${mark} ${m.monitor} ${m.detail}`;
    });
    const failing = analysis.intervals.filter((i) => i.monitors.some((m) => m.verdict === 'fail')).length;
    lines.push(
      `${c.bold('bake')} interval ${last.index}/${last.of}${failing ? c.yellow(` (${failing} with a failing monitor)`) : ''}: ${verdicts.join(' · ')}`,
    );
  }
  if (analysis.trigger)
    lines.push(`${c.red(c.bold(`trigger ${analysis.trigger.kind}:`))} ${describeTrigger(analysis.trigger)}`);
  return lines;
}
