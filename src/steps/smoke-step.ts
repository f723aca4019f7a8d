/** `smoke`: a named group of checks; all run, and the step fails if any fails, naming each failure. */

import { SlipwayError } from '../core/errors.js';
import type { SmokeStep } from '../core/process.js';
import { runCommandSpec } from './command-runner.js';
import { runHttpCheck } from './http-check.js';
import type { StepExecutor } from './step-executor.js';

export const smokeStep: StepExecutor<SmokeStep> = {
  kind: 'smoke',
  async execute(step, rt) {
    const failures: string[] = [];
    for (const check of step.checks) {
      const where = `${step.id}.${check.id}`;
      try {
        if (check.kind === 'http') await runHttpCheck(rt, check.http, where);
        else await runCommandSpec(rt, check.run, where);
        rt.output(`✓ ${check.id}\n`);
      } catch (e) {
        if (rt.signal.aborted) throw e;
        const message = e instanceof Error ? e.message : String(e);
        failures.push(`${check.id}: ${message}`);
        rt.output(`✗ ${check.id}: ${message}\n`);
      }
    }
    if (failures.length > 0) {
      throw new SlipwayError(
        'SLW_STEP_FAILED',
        `${failures.length} of ${step.checks.length} smoke checks failed — ${failures.join('; ')}`,
      );
    }
    return { summary: `${step.checks.length}/${step.checks.length} checks passed` };
  },
};
