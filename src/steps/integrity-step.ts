/** `integrity`: capture data-integrity values before the switch, verify them after; a violation fails (and rolls back). */

import { existsSync } from 'node:fs';
import { SlipwayError } from '../core/errors.js';
import type { IntegrityStep } from '../core/process.js';
import { judge, type Measurement, showMeasurement } from '../integrity/integrity-judge.js';
import { measureChecks } from '../integrity/integrity-query.js';
import { describeDatabase, renderDatabase } from '../migrations/database.js';
import type { StepExecutor } from './step-executor.js';

/** Errors meaning "not there yet" (SQLite's wording, PostgreSQL's undefined_table / undefined_column). */
const MISSING_OBJECT = /no such (table|column)|SQLSTATE 42P01|SQLSTATE 42703|^error \(no database yet/;

/** The fact a capture step leaves for its verify step: the measurements, as JSON. */
export function captureFact(stepId: string): string {
  return `integrity:${stepId}`;
}

export const integrityStep: StepExecutor<IntegrityStep> = {
  kind: 'integrity',
  async execute(step, rt) {
    const db = renderDatabase(step.database, rt.scope, rt.process.baseDir, `${step.id}.integrity.database`);
    const database = describeDatabase(db);
    // A first deployment captures before its database exists: nothing to compare with, which is no violation.
    const notYet = step.mode === 'capture' && db.kind === 'sqlite' && !existsSync(db.file);
    const after: Record<string, Measurement> = notYet
      ? Object.fromEntries(step.checks.map((c) => [c.id, { error: `no database yet (${db.file})` }]))
      : await measureChecks(db, step.checks, rt.signal);

    if (step.mode === 'capture') {
      for (const c of step.checks) rt.output(`${c.id}: ${showMeasurement(after[c.id] ?? null)}\n`);
      const failed = step.checks.filter((c) => {
        const m = after[c.id];
        return m !== undefined && 'error' in m;
      });
      // A table or column this deployment creates may not exist yet; any other error is a broken query, and
      // better found now, before the switch, than after it (where it would roll back a good release).
      const broken = failed.filter((c) => !MISSING_OBJECT.test(showMeasurement(after[c.id] ?? null)));
      if (broken.length > 0) {
        throw new SlipwayError(
          'SLW_INTEGRITY_QUERY',
          `integrity check ${broken.map((c) => `${c.id}: ${showMeasurement(after[c.id] ?? null)}`).join('; ')} on ${database}`,
          {
            hint: 'fix the check query; nothing was changed yet',
            details: { mode: 'capture', database, values: after },
          },
        );
      }
      return {
        summary: `captured ${step.checks.length} check${step.checks.length === 1 ? '' : 's'} on ${database}${failed.length ? ` (${failed.length} could not run yet)` : ''}`,
        facts: { [captureFact(step.id)]: JSON.stringify(after) },
        details: { mode: 'capture', database, values: after },
      };
    }

    const captureStep = step.capture?.step ?? '';
    const recorded = rt.facts[captureFact(captureStep)];
    const before: Record<string, Measurement> = recorded
      ? (JSON.parse(recorded) as Record<string, Measurement>)
      : {};
    if (!recorded) rt.output(`no values were captured by "${captureStep}": comparisons are skipped\n`);
    const verdicts = step.checks.map((c) =>
      judge(c, before[c.id] ?? null, after[c.id] ?? { error: 'not measured' }),
    );
    for (const v of verdicts) rt.output(`${v.ok ? 'ok  ' : 'FAIL'} ${v.text}\n`);
    const details = {
      mode: 'verify',
      database,
      checks: verdicts.map((v) => ({
        id: v.id,
        expect: v.expect,
        before: v.before,
        after: v.after,
        ok: v.ok,
      })),
    };
    const bad = verdicts.filter((v) => !v.ok);
    if (bad.length > 0) {
      const queryFailed = bad.every((v) => 'error' in v.after);
      throw new SlipwayError(
        queryFailed ? 'SLW_INTEGRITY_QUERY' : 'SLW_INTEGRITY_VIOLATION',
        `data integrity on ${database}: ${bad.map((v) => v.text).join('; ')}`,
        {
          hint: queryFailed
            ? 'the check query must run both before and after the deployment'
            : 'the deployment changed data it must not; it is rolled back',
          details,
        },
      );
    }
    return {
      summary: `${verdicts.length} integrity check${verdicts.length === 1 ? '' : 's'} held on ${database}`,
      details,
    };
  },
};
