/** `benchmark`: compares benchmark results with the last good deployment's; a regression beyond the threshold fails. */

import { SlipwayError } from '../core/errors.js';
import type { BenchmarkStep } from '../core/process.js';
import {
  baselineFromDetails,
  compareBenchmarks,
  formatChange,
  formatValue,
  type MetricComparison,
  parseBenchmarkResults,
} from './results/benchmark-results.js';
import { listSome, plural, table } from './results/gate-text.js';
import { readResultFile } from './results/result-file.js';
import type { StepExecutor } from './step-executor.js';

export const benchmarkStep: StepExecutor<BenchmarkStep> = {
  kind: 'benchmark',
  async execute(step, rt) {
    const file = await readResultFile(rt, step, (f) => `hyperfine --export-json ${f} '<command>'`);
    const results = parseBenchmarkResults(file.text, file.display);
    const baseline = baselineFromDetails(await rt.baseline());
    const verdict = compareBenchmarks(results, baseline, step);

    rt.output(
      table([
        ['metric', 'baseline', 'value', 'change', ''],
        ...verdict.comparisons.map((c) => [
          c.name,
          c.baseline === null ? '-' : formatValue(c.baseline, c.unit),
          formatValue(c.value, c.unit),
          c.change === null ? '-' : formatChange(c.change),
          c.note ?? c.status,
        ]),
      ]),
    );
    const notes = [
      ...(verdict.hasBaseline
        ? []
        : ['no baseline yet (no earlier succeeded deployment recorded one): baseline recorded']),
      ...verdict.missing.map((n) => `"${n}" is in the baseline but not in these results`),
    ];
    if (notes.length > 0) rt.output(`${notes.join('\n')}\n`);

    const pct = `${Math.round(step.threshold * 1000) / 10}%`;
    const details = {
      file: file.display,
      format: results.format,
      better: step.better,
      threshold: step.threshold,
      // The next deployment's baseline: keep the key names stable (`baselineFromDetails` reads them).
      values: Object.fromEntries(results.metrics.map((m) => [m.name, m.value])),
      units: Object.fromEntries(results.metrics.map((m) => [m.name, m.unit])),
      baseline: baseline?.values ?? null,
      changes: Object.fromEntries(
        verdict.comparisons.filter((c) => c.change !== null).map((c) => [c.name, c.change]),
      ),
      ...(verdict.missing.length > 0 ? { missing: verdict.missing } : {}),
    };
    if (!verdict.passed) {
      throw new SlipwayError(
        'SLW_STEP_FAILED',
        `${file.display}: ${plural(verdict.regressed.length, 'metric')} worse than the baseline by more than ${pct} (${step.better} is better):\n${listSome(verdict.regressed.map(describeRegression))}`,
        {
          details,
          hint: "find the change that slowed it down; if the new numbers are expected, raise the step's threshold for one deployment",
        },
      );
    }
    const missing = verdict.missing.length > 0 ? `, ${verdict.missing.length} missing from the results` : '';
    const summary = verdict.hasBaseline
      ? `${plural(results.metrics.length, 'metric')} within ${pct} of the baseline${worstChange(verdict.comparisons, step.better)}${missing}`
      : `${plural(results.metrics.length, 'metric')}, no baseline yet: baseline recorded`;
    return { summary, details };
  },
};

function describeRegression(c: MetricComparison): string {
  return `${c.name}: ${formatValue(c.baseline ?? 0, c.unit)} → ${formatValue(c.value, c.unit)} (${formatChange(c.change ?? 0)})`;
}

/** " (worst: parse +12.0%)", for the summary line. */
function worstChange(comparisons: readonly MetricComparison[], better: 'smaller' | 'bigger'): string {
  const sign = better === 'smaller' ? 1 : -1;
  const compared = comparisons.filter((c) => c.change !== null);
  const worst = compared.reduce<MetricComparison | undefined>(
    (w, c) => (w === undefined || sign * (c.change ?? 0) > sign * (w.change ?? 0) ? c : w),
    undefined,
  );
  return worst ? ` (worst: ${worst.name} ${formatChange(worst.change ?? 0)})` : '';
}
