/** 5-field cron schedules (Vixie cron syntax): parsing, and expansion into wall times in floating time. */

import { DAY_MS, HOUR_MS, MINUTE_MS, type WallMs } from './zoned-time.js';

/**
 * Why not a library. croner 11 was the candidate; checked against a brute-force reference it
 * - skips early-March days when both day fields are restricted and the search starts in February
 *   (`0 0 1 * 0` from 2025-02-23 gives 03-02, not 03-01; `0 0 1 * 1-5` misses 2026-03-01), and
 * - handles DST per pattern (`30 2 * * *` opens at 03:00 on a spring-forward day, `0,30 2 * * *` skips
 *   the day; `30 2 * * *` runs once on a fall-back night, `0,30 2 * * *` in both occurrences),
 * while the syntax windows need is small. Expansion is in floating wall time; the window's timezone and
 * DST rules are applied once, for cron and RRULE alike, in window-openings.ts.
 */

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Three-letter names for min, min + 1, …  */
  readonly names?: readonly string[];
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
  },
  // 0 and 7 are both Sunday.
  { name: 'day-of-week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

const NICKNAMES: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** A parsed expression: for each field, which values match. */
export interface CronSchedule {
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  /** Index 1-31. */
  readonly daysOfMonth: readonly boolean[];
  /** Index 1-12. */
  readonly months: readonly boolean[];
  /** Index 0-6, Sunday 0. */
  readonly daysOfWeek: readonly boolean[];
  /**
   * Vixie cron's rule: when neither day field starts with `*`, a day matches if either does
   * (`0 0 1,15 * 0` is the 1st, the 15th and every Sunday); otherwise it must match both.
   */
  readonly eitherDay: boolean;
}

/** The values one field's text matches, or an error message. */
function parseField(text: string, field: FieldSpec, expr: string): boolean[] | string {
  const bad = (item: string, why: string) => `bad cron ${field.name} '${item}' in '${expr}': ${why}`;
  const value = (token: string): number | undefined => {
    if (/^\d+$/.test(token)) return Number(token);
    const i = field.names?.indexOf(token.toUpperCase()) ?? -1;
    return i < 0 ? undefined : field.min + i;
  };
  const out: boolean[] = [];
  for (const item of text.split(',')) {
    if (/[LW#?]/.test(item) && !field.names?.some((n) => item.toUpperCase().includes(n))) {
      return bad(item, 'L, W, # and ? are not supported; an rrule can say BYMONTHDAY=-1 or BYDAY=2TU');
    }
    const m = /^(\*|[0-9A-Za-z]+)(?:-([0-9A-Za-z]+))?(?:\/(\d+))?$/.exec(item);
    if (!m) return bad(item, 'expected a number, a range a-b, * or a step like */15');
    const [, first = '', last, step] = m;
    if (first === '*' && last !== undefined) return bad(item, '* cannot start a range');
    if (first !== '*' && last === undefined && step !== undefined) {
      return bad(item, `a step needs a range, e.g. ${first}-${field.max}/${step} or */${step}`);
    }
    const from = first === '*' ? field.min : value(first);
    let to = first === '*' ? field.max : last === undefined ? from : value(last);
    // SAT-SUN: Sunday ends a range as 7.
    if (field.max === 7 && to === 0 && last !== undefined && from !== 0) to = 7;
    const range = field.names
      ? `${field.min}-${field.max} or ${field.names[0]}-${field.names.at(-1)}`
      : `${field.min}-${field.max}`;
    if (from === undefined || to === undefined) return bad(item, `not a value (${range})`);
    if (from < field.min || to > field.max) return bad(item, `out of range (${range})`);
    if (from > to) return bad(item, 'the range goes backwards');
    const by = step === undefined ? 1 : Number(step);
    if (by < 1) return bad(item, 'a step must be at least 1');
    for (let v = from; v <= to; v += by) out[v] = true;
  }
  return out;
}

/** Parses a 5-field expression (or a nickname such as `@daily`). */
export function parseCron(expr: string): { cron: CronSchedule } | { error: string } {
  const trimmed = expr.trim();
  if (trimmed === '') return { error: 'cron is empty' };
  let text = trimmed;
  if (trimmed.startsWith('@')) {
    const expanded = NICKNAMES[trimmed.toLowerCase()];
    if (!expanded)
      return { error: `unknown cron nickname '${trimmed}' (use ${Object.keys(NICKNAMES).join(', ')})` };
    text = expanded;
  }
  const parts = text.split(/\s+/);
  if (parts.length !== FIELDS.length) {
    const extra = parts.length > FIELDS.length ? ': seconds and years are not supported' : '';
    const names = FIELDS.map((f) => f.name).join(' ');
    return { error: `cron needs 5 fields (${names}), got ${parts.length} in '${expr}'${extra}` };
  }
  const sets: boolean[][] = [];
  for (const [i, field] of FIELDS.entries()) {
    const set = parseField(parts[i] as string, field, expr);
    if (typeof set === 'string') return { error: set };
    sets.push(set);
  }
  const [minutes, hours, daysOfMonth, months, weekdays] = sets as [
    boolean[],
    boolean[],
    boolean[],
    boolean[],
    boolean[],
  ];
  const daysOfWeek = Array.from({ length: 7 }, (_, d) => Boolean(weekdays[d] || (d === 0 && weekdays[7])));
  const values = (set: boolean[]) => set.flatMap((on, v) => (on ? [v] : []));
  return {
    cron: {
      minutes: values(minutes),
      hours: values(hours),
      daysOfMonth,
      months,
      daysOfWeek,
      eitherDay: !parts[2]?.startsWith('*') && !parts[4]?.startsWith('*'),
    },
  };
}

/** Whether the schedule matches the (floating) day `day`, counted from 1970-01-01. */
function matchesDay(cron: CronSchedule, day: number): boolean {
  const date = new Date(day * DAY_MS);
  if (!cron.months[date.getUTCMonth() + 1]) return false;
  const dom = Boolean(cron.daysOfMonth[date.getUTCDate()]);
  const dow = Boolean(cron.daysOfWeek[date.getUTCDay()]);
  return cron.eitherDay ? dom || dow : dom && dow;
}

/** Why `expr` is not a usable cron expression, or undefined. */
export function checkCron(expr: string): string | undefined {
  const parsed = parseCron(expr);
  if ('error' in parsed) return parsed.error;
  // Day/month/weekday combinations repeat every 28 years (leap days included) within a century.
  const first = Date.UTC(2001, 0, 1) / DAY_MS;
  for (let day = first; day < first + 28 * 366; day++) if (matchesDay(parsed.cron, day)) return undefined;
  return `cron '${expr}' never matches a date`;
}

const parsedCache = new Map<string, CronSchedule>();

/** Every wall time in [fromWall, toWall) the expression matches, in order. Throws on a bad expression. */
export function cronWallTimes(expr: string, fromWall: WallMs, toWall: WallMs): WallMs[] {
  let cron = parsedCache.get(expr);
  if (!cron) {
    const parsed = parseCron(expr);
    if ('error' in parsed) throw new Error(parsed.error);
    cron = parsed.cron;
    // A small memo: process files have a handful of windows.
    if (parsedCache.size > 256) parsedCache.clear();
    parsedCache.set(expr, cron);
  }
  const out: WallMs[] = [];
  for (let day = Math.floor(fromWall / DAY_MS); day * DAY_MS < toWall; day++) {
    if (!matchesDay(cron, day)) continue;
    for (const h of cron.hours) {
      for (const m of cron.minutes) {
        const t = day * DAY_MS + h * HOUR_MS + m * MINUTE_MS;
        if (t >= fromWall && t < toWall) out.push(t);
      }
    }
  }
  return out;
}
