/** `coverage`: reads an lcov, Cobertura or istanbul summary and fails below the minimum line (and branch) coverage. */

import { SlipwayError } from '../core/errors.js';
import type { CoverageStep } from '../core/process.js';
import {
  type CoverageMeasure,
  coverageSummaryLine,
  judgeCoverage,
  parseCoverageSummary,
} from './results/coverage-summary.js';
import { percent, table } from './results/gate-text.js';
import { readResultFile } from './results/result-file.js';
import type { StepExecutor } from './step-executor.js';

export const coverageStep: StepExecutor<CoverageStep> = {
  kind: 'coverage',
  async execute(step, rt) {
    const file = await readResultFile(
      rt,
      step,
      () => 'vitest run --coverage --coverage.reporter=lcov, which writes coverage/lcov.info',
    );
    const summary = parseCoverageSummary(file.text, file.display);

    const row = (label: string, m: CoverageMeasure | null, min: number | undefined) => [
      label,
      m?.covered === null || m === null ? '-' : String(m.covered),
      m?.total === null || m === null ? '-' : String(m.total),
      m === null || m.pct === null ? '-' : percent(m.pct),
      min === undefined ? '-' : `${min}%`,
    ];
    rt.output(
      table([
        ['', 'covered', 'total', 'percent', 'minimum'],
        row('lines', summary.lines, step.minLines),
        row('branches', summary.branches, step.minBranches),
      ]),
    );

    const details = {
      file: file.display,
      format: summary.format,
      lines: summary.lines,
      branches: summary.branches,
      ...(summary.files === null ? {} : { files: summary.files }),
      minLines: step.minLines,
      ...(step.minBranches === undefined ? {} : { minBranches: step.minBranches }),
    };
    const broken = judgeCoverage(summary, step);
    if (broken.length > 0) {
      throw new SlipwayError(
        'SLW_STEP_FAILED',
        `${file.display}: coverage below the minimum: ${broken.join('; ')}`,
        {
          details,
          hint: 'add tests for the uncovered code, or lower minLines/minBranches if the minimum is wrong',
        },
      );
    }
    return { summary: coverageSummaryLine(summary), details };
  },
};
