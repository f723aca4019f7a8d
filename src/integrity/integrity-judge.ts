/** Judging integrity checks: a value measured before the switch against the same query after it. Pure. */

import type { IntegrityCheckSpec, IntegrityExpectation } from '../core/process.js';

/** One check's measurement: its first value and how many rows the query returned, or why it could not run. */
export type Measurement =
  | { readonly value: string | number | null; readonly rows: number }
  | { readonly error: string };

export interface Verdict {
  readonly id: string;
  readonly expect: string;
  readonly before: Measurement | null;
  readonly after: Measurement;
  readonly ok: boolean;
  /** e.g. `notes-kept (noDrop): 120 → 80`, `orphans (empty): 3 rows, expected none`. */
  readonly text: string;
}

export function describeExpectation(e: IntegrityExpectation): string {
  if (e.kind !== 'range') return e.kind;
  const parts = [
    e.min === undefined ? undefined : `min ${e.min}`,
    e.max === undefined ? undefined : `max ${e.max}`,
  ];
  return parts.filter(Boolean).join(', ');
}

export function showMeasurement(m: Measurement | null): string {
  if (m === null) return 'not measured';
  if ('error' in m) return `error (${m.error})`;
  return m.value === null ? (m.rows === 0 ? 'no rows' : 'NULL') : String(m.value);
}

export function judge(check: IntegrityCheckSpec, before: Measurement | null, after: Measurement): Verdict {
  const expect = describeExpectation(check.expect);
  const label = `${check.id} (${expect})`;
  const verdict = (ok: boolean, text: string): Verdict => ({ id: check.id, expect, before, after, ok, text });
  if ('error' in after) return verdict(false, `${label}: the query failed: ${after.error}`);
  const change = `${showMeasurement(before)} → ${showMeasurement(after)}`;
  switch (check.expect.kind) {
    case 'empty':
      return verdict(
        after.rows === 0,
        after.rows === 0
          ? `${label}: no rows`
          : `${label}: ${after.rows} row${after.rows === 1 ? '' : 's'}, expected none`,
      );
    case 'range': {
      const n = numberOf(after.value);
      if (n === undefined) return verdict(false, `${label}: ${showMeasurement(after)} is not a number`);
      const { min, max } = check.expect;
      const ok = (min === undefined || n >= min) && (max === undefined || n <= max);
      return verdict(ok, `${label}: ${change}${ok ? '' : ', out of bounds'}`);
    }
    case 'noDrop':
    case 'unchanged': {
      // Nothing to compare with (e.g. the table did not exist before a first deployment): not a violation.
      if (before === null || 'error' in before) {
        return verdict(true, `${label}: not compared, no value before (${showMeasurement(before)})`);
      }
      if (check.expect.kind === 'unchanged') {
        const ok = String(before.value) === String(after.value);
        return verdict(ok, `${label}: ${change}${ok ? '' : ', changed'}`);
      }
      const b = numberOf(before.value);
      const a = numberOf(after.value);
      if (a === undefined || b === undefined) return verdict(false, `${label}: ${change}, not numbers`);
      return verdict(a >= b, `${label}: ${change}${a >= b ? '' : `, dropped by ${b - a}`}`);
    }
  }
}

/** Counts and sums come back as numbers (SQLite) or numeric strings (PostgreSQL bigint/numeric). */
function numberOf(v: string | number | null): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}
