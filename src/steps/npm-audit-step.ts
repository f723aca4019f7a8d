/** `npm-audit`: reads `npm audit --json` output and fails when vulnerable packages per severity exceed their maximum. */

import { SlipwayError } from '../core/errors.js';
import type { NpmAuditStep } from '../core/process.js';
import { allowNotes, findingsDetails, findingsFailure, findingsSummary } from './results/findings.js';
import { table } from './results/gate-text.js';
import { judgeNpmAudit, parseNpmAuditReport, SEVERITIES } from './results/npm-audit-report.js';
import { readResultFile } from './results/result-file.js';
import type { StepExecutor } from './step-executor.js';

export const npmAuditStep: StepExecutor<NpmAuditStep> = {
  kind: 'npm-audit',
  async execute(step, rt) {
    const file = await readResultFile(rt, step, (f) => `npm audit --json > ${f}`);
    const report = parseNpmAuditReport(file.text, file.display);
    const verdict = judgeNpmAudit(report, { max: step.max, allow: step.allow });

    rt.output(
      table([
        ['severity', 'packages', 'allowed', 'max'],
        ...SEVERITIES.map((s) => [
          s,
          String(verdict.counts[s]),
          String(verdict.allowed.filter((f) => f.level === s).length),
          step.max[s] === undefined ? '-' : String(step.max[s]),
        ]),
      ]),
    );
    const notes = allowNotes(verdict);
    if (notes.length > 0) rt.output(`${notes.join('\n')}\n`);

    const summary = findingsSummary(verdict, SEVERITIES, step.max);
    const details = {
      ...findingsDetails(file.display, verdict, step.max),
      npmCounts: report.npmCounts,
      ...(report.dependencies === null ? {} : { dependencies: report.dependencies }),
    };
    if (!verdict.passed) {
      throw new SlipwayError(
        'SLW_STEP_FAILED',
        findingsFailure(file.display, verdict, 'vulnerable package'),
        {
          details,
          hint: 'update the packages (npm audit fix), or add an allow-list entry naming the advisory (GHSA id) or package, with an expiry and a reason',
        },
      );
    }
    return { summary, details };
  },
};
