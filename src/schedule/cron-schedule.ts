/** 5-field cron schedules: validation and expansion into wall times (croner, in floating time). */

import { Cron } from 'croner';
import type { WallMs } from './zoned-time.js';

/** Single-token schedules croner understands (`@reboot` is no time, so it is not among them). */
const NICKNAMES = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);

const FIELDS = 'minute hour day-of-month month day-of-week';

/**
 * croner evaluates the pattern at UTC offset 0, i.e. on wall-clock fields with no timezone; the window's
 * timezone is applied afterwards by `ZoneClock.toInstant`. We do not use croner's own `timezone` option:
 * in croner 11 its DST handling depends on the pattern (`30 2 * * *` opens at 03:00 on a spring-forward day
 * but `0,30 2 * * *` skips that day entirely; `30 2 * * *` runs once on a fall-back day but `0,30 2 * * *`
 * runs in both occurrences of the hour), and RRULE windows need the same rules anyway.
 *
 * Day-of-month and day-of-week combine with OR when both are restricted, as in Vixie cron.
 */
function compile(expr: string): Cron {
  return new Cron(expr, { utcOffset: 0, mode: '5-part', domAndDow: false, paused: true });
}

const compiled = new Map<string, Cron>();

function cronFor(expr: string): Cron {
  let job = compiled.get(expr);
  if (!job) {
    job = compile(expr);
    // A small memo: process files have a handful of windows.
    if (compiled.size > 256) compiled.clear();
    compiled.set(expr, job);
  }
  return job;
}

/** Why `expr` is not a usable 5-field cron expression, or undefined. */
export function checkCron(expr: string): string | undefined {
  const fields = expr.trim().split(/\s+/).filter(Boolean);
  if (fields.length === 0) return 'cron is empty';
  const nickname = fields.length === 1 && fields[0]?.startsWith('@');
  if (nickname && !NICKNAMES.has((fields[0] as string).toLowerCase())) {
    return `unknown cron nickname '${fields[0]}' (use ${[...NICKNAMES].join(', ')})`;
  }
  if (!nickname && fields.length !== 5) {
    const extra = fields.length > 5 ? ': seconds and years are not supported' : '';
    return `cron needs 5 fields (${FIELDS}), got ${fields.length} in '${expr}'${extra}`;
  }
  let job: Cron;
  try {
    job = compile(expr);
  } catch (e) {
    const why = (e instanceof Error ? e.message : String(e)).replace(/^CronPattern:\s*/, '');
    return `bad cron '${expr}': ${why}`;
  }
  // croner searches a few years ahead; a pattern such as `0 0 30 2 *` never matches at all.
  if (job.nextRun(new Date(Date.UTC(2000, 0, 1))) === null) return `cron '${expr}' never matches a date`;
  return undefined;
}

/** Every wall time in [fromWall, toWall) the cron expression matches, in order. Throws on a bad expression. */
export function cronWallTimes(expr: string, fromWall: WallMs, toWall: WallMs): WallMs[] {
  const job = cronFor(expr);
  const out: WallMs[] = [];
  // nextRun is exclusive of its reference.
  let next = job.nextRun(new Date(fromWall - 1));
  while (next !== null && next.getTime() < toWall) {
    out.push(next.getTime());
    next = job.nextRun(next);
  }
  return out;
}
