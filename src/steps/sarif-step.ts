/** `sarif`: reads a SARIF 2.1.0 log and fails when findings per level exceed their maximum (after the allow-list). */

import { SlipwayError } from '../core/errors.js';
import type { SarifStep } from '../core/process.js';
import { allowNotes, findingsDetails, findingsFailure, findingsSummary } from './results/findings.js';
import { listSome, table } from './results/gate-text.js';
import { readResultFile } from './results/result-file.js';
import { judgeSarif, parseSarifLog, SARIF_LEVELS } from './results/sarif-log.js';
import type { StepExecutor } from './step-executor.js';

export const sarifStep: StepExecutor<SarifStep> = {
  kind: 'sarif',
  async execute(step, rt) {
    const file = await readResultFile(
      rt,
      step,
      (f) => `eslint -f @microsoft/eslint-formatter-sarif -o ${f} .`,
    );
    const log = parseSarifLog(file.text, file.display);
    const verdict = judgeSarif(log, { max: step.max, allow: step.allow });

    rt.output(
      table([
        ['level', 'found', 'allowed', 'max'],
        ...SARIF_LEVELS.map((l) => [
          l,
          String(verdict.counts[l]),
          String(verdict.allowed.filter((f) => f.level === l).length),
          step.max[l] === undefined ? '-' : String(step.max[l]),
        ]),
      ]),
    );
    const extra = [
      ...(verdict.suppressed > 0 ? [`${verdict.suppressed} suppressed in source (not counted)`] : []),
      ...allowNotes(verdict),
    ];
    if (extra.length > 0) rt.output(`${extra.join('\n')}\n`);

    const tools = log.tools.length > 0 ? ` [${log.tools.join(', ')}]` : '';
    const summary = `${findingsSummary(verdict, SARIF_LEVELS, step.max)}${tools}`;
    const details = {
      ...findingsDetails(file.display, verdict, step.max),
      tools: log.tools,
      suppressed: verdict.suppressed,
    };
    if (!verdict.passed) {
      const parts: string[] = [];
      if (verdict.breaches.length > 0) parts.push(findingsFailure(file.display, verdict, 'finding'));
      if (verdict.incompleteRuns.length > 0) {
        parts.push(`${file.display}: the analysis did not complete:\n${listSome(verdict.incompleteRuns)}`);
      }
      throw new SlipwayError('SLW_STEP_FAILED', parts.join('\n'), {
        details,
        hint: 'fix the findings, or add an allow-list entry naming the rule id, with an expiry and a reason',
      });
    }
    return { summary, details };
  },
};
