/** `junit`: reads JUnit XML reports (a file or a glob) and fails on failures, errors, skips or too few tests. */

import { SlipwayError } from '../core/errors.js';
import type { JunitStep } from '../core/process.js';
import { listSome, table } from './results/gate-text.js';
import { judgeJunit, junitSummary, parseJunitReport, sumJunitReports } from './results/junit-report.js';
import { readResultFiles } from './results/result-file.js';
import type { StepExecutor } from './step-executor.js';

export const junitStep: StepExecutor<JunitStep> = {
  kind: 'junit',
  async execute(step, rt) {
    const files = await readResultFiles(rt, step, (f) => `vitest run --reporter=junit --outputFile=${f}`);
    const reports = files.map((f) => ({ file: f.display, report: parseJunitReport(f.text, f.display) }));
    const total = sumJunitReports(reports.map((r) => r.report));

    rt.output(
      table([
        ['report', 'tests', 'failed', 'errors', 'skipped', 'time'],
        ...reports.map(({ file, report: r }) => [
          file,
          String(r.tests),
          String(r.failures),
          String(r.errors),
          String(r.skipped),
          r.timeSeconds === null ? '-' : `${r.timeSeconds.toFixed(2)}s`,
        ]),
      ]),
    );

    const where = reports.length === 1 ? (reports[0]?.file ?? '') : `${step.path} (${reports.length} files)`;
    const several = reports.length > 1;
    const failing = reports.flatMap(({ file, report }) =>
      report.failed.map(
        (f) => `${several ? `${file}: ` : ''}${f.test}${f.kind === 'error' ? ' [error]' : ''} — ${f.message}`,
      ),
    );
    const details = {
      files: reports.map((r) => r.file),
      tests: total.tests,
      failures: total.failures,
      errors: total.errors,
      skipped: total.skipped,
      ...(total.timeSeconds === null ? {} : { timeSeconds: total.timeSeconds }),
      limits: { maxFailures: step.maxFailures, maxSkipped: step.maxSkipped ?? null, minTests: step.minTests },
      failing: failing.slice(0, 50),
    };
    const summary = `${junitSummary(total)}${several ? ` in ${reports.length} files` : ''}`;
    const broken = judgeJunit(total, step);
    if (broken.length > 0) {
      const listing = failing.length > 0 ? `\n${listSome(failing)}` : '';
      throw new SlipwayError('SLW_STEP_FAILED', `${where}: ${broken.join(', ')} — ${summary}${listing}`, {
        details,
        hint: "fix the tests, or change the step's limits (maxFailures, maxSkipped, minTests) if they are wrong",
      });
    }
    return { summary, details };
  },
};
